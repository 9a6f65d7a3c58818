"""A researcher in Chromium downloads the ratings: before unblinding the export masks the arms."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import WAIT, login

pytestmark = pytest.mark.e2e


def test_researcher_downloads_masked_ratings(demo_server, browser_context, tmp_path):
    page = browser_context.new_page()
    login(page, demo_server, "researcher", "demo-researcher")
    page.get_by_role("link", name="Data in and out").click()
    button = page.get_by_role("link", name="Ratings, one row per rating (CSV)")
    button.wait_for(timeout=WAIT)
    with page.expect_download(timeout=WAIT) as dl:
        button.click()
    path = tmp_path / "ratings.csv"
    dl.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows, "the demo has finished ratings of two raters"
    assert {r["arm"] for r in rows} <= {"Arm A", "Arm B"}
    assert {"participant", "timepoint", "rater", "dimension", "value"} <= set(rows[0])
    assert all(r["rater"] in ("rater1", "rater2", "rater3") for r in rows)


def test_researcher_downloads_spss_and_elan(demo_server, browser_context, tmp_path):
    page = browser_context.new_page()
    login(page, demo_server, "researcher", "demo-researcher")
    page.get_by_role("link", name="Data in and out").click()
    for name in ("SPSS (.sav)", "Codebook (CSV)"):
        button = page.get_by_role("link", name=name)
        # The Data page can take long to draw on a loaded CI machine (this wait once ran out at 20 s).
        button.wait_for(timeout=90_000)
        with page.expect_download(timeout=WAIT) as dl:
            button.click()
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        assert path.stat().st_size > 100
