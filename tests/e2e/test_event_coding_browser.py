"""A coder in Debian's Chromium codes states and points with the keyboard at 0.5x and 1x, reloads,
edits one event and marks the film done; every coded time is the media time of a frame shown,
and nothing the browser receives names an arm, a time point or a participant (issue 19)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.blinding import leaked_words
from tests.e2e.conftest import WAIT, login

pytestmark = pytest.mark.e2e

PLAYER = "document.querySelector('[data-testid=stBidiComponentIsolated]')?.shadowRoot"


def _cli(data, *args: str) -> str:
    env = {**os.environ, "ANNOTATE_DATA_DIR": str(data), "ANNOTATE_SECRET_KEY": "e2e-secret"}
    env.pop("ANNOTATE_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "annotate", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _coder1_events(data) -> list[dict[str, str]]:
    out = _cli(data, "export", "--study", "DEMO-EVENTS", "--format", "events", "--mode", "blinded")
    return [r for r in csv.DictReader(io.StringIO(out)) if r["rater"] == "coder1"]


def _shown_frame_time(page) -> float:
    return page.evaluate(f"() => {PLAYER}.__annotateSegmentPlayer.shownMediaTime")


def _press(page, key: str) -> None:
    page.keyboard.press(key)
    page.wait_for_timeout(300)


def test_coder_codes_with_keys_at_two_speeds_and_times_are_frames(demo_server, demo_data, browser_context) -> None:
    before = _coder1_events(demo_data)
    fps = {
        r["blind_code"]: r["fps"] for r in json.loads(_cli(demo_data, "recordings", "--study", "DEMO-EVENTS", "--json"))
    }
    page = browser_context.new_page()
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode())),
    )
    login(page, demo_server, "coder1", "demo-coder1")
    page.wait_for_function(f"() => {{ const v = {PLAYER}?.querySelector('video'); return v && v.videoWidth > 0; }}")
    page.locator("button.sp-code").first.wait_for()
    assert page.locator("button.sp-code").count() == 14  # one button per code of the shipped ethogram
    page.locator(".sp-times").click()  # focus the player without toggling playback

    # 0.5x: start "looks at parent", mark a vocalisation, switch to "looks away" (exclusive group).
    page.locator("select.sp-speed").select_option("0.5")
    page.locator(".sp-times").click()
    assert page.evaluate(f"() => {PLAYER}.querySelector('video').preservesPitch") is True
    _press(page, "Space")
    page.wait_for_timeout(1200)
    _press(page, "g")
    page.wait_for_timeout(600)
    _press(page, "v")
    page.wait_for_timeout(600)
    _press(page, "a")
    _press(page, "Space")
    # 1x: play on, mark a parent vocalisation, stop "looks away".
    page.locator("select.sp-speed").select_option("1")
    page.locator(".sp-times").click()
    _press(page, "Space")
    page.wait_for_timeout(900)
    _press(page, "p")
    page.wait_for_timeout(500)
    _press(page, "a")
    _press(page, "Space")
    # Paused on a stepped frame: a now moment lands exactly on the frame shown.
    for _ in range(3):
        _press(page, ".")
    page.wait_for_timeout(500)
    shown = _shown_frame_time(page)
    _press(page, "n")
    page.get_by_text("Your events (5)").wait_for()
    page.wait_for_function(f"() => {PLAYER}.querySelector('.sp-root').dataset.pending === '0'")
    page.screenshot(path="/tmp/e2e_event_coding.png")

    # Reload: the events are still there; edit the vocalisation's onset.
    page.reload()
    page.get_by_text("Your events (5)").wait_for()
    page.get_by_text("Change or delete an event").click()
    page.get_by_role("combobox", name="Event to change").click()
    option = page.get_by_role("option").filter(has_text="Infant vocalises")
    minutes, seconds = option.inner_text().split(" · ")[0].split(":")
    old_onset = int(minutes) * 60 + float(seconds)
    option.click()
    onset_box = page.get_by_role("spinbutton", name="Onset (s)")
    # The editor follows the choice after a rerun: wait until it shows the vocalisation's onset.
    expect(onset_box).to_have_value(f"{old_onset:.3f}", timeout=WAIT)
    new_onset = round(old_onset + 0.25, 3)
    onset_box.fill(f"{new_onset:.3f}")
    page.get_by_role("button", name="Save event").click()
    page.get_by_text("Event saved.").wait_for()

    # Done needs the codability score; then the film is done.
    page.locator('[data-testid="stButtonGroup"] button').filter(has_text="3").first.click()
    page.get_by_text("Saved").wait_for()
    # While the rerun after the score runs, the stale button and its replacement can both be there.
    done = page.get_by_role("button", name="Mark segment done")
    expect(done).to_have_count(1, timeout=WAIT)
    done.click()
    page.get_by_text("Segment marked done.").wait_for(timeout=WAIT)

    # Done events are in the study's export: five, on the frames shown, the edit kept.
    coded = [r for r in _coder1_events(demo_data) if r not in before]
    film = coded[0]["film"]
    rate = float(fps[film])
    by_code = {r["code"]: r for r in coded}
    assert sorted(by_code) == ["gaze_away", "gaze_parent", "infant_vocal", "now_moment", "parent_vocal"], coded
    order = ["gaze_parent", "gaze_away", "parent_vocal", "now_moment"]
    assert sorted(order, key=lambda c: float(by_code[c]["onset"])) == order
    for r in coded:
        if r["code"] == "infant_vocal":
            continue
        for field in ("onset", "offset"):
            if r[field]:
                frame = float(r[field]) * rate
                assert abs(frame - round(frame)) < 1e-4, (field, r, coded, rate)  # on the frame grid
    assert by_code["gaze_parent"]["offset"] == by_code["gaze_away"]["onset"]  # exclusive: one ends the other
    assert float(by_code["gaze_away"]["offset"]) > float(by_code["parent_vocal"]["onset"])
    assert abs(float(by_code["now_moment"]["onset"]) - round(shown * rate) / rate) < 1e-6
    assert abs(float(by_code["infant_vocal"]["onset"]) - new_onset) < 1e-9  # the edit (any time, not a frame)

    received = b"\n".join(frames).decode("latin-1")
    assert frames and not leaked_words(
        received + page.locator("body").inner_text(),
        ["VIPP", "Usual care", "baseline", "month5", "F01", "F04", "film_"],
    )
