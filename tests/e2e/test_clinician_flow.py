"""A clinician in Chromium: mark in and out with the player, tag, plan a session, export; the
package's index.html, opened from disk, plays the first clip."""

from __future__ import annotations

import zipfile

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def pick(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.get_by_role("option").filter(has_text=option).first.click()
    page.wait_for_timeout(600)


def test_clinician_marks_tags_plans_exports(demo_server, browser_context, tmp_path):
    page = browser_context.new_page()
    login(page, demo_server, "clinician", "demo-clinician")
    page.locator("video.sp-video").wait_for(state="attached", timeout=30_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=stBidiComponentIsolated]')"
        "?.shadowRoot?.querySelector('video'); return v && v.videoWidth > 0; }", timeout=30_000)
    play = page.locator("button.sp-play").first
    play.click()
    page.wait_for_timeout(1200)
    play.click()  # pause: the player reports where it is
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Mark in").click()
    page.wait_for_timeout(1200)
    play.click()
    page.wait_for_timeout(4000)
    play.click()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Mark out").click()
    page.wait_for_timeout(1200)
    t_in = float(page.get_by_label("In (s)").input_value())
    t_out = float(page.get_by_label("Out (s)").input_value())
    assert 0.5 < t_in < t_out, (t_in, t_out)
    pick(page, "Polarity", "Strength to celebrate")
    pick(page, "VIPP theme", "Speaking for the child")
    page.get_by_label("Caption").fill("You waited for me")
    page.get_by_role("button", name="Save clip").click()
    page.get_by_text("Clip saved").wait_for(timeout=15_000)

    page.get_by_role("tab", name="Plan and export a session").click()
    page.wait_for_timeout(800)
    page.get_by_label("Clips in this session").click()
    page.get_by_role("option").first.click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Save session plan").click()
    page.get_by_text("saved with 1 clip").wait_for(timeout=15_000)
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Export session package (zip)").click()
    zpath = tmp_path / "package.zip"
    dl.value.save_as(zpath)
    out = tmp_path / "package"
    with zipfile.ZipFile(zpath) as z:
        z.extractall(out)
    index = next(out.rglob("index.html"))

    offline = browser_context.new_page()
    offline.goto(index.as_uri())
    video = offline.locator("video").first
    video.wait_for(state="attached", timeout=15_000)
    offline.wait_for_function("() => { const v = document.querySelector('video'); return v && v.videoWidth > 0; }",
                              timeout=20_000)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    offline.wait_for_timeout(1200)
    assert video.evaluate("v => v.currentTime") > 0.3
    assert "You waited for me" in offline.locator("body").inner_text()
    offline.screenshot(path="/tmp/e2e_package_index.png")
