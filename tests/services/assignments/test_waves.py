"""Films arrive in waves: the queue of every rater must not tell baseline from follow-up.

Two waves are ingested for real (small synthetic films through PyAV), the plan is made after the
first and extended after the second, some items are done in between, and the open queue of every
rater is tested: a rank-sum (Mann–Whitney) statistic of positions by time point and by arm, pooled
over raters and seeds, must stay within chance, while the same statistic on the order the items
were added (what the queue showed before the reshuffle) is far outside it — so the test can fail.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import delete, select

from annotate.db.models import Assignment, AuditLog, Recording, Segment
from annotate.services import accounts, assignments, films, rating, studies
from tests.support.synthetic import make_synthetic_film

FAMILIES = [f"F{i:02d}" for i in range(8)]
ARM = {f: ("VIPP" if i % 2 == 0 else "Control") for i, f in enumerate(FAMILIES)}
RATERS = ["r1", "r2", "q3", "q4"]


@pytest.fixture(scope="module")
def wave_films(tmp_path_factory):
    """Two 2-second films per family (baseline, month5): 2 one-second segments each."""
    root = tmp_path_factory.mktemp("waves")
    return {
        (fam, tp): make_synthetic_film(root / f"{fam}_{tp}.mp4", 2, 96, 64, 10, seed=10 * i + k, audio=False)
        for i, fam in enumerate(FAMILIES)
        for k, tp in enumerate(("baseline", "month5"))
    }


@pytest.fixture
def two_waves(session, settings, people, wave_films):
    """Study W: wave 1 (baseline) ingested and planned, some items done, wave 2 ingested and the
    plan extended, as README step 4 recommends."""
    res = people["res"]
    for name in RATERS[2:]:
        accounts.create_user(session, None, name, f"{name}-password", "rater")
    studies.create_study(
        session,
        res,
        settings,
        "W",
        arms="VIPP,Control",
        timepoints="baseline,month5",
        scheme_key="nichd_sensitivity_intrusiveness",
        segment_seconds=1,
    )
    csv = "participant,arm\n" + "".join(f"{f},{a}\n" for f, a in ARM.items())
    studies.import_participants(session, res, "W", csv)
    session.commit()
    for tp in ("baseline", "month5"):
        items = [films.IngestItem(wave_films[(f, tp)], f, tp) for f in FAMILIES]
        outcomes = films.ingest(session, res, settings, "W", items)
        assert [o.status for o in outcomes] == ["ready"] * len(FAMILIES)
        if tp == "baseline":
            _plan_wave_one(session, people, seed=11)
    assignments.plan_study(session, res, "W", RATERS, seed=12)
    session.commit()
    return "W"


def _plan_wave_one(session, people, seed):
    assignments.plan_study(session, people["res"], "W", RATERS, seed=seed)
    # Each rater finishes their first item before the follow-up films arrive.
    for name in RATERS:
        actor = _actor(session, name)
        first = rating.rater_queue(session, actor).items[0]
        session.get(Assignment, _aid(session, actor, first)).status = "done"
    session.commit()


def _actor(session, name):
    return accounts.actor_of(accounts.get_user(session, name))


def _aid(session, actor, item):
    return item.assignment_id  # server-side only: the page shows a random token instead


def _labels(session, study):
    """assignment id -> (arm, time point), read by the test (a researcher's knowledge)."""
    rows = session.execute(
        select(Assignment.id, Recording)
        .join(Segment, Assignment.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
    ).all()
    return {aid: (rec.participant.arm.name, rec.timepoint.name) for aid, rec in rows}


def _rank_sum_z(labels: list[str], value: str) -> float | None:
    """Standardised Mann–Whitney rank sum of the positions holding ``value`` (no ties: positions
    are distinct); None when one group is empty. Mean k(n+1)/2, variance k(n-k)(n+1)/12."""
    n, pos = len(labels), [i + 1 for i, x in enumerate(labels) if x == value]
    k = len(pos)
    if k in (0, n):
        return None
    mean, var = k * (n + 1) / 2, k * (n - k) * (n + 1) / 12
    return (sum(pos) - mean) / math.sqrt(var)


def _open_queues(session, study):
    """rater -> open items in the order the rater sees them, and in the order they were added."""
    labels = _labels(session, study)
    shown, added = {}, {}
    for name in RATERS:
        actor = _actor(session, name)
        items = [i for i in rating.rater_queue(session, actor).items if i.status != "done"]
        aids = [_aid(session, actor, i) for i in items]
        shown[name] = [labels[a] for a in aids]
        added[name] = [labels[a] for a in sorted(aids)]
    return shown, added


def _pooled(queues, index, value):
    zs = [z for q in queues for z in [_rank_sum_z([s[index] for s in q], value)] if z is not None]
    return sum(zs) / math.sqrt(len(zs)), len(zs)


def _rewind_and_replan(session, people, seed):
    """The same two waves planned again with another seed (the films stay ingested): wave 2 is
    held back while wave 1 is planned, then released and the plan extended."""
    session.execute(delete(Assignment))
    wave2 = session.scalars(select(Recording).join(Recording.timepoint).where(Recording.purpose == "assessment"))
    held = [r for r in wave2 if r.timepoint.name == "month5"]
    for r in held:
        r.status = "processing"
    session.commit()
    _plan_wave_one(session, people, seed)
    for r in held:
        r.status = "ready"
    session.commit()
    assignments.plan_study(session, people["res"], "W", RATERS, seed=seed + 1)
    session.commit()


@pytest.mark.slow
def test_open_queues_carry_no_wave(session, people, two_waves):
    shown_all, added_all = [], []
    done_places = []
    for seed in (None, 101, 202, 303, 404, 505):
        if seed is not None:
            _rewind_and_replan(session, people, seed)
        shown, added = _open_queues(session, two_waves)
        shown_all += shown.values()
        added_all += added.values()
        for name in RATERS:
            q = rating.rater_queue(session, _actor(session, name)).items
            # The done item of wave 1 kept its place: first in the queue.
            done_places.append([i.status for i in q].index("done"))
            assert len(shown[name]) >= 4
    assert done_places == [0] * len(done_places)
    z_tp, n = _pooled(shown_all, 1, "month5")
    z_arm, _ = _pooled(shown_all, 0, "VIPP")
    # 24 rater-runs pooled; |z| < 3 holds with probability 0.997 under random order.
    assert n >= 20 and abs(z_tp) < 3 and abs(z_arm) < 3, (z_tp, z_arm)
    # Per queue too: no rater's open queue puts the time points apart (a block would give |z| ≈ 2.5+).
    per_queue = [abs(z) for q in shown_all for z in [_rank_sum_z([s[1] for s in q], "month5")] if z is not None]
    assert max(per_queue) < 2.5, per_queue
    # The order the items were added (what queues showed before) separates the waves: the test bites.
    z_added, _ = _pooled(added_all, 1, "month5")
    assert z_added > 4, z_added
    # The item a rater lands on next is not always of one wave.
    firsts = {q[0][1] for q in shown_all}
    assert firsts == {"baseline", "month5"}
    seeds = session.scalars(select(AuditLog.detail).where(AuditLog.action == "assign.reshuffle")).all()
    assert {d["seed"] for d in seeds} >= {505, 506}
