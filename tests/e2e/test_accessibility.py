"""WCAG 2.1 AA in Debian's Chromium: axe-core (the engine of Deque's axe, through
axe-playwright-python) scans every page and every tab of every role, the login and logout pages
included, and finds no serious or critical violation; a rater can score a segment and mark it
done with the keyboard alone, and every control the Tab key reaches shows where the focus is."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WAIT, login
from tests.e2e.test_offline_layout import WALK, _settle

pytestmark = pytest.mark.e2e

ANALYST = ("analyst", "analyst-pass-word")
# The analyst's own pages (the demo has no analyst: the test adds one).
ANALYST_PAGES = ["studies", "progress", "status", "data", "reliability", "summaries", "account"]
EXTRA = {"rater1": ["account"], "researcher": ["timing", "account"], "admin": ["audit"]}
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(page, where: str) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG_AA).response["violations"]
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} — {node['html'][:160]}"
        for v in found
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]


def _scan_page_and_tabs(page, where: str) -> list[str]:
    out = _violations(page, where)
    tabs = page.get_by_role("tab")
    for i in range(tabs.count()):
        name = tabs.nth(i).inner_text().strip()
        tabs.nth(i).click()
        page.wait_for_timeout(600)
        out += _violations(page, f"{where} [tab {name}]")
    return out


@pytest.fixture(scope="module")
def with_analyst(demo_server, demo_data) -> str:
    env = {**os.environ, "ANNOTATE_DATA_DIR": str(demo_data), "ANNOTATE_NEW_PASSWORD": ANALYST[1]}
    env.pop("ANNOTATE_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "annotate", "users", "add", ANALYST[0], "--role", "analyst", "--name", "Analyst"],
        env=env,
        check=True,
        capture_output=True,
    )
    return demo_server


def test_every_page_of_every_role_passes_axe(with_analyst, browser_context):
    base = with_analyst
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(base + "/api/login")
    found = _violations(page, "login")
    walk = {**WALK, ANALYST: ANALYST_PAGES}
    scanned = 1
    for (user, password), paths in walk.items():
        login(page, base, user, password)
        _settle(page)
        for path in [*paths, *EXTRA.get(user, [])]:
            page.goto(f"{base}/{path}")
            _settle(page)
            found += _scan_page_and_tabs(page, f"{user} /{path}")
            scanned += 1
        page.goto(base + "/api/logout")
        found += _violations(page, "logout")
        page.click("#logout")
        page.wait_for_url(base + "/api/login", timeout=WAIT)
    assert scanned >= 25
    assert not found, "\n".join(found)


_FOCUSED = """() => {
  let e = document.activeElement;  // into the player's shadow root, where its controls live
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  return {tag: e.tagName, text: (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 60),
          ring: ring};
}"""


def _tab_to(page, wanted, limit: int = 120) -> list[dict]:
    """Press Tab until ``wanted(focused)`` holds; return every element focused on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        page.wait_for_timeout(60)
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            continue
        seen.append(focused)
        if wanted(focused):
            return seen
    raise AssertionError(f"Tab never reached the control; focus went through {[f['text'] for f in seen]}")


def test_rater_scores_and_marks_done_with_the_keyboard_alone(demo_server, browser_context):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(demo_server + "/api/login")
    page.keyboard.type("rater1")  # the username field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type("demo-rater1")
    page.keyboard.press("Enter")
    page.wait_for_url(demo_server + "/rate", timeout=WAIT)
    page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
    _settle(page)
    # Through the sidebar, the queue and every player control to the score buttons, which are one
    # group: Tab enters it, the arrow keys move within it (the ARIA radio-group pattern).
    path = _tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "1")
    assert any(f["text"] == "▶ Play" for f in path)  # the player's controls are on the way
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.evaluate(_FOCUSED)["text"] == "4"
    page.keyboard.press("Enter")
    page.get_by_text("Saved").wait_for(timeout=WAIT)
    _settle(page)
    path += _tab_to(page, lambda f: f["text"] == "Mark segment done")
    page.keyboard.press("Enter")
    page.get_by_text("Segment marked done.").wait_for(timeout=WAIT)
    expect(page.get_by_text("Segment marked done.")).to_be_visible()
    unringed = [f["text"] for f in path if not f["ring"]]
    assert not unringed, f"focus not visible on: {unringed}"
