"""A clinician in Chromium: mark in and out with the player, tag, plan a session, export; the
package's index.html, opened from disk, plays the first clip."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, login

pytestmark = pytest.mark.e2e


def pick(page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label).first  # the select's input, not its label text
    box.click()
    box.fill(option)  # a searchable select: type, then take the one option left
    page.get_by_role("option").filter(has_text=option).first.click()
    page.wait_for_timeout(600)


def caption_box(page):
    # The caption's text box, not the "Burn captions into the video" checkbox that also says "caption".
    return page.get_by_role("textbox", name=re.compile(r"^Caption"))


def test_clinician_marks_tags_plans_exports(demo_server, browser_context, tmp_path):
    page = browser_context.new_page()
    login(page, demo_server, "clinician", "demo-clinician")
    page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=stBidiComponentIsolated]')"
        "?.shadowRoot?.querySelector('video'); return v && v.videoWidth > 0; }",
        timeout=WAIT,
    )
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
    for _ in range(30):  # the rerun that fills the field can take a while on a loaded machine
        page.wait_for_timeout(500)
        if float(page.get_by_label("Out (s)").input_value() or 0) > 0:
            break
    t_in = float(page.get_by_label("In (s)").input_value())
    t_out = float(page.get_by_label("Out (s)").input_value())
    assert 0.5 < t_in < t_out, (t_in, t_out)
    pick(page, "Polarity", "Strength to celebrate")
    pick(page, "VIPP theme", "Speaking for the child")
    caption_box(page).fill("You waited for me")
    page.get_by_role("button", name="Save clip").click()
    page.get_by_text("Clip saved").wait_for(timeout=WAIT)
    # A fresh form for the next clip: nothing of this one carries over into a family's package.
    expect(caption_box(page)).to_have_value("", timeout=WAIT)
    expect(page.get_by_label("Out (s)")).to_have_value("0.000", timeout=WAIT)

    page.get_by_role("tab", name="Plan and export a session").click()
    page.wait_for_timeout(800)
    page.get_by_label("Clips in this session").click()
    page.get_by_role("option").first.click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Save session plan").click()
    page.get_by_text("saved with 1 clip").wait_for(timeout=WAIT)
    # The package is made by the server's job worker; its download link appears when it is ready.
    page.get_by_role("button", name="Prepare session package (zip)").click()
    link = page.get_by_role("link", name="Download: family-")
    link.first.wait_for(timeout=WAIT)
    with page.expect_download(timeout=WAIT) as dl:
        link.first.click()
    zpath = tmp_path / "package.zip"
    dl.value.save_as(zpath)
    out = tmp_path / "package"
    with zipfile.ZipFile(zpath) as z:
        z.extractall(out)
    index = next(out.rglob("index.html"))

    offline = browser_context.new_page()
    offline.goto(index.as_uri())
    video = offline.locator("video").first
    video.wait_for(state="attached", timeout=WAIT)
    offline.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.videoWidth > 0; }", timeout=WAIT
    )
    video.evaluate("v => { v.muted = true; return v.play(); }")
    offline.wait_for_timeout(1200)
    assert video.evaluate("v => v.currentTime") > 0.3
    assert "You waited for me" in offline.locator("body").inner_text()
    offline.screenshot(path="/tmp/e2e_package_index.png")


def test_clicking_the_activity_curve_moves_the_player(demo_server, browser_context):
    page = browser_context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    login(page, demo_server, "clinician", "demo-clinician")
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=stBidiComponentIsolated]')"
        "?.shadowRoot?.querySelector('video'); return v && v.videoWidth > 0 && v.duration > 5; }",
        timeout=WAIT,
    )
    current = "() => document.querySelector('[data-testid=stBidiComponentIsolated]').shadowRoot.querySelector('video')"
    duration = page.evaluate(current + ".duration")
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    chart.locator("canvas, svg").first.wait_for(timeout=WAIT)
    box = chart.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.55)
    page.wait_for_function(
        f"() => ({current})().currentTime > {duration * 0.3}", timeout=WAIT
    )  # moved well into the film (the plot's left edge is its start)
    assert not [m for m in console if "nearest" in m and "not supported" in m], console
