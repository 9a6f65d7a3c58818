"""The Reliability page in Chromium at 1280 x 720 on the demo study once all three raters have
finished: each double-coded segment is rated by 2 of the 3 raters (the engine's design), so the
page must give the design's ICCs and a recommendation, never "cannot be computed" or a raw None.

Screenshots of each panel go to ``$ANNOTATE_SCREENSHOTS`` (default: the test's temp folder).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, WAIT, login, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PANELS = ["Summary", "Design", "Raters", "G/D-study", "Plan"]


def _finish_rater1(data: Path) -> None:
    """rater1 finishes their demo queue (seeded scores), so every double-coded segment counts."""
    from annotate.config import Settings
    from annotate.db.engine import session_factory
    from annotate.services import accounts, rating

    settings = Settings.from_env({"ANNOTATE_DATA_DIR": str(data), "ANNOTATE_SECRET_KEY": "e2e-secret"})
    session = session_factory(settings.database_url)()
    try:
        actor = accounts.actor_of(accounts.get_user(session, "rater1"))
        rng = random.Random(14)
        for item in rating.rater_queue(session, actor).items:
            rating.save_rating(session, actor, item.assignment_id, "sensitivity", rng.randint(3, 7), expected_version=0)
            rating.mark_done(session, actor, item.assignment_id)
        session.commit()
    finally:
        session.close()


@pytest.fixture(scope="module")
def all_raters_server(tmp_path_factory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    data = tmp_path_factory.mktemp("reliability-demo")
    env = {**os.environ, "ANNOTATE_DATA_DIR": str(data), "ANNOTATE_SECRET_KEY": "e2e-secret"}
    env.pop("ANNOTATE_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "annotate", "demo"], env=env, check=True, capture_output=True)
    _finish_rater1(data)
    with running_server(env, data, "--demo") as base:
        yield base


def test_reliability_panels_on_the_engine_design(all_raters_server, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS

    shots = Path(os.environ.get("ANNOTATE_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        try:
            login(page, all_raters_server, "researcher", "demo-researcher")
            page.goto(all_raters_server + "/reliability")
            page.get_by_text("Statistics for this design").wait_for(timeout=WAIT)
            body = page.inner_text("body")
            assert "Report ICC(A,1) =" in body and "incomplete design" in body, body[:2000]
            assert "cannot be computed" not in body and "No ICC" not in body
            for panel in PANELS:
                name = panel.replace("/", "-").lower()
                page.get_by_role("tab", name=panel).click()
                page.wait_for_timeout(1500)
                # Streamlit scrolls its main block, not the document: bring the panel to the top
                page.locator("[role=tablist]").evaluate("e => e.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
                page.screenshot(path=str(shots / f"reliability_{name}.png"))
                text = page.locator("[role=tabpanel]:visible").inner_text()
                assert "None" not in text.replace("None of", ""), (panel, text[:1000])
                page.mouse.wheel(0, 600)
                page.wait_for_timeout(300)
                page.screenshot(path=str(shots / f"reliability_{name}_2.png"))
        finally:
            browser.close()
