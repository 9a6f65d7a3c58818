"""Accounts in Chromium: the lockout message, logout ending an open tab's export, and Streamlit
working under the Content-Security-Policy (no violation reported on the pages visited)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import WAIT, login

pytestmark = pytest.mark.e2e


def _csp_watch(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_guessing_a_password_locks_with_a_message(demo_server, browser_context):
    page = browser_context.new_page()
    page.goto(demo_server + "/api/login")
    texts = []
    for _ in range(5):
        page.fill("#username", "intruder")
        page.fill("#password", "guess-guess-guess")
        page.click("button[type=submit]")
        page.wait_for_selector("p.err", timeout=WAIT)
        texts.append(page.inner_text("p.err"))
    assert texts[0] == "Wrong username or password."
    assert "Too many failed attempts" in texts[-1] and "15 minutes" in texts[-1]
    assert page.input_value("#password") == ""  # the password is never sent back


def test_logout_elsewhere_ends_the_open_tabs_export(demo_server, browser_context, tmp_path):
    tab = browser_context.new_page()
    violations = _csp_watch(tab)
    login(tab, demo_server, "researcher", "demo-researcher")
    tab.get_by_role("link", name="Summaries").click()
    tab.wait_for_timeout(3000)  # the chart renders (vega under the CSP)
    tab.get_by_role("link", name="Data in and out").click()
    button = tab.get_by_role("link", name="Ratings, one row per rating (CSV)")
    button.wait_for(timeout=WAIT)
    assert tab.get_by_text("Demo accounts are active").count() >= 1
    # Another tab of the same browser logs out (a POST from the button of /api/logout).
    other = browser_context.new_page()
    other.goto(demo_server + "/api/logout")
    other.click("#logout")
    other.wait_for_url(demo_server + "/api/login", timeout=WAIT)
    # The open tab's export is no longer served: the export route answers 403 without a live login.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    got = None
    try:
        # A download that should not come: 15 s is long enough for one that would (it starts in < 2 s).
        with tab.expect_download(timeout=15_000) as dl:
            button.click()
        download = dl.value
        if download.failure() is None:
            path = tmp_path / "after-logout.csv"
            download.save_as(path)
            got = path.read_text(errors="replace")
    except PlaywrightTimeout:
        pass
    assert got is None or "participant" not in got
    assert tab.request.get(demo_server + "/media/anything.csv").status == 403
    tab.reload()
    tab.wait_for_url(demo_server + "/api/login", timeout=WAIT)
    assert violations == []
