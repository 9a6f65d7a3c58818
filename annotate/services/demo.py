"""The bundled demo study: users, a two-arm trial from sample_media/, and rater queues.

Idempotent: running it again only prints the logins.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import Recording, Study, User
from annotate.services import accounts, assignments, events, films, rating, studies
from annotate.services.actor import Actor
from annotate.services.errors import ServiceError

DEMO_STUDY = "DEMO"
DEMO_SCHEME = "ainsworth_sensitivity"
# A second, small study coded with events (issue 19): four films of two families, both time points,
# double-coded by two coders of their own (so the first study's queues stay as they were).
DEMO_EVENTS_STUDY = "DEMO-EVENTS"
DEMO_EVENTS_SCHEME = "parent_infant_events"
DEMO_EVENTS_FAMILIES = ("F01", "F04")
# (username, password, role, display name) — demo only: the accounts are flagged as demo (a banner on
# every page; `annotate serve` refuses without --demo while one is active) and skip the password rules.
DEMO_USERS = [
    ("admin", "demo-admin", "admin", "Demo admin"),
    ("researcher", "demo-researcher", "researcher", "Demo researcher"),
    ("rater1", "demo-rater1", "rater", "Rater one"),
    ("rater2", "demo-rater2", "rater", "Rater two"),
    ("rater3", "demo-rater3", "rater", "Rater three"),
    ("clinician", "demo-clinician", "clinician", "Demo clinician"),
    ("coder1", "demo-coder1", "rater", "Event coder one"),
    ("coder2", "demo-coder2", "rater", "Event coder two"),
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
        mark_demo_accounts(session)
        return DemoResult(False, logins, 0, 0)
    for username, password, role, display in DEMO_USERS:
        if not session.scalar(select(User).where(User.username == username)):
            accounts.create_user(session, None, username, password, role, display, is_demo=True)
    session.commit()
    researcher = accounts.actor_of(accounts.get_user(session, "researcher"))
    manifest = settings.sample_media_dir / "manifest.csv"
    if not manifest.exists():
        raise ServiceError(f"{manifest} is missing; run `make sample-media` to make the demo films.")
    rows = list(csv.DictReader(io.StringIO(manifest.read_text())))
    # Protocol order, not the (shuffled) manifest order: treatment arm first, baseline first.
    arms = sorted({r["arm"] for r in rows}, key=lambda a: (a != "VIPP", a))
    tps = sorted({r["timepoint"] for r in rows if r["timepoint"]}, key=lambda t: (t != "baseline", t))
    studies.create_study(
        session,
        researcher,
        settings,
        DEMO_STUDY,
        arms=arms,
        timepoints=tps,
        scheme_key=DEMO_SCHEME,
        segment_seconds=15,
        title="Demo trial (synthetic films)",
    )
    clinician_of = {r["participant"] for r in rows if r["purpose"] == "intervention"}
    part_csv = "participant,arm,clinician\n" + "".join(
        f"{p},{a},{'clinician' if p in clinician_of else ''}\n"
        for p, a in dict.fromkeys((r["participant"], r["arm"]) for r in rows)
    )
    studies.import_participants(session, researcher, DEMO_STUDY, part_csv)
    session.commit()
    items = films.items_from_manifest(manifest.read_bytes(), manifest.parent)
    outcomes = films.ingest(session, researcher, settings, DEMO_STUDY, items, progress)
    # Three raters for two time points leaves one spare rater per family for double-coding.
    studies.update_settings(session, researcher, DEMO_STUDY, double_code_share=0.3)
    assignments.plan_study(session, researcher, DEMO_STUDY, ["rater1", "rater2", "rater3"], seed=2026)
    session.commit()
    _simulate_ratings(session, rows, ["rater2", "rater3"])
    session.commit()
    outcomes += _create_event_study(session, settings, researcher, rows, arms, tps)
    return DemoResult(
        True,
        logins,
        sum(o.status == "ready" for o in outcomes),
        sum(o.status == "failed" for o in outcomes),
    )


def _create_event_study(
    session: Session,
    settings: Settings,
    researcher: Actor,
    rows: list[dict[str, str]],
    arms: list[str],
    tps: list[str],
) -> list[films.IngestOutcome]:
    """The event-coding demo: coder2 has coded every film, coder1 the first two (so the Timing
    agreement page has double-coded films at once) and has the other two to code."""
    studies.create_study(
        session,
        researcher,
        settings,
        DEMO_EVENTS_STUDY,
        arms=arms,
        timepoints=tps,
        scheme_key=DEMO_EVENTS_SCHEME,
        segment_seconds=None,
        title="Demo event coding (synthetic films)",
    )
    chosen = [r for r in rows if r["participant"] in DEMO_EVENTS_FAMILIES and r["purpose"] == "assessment"]
    part_csv = "participant,arm\n" + "".join(
        f"{p},{a}\n" for p, a in dict.fromkeys((r["participant"], r["arm"]) for r in chosen)
    )
    studies.import_participants(session, researcher, DEMO_EVENTS_STUDY, part_csv)
    session.commit()
    manifest = "file,participant,timepoint,purpose\n" + "".join(
        f"{r['file']},{r['participant']},{r['timepoint']},assessment\n" for r in chosen
    )
    items = films.items_from_manifest(manifest, settings.sample_media_dir)
    outcomes = films.ingest(session, researcher, settings, DEMO_EVENTS_STUDY, items)
    assignments.plan_study(
        session,
        researcher,
        DEMO_EVENTS_STUDY,
        ["coder1", "coder2"],
        share=1.0,
        seed=2026,
        one_timepoint_per_family=False,
    )
    session.commit()
    _simulate_events(session, {"coder2": None, "coder1": 2})
    session.commit()
    return list(outcomes)


def _simulate_events(session: Session, coders: dict[str, int | None]) -> None:
    """Seeded events for each coder's first ``n`` items (None: all): one 'true' course of gaze,
    infant affect, touch and vocalisations per film, which each coder records a little late or
    early (up to 0.3 s) and now and then misses, as two trained coders would."""
    for name, limit in coders.items():
        actor = accounts.actor_of(accounts.get_user(session, name))
        queue = rating.rater_queue(session, actor).items  # the coders have items of this study only
        coder_rng = random.Random(f"{name}-2026")
        for item in queue[:limit]:
            rec = session.scalars(select(Recording).where(Recording.blind_code == item.blind_code)).one()
            fps = rec.fps or 25.0
            truth = random.Random(f"film-{rec.participant_id}-{rec.timepoint_id}")
            coded: list[tuple[str, str, float, float | None, tuple[str, ...]]] = []
            for group, codes, mean in (
                ("infant_gaze", ("gaze_parent", "gaze_away"), 4.0),
                ("infant_affect", ("infant_neutral", "infant_positive", "infant_negative"), 6.0),
            ):
                t, code = item.start_s, codes[0]
                while t < item.end_s - 0.5:
                    length = truth.uniform(0.5, 2) * mean
                    coded.append((group, code, t, min(t + length, item.end_s), ()))
                    t, code = t + length, truth.choice([c for c in codes if c != code])
            t = item.start_s + truth.uniform(0.5, 3)
            while t < item.end_s - 0.5:
                who = truth.choice(("infant_vocal", "parent_vocal", "parent_vocal"))
                said: tuple[str, ...] = (truth.choice(("positive", "neutral")),) if who == "infant_vocal" else ()
                coded.append(("vocalisation", who, t, None, said))
                t += truth.uniform(1.0, 4.0)
            for group, code, onset, offset, mods in coded:
                if coder_rng.random() < 0.08:
                    continue  # missed
                jitter = coder_rng.uniform(-0.3, 0.3)
                start = _snap(onset + (jitter if onset > item.start_s else 0.0), fps, item.start_s, item.end_s)
                stop = None
                if offset is not None:
                    stop = _snap(offset + (jitter if offset < item.end_s else 0.0), fps, item.start_s, item.end_s)
                if stop is not None and stop <= start:
                    continue
                events.add_event(session, actor, item.assignment_id, group, code, start, stop, mods)
            rating.save_rating(session, actor, item.assignment_id, "codability", 3, expected_version=0)
            events.mark_done(session, actor, item.assignment_id)


def mark_demo_accounts(session: Session) -> list[str]:
    """Flag as demo every account that still has its published demo password (databases made before
    accounts had the flag), so the banner and ``annotate serve`` see them."""
    marked = []
    for username, password, _role, _display in DEMO_USERS:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None and not user.is_demo and accounts.passwords.verify_password(user.password_hash, password):
            user.is_demo = True
            marked.append(username)
    return marked


def _simulate_ratings(session: Session, rows: list[dict[str, str]], raters: list[str]) -> None:
    """Finished work of two demo raters, so the researcher pages have data at once; rater1's
    queue is left for the newcomer. Scores: a family level, a small intervention effect at
    month 5 (the synthetic films show it too), and rater noise; seeded, so every demo is alike."""
    rng = random.Random(2026)
    family_level = {r["participant"]: rng.gauss(4.5, 1.3) for r in rows}
    arm_of = {r["participant"]: r["arm"] for r in rows}
    for name in raters:
        actor = accounts.actor_of(accounts.get_user(session, name))
        for item in rating.rater_queue(session, actor).items:
            rec = session.scalars(select(Recording).where(Recording.blind_code == item.blind_code)).one()
            if rec.participant is None:
                continue  # an intervention film has no rating; assessment films always have a family
            family = rec.participant.external_id
            effect = 1.2 if arm_of[family] == "VIPP" and rec.timepoint and rec.timepoint.name != "baseline" else 0.0
            score = min(9, max(1, round(family_level[family] + effect + rng.gauss(0, 0.8))))
            rating.save_rating(session, actor, item.assignment_id, "sensitivity", score, expected_version=0)
            rating.mark_done(session, actor, item.assignment_id)


def _snap(t: float, fps: float, start: float, end: float) -> float:
    """``t`` on the film's frame grid, inside the item (as the player codes it)."""
    return min(max(round(t * fps) / fps, start), end)
