"""Ingest throughput: the old in-process ingest (one film after another in the calling process)
against the job queue with 1 and 2 worker processes (`annotate worker`), on the same films.

Usage: ``python bench/bench_ingest.py [--films 8] [--seconds 60] [--height 1080]``

Makes ``--films`` synthetic films (cached in /tmp/annotate-bench-ingest), then for each mode
ingests them all into a fresh data folder and times from the first registration to the last
film ``ready``. With N workers each one's encoder gets cores/N threads
(``ANNOTATE_ENCODER_THREADS``) so that they do not fight over the cores. Prints: mode, films,
minutes of film, wall seconds, films per hour, times real time; and checks every film is ready.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the synthetic films live beside the tests
from tests.support.synthetic import make_synthetic_film  # noqa: E402

CACHE = Path("/tmp/annotate-bench-ingest")


def _films(n: int, seconds: float, height: int) -> list[Path]:
    CACHE.mkdir(exist_ok=True)
    width = height * 16 // 9 // 2 * 2
    out = []
    for i in range(n):
        p = CACHE / f"P{i}_t0_{height}p_{seconds:g}s.mp4"
        if not p.exists():
            make_synthetic_film(p, seconds, width, height, 30, seed=100 + i, crf=23)
        out.append(p)
    return out


def _env(data: Path, workers: int) -> dict[str, str]:
    env = {
        "ANNOTATE_DATA_DIR": str(data),
        "ANNOTATE_SECRET_KEY": "bench",
        "ANNOTATE_JOBS_QUEUE": f"bench-{os.getpid()}-{workers}",
    }
    if workers:
        env["ANNOTATE_ENCODER_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    return env


def _setup(env: dict[str, str], n: int):
    from annotate.config import Settings
    from annotate.services import accounts, studies
    from annotate.services.session import unit_of_work

    s = Settings.from_env(env)
    with unit_of_work(s) as session:
        res = accounts.create_user(session, None, "bench", "bench-password-1", "researcher")
        studies.create_study(
            session, res, s, "B", arms="A,B", timepoints="t0", scheme_key="ainsworth_sensitivity", segment_seconds=60
        )
        studies.import_participants(session, res, "B", "participant,arm\n" + "".join(f"P{i},A\n" for i in range(n)))
        session.commit()
    return s, res


def _ready(s) -> tuple[int, int]:
    from sqlalchemy import func, select

    from annotate.db.models import Recording
    from annotate.services.session import unit_of_work

    with unit_of_work(s) as session:
        ready = session.scalar(select(func.count()).where(Recording.status == "ready")) or 0
        left = session.scalar(select(func.count()).where(Recording.status == "processing")) or 0
    return ready, left


def run_mode(paths: list[Path], workers: int) -> float:
    from annotate.services import films
    from annotate.services.session import unit_of_work

    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as tmp:
        env = _env(Path(tmp) / "data", workers)
        s, res = _setup(env, len(paths))
        items = [films.IngestItem(p, p.name.split("_")[0], "t0") for p in paths]
        procs = []
        if workers:
            penv = {**os.environ, **env, "PYTHONPATH": str(REPO)}
            for _ in range(workers):
                cmd = [sys.executable, "-m", "annotate", "worker", "--concurrency", "1"]
                procs.append(subprocess.Popen(cmd, env=penv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(3)  # let the workers start before the clock does
        t0 = time.perf_counter()
        with unit_of_work(s) as session:
            if workers:
                films.enqueue_ingest(session, res, s, "B", items)
            else:
                films.ingest(session, res, s, "B", items)
        while True:
            ready, left = _ready(s)
            if not left:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        if ready != len(paths):
            raise SystemExit(f"only {ready} of {len(paths)} films became ready")
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--films", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args()
    paths = _films(args.films, args.seconds, args.height)
    film_min = args.films * args.seconds / 60
    rows = []
    for label, workers in (("in-process (old)", 0), ("1 worker", 1), ("2 workers", 2)):
        wall = run_mode(paths, workers)
        rows.append((label, wall))
        print(f"{label}: {wall:.1f} s", file=sys.stderr)
    print(f"\n{args.films} films of {args.seconds:g} s at {args.height}p30, {os.cpu_count()} cores\n")
    print("| mode | films | film min | wall s | films/hour | × real time | vs old |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = rows[0][1]
    for label, wall in rows:
        print(
            f"| {label} | {args.films} | {film_min:.1f} | {wall:.1f} | {args.films * 3600 / wall:.0f} "
            f"| {args.films * args.seconds / wall:.2f} | {base / wall:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
