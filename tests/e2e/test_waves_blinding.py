"""The browser blinding walk on a study filmed in two waves, and for the blinded analyst.

The study is built as a trial would run it, through the command line: baseline films ingested and
planned, then the month-5 films ingested and the plan extended. Then Debian's Chromium walks the
rater's page (every queue item) and every page of the analyst, and everything the browser
receives — websocket frames, page HTML, request URLs, media headers — is searched for arm names,
time points, participant ids, file names, and identifiers that are not opaque tokens.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.blinding import leaked_words
from tests.e2e.conftest import CHROMIUM, WAIT, login, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_media"
ARMS = ["VIPP", "Usual care"]
TIMEPOINTS = ["baseline", "month5"]
PARTICIPANTS = [f"F0{i}" for i in range(1, 7)]
FILE_NAMES = ["film_0", "film_1", "manifest"]
RATERS = ["wr1", "wr2", "wr3"]
KEY_RE = re.compile(
    r"(?:score|note|player|reason|guess|unblind_send|unblind|cons_value|cons_player|cons_reason)_(\w+?)(?:_|\b)"
)


def _cli(env, *args, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "annotate", *map(str, args)], env=env, capture_output=True, text=True, input=stdin
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


@pytest.fixture(scope="module")
def waves(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    data = tmp_path_factory.mktemp("e2e-waves")
    env = {**os.environ, "ANNOTATE_DATA_DIR": str(data), "ANNOTATE_SECRET_KEY": "e2e-waves-secret"}
    env.pop("ANNOTATE_DATABASE_URL", None)
    for name, role in [("res", "researcher"), ("ana", "analyst"), *((r, "rater") for r in RATERS)]:
        _cli({**env, "ANNOTATE_NEW_PASSWORD": f"{name}-pass-word"}, "users", "add", name, "--role", role)
    rows = [r for r in csv.DictReader((SAMPLE / "manifest.csv").open()) if r["purpose"] == "assessment"]
    _cli(
        env,
        "study",
        "create",
        "WAVES",
        "--arms",
        ",".join(ARMS),
        "--timepoints",
        ",".join(TIMEPOINTS),
        "--scheme",
        "ainsworth_sensitivity",
        "--segment-seconds",
        "15",
        "--as",
        "res",
    )
    parts = data / "participants.csv"
    parts.write_text(
        "participant,arm\n" + "".join(f"{p},{a}\n" for p, a in sorted({(r["participant"], r["arm"]) for r in rows}))
    )
    _cli(env, "participants", "import", "--study", "WAVES", parts)
    for wave, (tp, seed) in enumerate([("baseline", 7), ("month5", 8)]):
        manifest = data / f"wave{wave}.csv"
        manifest.write_text(
            "file,participant,timepoint\n"
            + "".join(f"{SAMPLE / r['file']},{r['participant']},{tp}\n" for r in rows if r["timepoint"] == tp)
        )
        _cli(env, "ingest", "--study", "WAVES", "--manifest", manifest, "--here", "--as", "res")
        args = ["assign", "--study", "WAVES", "--seed", seed, "--as", "res"]
        for r in RATERS:
            args += ["--rater", r]
        _cli(env, *args)
    queues = {r: json.loads(_cli(env, "queue", "--study", "WAVES", "--rater", r, "--json")) for r in RATERS}
    with running_server(env, data) as base:
        yield base, queues


def _record(page) -> tuple[list[bytes], list[str], list[str]]:
    frames: list[bytes] = []
    urls: list[str] = []
    headers: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode())),
    )
    page.on("request", lambda r: urls.append(r.url))
    page.on("response", lambda r: headers.append(repr(r.headers)) if "/api/media/" in r.url else None)
    return frames, urls, headers


def test_every_queue_mixes_the_waves(waves):
    _base, queues = waves
    for rater, items in queues.items():
        tps = [i["timepoint"] for i in items]
        assert set(tps) == set(TIMEPOINTS), rater
        # Not one wave after the other (what queues showed before the reshuffle).
        assert tps != sorted(tps, key=TIMEPOINTS.index), (rater, tps)
        assert [i["position"] for i in items] == list(range(1, len(items) + 1))


def test_rater_walk_of_a_two_wave_queue_leaks_nothing(waves, browser_context):
    base, queues = waves
    page = browser_context.new_page()
    frames, urls, headers = _record(page)
    login(page, base, "wr1", "wr1-pass-word")
    page.locator("video.sp-video").wait_for(state="attached", timeout=WAIT)
    html = [page.content()]
    for _ in range(len(queues["wr1"]) - 1):
        page.get_by_role("button", name="Next →").click()
        page.wait_for_timeout(1500)
        html.append(page.content())
    page.get_by_text("I may have been unblinded").click()
    page.wait_for_timeout(800)
    html.append(page.content())
    received = b"\n".join(frames).decode("latin-1")
    media = [u for u in urls if "/api/media/" in u]
    blob = "\n".join([received, *html, "\n".join(urls), "\n".join(headers)])
    assert frames and media
    assert not leaked_words(blob, ARMS + TIMEPOINTS + PARTICIPANTS + FILE_NAMES)
    # Identifiers: every keyed element (classes st-key-…, websocket element ids) carries a random
    # 16-hex token, never a number; media URLs carry the film code and an opaque token only.
    tokens = set(KEY_RE.findall(received + "\n".join(html)))
    assert tokens and all(re.fullmatch(r"[0-9a-f]{16}", t) for t in tokens), sorted(tokens)[:10]
    for u in media:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/media/[A-Z0-9]+\?t=[\w.\-]+", u), u
    assert not re.search(r"segment \d+ (?:of|/) ?\d+", "\n".join(html))
    # Each film of the queue was streamed (206/200 with the login cookie), none refused.
    assert len({u.split("?")[0] for u in media}) >= 2


def test_analyst_walk_sees_no_allocation(waves, browser_context):
    base, _queues = waves
    page = browser_context.new_page()
    frames, urls, _headers = _record(page)
    login(page, base, "ana", "ana-pass-word")
    page.wait_for_timeout(2500)
    texts = [page.locator("body").inner_text()]
    nav = ["Progress", "Study status", "Data in and out", "Reliability", "Summaries", "Studies"]
    for name in nav:
        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=name).click()
        page.wait_for_timeout(2500)
        texts.append(page.locator("body").inner_text())
    assert page.get_by_role("link", name="Films").count() == 0 and page.get_by_role("link", name="Assign").count() == 0
    received = b"\n".join(frames).decode("latin-1")
    blob = "\n".join([received, *texts, "\n".join(urls)])
    assert "Arm A" in blob  # the masked view is there ...
    assert not leaked_words(blob, ARMS + PARTICIPANTS + FILE_NAMES)  # ... the allocation is not
    assert "Traceback" not in blob
