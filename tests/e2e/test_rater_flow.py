"""A rater in Debian's Chromium: log in, play a segment, score it, reload, the score is still there;
and nothing the rater's browser receives names an arm, a time point or a participant."""

from __future__ import annotations

import contextlib
import re

import pytest

from tests.blinding import leaked_words
from tests.e2e.conftest import WAIT, login

pytestmark = pytest.mark.e2e

ARMS = ["VIPP", "Usual care"]
TIMEPOINTS = ["baseline", "month5"]
PARTICIPANTS = [f"F0{i}" for i in range(1, 7)]
FILE_NAMES = ["film_0", "film_1", "manifest"]


def score_button(page, value: str):
    return page.locator('[data-testid="stButtonGroup"] button').filter(has_text=re.compile(rf"^{value}$"))


def test_rater_plays_scores_and_score_survives_reload(demo_server, browser_context):
    page = browser_context.new_page()
    login(page, demo_server, "rater1", "demo-rater1")
    video = page.locator("video.sp-video")
    video.wait_for(state="attached", timeout=WAIT)
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=stBidiComponentIsolated]')"
        "?.shadowRoot?.querySelector('video'); return v && v.videoWidth > 0; }",
        timeout=WAIT,
    )
    start = video.evaluate("v => v.currentTime")
    page.locator("button.sp-play").click()
    page.wait_for_timeout(1500)
    now = video.evaluate("v => v.currentTime")
    assert now > start + 0.5, (start, now)
    assert video.evaluate("v => v.videoWidth") > 0

    score_button(page, "6").click()
    page.get_by_text("Saved").wait_for(timeout=WAIT)
    page.reload()
    page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
    active = score_button(page, "6")
    active.wait_for(timeout=WAIT)
    assert active.get_attribute("aria-checked") == "true"
    page.screenshot(path="/tmp/e2e_rater_after_reload.png")


@pytest.mark.parametrize("rater", ["rater1", "rater2"])  # rater2's work is finished: other page states
def test_rater_receives_no_allocation(demo_server, browser_context, rater):
    page = browser_context.new_page()
    frames: list[bytes] = []
    urls: list[str] = []
    headers: list[str] = []

    def on_ws(ws):
        ws.on(
            "framereceived", lambda payload: frames.append(payload if isinstance(payload, bytes) else payload.encode())
        )

    page.on("websocket", on_ws)
    page.on("request", lambda r: urls.append(r.url))
    page.on("response", lambda r: headers.append(repr(r.headers)) if "/api/media/" in r.url else None)
    login(page, demo_server, rater, f"demo-{rater}")
    if rater == "rater2":  # all done: the page says so, and the rater may reopen a segment on purpose
        page.get_by_text("All done — thank you").wait_for(timeout=WAIT)
        page.get_by_role("button", name="Review my segments").click()
    page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
    page.wait_for_timeout(2000)
    # Walk every page a rater can reach: the next queue item, the unblinding report, Consensus.
    page.get_by_role("button", name="Next →").click()
    page.wait_for_timeout(2500)
    page.get_by_text("I may have been unblinded").click()
    page.wait_for_timeout(800)
    page.get_by_role("link", name="Consensus").click()
    page.wait_for_timeout(2500)
    received = b"\n".join(frames).decode("latin-1")
    text = page.locator("body").inner_text()
    blob = "\n".join([received, text, "\n".join(urls), "\n".join(headers)])
    assert frames and "/api/media/" in "\n".join(urls)
    assert not leaked_words(blob, ARMS + TIMEPOINTS + PARTICIPANTS + FILE_NAMES)


def test_note_is_stored_while_typing_and_a_reload_asks_first(demo_server, browser_context):
    page = browser_context.new_page()
    login(page, demo_server, "rater1", "demo-rater1")
    page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
    box = page.get_by_label("Note (optional)")
    box.wait_for(timeout=WAIT)
    status = page.locator(".nb-status")
    before = box.input_value()
    typed = ' Mother said "stop",\tthen smiled 😊\nnext line'
    box.click()
    page.keyboard.press("End")
    box.press_sequentially(typed, delay=15)
    assert "not yet stored" in status.inner_text()  # no blur, no Ctrl+Enter: the marker says so
    page.get_by_text("✓ Note stored").wait_for(timeout=WAIT)  # ... and a pause in typing stores it
    # Typed and reloaded at once: the browser asks before the page goes (nothing lost silently).
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    box.press_sequentially(" and laughed", delay=15)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # the dismissed prompt keeps the page: no navigation
        page.reload(timeout=3000)
    assert asked == ["beforeunload"]
    page.get_by_text("✓ Note stored").wait_for(timeout=WAIT)
    page.reload()
    page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
    expected = before + typed + " and laughed"
    page.wait_for_function(
        "(want) => { const h = [...document.querySelectorAll('[data-testid=stBidiComponentIsolated]')]"
        ".map(e => e.shadowRoot && e.shadowRoot.querySelector('textarea')).find(Boolean);"
        " return h && h.value === want; }",
        arg=expected,
        timeout=WAIT,
    )
