"""Exports at trial scale: csv, parquet, wide, xlsx, sav and dta of a 1,000,000-rating study, each against
pandas ``read_sql`` + ``to_csv`` / ``to_excel`` / ``to_parquet`` / pyreadstat in the same run.

    .venv/bin/python bench/bench_exports.py                      # 1,004,400 ratings, every format
    .venv/bin/python bench/bench_exports.py --families 30        # ~100,000 ratings, quicker
    .venv/bin/python bench/bench_exports.py --formats csv,parquet
    .venv/bin/python bench/bench_exports.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench

The study (built once with bulk inserts, cached in ``bench/_out/``, which git ignores): ``--families``
participants (default 300) x 3 time points x 93 segments x 4 raters x 3 dimensions (NICHD scheme),
notes on every 10th assignment holding quotes, commas, CR/LF and a formula start. Each exporter runs
in a fresh subprocess; with ``--postgres URL`` the study is copied (``COPY``) into that database,
whose tables are replaced (it is created when missing), and every exporter reads it there. The table shows wall time, output size and the peak RSS growth (peak
``ru_maxrss`` minus the RSS just before the export started). The pandas peers read the same
columns with one ``read_sql`` of the joined query and write with pandas' defaults (no neutralisation,
``to_excel`` through openpyxl), so they are the "plain library" baseline, not a lossless export.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "_out"
TIMEPOINTS = ("baseline", "month5", "month12")
SEGMENTS = 93
RATERS = 4
DIMS = ("sensitivity_nondistress", "intrusiveness", "positive_regard")
NOTE = 'Mother said "stop", then smiled,\r\nchild =1+2 fussy'


def build(families: int) -> Path:
    """A migrated SQLite database with the study BENCH; rows go in with executemany (no ORM objects)."""
    db = OUT / f"study-{families}.db"
    if db.exists():
        return db
    sys.path.insert(0, str(REPO))
    from annotate.config import Settings
    from annotate.db.engine import session_factory
    from annotate.db.models import Study, utcnow
    from annotate.services import accounts, studies

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = db.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    settings = Settings.from_env(
        {
            "ANNOTATE_DATA_DIR": str(OUT),
            "ANNOTATE_DATABASE_URL": f"sqlite:///{tmp}",
            "ANNOTATE_SECRET_KEY": "bench",
            "ANNOTATE_SCHEMES_DIR": str(REPO / "rating_schemes"),
        }
    )
    s = session_factory(settings.database_url)()
    res = accounts.create_user(s, None, "res", "res-password", "researcher")
    raters = [accounts.create_user(s, None, f"r{i}", "rater-password", "rater").user_id for i in range(RATERS)]
    studies.create_study(
        s,
        res,
        settings,
        "BENCH",
        arms="VIPP,Control",
        timepoints=",".join(TIMEPOINTS),
        scheme_key="nichd_sensitivity_intrusiveness",
        segment_seconds=20,
    )
    participants = "participant,arm\n" + "".join(
        f"P{p:04d},{'VIPP' if p % 2 else 'Control'}\n" for p in range(families)
    )
    studies.import_participants(s, res, "BENCH", participants)
    s.commit()
    study = s.query(Study).one()
    pids = dict(s.execute(__import__("sqlalchemy").text("SELECT external_id, id FROM participant")).all())
    now = utcnow()
    raw = s.connection().connection.driver_connection
    cur = raw.cursor()
    recs, segs, assigns, ratings = [], [], [], []
    rec_id = seg_id = a_id = 0
    for p in range(families):
        for tp in study.timepoints:
            rec_id += 1
            recs.append(
                (rec_id, study.id, pids[f"P{p:04d}"], tp.id, "assessment", f"B{rec_id:06d}", "x.mp4", "ready",
                 SEGMENTS * 20.0, now)
            )  # fmt: skip
            for k in range(SEGMENTS):
                seg_id += 1
                segs.append((seg_id, rec_id, k, 20.0 * k, 20.0 * (k + 1) - 1 / 3))
                for r, rid in enumerate(raters):
                    a_id += 1
                    note = NOTE if a_id % 10 == 0 else ""
                    assigns.append(
                        (a_id, study.id, rid, seg_id, study.scheme_id, "primary" if r == 0 else "reliability",
                         seg_id, "done", note, 1 if note else 0, now)
                    )  # fmt: skip
                    for d, dim in enumerate(DIMS):
                        ratings.append(
                            (a_id, seg_id, rid, study.scheme_id, dim, float(1 + (seg_id + r + d) % 4), 1, 0, now, now)
                        )
        if len(ratings) > 200_000 or p == families - 1:
            cur.executemany(
                "INSERT INTO recording (id, study_id, participant_id, timepoint_id, purpose, blind_code, "
                "original_name, status, duration_s, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                recs,
            )
            cur.executemany("INSERT INTO segment (id, recording_id, [index], start_s, end_s) VALUES (?,?,?,?,?)", segs)
            cur.executemany(
                "INSERT INTO assignment (id, study_id, rater_id, segment_id, scheme_id, purpose, order_index, "
                "status, note, note_version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                assigns,
            )
            cur.executemany(
                "INSERT INTO rating (assignment_id, segment_id, rater_id, scheme_id, dimension, value, version, "
                "changed_after_lock, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                ratings,
            )
            recs, segs, assigns, ratings = [], [], [], []
    study.status = "rating"
    s.commit()
    s.close()
    tmp.rename(db)
    return db


def to_postgres(db: Path, url: str) -> str:
    """Copy the SQLite study into the PostgreSQL database of ``url`` (replacing its tables)."""
    import sqlite3

    import psycopg
    from sqlalchemy import make_url

    sys.path.insert(0, str(REPO))
    from annotate.db.engine import session_factory
    from annotate.db.models import Base

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{target.database}"')
    libpq = target.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    session_factory(url)().close()  # migrates
    src = sqlite3.connect(db)
    with psycopg.connect(libpq) as conn:
        for table in Base.metadata.sorted_tables:
            names = [c.name for c in table.columns]
            cols = ", ".join(f'"{n}"' for n in names)
            with conn.cursor().copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                for row in src.execute(f'SELECT {cols} FROM "{table.name}"'):
                    copy.write_row(row)
            if "id" in names and table.c.id.autoincrement is not False and str(table.c.id.type) == "INTEGER":
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f'COALESCE((SELECT max(id) FROM "{table.name}"), 0) + 1, false)'
                )
        conn.execute("ANALYZE")
    return url


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
method, url, out = sys.argv[1], sys.argv[2], sys.argv[3]
from annotate.db.engine import session_factory
from annotate.services.actor import Actor
from annotate.services import exchange
import pandas as pd
s = session_factory(url)()
actor = Actor(None, "bench", "bench", "admin")
def rss_kb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS"))
QUERY = '''SELECT r.blind_code AS recording, g."index" + 1 AS segment, g.start_s AS segment_start_s,
  g.end_s AS segment_end_s, u.username AS rater, a.purpose, sc."key" AS scheme, sc.version AS scheme_version,
  t.dimension, t.value, a.note, a.status, t.changed_after_lock, t.created_at, t.updated_at
  FROM rating t JOIN assignment a ON t.assignment_id = a.id JOIN segment g ON t.segment_id = g.id
  JOIN recording r ON g.recording_id = r.id JOIN user_account u ON t.rater_id = u.id
  JOIN scheme sc ON t.scheme_id = sc.id ORDER BY r.id, g."index", t.dimension, a.purpose, u.username'''
base = rss_kb()
t0 = time.perf_counter()
if method == "csv":
    with open(out, "w", encoding="utf-8", newline="") as fh:
        rows = exchange.write_ratings_csv(s, actor, "BENCH", fh, mode="blinded").rows
elif method in ("wide", "xlsx", "parquet", "sav", "dta"):
    f = exchange.export_file(s, actor, "BENCH", method, "masked" if method != "parquet" else "blinded")
    with open(out, "wb") as fh:
        fh.write(f.data)
    rows = f.rows
else:
    from sqlalchemy import text
    df = pd.read_sql(text(QUERY), s.connection())
    df.insert(0, "study", "BENCH")
    rows = len(df)
    if method == "pandas-csv":
        df.to_csv(out, index=False)
    elif method == "pandas-parquet":
        df.to_parquet(out, index=False)
    elif method == "pandas-xlsx":
        df.to_excel(out, index=False, engine="openpyxl")
    elif method == "pandas-sav":
        import pyreadstat
        df["changed_after_lock"] = df["changed_after_lock"].astype(int)
        df["created_at"] = pd.to_datetime(df["created_at"], format="ISO8601", utc=True).dt.tz_localize(None)
        df["updated_at"] = pd.to_datetime(df["updated_at"], format="ISO8601", utc=True).dt.tz_localize(None)
        pyreadstat.write_sav(df, out)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s.rollback()
print(json.dumps({{"rows": rows, "seconds": elapsed, "peak_growth_mb": max(0, peak - base) / 1024}}))
"""

NAMES = {
    "csv": "annotate csv (streamed, RFC 4180, neutralised)",
    "pandas-csv": "pandas read_sql + to_csv",
    "parquet": "annotate parquet (ratings table)",
    "pandas-parquet": "pandas read_sql + to_parquet",
    "xlsx": "annotate xlsx (write-only; ratings, segments, wide, codebook)",
    "pandas-xlsx": "pandas read_sql + to_excel (ratings only)",
    "wide": "annotate wide csv (masked)",
    "sav": "annotate sav (wide, masked, labelled)",
    "dta": "annotate dta (wide, masked, labelled)",
    "pandas-sav": "pandas read_sql + pyreadstat.write_sav (ratings)",
}
PEERS = {"csv": "pandas-csv", "parquet": "pandas-parquet", "xlsx": "pandas-xlsx", "sav": "pandas-sav"}


def run(method: str, url: str) -> dict:
    out = OUT / f"out-{method}"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(repo=str(REPO)), method, url, str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"rows": 0, "seconds": float("nan"), "peak_growth_mb": float("nan"), "mb_out": 0.0,
                "error": proc.stderr.strip().splitlines()[-1][:120]}  # fmt: skip
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["mb_out"] = out.stat().st_size / 1e6
    out.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=300)
    parser.add_argument("--formats", default="csv,parquet,wide,xlsx,sav,dta")
    parser.add_argument(
        "--postgres", metavar="URL", help="copy the study into this PostgreSQL database and read it there"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    db = build(args.families)
    n = args.families * len(TIMEPOINTS) * SEGMENTS * RATERS * len(DIMS)
    print(
        f"database: {db} ({n:,} ratings, {db.stat().st_size / 1e6:.0f} MB, ready in {time.perf_counter() - t0:.0f} s)"
    )
    url = f"sqlite:///{db}"
    if args.postgres:
        t1 = time.perf_counter()
        url = to_postgres(db, args.postgres)
        print(f"copied into {args.postgres} in {time.perf_counter() - t1:.0f} s")
    print("\n| export | rows | seconds | peak RSS growth MB | file MB |\n|---|---:|---:|---:|---:|")
    for fmt in args.formats.split(","):
        for m in (fmt, PEERS.get(fmt)):
            if m is None:
                continue
            r = run(m, url)
            note = f" ({r['error']})" if "error" in r else ""
            print(
                f"| {NAMES[m]}{note} | {r['rows']:,} | {r['seconds']:.1f} | {r['peak_growth_mb']:.0f} "
                f"| {r['mb_out']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
