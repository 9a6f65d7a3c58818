"""Two raters disagree by 3 points on a double-coded segment; the consensus task appears for the
primary rater, is resolved in the browser, and both original scores are still in the export."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tempfile

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, WAIT, login

pytestmark = pytest.mark.e2e

PASSWORDS = {"rater1": "demo-rater1", "rater2": "demo-rater2", "rater3": "demo-rater3"}


def pick_double_coded(db_url: str):
    """A rater1 item whose segment another rater has finished: (film code, segment no, other rater,
    other score, primary rater)."""
    eng = create_engine(db_url)
    with eng.connect() as c:
        row = c.execute(
            text("""
            SELECT r.blind_code, s."index" + 1, u2.username, rt.value,
                   (SELECT u.username FROM assignment ap JOIN user_account u ON u.id = ap.rater_id
                     WHERE ap.segment_id = s.id AND ap.purpose = 'primary')
            FROM assignment a1
            JOIN user_account u1 ON u1.id = a1.rater_id AND u1.username = 'rater1'
            JOIN segment s ON s.id = a1.segment_id
            JOIN recording r ON r.id = s.recording_id
            JOIN assignment a2 ON a2.segment_id = s.id AND a2.id != a1.id AND a2.status = 'done'
            JOIN user_account u2 ON u2.id = a2.rater_id
            JOIN rating rt ON rt.assignment_id = a2.id
            WHERE a1.status != 'done'
            ORDER BY a1.order_index LIMIT 1
        """)
        ).one()
    eng.dispose()
    return row


def span(seg: int, seconds: int = 15) -> str:
    """The start of a segment's label as the pages show it: its times (no "segment i of n", which
    carries order); the last segment of a film ends with the film, so only the start is matched."""
    start = (seg - 1) * seconds
    return f"{start // 60}:{start % 60:02d}–"


def choose_item(page, film: str, seg: int) -> None:
    box = page.get_by_role("combobox").first
    box.click()
    page.get_by_role("option").filter(has_text=f"Film {film} ({span(seg)}").first.click()
    page.wait_for_timeout(1500)


def test_consensus_round_trip(demo_server, demo_data):
    from playwright.sync_api import sync_playwright

    db_url = f"sqlite:///{demo_data / 'annotate.db'}"
    film, seg, other, other_score, primary = pick_double_coded(db_url)
    mine = other_score + 3 if other_score <= 6 else other_score - 3
    with sync_playwright() as p, tempfile.TemporaryDirectory() as prof1, tempfile.TemporaryDirectory() as prof2:
        ctx = p.chromium.launch_persistent_context(
            prof1,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        page = ctx.new_page()
        login(page, demo_server, "rater1", PASSWORDS["rater1"])
        page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
        choose_item(page, film, seg)
        page.locator('[data-testid="stButtonGroup"] button').filter(has_text=f"{mine:g}").first.click()
        page.get_by_text("Saved").wait_for(timeout=WAIT)
        page.get_by_role("button", name="Mark segment done").click()
        page.get_by_text("Segment marked done.").wait_for(timeout=WAIT)
        ctx.close()

        decider = primary if primary != "rater1" else "rater1"
        ctx = p.chromium.launch_persistent_context(
            prof2,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        page = ctx.new_page()
        login(page, demo_server, decider, PASSWORDS[decider])
        # The home page sends a rater on to Rate; a click before that lands is overridden by it.
        page.wait_for_url(demo_server + "/rate", timeout=WAIT)
        page.locator("video.sp-video").or_(page.get_by_text("All done — thank you")).first.wait_for(
            state="attached", timeout=WAIT
        )
        page.get_by_role("link", name="Consensus").click()
        shown = page.get_by_text("How was it reached?").or_(page.get_by_text("No open consensus tasks."))
        shown.first.wait_for(timeout=WAIT)
        assert page.get_by_text("How was it reached?").count() == 1, page.locator("body").inner_text()
        page.get_by_role("combobox").first.click()
        page.get_by_role("option").filter(has_text=f"Film {film} · {span(seg)}").first.click()
        page.wait_for_timeout(1000)
        body = page.locator("body").inner_text()
        assert f"{mine:g}" in body and f"{other_score:g}" in body
        page.locator('[data-testid="stButtonGroup"] button').filter(has_text="5").first.click()
        page.get_by_label("How was it reached?").fill("watched together; agreed on 5")
        page.get_by_role("button", name="Record consensus").click()
        page.get_by_text("Consensus recorded.").wait_for(timeout=WAIT)
        page.screenshot(path="/tmp/e2e_consensus.png")
        ctx.close()

    env = {**os.environ, "ANNOTATE_DATA_DIR": str(demo_data), "ANNOTATE_SECRET_KEY": "e2e-secret"}
    env.pop("ANNOTATE_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "annotate", "export", "--study", "DEMO", "--mode", "blinded"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["recording"] == film and r["segment"] == str(seg)]
    got = sorted((r["rater"], r["purpose"], float(r["value"])) for r in rows)
    assert ("rater1", float(mine)) in {(r, v) for r, _p, v in got}
    assert (other, float(other_score)) in {(r, v) for r, _p, v in got}
    assert any(p == "consensus" and v == 5.0 for _r, p, v in got)
