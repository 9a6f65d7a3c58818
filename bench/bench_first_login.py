"""The first login after the server starts, and switching pages, in Debian's Chromium.

Peer: the code before issue 16 (commit 6701e25, imports cold at the first script run), run in
the same command against a fresh demo data folder each.

For each code version: `annotate demo`, `annotate serve`, wait until /api/login answers, then
log in as rater1 and time until the rating page shows its progress bar ("first login"); then as
the researcher, time each switch between five pages (until the page's title shows).

Run::

    python bench/bench_first_login.py --old /work/wt/old16
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SWITCH = [("films", "Films"), ("progress", "Progress"), ("assign", "Assign"), ("status", "Study status")]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_flags(code: Path) -> list[str]:
    """``--demo`` where that code has it (since issue 12 a server with demo accounts needs it)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "annotate", "serve", "--help"],
        env={**os.environ, "PYTHONPATH": str(code)},
        cwd=code,
        capture_output=True,
        text=True,
    ).stdout
    return ["--demo"] if "--demo" in help_text else []


def measure(code: Path, idle_s: float = 0.0, typing_s: float = 0.0) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PYTHONPATH": str(code), "ANNOTATE_DATA_DIR": data, "ANNOTATE_SECRET_KEY": "bench"}
        env.pop("ANNOTATE_DATABASE_URL", None)
        subprocess.run([sys.executable, "-m", "annotate", "demo"], env=env, check=True, capture_output=True, cwd=code)
        port = _port()
        t_start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "annotate", "serve", "--port", str(port), *serve_flags(code)],
            env=env,
            cwd=code,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"annotate serve of {code} stopped with exit code {proc.returncode}")
                try:
                    urllib.request.urlopen(base + "/api/login", timeout=2)
                    break
                except OSError:
                    time.sleep(0.1)
            t_up = time.perf_counter() - t_start
            time.sleep(idle_s)  # 0: log in the moment the port opens (the warm-up may still run)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(base + "/")
                page.fill("#username", "rater1")
                page.fill("#password", "demo-rater1")
                # A person spends a second or two on the login page; the page uses it to fetch the
                # app's modules (0 = click the moment the form is filled).
                page.wait_for_timeout(typing_s * 1000)
                t0 = time.perf_counter()
                page.click("button[type=submit]")
                page.locator('[data-testid="stProgress"]').wait_for(timeout=120_000)
                first = time.perf_counter() - t0
                page.context.clear_cookies()  # logout is a POST from the page; a new login needs no cookie
                page.goto(base + "/")
                page.fill("#username", "researcher")
                page.fill("#password", "demo-researcher")
                page.click("button[type=submit]")
                page.locator("h1").first.wait_for(timeout=120_000)
                switches = []
                for path, title in SWITCH:
                    t0 = time.perf_counter()
                    page.get_by_role("link", name=title).first.click()
                    page.wait_for_url(f"{base}/{path}")
                    page.locator("h1", has_text=title).first.wait_for(timeout=60_000)
                    switches.append(time.perf_counter() - t0)
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
    print(
        "page switches: " + ", ".join(f"{t} {s:.2f} s" for (_, t), s in zip(SWITCH, switches, strict=True)),
        file=sys.stderr,
    )
    return {"server up s": t_up, "first login s": first, "page switch s (max)": max(switches)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", help="a checkout of the code before issue 16 (e.g. a worktree at 6701e25)")
    ap.add_argument("--idle", type=float, default=0.0, help="seconds to wait after the port opens")
    ap.add_argument("--typing", type=float, default=0.0, help="seconds on the login page before clicking Log in")
    args = ap.parse_args()
    rows = [("before (6701e25)", measure(Path(args.old), args.idle, args.typing))] if args.old else []
    rows.append(("this code", measure(REPO, args.idle, args.typing)))
    names = list(rows[0][1])
    print(f"{'code':<18}" + "".join(f"{n:>22}" for n in names))
    for label, r in rows:
        print(f"{label:<18}" + "".join(f"{r[n]:>22.2f}" for n in names))


if __name__ == "__main__":
    main()
