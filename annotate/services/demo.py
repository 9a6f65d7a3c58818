"""The bundled demo study: users, a two-arm trial from sample_media/, and rater queues.

Idempotent: running it again only prints the logins.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import Study, User
from annotate.services import assignments, recordings, studies, users
from annotate.services.errors import ServiceError

DEMO_STUDY = "DEMO"
DEMO_SCHEME = "ainsworth_sensitivity"
# (username, password, role, display name) — demo only; the README says to change them.
DEMO_USERS = [
    ("admin", "demo-admin", "admin", "Demo admin"),
    ("researcher", "demo-researcher", "researcher", "Demo researcher"),
    ("rater1", "demo-rater1", "rater", "Rater one"),
    ("rater2", "demo-rater2", "rater", "Rater two"),
    ("clinician", "demo-clinician", "clinician", "Demo clinician"),
]


@dataclass(frozen=True)
class DemoResult:
    created: bool
    logins: list[tuple[str, str, str]]  # username, password, role
    films_ready: int
    films_failed: int


def create_demo(
    session: Session, settings: Settings, progress: Callable[[float, str], None] | None = None
) -> DemoResult:
    logins = [(u, p, r) for u, p, r, _ in DEMO_USERS]
    if session.scalar(select(Study).where(Study.key == DEMO_STUDY)):
        return DemoResult(False, logins, 0, 0)
    for username, password, role, display in DEMO_USERS:
        if not session.scalar(select(User).where(User.username == username)):
            users.create_user(session, None, username, password, role, display)
    session.commit()
    researcher = users.actor_of(users.get_user(session, "researcher"))
    manifest = settings.sample_media_dir / "manifest.csv"
    if not manifest.exists():
        raise ServiceError(f"{manifest} is missing; run `annotate sample-media` to make the demo films.")
    rows = list(csv.DictReader(io.StringIO(manifest.read_text())))
    # Protocol order, not the (shuffled) manifest order: treatment arm first, baseline first.
    arms = sorted({r["arm"] for r in rows}, key=lambda a: (a != "VIPP", a))
    tps = sorted({r["timepoint"] for r in rows if r["timepoint"]}, key=lambda t: (t != "baseline", t))
    studies.create_study(
        session, researcher, settings, DEMO_STUDY, arms=arms, timepoints=tps, scheme_key=DEMO_SCHEME,
        segment_seconds=15, title="Demo trial (synthetic films)",
    )
    clinician_of = {r["participant"] for r in rows if r["purpose"] == "intervention"}
    part_csv = "participant,arm,clinician\n" + "".join(
        f"{p},{a},{'clinician' if p in clinician_of else ''}\n"
        for p, a in dict.fromkeys((r["participant"], r["arm"]) for r in rows)
    )
    studies.import_participants(session, researcher, DEMO_STUDY, part_csv)
    session.commit()
    items = recordings.items_from_manifest(manifest.read_bytes(), manifest.parent)
    outcomes = recordings.ingest(session, researcher, settings, DEMO_STUDY, items, progress)
    assignments.assign_segments(session, researcher, DEMO_STUDY, ["rater1", "rater2"], mode="all", seed=2026)
    session.commit()
    return DemoResult(
        True,
        logins,
        sum(o.status == "ready" for o in outcomes),
        sum(o.status == "failed" for o in outcomes),
    )

