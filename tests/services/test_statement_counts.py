"""SQL statements per page call do not grow with the study (issue 16: pages at a million ratings).

Two studies in one database, the second ten times the first (films, segments, assignments,
ratings). Each page's service call is made on both, and the statements it sends (counted with
a ``before_cursor_execute`` listener) must be the same number: aggregation happens in SQL, the
queue is paged, nothing is loaded one row at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import event, insert, select

from annotate.db.models import Assignment, Participant, Rating, Recording, Segment, Study
from annotate.services import accounts, assignments, films, outcomes, rating, reliability, studies
from annotate.services.studies import revision

DIMS = ["sensitivity_nondistress", "intrusiveness", "positive_regard"]
SEGMENTS = 2


def _study(session, settings, res, key: str, n_films: int, raters) -> None:
    studies.create_study(
        session,
        res,
        settings,
        key,
        arms="VIPP,Control",
        timepoints="baseline,month5",
        scheme_key="nichd_sensitivity_intrusiveness",
        segment_seconds=60,
    )
    n_part = max(2, n_films // 2)
    csv = "participant,arm\n" + "".join(f"{key}-P{i},{'VIPP' if i % 2 else 'Control'}\n" for i in range(n_part))
    studies.import_participants(session, res, key, csv)
    study = session.scalar(select(Study).where(Study.key == key))
    pids = list(session.scalars(select(Participant.id).where(Participant.study_id == study.id)))
    conn = session.connection()
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        insert(Recording),
        [
            {
                "study_id": study.id,
                "participant_id": pids[i // 2 % len(pids)],
                "timepoint_id": study.timepoints[i % 2].id,
                "purpose": "assessment",
                "blind_code": f"{key}{i:04d}",
                "original_name": f"f{i}.mp4",
                "proxy_path": "/nowhere/p.mp4",
                "status": "ready",
                "duration_s": 60.0 * SEGMENTS,
                "fps": 25.0,
                "created_at": now,
            }
            for i in range(n_films)
        ],
    )
    recs = list(session.scalars(select(Recording.id).where(Recording.study_id == study.id)))
    conn.execute(
        insert(Segment),
        [{"recording_id": r, "index": k, "start_s": 60.0 * k, "end_s": 60.0 * (k + 1)} for r in recs for k in range(2)],
    )
    segs = list(
        session.scalars(select(Segment.id).join(Recording).where(Recording.study_id == study.id).order_by(Segment.id))
    )
    for ri, rater in enumerate(raters):
        conn.execute(
            insert(Assignment),
            [
                {
                    "study_id": study.id,
                    "rater_id": rater.user_id,
                    "segment_id": sid,
                    "scheme_id": study.scheme_id,
                    "purpose": "primary" if ri == 0 else "reliability",
                    "order_index": pos,
                    "status": "done" if pos < len(segs) // 2 else "assigned",
                    "note": "",
                    "note_version": 0,
                    "created_at": now - dt.timedelta(days=20),
                    "done_at": now if pos < len(segs) // 2 else None,
                    "first_activity_at": now - dt.timedelta(minutes=5) if pos < len(segs) // 2 else None,
                }
                for pos, sid in enumerate(segs)
            ],
        )
    done = session.execute(
        select(Assignment.id, Assignment.segment_id, Assignment.rater_id).where(
            Assignment.study_id == study.id, Assignment.status == "done"
        )
    ).all()
    conn.execute(
        insert(Rating),
        [
            {
                "assignment_id": aid,
                "segment_id": sid,
                "rater_id": rid,
                "scheme_id": study.scheme_id,
                "dimension": d,
                "value": float(1 + (sid + k + rid) % 4),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for aid, sid, rid in done
            for k, d in enumerate(DIMS)
        ],
    )
    session.commit()


@pytest.fixture
def two_sizes(session, settings, people):
    """SMALL (4 films) rated by r1 and r2; BIG (40 films) rated by r3 and r4."""
    res = people["res"]
    r3 = accounts.create_user(session, None, "r3", "r3-password", "rater")
    r4 = accounts.create_user(session, None, "r4", "r4-password", "rater")
    session.commit()
    _study(session, settings, res, "SMALL", 4, [people["r1"], people["r2"]])
    _study(session, settings, res, "BIG", 40, [r3, r4])
    return {"SMALL": (people["r1"], "SMALL"), "BIG": (r3, "BIG")}


def _count(session, fn: Callable[[], object]) -> int:
    engine = session.get_bind()
    seen = []

    def listener(*_args, **_kwargs):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def _calls(session, settings, res, rater, key):
    """Each page's service calls, as the page makes them on one rerun."""

    def rater_page():
        page = rating.rater_queue_page(session, rater)
        rating.open_item(session, rater, settings, page.current.assignment_id)
        rating.guess_wanted(session, rater, page.current.assignment_id)

    return {
        "rater_queue": lambda: rating.rater_queue(session, rater),
        "rater page": rater_page,
        "next item": lambda: rating.next_open_item(session, rater, after=None),
        "study_progress": lambda: studies.study_progress(session, res, key),
        "blinding_summary": lambda: rating.blinding_summary(session, res, key),
        "films": lambda: films.list_recordings(session, res, key),
        "assign": lambda: assignments.assignable_segments(session, res, key),
        "reliability options": lambda: reliability.reliability_options(session, res, key),
        "reliability": lambda: reliability.reliability_report(session, res, key, dimension=DIMS[0]),
        "summary options": lambda: outcomes.summary_options(session, res, key),
        "summaries": lambda: outcomes.outcome_table(session, res, key, dimension=DIMS[0]),
        "study status": lambda: (studies.gate(session, res, key), accounts.list_users(session, res, "rater")),
    }


def test_statements_per_call_do_not_grow_with_the_study(session, settings, people, two_sizes):
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for size, (rater, key) in two_sizes.items():
        revision.clear()
        calls = _calls(session, settings, people["res"], rater, key)
        counts[size] = {}
        for name, fn in calls.items():
            first = _count(session, fn)
            session.expire_all()  # a rerun is a new unit of work: nothing loaded is reused
            again = _count(session, fn)
            counts[size][name] = (first, again)
    for name in counts["SMALL"]:
        assert counts["BIG"][name] == counts["SMALL"][name], (name, counts["SMALL"][name], counts["BIG"][name])
    # Cached between reruns: the big reports are not recomputed when nothing changed.
    for name in ("reliability", "summaries", "films", "assign", "study_progress"):
        first, again = counts["BIG"][name]
        assert again < first, (name, first, again)


def test_paged_queue_agrees_with_the_whole_queue(session, settings, people, two_sizes):
    rater, _key = two_sizes["BIG"]
    whole = rating.rater_queue(session, rater)
    page = rating.rater_queue_page(session, rater, window=5)
    assert (page.total, page.done) == (whole.total, whole.done) == (80, 40)
    assert page.current == whole.next_open()
    assert [i.assignment_id for i in page.items] == [i.assignment_id for i in whole.items[35:46]]
    assert [i.position for i in page.items] == list(range(36, 47))
    assert page.next_open == whole.items[41]
    last = whole.items[-1]
    end = rating.rater_queue_page(session, rater, last.assignment_id, window=5)
    assert end.current == last and end.following_id is None and end.next_open == whole.items[40]  # wraps round
    # Someone else's item is not shown: the first open item of one's own queue is.
    other = rating.rater_queue(session, people["r1"]).items[0].assignment_id
    assert rating.rater_queue_page(session, rater, other).current == whole.next_open()


def test_next_never_lands_on_a_done_or_locked_item(session, settings, people, two_sizes):
    rater, key = two_sizes["SMALL"]
    whole = rating.rater_queue(session, rater)
    open_items = [i for i in whole.items if i.status != "done"]
    assert rating.next_open_item(session, rater, after=open_items[0].assignment_id) == open_items[1]
    session.execute(Study.__table__.update().where(Study.key == key).values(status="locked"))
    session.commit()
    assert rating.next_open_item(session, rater) is None
    page = rating.rater_queue_page(session, rater)
    assert page.current is None and page.next_open is None and not page.all_done
    assert [i.assignment_id for i in page.items] == [i.assignment_id for i in whole.items]  # still reviewable
    assert rating.rater_queue(session, rater).next_open() is None


def test_cached_report_follows_a_change_of_data(session, settings, people, two_sizes):
    rater, key = two_sizes["SMALL"]
    revision.clear()
    before = studies.study_progress(session, people["res"], key)
    page = rating.rater_queue_page(session, rater)
    aid = page.current.assignment_id
    for d in DIMS:
        rating.save_rating(session, rater, aid, d, 2, expected_version=0)
    rating.mark_done(session, rater, aid)
    session.commit()
    after = studies.study_progress(session, people["res"], key)
    done = {r.rater: r.done for r in after.per_rater.itertuples()}
    assert done[rater.username] == {r.rater: r.done for r in before.per_rater.itertuples()}[rater.username] + 1
