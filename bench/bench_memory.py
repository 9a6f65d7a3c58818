"""Server memory while three browsers play three large films: our /api/media route vs ``st.video``.

Usage: ``.venv/bin/python bench/bench_memory.py [--films-mb 200] [--seconds 20]``

Why: ``st.video(path)`` reads the whole film into the Streamlit server's memory and keeps it
there for as long as a session shows it; annotate streams films from disk with HTTP Range
through ``/api/media/<code>`` instead (DESIGN.md, "Media"). This script measures both in one run.

What it does
------------
1. Makes three different H.264/AAC films of about ``--films-mb`` MB each (60 s, 1280x720,
   testsrc2 with noise so the encoder really spends the bits) with the ffmpeg CLI from
   imageio-ffmpeg, cached in ``/tmp/annotate-bench-films`` so reruns skip this step.
2. **route**: a throw-away data folder with a study, three ready recordings pointing at the
   three films (rows inserted directly, as tests/services/conftest.py does: no proxy work),
   and three raters each assigned one film; then ``streamlit run app.py`` (the flags of
   ``annotate serve``). Three Chromium contexts log in through ``/api/login`` and open the
   rater page, whose segment player streams the film through the route. If the player does
   not appear, the page gets a plain ``<video>`` with a signed URL instead (the Mode column
   says which).
3. **st.video**: a minimal Streamlit script in a temp folder showing ``st.video(film)``, the
   film chosen by ``?film=<i>``; three contexts open films 0, 1 and 2.
In both, each browser plays its film muted and seeks to 25 %, 50 % and 75 % over ``--seconds``.

Measured: resident memory (RSS) of the server process and all its children, sampled every
0.2 s with psutil: before any browser connects (idle), once the three pages show their
video and before playback (loaded: the app's own per-session cost, plus the films for
st.video, which reads them when the page is built), the peak from the first page load to
the end, and the mean over the last 3 s of a 6 s wait after playback stopped with the
sessions still open (after). "Media MB" is what the three browsers received for media requests
(Chrome DevTools Network events), "Played s" the seconds of film each browser actually played
(sum of ``video.played``), so a run where a video failed to play shows up in the table.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg
import psutil
from playwright.sync_api import Browser, BrowserContext, ElementHandle, Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
FILM_CACHE = Path("/tmp/annotate-bench-films")
FILM_SECONDS, FILM_SIZE, FILM_FPS, N_FILMS = 60, "1280x720", 30, 3
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
STREAMLIT_FLAGS = [
    "--server.headless",
    "true",
    "--browser.gatherUsageStats",
    "false",
    "--server.fileWatcherType",
    "none",
    "--client.toolbarMode",
    "minimal",
]
RATER_PASSWORD = "bench-password-1"


# ---------------------------------------------------------------- films


def make_films(target_mb: float) -> list[Path]:
    """Three different films of about ``target_mb`` MB, reused from the cache when present."""
    FILM_CACHE.mkdir(parents=True, exist_ok=True)
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    films = []
    for i in range(N_FILMS):
        path = FILM_CACHE / f"film{i}_{target_mb:g}mb.mp4"
        if not path.exists():
            started = time.perf_counter()
            video_kbps = int(target_mb * 8000 / FILM_SECONDS) - 128
            _encode_film(ffmpeg, path, i, video_kbps)
            size_mb = path.stat().st_size / 1e6
            if abs(size_mb - target_mb) > 0.1 * target_mb:  # x264's rate control missed: scale once
                _encode_film(ffmpeg, path, i, int(video_kbps * target_mb / size_mb))
            print(
                f"  made {path.name}: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
        films.append(path)
    return films


def _encode_film(ffmpeg: str, path: Path, index: int, video_kbps: int) -> None:
    # Hue and tone differ per film so the three files (and st.video's content hashes) differ.
    part = path.with_suffix(".part.mp4")
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={FILM_SIZE}:rate={FILM_FPS}:duration={FILM_SECONDS}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={440 + 220 * index}:sample_rate=48000:duration={FILM_SECONDS}",
            "-vf",
            f"hue=h={120 * index},noise=alls=12:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            f"{video_kbps}k",
            "-maxrate",
            f"{video_kbps}k",
            "-bufsize",
            f"{2 * video_kbps}k",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            "-shortest",
            str(part),
        ],
        check=True,
    )
    part.replace(path)


# ---------------------------------------------------------------- server and memory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_streamlit(script: Path, env: dict[str, str], log: Path) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        *STREAMLIT_FLAGS,
    ]
    with log.open("wb") as out:
        # Own process group, so stop_server can end the server and anything it started.
        process = subprocess.Popen(
            command, cwd=script.parent, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"streamlit did not answer within 90 s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
    except ProcessLookupError:
        pass


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


class RssSampler:
    """Samples the server tree's RSS every ``interval`` seconds in a background thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), tree_rss_mb(self.pid)))
            self._stop.wait(self.interval)

    def between(self, start: float, end: float) -> list[float]:
        return [mb for t, mb in list(self.samples) if start <= t <= end]


# ---------------------------------------------------------------- browsers


class MediaBytes:
    """Bytes one page received for media requests, from Chrome DevTools Network events."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.total = 0
        self._media: set[str] = set()
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.dataReceived", self._data)
        cdp.send("Network.enable")

    def _sent(self, event: dict) -> None:
        if event.get("type") == "Media":
            self._media.add(event["requestId"])

    def _data(self, event: dict) -> None:
        if event["requestId"] in self._media:
            self.total += event.get("dataLength", 0)


@dataclass
class Viewer:
    context: BrowserContext
    page: Page
    bytes: MediaBytes
    video: ElementHandle | None = None
    mode: str = ""
    state: dict = field(default_factory=dict)


def open_viewer(browser: Browser) -> Viewer:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    return Viewer(context, page, MediaBytes(context, page))


def find_video(page: Page, timeout_s: float) -> ElementHandle | None:
    """The first ``<video>`` with a source (Playwright's locator also looks inside shadow roots)."""
    locator = page.locator("video").first
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if locator.count():
            handle = locator.element_handle()
            if handle is not None and handle.evaluate("v => !!(v.currentSrc || v.src)"):
                return handle
        page.wait_for_timeout(250)
    return None


def play_and_seek(viewers: list[Viewer], seconds: float) -> None:
    """Play every video muted, seek all to 25 %, 50 %, 75 % of the film, pause after ``seconds``."""
    for v in viewers:
        v.video.evaluate("v => { v.muted = true; v.play().catch(() => {}); }")
    started = time.monotonic()
    for quarter in (1, 2, 3):
        _sleep_pumping(viewers, started + seconds * quarter / 4 - time.monotonic())
        for v in viewers:
            v.video.evaluate(
                f"(v, f) => {{ const d = isFinite(v.duration) ? v.duration : {FILM_SECONDS:d}; v.currentTime = d * f; "
                "v.play().catch(() => {}); }",
                quarter / 4,
            )
    _sleep_pumping(viewers, started + seconds - time.monotonic())
    for v in viewers:
        v.state = v.video.evaluate(
            """v => { v.pause(); let played = 0;
                 for (let i = 0; i < v.played.length; i++) played += v.played.end(i) - v.played.start(i);
                 return {played, error: v.error ? v.error.code : null, readyState: v.readyState}; }"""
        )


def _sleep_pumping(viewers: list[Viewer], seconds: float) -> None:
    # Playwright's sync API delivers DevTools events only while it waits, so wait through a page.
    if seconds > 0:
        viewers[0].page.wait_for_timeout(seconds * 1000)


# ---------------------------------------------------------------- the two methods


@dataclass
class Result:
    method: str
    mode: str
    idle_mb: float
    loaded_mb: float
    peak_mb: float
    after_mb: float
    media_mb: float
    played_s: list[float]
    errors: list[object]


def measure(
    method: str, server: Server, browser: Browser, open_pages: Callable[[list[Viewer]], None], seconds: float
) -> Result:
    """Open three viewers with ``open_pages``, play and seek, and read the RSS samples."""
    viewers: list[Viewer] = []
    with RssSampler(server.process.pid) as sampler:
        time.sleep(3)
        t_open = time.monotonic()
        idle = sampler.between(0, t_open)
        try:
            viewers = [open_viewer(browser) for _ in range(N_FILMS)]
            open_pages(viewers)
            t_loaded = time.monotonic()
            play_and_seek(viewers, seconds)
            _sleep_pumping(viewers, 6)
            t_end = time.monotonic()
        finally:
            for v in viewers:
                v.context.close()
    after = sampler.between(t_end - 3, t_end)
    loaded = sampler.between(t_loaded - 1, t_loaded)
    return Result(
        method=method,
        mode="/".join(sorted({v.mode for v in viewers})),
        idle_mb=sum(idle[-5:]) / len(idle[-5:]),
        loaded_mb=sum(loaded) / len(loaded),
        peak_mb=max(sampler.between(t_open, t_end)),
        after_mb=sum(after) / len(after),
        media_mb=sum(v.bytes.total for v in viewers) / 1e6,
        played_s=[round(v.state.get("played", 0.0), 1) for v in viewers],
        errors=[v.state.get("error") for v in viewers],
    )


def prepare_study(env: dict[str, str], films: list[Path]) -> list[tuple[str, int, str]]:
    """Study, participants, three ready recordings and three raters; returns (rater, user id, code)."""
    from sqlalchemy import select

    from annotate.config import Settings
    from annotate.db.models import Participant, Recording, Segment
    from annotate.services import accounts, assignments, films, studies
    from annotate.services.session import unit_of_work
    from annotate.services.studies.setup import get_study

    settings = Settings.from_env(env)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    out = []
    with unit_of_work(settings) as session:
        res = accounts.create_user(session, None, "bench-res", RATER_PASSWORD, "researcher")
        studies.create_study(
            session,
            res,
            settings,
            "BENCH",
            arms="VIPP,Control",
            timepoints="baseline",
            scheme_key="nichd_sensitivity_intrusiveness",
            segment_seconds=None,
        )
        studies.import_participants(
            session, res, "BENCH", "participant,arm\n" + "".join(f"P{i},VIPP\n" for i in range(N_FILMS))
        )
        study = get_study(session, "BENCH")
        in_study = select(Participant).where(Participant.study_id == study.id)
        by_name = {p.external_id: p.id for p in session.scalars(in_study)}
        for i, film in enumerate(films):
            key = f"proxies/bench{i}.mp4"  # the database names media by store key
            (settings.media_dir / "proxies").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(film, settings.media_dir / key)
            rec = Recording(
                study_id=study.id,
                participant_id=by_name[f"P{i}"],
                timepoint_id=study.timepoints[0].id,
                purpose="assessment",
                blind_code=films.new_blind_code(session),
                original_name=film.name,
                proxy_path=key,
                status="ready",
                size_bytes=film.stat().st_size,
                duration_s=float(FILM_SECONDS),
                fps=float(FILM_FPS),
                width=1280,
                height=720,
                has_audio=True,
            )
            session.add(rec)
            session.flush()
            segment = Segment(recording_id=rec.id, index=0, start_s=0.0, end_s=float(FILM_SECONDS))
            session.add(segment)
            rater = accounts.create_user(session, None, f"rater{i}", RATER_PASSWORD, "rater")
            session.flush()
            assignments.assign_segments(session, res, "BENCH", [rater.username], segment_ids=[segment.id], seed=i)
            out.append((rater.username, rater.user_id, rec.blind_code))
    return out


def run_route(films: list[Path], browser: Browser, seconds: float, tmp: Path) -> Result:
    from annotate.services.films.tokens import sign_media_url

    data = tmp / "route-data"
    secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "ANNOTATE_DATA_DIR": str(data),
        "ANNOTATE_DATABASE_URL": f"sqlite:///{data / 'annotate.db'}",
        "ANNOTATE_SECRET_KEY": secret,
    }
    raters = prepare_study(env, films)
    server = start_streamlit(REPO / "app.py", env, tmp / "route-server.log")

    def open_pages(viewers: list[Viewer]) -> None:
        for v, (username, _uid, _code) in zip(viewers, raters, strict=False):
            v.page.goto(f"{server.base}/api/login")
            v.page.fill("#username", username)
            v.page.fill("#password", RATER_PASSWORD)
            v.page.click("button[type=submit]")
        for v, (_username, user_id, code) in zip(viewers, raters, strict=False):
            v.video, v.mode = find_video(v.page, 45), "rater page"
            if v.video is None:  # the UI did not show the player: stream the same route without it
                url = server.base + sign_media_url(secret.encode(), code, user_id, 60)
                v.page.evaluate(
                    "u => { const el = document.createElement('video'); el.src = u; "
                    "el.preload = 'auto'; document.body.prepend(el); }",
                    url,
                )
                v.video, v.mode = find_video(v.page, 10), "injected <video>"
            if v.video is None:
                raise RuntimeError(f"No video on the page for {username}; server log: {server.log}")

    try:
        return measure("/api/media route", server, browser, open_pages, seconds)
    finally:
        stop_server(server)


ST_VIDEO_SCRIPT = '''"""Bench only: the st.video way annotate avoids."""
import streamlit as st

FILMS = {films!r}
st.video(FILMS[int(st.query_params.get("film", "0"))])
'''


def run_st_video(films: list[Path], browser: Browser, seconds: float, tmp: Path) -> Result:
    script = tmp / "st_video_app" / "st_video_app.py"
    script.parent.mkdir()
    script.write_text(ST_VIDEO_SCRIPT.format(films=[str(f) for f in films]))
    server = start_streamlit(script, dict(os.environ), tmp / "st-video-server.log")

    def open_pages(viewers: list[Viewer]) -> None:
        for i, v in enumerate(viewers):
            v.page.goto(f"{server.base}/?film={i}")
        for v in viewers:
            v.video, v.mode = find_video(v.page, 90), "st.video"
            if v.video is None:
                raise RuntimeError(f"st.video did not appear; server log: {server.log}")

    try:
        return measure("st.video(path)", server, browser, open_pages, seconds)
    finally:
        stop_server(server)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films-mb", type=float, default=200.0, help="size of each film in MB (default 200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="playback per session in seconds (default 20)")
    args = parser.parse_args()
    if args.films_mb < 5:
        parser.error("--films-mb must be at least 5 (MB)")
    if args.seconds < 4:
        parser.error("--seconds must be at least 4 (the seeks are at quarters of it)")

    # A plain `kill` should still stop the servers: turn SIGTERM into SystemExit so `finally` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    print(f"Films: {N_FILMS} x ~{args.films_mb:g} MB in {FILM_CACHE}", flush=True)
    films = make_films(args.films_mb)
    sizes = ", ".join(f"{f.stat().st_size / 1e6:.0f}" for f in films)
    print(f"  sizes (MB): {sizes}", flush=True)

    results = []
    with tempfile.TemporaryDirectory(prefix="annotate-bench-memory-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            for name, run in (("route", run_route), ("st.video", run_st_video)):
                print(f"Measuring {name}: 3 sessions, {args.seconds:g} s each ...", flush=True)
                results.append(run(films, browser, args.seconds, Path(tmp)))
        finally:
            browser.close()

    print(f"\nServer RSS (process tree) while 3 browsers play 3 different films of {sizes} MB")
    header = (
        f"{'method':<18} {'mode':<17} {'idle MB':>8} {'loaded MB':>10} {'peak MB':>8} {'after MB':>9} "
        f"{'media MB':>9}  played s (per browser)"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.method:<18} {r.mode:<17} {r.idle_mb:>8.0f} {r.loaded_mb:>10.0f} {r.peak_mb:>8.0f} "
            f"{r.after_mb:>9.0f} {r.media_mb:>9.0f}  {r.played_s}" + (f"  errors {r.errors}" if any(r.errors) else "")
        )
    route, stv = results
    print(
        f"\nst.video / route: peak {stv.peak_mb / route.peak_mb:.1f}x, after playback "
        f"{stv.after_mb / route.after_mb:.1f}x; growth over idle {stv.peak_mb - stv.idle_mb:.0f} MB "
        f"vs {route.peak_mb - route.idle_mb:.0f} MB"
    )
    print(f"(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
