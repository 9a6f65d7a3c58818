import shutil
from dataclasses import asdict, fields, replace

import pytest
from sqlalchemy import select

from annotate.db.models import RatingHistory, Study
from annotate.services import assignments, rating, studies
from annotate.services.errors import ConflictError, NotFound, PermissionDenied, ReasonRequired, ServiceError
from tests.blinding import leaked_words

ALLOCATION_WORDS = ["VIPP", "Control", "baseline", "month5", "P01", "P02", "P03", "IMG_2024"]


@pytest.fixture
def queue_r1(session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=7)
    session.commit()
    return rating.rater_queue(session, people["r1"])


def test_queue_is_own_fixed_order_and_assessment_only(session, people, study, queue_r1):
    assert queue_r1.total == 8  # 4 assessment films x 2 segments; the intervention film is never given
    again = rating.rater_queue(session, people["r1"])
    assert [i.assignment_id for i in again.items] == [i.assignment_id for i in queue_r1.items]
    other = rating.rater_queue(session, people["r2"])
    assert not {i.assignment_id for i in other.items} & {i.assignment_id for i in queue_r1.items}


def test_rater_views_carry_no_allocation(session, settings, people, study, queue_r1):
    item = rating.open_item(session, people["r1"], settings, queue_r1.items[0].assignment_id)
    names = {f.name for f in fields(rating.RatingItem)} | {f.name for f in fields(rating.QueueItem)}
    assert not names & {"participant", "arm", "timepoint", "original_name", "created_at", "recorded_at"}
    blob = repr(asdict(queue_r1)) + repr({k: v for k, v in asdict(item).items() if k != "scheme"}) + item.media_url
    assert not leaked_words(blob, ALLOCATION_WORDS)


def test_save_score_versions_history_and_conflict(session, settings, people, study, queue_r1):
    aid = queue_r1.items[0].assignment_id
    v1 = rating.save_rating(session, people["r1"], aid, "sensitivity_nondistress", 3, expected_version=0)
    v2 = rating.save_rating(session, people["r1"], aid, "sensitivity_nondistress", 4, expected_version=v1)
    assert (v1, v2) == (1, 2)
    with pytest.raises(ConflictError, match="changed in another window"):
        rating.save_rating(session, people["r1"], aid, "sensitivity_nondistress", 2, expected_version=1)
    hist = session.scalars(select(RatingHistory).where(RatingHistory.assignment_id == aid)).all()
    assert [(h.old_value, h.new_value) for h in hist] == [(None, "3"), ("3", "4")]
    item = rating.open_item(session, people["r1"], settings, aid)
    assert item.values["sensitivity_nondistress"] == 4 and item.status == "in_progress"


def test_value_outside_scale_refused(session, people, study, queue_r1):
    aid = queue_r1.items[0].assignment_id
    with pytest.raises(ServiceError, match="between 1 and 4"):
        rating.save_rating(session, people["r1"], aid, "intrusiveness", 9, expected_version=0)
    with pytest.raises(ServiceError, match="sensitivity_nondistress"):
        rating.save_rating(session, people["r1"], aid, "no_such_scale", 1, expected_version=0)


def test_done_needs_all_scores_then_edits_need_reason(session, people, study, queue_r1):
    aid = queue_r1.items[0].assignment_id
    r1 = people["r1"]
    with pytest.raises(ServiceError, match="Score every scale"):
        rating.mark_done(session, r1, aid)
    for dim in ("sensitivity_nondistress", "intrusiveness", "positive_regard"):
        rating.save_rating(session, r1, aid, dim, 2, expected_version=0)
    rating.mark_done(session, r1, aid)
    with pytest.raises(ReasonRequired):
        rating.save_rating(session, r1, aid, "intrusiveness", 3, expected_version=1)
    rating.save_rating(session, r1, aid, "intrusiveness", 3, expected_version=1, reason="misclicked")
    last = session.scalars(select(RatingHistory).order_by(RatingHistory.id.desc())).first()
    assert last.reason == "misclicked" and last.new_value == "3"
    assert rating.rater_queue(session, r1).done == 1


def test_note_saved_with_history(session, people, study, queue_r1):
    aid = queue_r1.items[0].assignment_id
    v = rating.save_note(session, people["r1"], aid, "child fussy at start", expected_version=0)
    with pytest.raises(ConflictError):
        rating.save_note(session, people["r1"], aid, "other", expected_version=0)
    assert v == 1


def test_other_raters_item_and_wrong_roles(session, settings, people, study, queue_r1):
    aid = queue_r1.items[0].assignment_id
    with pytest.raises(NotFound, match="not in your queue"):
        rating.open_item(session, people["r2"], settings, aid)
    with pytest.raises(NotFound):
        rating.save_rating(session, people["r2"], aid, "intrusiveness", 1, expected_version=0)
    with pytest.raises(PermissionDenied):
        rating.rater_queue(session, people["clin"])


def test_locked_study_refuses_changes(session, people, study, queue_r1):
    session.scalar(select(Study)).status = "locked"
    with pytest.raises(PermissionDenied, match="locked"):
        rating.save_rating(
            session, people["r1"], queue_r1.items[0].assignment_id, "intrusiveness", 1, expected_version=0
        )


def test_scheme_edit_under_ratings_is_refused(session, settings, people, study, queue_r1, tmp_path):
    rating.save_rating(session, people["r1"], queue_r1.items[0].assignment_id, "intrusiveness", 1, expected_version=0)
    session.commit()
    copy = tmp_path / "schemes"
    shutil.copytree(settings.schemes_dir, copy)
    f = copy / "nichd_sensitivity_intrusiveness.yaml"
    f.write_text(f.read_text() + "\n# edited without a new version\n")
    with pytest.raises(ServiceError, match="new `version`"):
        studies.pin_scheme(session, replace(settings, schemes_dir=copy), "nichd_sensitivity_intrusiveness")
