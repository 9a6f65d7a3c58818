"""Every role's pages in Debian's Chromium: nothing is fetched from another host (the tool must
work offline in a hospital network), each page opens by its address, and the rater's scoring
panel fits a 1280x720 screen. Screenshots of each role's main page go to SCREENS."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import WAIT, login

pytestmark = pytest.mark.e2e

SCREENS = Path(os.environ.get("ANNOTATE_SCREENS", "/tmp/notes/screens/issue16"))
WALK = {
    ("rater1", "demo-rater1"): ["rate", "consensus"],
    ("clinician", "demo-clinician"): ["families"],
    ("researcher", "demo-researcher"): [
        "studies",
        "films",
        "assign",
        "progress",
        "status",
        "data",
        "reliability",
        "certification",
        "summaries",
    ],
    ("admin", "demo-admin"): ["users"],
}


def _settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stApp"]').wait_for(timeout=WAIT)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')"
        " || !document.querySelector('[data-testid=stStatusWidget]').innerText.includes('Running')",
        timeout=WAIT,
    )
    page.wait_for_timeout(800)


def test_no_request_leaves_the_origin_on_a_walk_of_every_role(demo_server, browser_context):
    origin = urlsplit(demo_server).netloc
    seen: list[str] = []
    browser_context.on("request", lambda req: seen.append(req.url))
    for (user, password), paths in WALK.items():
        page = browser_context.new_page()
        page.on("websocket", lambda ws: seen.append(ws.url))
        login(page, demo_server, user, password)
        _settle(page)
        for path in paths:
            page.goto(f"{demo_server}/{path}")
            _settle(page)
            # The page opened by its address shows its own content, not a "page not found".
            assert "Page not found" not in page.content(), path
        page.goto(demo_server + "/api/logout")  # GET shows the button; logging out is a POST
        page.click("#logout")
        page.wait_for_url(demo_server + "/api/login", timeout=WAIT)
        # Without waiting for the page to go: a plain close() has no timeout and once hung in CI.
        page.close(run_before_unload=True)
    elsewhere = sorted(
        {u for u in seen if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).netloc != origin}
    )
    assert len(seen) > 50  # the walk really loaded pages
    assert not elsewhere, elsewhere


def test_rater_scoring_panel_fits_1280x720_and_main_pages_screenshot(demo_server, browser_context):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, demo_server, "rater1", "demo-rater1")
    buttons = page.locator('[data-testid="stButtonGroup"] button')
    buttons.first.wait_for(timeout=WAIT)
    _settle(page)
    page.screenshot(path=str(SCREENS / "rater_1280x720.png"))
    boxes = [buttons.nth(i).bounding_box() for i in range(buttons.count())]
    assert len(boxes) >= 9  # the demo scheme's 9-point scale
    # Inside the viewport, and inside the scoring column (the "9" was cut off by it before).
    column = page.locator('[data-testid="stButtonGroup"]').first.locator(
        "xpath=ancestor::*[@data-testid='stColumn'][1]"
    )
    edge = column.bounding_box()
    right = edge["x"] + edge["width"]
    outside = [
        b
        for b in boxes
        if b is None
        or b["x"] < 0
        or b["y"] < 0
        or b["x"] + b["width"] > min(1280, right + 1)
        or b["y"] + b["height"] > 720
    ]
    assert not outside, (outside, right)
    page.goto(demo_server + "/api/logout")
    page.click("#logout")
    for (user, password), paths in WALK.items():
        if user == "rater1":
            continue
        page.set_viewport_size({"width": 1280, "height": 720})
        login(page, demo_server, user, password)
        page.goto(f"{demo_server}/{paths[0] if user != 'researcher' else 'progress'}")
        _settle(page)
        page.screenshot(path=str(SCREENS / f"{user}_1280x720.png"))
        page.goto(demo_server + "/api/logout")
        page.click("#logout")
