"""study_progress counts (aggregated in SQL) and the checklist shown before locking."""

from __future__ import annotations

from annotate.services import assignments, rating, studies

DIMS = ("sensitivity_nondistress", "intrusiveness", "positive_regard")


def test_lock_checklist_names_open_work_per_rater(session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=7)
    session.commit()
    before = studies.lock_checklist(session, people["res"], study)
    assert before.open_per_rater == {"r1": 8, "r2": 8} and not before.clear
    assert before.overdue_raters == {} and before.consensus_open == 0
    for item in rating.rater_queue(session, people["r1"]).items:
        for dim in DIMS:
            rating.save_rating(session, people["r1"], item.assignment_id, dim, 3, expected_version=0)
        rating.mark_done(session, people["r1"], item.assignment_id)
    session.commit()
    after = studies.lock_checklist(session, people["res"], study)
    assert after.open_per_rater == {"r2": 8}
    p = studies.study_progress(session, people["res"], study)
    r1 = p.per_rater.set_index("rater").loc["r1"]
    assert (r1["assigned"], r1["done"], r1["in_progress"], r1["overdue"]) == (8, 8, 0, 0)
    assert r1["minutes_spent"] >= 0
    assert int(p.per_stratum["segments"].sum()) == 8 and int(p.per_stratum["done"].sum()) == 0  # r2 still open
