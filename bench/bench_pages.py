"""Server time and SQL statements of each page's service calls at 10k / 100k / 1M ratings.

Peer: the code before issue 16 (commit 6701e25), run in the same command on the same data.

Data (SQLite, built once with bulk inserts into ``bench/_out``): 4 raters each rating every
segment of every assessment film (10 segments a film, 3 scored dimensions), so one rater's
queue holds 840 / 8,340 / 83,340 items; the first 95 % of each queue (in queue order) is done.
The "before" run reads the database at migration 0004; the "after" run reads a copy that the
new code migrates (its indexes added).

For each page the script calls the services the page calls on one rerun (the study picker's
``list_studies`` included), three times, and prints the first call, the best rerun and the
SQL statements of one rerun (counted with a ``before_cursor_execute`` listener).

Run::

    python bench/bench_pages.py                        # 10k, 100k, 1m; old code from git
    python bench/bench_pages.py --sizes 10k,100k       # quicker
    python bench/bench_pages.py --old /work/wt/old16   # an existing checkout of the old code
    python bench/bench_pages.py --no-old 1m            # the old code at 1M takes many minutes

The old code is taken from ``git worktree`` at 6701e25 unless ``--old`` names a checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "_out"
OLD_COMMIT = "6701e25"
SIZES = {"10k": 840, "100k": 8_340, "1m": 83_340}  # segments; x 4 raters x 3 dimensions = ratings
RATERS = ["r1", "r2", "r3", "r4"]
DIMS = ["sensitivity_nondistress", "intrusiveness", "positive_regard"]
SEGMENTS_PER_FILM = 10
DONE_SHARE = 0.95
PAGES = ["rater page", "next item", "progress", "films", "assign", "reliability", "summaries", "study status"]


# --------------------------------------------------------------------------- data (worker side)


def _settings(db: Path):
    from annotate.config import Settings

    return Settings.from_env(
        {
            "ANNOTATE_DATA_DIR": str(db.parent / f"{db.stem}-data"),
            "ANNOTATE_DATABASE_URL": f"sqlite:///{db}",
            "ANNOTATE_SECRET_KEY": "bench-secret",
            "ANNOTATE_SCHEMES_DIR": str(REPO / "rating_schemes"),
        }
    )


def build(db: Path, n_segments: int) -> None:
    """The study: services for users, study and participants, bulk inserts for the rest."""
    import datetime as dt

    from sqlalchemy import insert, select

    from annotate.db import session_scope
    from annotate.db.models import Assignment, Participant, Rating, Recording, Segment, Study, User
    from annotate.services import accounts, studies

    db.unlink(missing_ok=True)
    settings = _settings(db)
    rng = random.Random(16)
    n_films = n_segments // SEGMENTS_PER_FILM
    n_part = max(2, n_films // 3)
    now = dt.datetime.now(dt.UTC)
    with session_scope(settings.database_url) as s:
        res = accounts.create_user(s, None, "res", "bench-password-1", "researcher")
        for r in RATERS:
            accounts.create_user(s, None, r, "bench-password-1", "rater")
        s.flush()
        studies.create_study(
            s,
            res,
            settings,
            "BIG",
            arms="VIPP,Control",
            timepoints="baseline,month5,month8",
            scheme_key="nichd_sensitivity_intrusiveness",
            segment_seconds=60,
        )
        csv = "participant,arm,per_protocol\n" + "".join(
            f"P{i:05d},{'VIPP' if i % 2 else 'Control'},yes\n" for i in range(n_part)
        )
        studies.import_participants(s, res, "BIG", csv)
    with session_scope(settings.database_url) as s:
        study = s.scalar(select(Study).where(Study.key == "BIG"))
        pids = [p.id for p in s.scalars(select(Participant).order_by(Participant.id))]
        tps = [t.id for t in study.timepoints]
        rater_ids = [s.scalar(select(User.id).where(User.username == r)) for r in RATERS]
        conn = s.connection()
        conn.execute(
            insert(Recording),
            [
                {
                    "study_id": study.id,
                    "participant_id": pids[i // 3 % len(pids)],
                    "timepoint_id": tps[i % 3],
                    "purpose": "assessment",
                    "blind_code": f"B{i:06d}",
                    "original_name": f"film_{i}.mp4",
                    "proxy_path": "/nonexistent/proxy.mp4",
                    "status": "ready",
                    "duration_s": 60.0 * SEGMENTS_PER_FILM,
                    "fps": 25.0,
                    "width": 640,
                    "height": 480,
                    "has_audio": True,
                    "created_at": now,
                }
                for i in range(n_films)
            ],
        )
        rec_ids = list(s.scalars(select(Recording.id).order_by(Recording.id)))
        conn.execute(
            insert(Segment),
            [
                {"recording_id": rid, "index": k, "start_s": 60.0 * k, "end_s": 60.0 * (k + 1)}
                for rid in rec_ids
                for k in range(SEGMENTS_PER_FILM)
            ],
        )
        seg_ids = list(s.scalars(select(Segment.id).order_by(Segment.id)))
        created = now - dt.timedelta(days=30)
        for ri, rid in enumerate(rater_ids):
            order = list(range(len(seg_ids)))
            rng.shuffle(order)
            n_done = int(len(order) * DONE_SHARE)
            rows = []
            for pos, si in enumerate(order):
                done = pos < n_done
                done_at = created + dt.timedelta(days=29 * pos / len(order), minutes=10)
                rows.append(
                    {
                        "study_id": study.id,
                        "rater_id": rid,
                        "segment_id": seg_ids[si],
                        "scheme_id": study.scheme_id,
                        "purpose": "primary" if si % 4 == ri else "reliability",
                        "order_index": pos,
                        "status": "done" if done else "assigned",
                        "note": "",
                        "note_version": 0,
                        "created_at": created,
                        "done_at": done_at if done else None,
                        "first_activity_at": done_at - dt.timedelta(minutes=6) if done else None,
                    }
                )
            conn.execute(insert(Assignment), rows)
        done_rows = s.execute(
            select(Assignment.id, Assignment.segment_id, Assignment.rater_id, Assignment.done_at).where(
                Assignment.status == "done"
            )
        ).all()
        batch = []
        for aid, sid, rid, at in done_rows:
            truth = 1 + (sid * 7919) % 4
            for d in DIMS:
                value = min(4, max(1, truth + rng.choice((-1, 0, 0, 0, 1))))
                batch.append(
                    {
                        "assignment_id": aid,
                        "segment_id": sid,
                        "rater_id": rid,
                        "scheme_id": study.scheme_id,
                        "dimension": d,
                        "value": float(value),
                        "version": 1,
                        "changed_after_lock": False,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            if len(batch) >= 100_000:
                conn.execute(insert(Rating), batch)
                batch = []
        if batch:
            conn.execute(insert(Rating), batch)


# --------------------------------------------------------------------------- timing (worker side)


def _page_calls(settings, s_factory):
    """name -> callable(session) doing what that page's rerun asks of the services."""
    from sqlalchemy import select

    from annotate.db.models import User
    from annotate.services import accounts, assignments, films, outcomes, rating, reliability, studies
    from annotate.services.actor import Actor

    with s_factory() as s:
        res = s.scalar(select(User).where(User.username == "res"))
        r1 = s.scalar(select(User).where(User.username == "r1"))
    researcher = Actor(res.id, "res", "res", "researcher")
    rater = Actor(r1.id, "r1", "r1", "rater")
    paged = hasattr(rating, "rater_queue_page")  # the new code pages the queue

    def rater_page(s):
        if paged:
            page = rating.rater_queue_page(s, rater)
            aid = page.current.assignment_id
        else:
            queue = rating.rater_queue(s, rater)
            aid = (queue.next_open() or queue.items[0]).assignment_id
        rating.open_item(s, rater, settings, aid)
        rating.guess_wanted(s, rater, aid)

    def next_item(s):
        if paged:
            aid = rating.rater_queue_page(s, rater).current.assignment_id
        else:
            aid = rating.rater_queue(s, rater).next_open().assignment_id
        for d in DIMS:
            rating.save_rating(s, rater, aid, d, 2.0, expected_version=0)
        rating.mark_done(s, rater, aid)
        if paged:
            rating.next_open_item(s, rater, after=aid)
        else:
            queue = rating.rater_queue(s, rater)
            [i for i in queue.items if i.status != "done" and i.assignment_id != aid]

    def pick(s):
        return studies.list_studies(s, researcher)[0].key

    def progress(s):
        key = pick(s)
        studies.study_progress(s, researcher, key)
        rating.blinding_summary(s, researcher, key)

    def films_page(s):
        key = pick(s)
        studies.study_info(s, researcher, key)
        films.list_recordings(s, researcher, key)
        studies.participant_ids(s, researcher, key)

    def assign(s):
        key = pick(s)
        assignments.assignable_segments(s, researcher, key)
        accounts.list_users(s, researcher, "rater")

    def reliability_page(s):
        key = pick(s)
        opts = reliability.reliability_options(s, researcher, key)
        reliability.reliability_report(s, researcher, key, dimension=opts.dimensions[0].name)

    def summaries(s):
        key = pick(s)
        opts = outcomes.summary_options(s, researcher, key)
        outcomes.outcome_table(s, researcher, key, dimension=opts.outcomes[0].name)

    def status(s):
        key = pick(s)
        studies.gate(s, researcher, key)
        studies.study_settings(s, researcher, key)
        accounts.list_users(s, researcher, "rater")

    return dict(
        zip(
            PAGES,
            [rater_page, next_item, progress, films_page, assign, reliability_page, summaries, status],
            strict=True,
        )
    )


def worker(db: Path, n_segments: int, repeats: int) -> None:
    from sqlalchemy import event

    from annotate.db.engine import session_factory

    settings = _settings(db)
    factory = session_factory(settings.database_url)
    engine = factory.kw["bind"]
    counter = [0]
    event.listen(engine, "before_cursor_execute", lambda *a, **k: counter.__setitem__(0, counter[0] + 1))
    results = {}
    for name, fn in _page_calls(settings, factory).items():
        times, statements = [], 0
        for _ in range(repeats):
            s = factory()
            try:
                counter[0] = 0
                t0 = time.perf_counter()
                fn(s)
                times.append(time.perf_counter() - t0)
                statements = counter[0]
            finally:
                s.rollback()  # the next-item step writes: leave the data as built
                s.close()
        results[name] = {"first": times[0], "rerun": min(times[1:] or times), "statements": statements}
    print(json.dumps(results))


# --------------------------------------------------------------------------- parent


def _run(code: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


def _old_checkout(given: str | None) -> Path | None:
    """The old code's checkout; None (with a word) when this clone lacks the commit (a shallow clone)."""
    if given:
        return Path(given)
    path = OUT / "old-code"
    if not (path / "annotate").exists():
        known = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{OLD_COMMIT}^{{commit}}"], check=False)
        if known.returncode != 0:
            print(f"commit {OLD_COMMIT} is not in this clone: the 'before' columns stay empty (or pass --old)")
            return None
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), OLD_COMMIT], check=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k,1m")
    ap.add_argument("--old", help="a checkout of the code before issue 16 (default: a git worktree at 6701e25)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-old", default="", help="sizes to run with the new code only (e.g. 1m), or 'all'")
    ap.add_argument("--worker", nargs=2, metavar=("DB", "SEGMENTS"), help=argparse.SUPPRESS)
    ap.add_argument("--build", nargs=2, metavar=("DB", "SEGMENTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build:
        build(Path(args.build[0]), int(args.build[1]))
        return
    if args.worker:
        worker(Path(args.worker[0]), int(args.worker[1]), args.repeats)
        return
    OUT.mkdir(exist_ok=True)
    old = None if args.no_old == "all" else _old_checkout(args.old)
    skip_old = set(args.no_old.split(",")) if args.no_old else set()
    head = (
        f"{'ratings':>7}  {'page':<13} {'before s':>9} {'stmts':>6}   {'after first s':>13} {'after rerun s':>13} "
        f"{'stmts':>6}  {'speed-up':>8}"
    )
    print(head)
    print("-" * len(head), flush=True)
    for size in args.sizes.split(","):
        n = SIZES[size]
        base = OUT / f"study_{size}.db"
        if not base.exists():
            t0 = time.perf_counter()
            _run(old or REPO, "--build", str(base), str(n))  # built at the old schema (migration 0004)
            print(f"built {base.name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        after = OUT / f"study_{size}_after.db"
        shutil.copyfile(base, after)
        new_res = json.loads(_run(REPO, "--worker", str(after), str(n), "--repeats", str(args.repeats)))
        old_res = None
        if old is not None and size not in skip_old and "all" not in skip_old:
            before = OUT / f"study_{size}_before.db"
            shutil.copyfile(base, before)
            old_res = json.loads(_run(old, "--worker", str(before), str(n), "--repeats", str(args.repeats)))
        for page in PAGES:
            nr = new_res[page]
            if old_res is None:
                o_txt, speed = f"{'–':>9} {'–':>6}", f"{'–':>8}"
            else:
                o = old_res[page]
                o_txt = f"{o['rerun']:>9.3f} {o['statements']:>6}"
                speed = f"{o['rerun'] / max(nr['rerun'], 1e-6):>7.0f}x"
            print(
                f"{size:>7}  {page:<13} {o_txt}   {nr['first']:>13.3f} {nr['rerun']:>13.3f} {nr['statements']:>6}  {speed}",
                flush=True,
            )


if __name__ == "__main__":
    main()
