"""The segment player in a real browser: Streamlit + Debian's Chromium via Playwright.

The test starts, on free loopback ports, a Range-capable media server (Starlette
FileResponse under uvicorn, in a thread) and ``streamlit run`` of a tiny page using
:func:`annotate.ui.player.segment_player`, then drives /usr/bin/chromium.

Where the DOM is: a components-v2 element with ``isolate_styles=True`` is mounted
in the main document (no iframe) inside ``div[data-testid="stBidiComponentIsolated"]``
whose open shadow root holds the player; Playwright's CSS locators pierce open
shadow roots, so ``page.locator("video.sp-video")`` reaches the video directly.
"""

from __future__ import annotations

import fractions
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import WAIT

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FILM_SECONDS = 6.0
FPS = 25
SEGMENT_START = 1.0
SEGMENT_END = 3.0
SECOND_START = 3.5
SECOND_END = 5.5
SCREENSHOT = Path("/tmp/player.png")
SCREENSHOT_NARROW = Path("/tmp/player_800.png")

APP_SCRIPT = """
import os
import streamlit as st
from annotate.ui.player import segment_player

SEGMENTS = [({start}, {end}), ({start2}, {end2})]


def next_segment():
    st.session_state.segment = 1 - st.session_state.get("segment", 0)


st.title("Player check")
film = st.query_params.get("film", "film.mp4")
src = os.environ["PLAYER_TEST_MEDIA_BASE"] + "/api/media/" + film + "?t=test-token"
start, end = SEGMENTS[st.session_state.get("segment", 0)]
state = segment_player(
    src=src, start_s=start, end_s=end, key="player", fps={fps}, label="Segment 2 of 7",
)
st.text(f"REPORTED {{state!r}}")
st.button("Next segment", on_click=next_segment)
"""


def write_test_film(path: Path, *, seconds: float, codec: str) -> None:
    """Write a 320x240 MP4 with moving colour and a 440 Hz AAC tone (PyAV)."""
    import av

    width, height = 320, 240
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream(codec, rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            video.options = {"g": str(FPS)}  # short GOP: quick seeks
        audio = container.add_stream("aac", rate=44100)
        audio.layout = "mono"
        ys, xs = np.mgrid[0:height, 0:width]
        for index in range(int(round(seconds * FPS))):
            image = np.empty((height, width, 3), np.uint8)
            image[..., 0] = (xs + index * 8) % 256
            image[..., 1] = ys * 255 // height
            image[..., 2] = int(255 * index / (seconds * FPS))
            box_x = (index * 6) % (width - 40)
            image[100:140, box_x : box_x + 40] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            frame.time_base = fractions.Fraction(1, FPS)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        rate, chunk = 44100, 1024
        total = int(seconds * rate)
        for first in range(0, total, chunk):
            count = min(chunk, total - first)
            tone = 0.2 * np.sin(2 * np.pi * 440 * np.arange(first, first + count) / rate)
            frame = av.AudioFrame.from_ndarray(tone.astype(np.float32).reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = first
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as error:  # not listening yet
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s: {last_error}")


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    write_test_film(folder / "film.mp4", seconds=FILM_SECONDS, codec="libx264")
    # HEVC: Debian's Chromium decodes only its audio, with no error event.
    write_test_film(folder / "hevc.mp4", seconds=1.0, codec="libx265")
    return folder


@pytest.fixture(scope="module")
def media_base(media_dir: Path) -> Iterator[str]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def media(request: Request) -> Response:
        path = media_dir / request.path_params["name"]
        if not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(path, media_type="video/mp4")  # answers Range requests

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/api/media/{name}", media), Route("/health", health)])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    _wait_for_http(f"{base}/health", timeout_s=20)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def app_url(media_base: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("app")
    script = folder / "player_app.py"
    script.write_text(
        APP_SCRIPT.format(start=SEGMENT_START, end=SEGMENT_END, start2=SECOND_START, end2=SECOND_END, fps=float(FPS))
    )
    port = _free_port()
    env = dict(os.environ, PLAYER_TEST_MEDIA_BASE=media_base)
    log_path = folder / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(f"{base}/_stcore/health", timeout_s=60)
        yield base
    except RuntimeError:
        raise RuntimeError(f"streamlit did not start:\n{log_path.read_text(errors='replace')}") from None
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def page(tmp_path: Path):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def _video(page, expression: str):
    return page.locator("video.sp-video").evaluate(f"v => {expression}")


def _wait_until(check, timeout_s: float, what: str, poll_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _reported(page) -> str:
    return page.get_by_test_id("stText").inner_text()


def _reported_time(page) -> float | None:
    match = re.search(r"current_time=([0-9.]+)", _reported(page))
    return float(match.group(1)) if match else None


def _open_player(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    root = page.locator(".sp-root")
    expect(root).to_have_attribute("data-state", re.compile("ready|error"), timeout=WAIT)


def test_player_plays_segment_and_reports_time(page, app_url: str) -> None:
    from playwright.sync_api import expect

    _open_player(page, app_url)
    # The component is in the main document, inside an open shadow root.
    assert page.evaluate(
        """() => {
            const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
            return !!(host && host.shadowRoot && host.shadowRoot.querySelector('video.sp-video'));
        }"""
    )
    assert page.locator(".sp-root").get_attribute("data-state") == "ready"
    assert _video(page, "v.videoWidth") == 320
    assert _video(page, "v.videoHeight") == 240
    _wait_until(lambda: abs(_video(page, "v.currentTime") - SEGMENT_START) < 0.01, 10, "seek to start")
    assert _reported(page) == "REPORTED None"  # loading and the first seek send nothing
    _video(page, "(v.__loadStarts = 0, v.addEventListener('loadstart', () => v.__loadStarts++), 0)")
    expect(page.locator(".sp-time-bounds")).to_have_text("Segment 00:01.00\u201300:03.00")
    expect(page.locator(".sp-time-segment")).to_have_text("00:00.00 / 00:02.00")

    # Play: time advances, playback stops at the segment end.
    page.locator("button.sp-play").click()
    _wait_until(lambda: 1.3 < _video(page, "v.currentTime") < 2.9, 10, "playback to advance")
    assert _video(page, "v.paused") is False
    _wait_until(lambda: _video(page, "v.paused"), 15, "playback to stop at the segment end")
    assert _video(page, "v.currentTime") == pytest.approx(SEGMENT_END, abs=0.01)
    expect(page.get_by_test_id("stText")).to_have_text(
        "REPORTED PlayerState(current_time=3.0, playing=False, ended_segment=True)", timeout=WAIT
    )
    # The reruns caused by the report neither reloaded nor moved the video.
    assert _video(page, "v.__loadStarts") == 0
    assert _video(page, "v.currentTime") == pytest.approx(SEGMENT_END, abs=0.01)

    # Keyboard: focus the player (click on a non-control part), then use the shortcuts.
    page.locator(".sp-times").click()
    page.keyboard.press("ArrowLeft")
    _wait_until(lambda: _reported_time(page) == pytest.approx(2.0, abs=0.01), 15, "report after 1 s back")
    page.keyboard.press(",")
    _wait_until(lambda: _reported_time(page) == pytest.approx(2.0 - 1 / FPS, abs=0.002), 15, "report after frame back")
    page.keyboard.press("Shift+ArrowLeft")  # would go before the segment start: clamped
    _wait_until(lambda: _reported_time(page) == pytest.approx(SEGMENT_START, abs=0.002), 15, "clamp at start")
    assert _video(page, "v.currentTime") == pytest.approx(SEGMENT_START, abs=0.002)
    page.keyboard.press("]")
    assert _video(page, "v.playbackRate") == 1.5
    assert page.locator("select.sp-speed").input_value() == "1.5"

    # Clicking the middle of the progress bar seeks to the middle of the segment.
    bar = page.locator(".sp-progress")
    box = bar.bounding_box()
    bar.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    _wait_until(lambda: abs(_video(page, "v.currentTime") - 2.0) < 0.05, 10, "seek by progress bar")

    # "Use current time" while playing slowly: Python hears playing=True, and the
    # rerun it causes does not interrupt playback.
    page.locator("select.sp-speed").select_option("0.25")
    assert _video(page, "v.playbackRate") == 0.25
    page.locator("button.sp-play").click()
    _wait_until(lambda: not _video(page, "v.paused"), 10, "slow playback to start")
    page.locator("button.sp-report").click()
    expect(page.get_by_test_id("stText")).to_contain_text("playing=True", timeout=WAIT)
    assert _video(page, "v.paused") is False
    assert _video(page, "v.__loadStarts") == 0
    page.screenshot(path="/tmp/player_playing.png")
    page.keyboard.press("Space")  # focus is on a button: Space still means play/pause
    _wait_until(lambda: _video(page, "v.paused"), 5, "Space to pause")
    for _ in range(5):
        page.keyboard.press("]")
    assert _video(page, "v.playbackRate") == 2  # the fastest speed, not beyond

    # "r" replays the segment from its start and stops at the end again.
    page.locator(".sp-times").click()
    page.keyboard.press("r")
    _wait_until(lambda: not _video(page, "v.paused"), 10, "replay to start")
    _wait_until(lambda: _video(page, "v.paused"), 15, "replay to stop at the end")
    assert _video(page, "v.currentTime") == pytest.approx(SEGMENT_END, abs=0.01)
    assert _video(page, "v.__loadStarts") == 0


def test_next_segment_reuses_the_loaded_film(page, app_url: str) -> None:
    from playwright.sync_api import expect

    _open_player(page, app_url)
    _wait_until(lambda: abs(_video(page, "v.currentTime") - SEGMENT_START) < 0.01, 10, "seek to start")
    page.locator(".sp-times").click()
    page.keyboard.press("ArrowRight")
    _wait_until(lambda: _reported_time(page) == pytest.approx(2.0, abs=0.01), 15, "report in segment 1")
    _video(page, "(v.__loadStarts = 0, v.addEventListener('loadstart', () => v.__loadStarts++), 0)")

    page.get_by_role("button", name="Next segment").click()
    expect(page.locator(".sp-time-bounds")).to_have_text("Segment 00:03.50\u201300:05.50", timeout=WAIT)
    _wait_until(lambda: abs(_video(page, "v.currentTime") - SECOND_START) < 0.01, 10, "seek to new start")
    # The report from the previous segment is not passed off as this one's.
    expect(page.get_by_test_id("stText")).to_have_text("REPORTED None")
    page.locator("button.sp-play").click()
    expect(page.get_by_test_id("stText")).to_have_text(
        f"REPORTED PlayerState(current_time={SECOND_END}, playing=False, ended_segment=True)",
        timeout=WAIT,
    )
    assert _video(page, "v.__loadStarts") == 0  # same URL: the film was not reloaded


def test_player_fits_wide_and_narrow_pages(page, app_url: str) -> None:
    _open_player(page, app_url)
    for width, path in ((1280, SCREENSHOT), (800, SCREENSHOT_NARROW)):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)
        overflow = page.locator(".sp-root").evaluate(
            "r => ({root: r.scrollWidth - r.clientWidth,"
            " page: document.documentElement.scrollWidth - window.innerWidth})"
        )
        assert overflow["root"] <= 0, f"player content overflows at {width}px: {overflow}"
        assert overflow["page"] <= 0, f"page scrolls sideways at {width}px: {overflow}"
        page.screenshot(path=str(path), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


@pytest.mark.parametrize("film", ["hevc.mp4", "missing.mp4"])
def test_undecodable_or_missing_film_shows_a_message(page, app_url: str, film: str) -> None:
    from playwright.sync_api import expect

    _open_player(page, f"{app_url}/?film={film}")
    assert page.locator(".sp-root").get_attribute("data-state") == "error"
    message = page.locator(".sp-message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("This film cannot be played in this browser")
    assert page.locator("button.sp-play").is_disabled()
    if film == "hevc.mp4":
        page.screenshot(path="/tmp/player_error.png")
