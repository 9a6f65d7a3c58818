"""A researcher uploads films, closes the tab, and opens a new session: the jobs panel shows the
work (done by the worker that `annotate serve` runs, not by the closed page) and the films are ready."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.e2e.conftest import WAIT, login
from tests.support.synthetic import make_synthetic_film

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_upload_close_tab_new_session_sees_progress_and_ready(demo_server, demo_data, browser_context, tmp_path):
    paths = [
        str(make_synthetic_film(tmp_path / f"upload {i} \u00e9.mp4", 4, 160, 120, 15, seed=40 + i)) for i in range(2)
    ]
    page = browser_context.new_page()
    login(page, demo_server, "researcher", "demo-researcher")
    page.goto(demo_server + "/films")
    counts = page.get_by_text(re.compile(r"\d+ queued, \d+ running, \d+ done, \d+ failed"))
    before = int(re.search(r"(\d+) done", counts.inner_text(timeout=WAIT)).group(1))
    page.get_by_role("tab", name="Upload films").click()
    page.locator("input[type=file][multiple]").set_input_files(paths)
    page.get_by_text("upload 1 é.mp4").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Upload and ingest").click()
    page.get_by_text(re.compile(r"2 film\(s\) queued")).wait_for(timeout=WAIT)
    page.close(run_before_unload=True)  # the tab is gone; the work is not (no wait: close() has no timeout)

    again = browser_context.new_page()  # a new Streamlit session (the login cookie is the browser's)
    again.goto(demo_server + "/films")
    again.get_by_text("Jobs", exact=True).wait_for(timeout=WAIT)
    # The panel refreshes itself; wait (bounded) until both upload jobs are done.
    caption = again.get_by_text(re.compile(r"\d+ queued, \d+ running, \d+ done, \d+ failed"))
    want = f"0 queued, 0 running, {before + 2} done, 0 failed"
    for _ in range(120):
        if want in caption.inner_text(timeout=WAIT):
            break
        again.wait_for_timeout(1000)
    assert want in caption.inner_text()
    con = sqlite3.connect(demo_data / "annotate.db")
    try:
        rows = con.execute("SELECT original_name, status FROM recording WHERE original_name LIKE 'upload %'").fetchall()
    finally:
        con.close()
    assert sorted(rows) == [("upload 0 é.mp4", "ready"), ("upload 1 é.mp4", "ready")]
