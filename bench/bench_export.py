"""Time and peak memory of the streamed ratings CSV export against pandas ``read_sql`` + ``to_csv``.

    .venv/bin/python bench/bench_export.py                    # 1,000,000 ratings
    .venv/bin/python bench/bench_export.py --ratings 100000 --with-orm

Builds (once, cached in /tmp/annotate-bench-export) a SQLite study with the requested number of
ratings (NICHD scheme: 3 dimensions; 2 raters score every segment), then runs each exporter in a
fresh subprocess and reports wall time, output size and peak memory growth: the process's peak RSS
(``ru_maxrss``) minus its RSS just before the export started. ``--with-orm`` adds the original
in-memory ``exchange.ratings_csv`` (ORM objects, one string), which is slow at 1e6.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path("/tmp/annotate-bench-export")
SEGMENTS_PER_FILM = 50
RATERS = 2
DIMS = ("sensitivity_nondistress", "intrusiveness", "positive_regard")


def build(n_ratings: int) -> Path:
    db = CACHE / f"ratings-{n_ratings}.db"
    if db.exists():
        return db
    sys.path.insert(0, str(REPO))
    from sqlalchemy import insert

    from annotate.config import Settings
    from annotate.db.engine import session_factory
    from annotate.db.models import Assignment, Rating, Recording, Segment, Study, utcnow
    from annotate.services import accounts, studies

    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = db.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    settings = Settings.from_env(
        {
            "ANNOTATE_DATA_DIR": str(CACHE),
            "ANNOTATE_DATABASE_URL": f"sqlite:///{tmp}",
            "ANNOTATE_SECRET_KEY": "bench",
            "ANNOTATE_SCHEMES_DIR": str(REPO / "rating_schemes"),
        }
    )
    s = session_factory(settings.database_url)()
    res = accounts.create_user(s, None, "res", "res-password", "researcher")
    rater_ids = [accounts.create_user(s, None, f"r{i}", "rater-password", "rater").user_id for i in range(RATERS)]
    studies.create_study(
        s,
        res,
        settings,
        "BENCH",
        arms="A,B",
        timepoints="t0,t1",
        scheme_key="nichd_sensitivity_intrusiveness",
        segment_seconds=60,
    )
    study = s.query(Study).one()
    s.commit()
    n_segments = -(-n_ratings // (RATERS * len(DIMS)))
    n_films = -(-n_segments // SEGMENTS_PER_FILM)
    conn = s.connection()
    now = utcnow()
    conn.execute(
        insert(Recording),
        [
            {
                "id": f + 1,
                "study_id": study.id,
                "timepoint_id": study.timepoints[f % 2].id,
                "purpose": "assessment",
                "blind_code": f"B{f:06d}",
                "original_name": "x.mp4",
                "status": "ready",
                "duration_s": 3000.0,
                "created_at": now,
            }
            for f in range(n_films)
        ],
    )
    seg_rows, a_rows, r_rows = [], [], []
    seg_id = a_id = 0
    for f in range(n_films):
        for k in range(SEGMENTS_PER_FILM):
            if seg_id >= n_segments:
                break
            seg_id += 1
            seg_rows.append(
                {"id": seg_id, "recording_id": f + 1, "index": k, "start_s": 60.0 * k, "end_s": 60.0 * (k + 1)}
            )
            for r, rid in enumerate(rater_ids):
                a_id += 1
                a_rows.append(
                    {
                        "id": a_id,
                        "study_id": study.id,
                        "rater_id": rid,
                        "segment_id": seg_id,
                        "scheme_id": study.scheme_id,
                        "purpose": "primary" if r == 0 else "reliability",
                        "order_index": seg_id,
                        "status": "done",
                        "note": "",
                        "note_version": 0,
                        "created_at": now,
                    }
                )
                for d, dim in enumerate(DIMS):
                    r_rows.append(
                        {
                            "assignment_id": a_id,
                            "segment_id": seg_id,
                            "rater_id": rid,
                            "scheme_id": study.scheme_id,
                            "dimension": dim,
                            "value": float(1 + (seg_id + r + d) % 4),
                            "version": 1,
                            "changed_after_lock": False,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            if len(r_rows) >= 60_000:
                _flush(conn, insert, Segment, Assignment, Rating, seg_rows, a_rows, r_rows)
    _flush(conn, insert, Segment, Assignment, Rating, seg_rows, a_rows, r_rows)
    s.commit()
    s.close()
    tmp.rename(db)
    return db


def _flush(conn, insert, Segment, Assignment, Rating, seg_rows, a_rows, r_rows) -> None:
    for model, rows in ((Segment, seg_rows), (Assignment, a_rows), (Rating, r_rows)):
        if rows:
            conn.execute(insert(model), rows)
            rows.clear()


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from annotate.db.engine import session_factory
from annotate.services.actor import Actor
method, url, out = sys.argv[1], sys.argv[2], sys.argv[3]
s = session_factory(url)()
actor = Actor(None, "bench", "bench", "admin")
import pandas as pd
from annotate.services import exchange
from annotate.services.exchange.tables import iter_ratings
def rss_kb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS"))
base = rss_kb()
t0 = time.perf_counter()
if method == "streamed":
    with open(out, "w", encoding="utf-8", newline="") as fh:
        rows = exchange.write_ratings_csv(s, actor, "BENCH", fh, mode="blinded").rows
elif method == "pandas":
    from sqlalchemy import select
    from annotate.db.models import Assignment, Rating, Recording, Scheme, Segment, User
    stmt = (select(Recording.blind_code.label("recording"), (Segment.index + 1).label("segment"),
                   Segment.start_s.label("segment_start_s"), Segment.end_s.label("segment_end_s"),
                   User.username.label("rater"), Assignment.purpose, Scheme.key.label("scheme"),
                   Scheme.version.label("scheme_version"), Rating.dimension, Rating.value, Assignment.note,
                   Assignment.status, Rating.changed_after_lock, Rating.created_at, Rating.updated_at)
            .join(Assignment, Rating.assignment_id == Assignment.id).join(Segment, Rating.segment_id == Segment.id)
            .join(Recording, Segment.recording_id == Recording.id).join(User, Rating.rater_id == User.id)
            .join(Scheme, Rating.scheme_id == Scheme.id)
            .order_by(Recording.id, Segment.index, Rating.dimension, Assignment.purpose, User.username))
    df = pd.read_sql(stmt, s.connection())
    df.insert(0, "study", "BENCH")
    df.to_csv(out, index=False, float_format="%g")
    rows = len(df)
else:
    text = exchange.ratings_csv(s, actor, "BENCH", mode="blinded")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(text)
    rows = text.count("\n") - 1
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s.rollback()
print(json.dumps({{"rows": rows, "seconds": elapsed, "base_mb": base / 1024, "peak_growth_mb": max(0, peak - base) / 1024}}))
"""


def run(method: str, db: Path) -> dict:
    out = CACHE / f"out-{method}.csv"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(repo=str(REPO)), method, f"sqlite:///{db}", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["mb_out"] = out.stat().st_size / 1e6
    out.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--with-orm", action="store_true", help="also time the in-memory exchange.ratings_csv")
    args = parser.parse_args()
    t0 = time.perf_counter()
    db = build(args.ratings)
    print(f"database: {db} ({db.stat().st_size / 1e6:.0f} MB, ready in {time.perf_counter() - t0:.0f} s)")
    methods = ["streamed", "pandas"] + (["orm"] if args.with_orm else [])
    names = {
        "streamed": "exchange.write_ratings_csv (yield_per, streamed)",
        "pandas": "pandas read_sql + to_csv",
        "orm": "exchange.ratings_csv (ORM, in memory)",
    }
    print("\n| method | rows | seconds | peak RSS growth MB | CSV MB |\n|---|---:|---:|---:|---:|")
    for m in methods:
        r = run(m, db)
        print(
            f"| {names[m]} | {r['rows']:,} | {r['seconds']:.1f} | {r['peak_growth_mb']:.0f} | {r['mb_out']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
