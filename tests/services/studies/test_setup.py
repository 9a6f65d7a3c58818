import pytest
from sqlalchemy import select

from annotate.db.models import AuditLog, Participant, Scheme
from annotate.errors import AnnotateError
from annotate.services import studies
from annotate.services.errors import ImportRejected, NotFound, PermissionDenied, ServiceError


def test_create_study_pins_scheme(session, settings, people):
    info = studies.create_study(
        session, people["res"], settings, "S1", arms="A, B", timepoints=["t0", "t1"], scheme_key="ainsworth_sensitivity"
    )
    assert info.arms == ["A", "B"] and info.timepoints == ["t0", "t1"]
    row = session.scalar(select(Scheme).where(Scheme.key == "ainsworth_sensitivity"))
    assert len(row.sha256) == 64 and "dimensions" in row.yaml_text
    assert session.scalar(select(AuditLog).where(AuditLog.action == "study.create"))


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        (dict(key="bad key"), "not allowed"),
        (dict(arms="A,a"), "must differ"),
        (dict(timepoints=""), "at least one"),
        (dict(scheme_key="nope"), "No rating scheme"),
        (dict(segment_seconds=-5), "positive"),
    ],
)
def test_create_study_errors(session, settings, people, kwargs, msg):
    args = dict(key="S1", arms="A,B", timepoints="t0", scheme_key="ainsworth_sensitivity")
    args.update(kwargs)
    key = args.pop("key")
    with pytest.raises(ServiceError, match=msg):
        studies.create_study(session, people["res"], settings, key, **args)


def test_rater_cannot_create_study(session, settings, people):
    with pytest.raises(PermissionDenied):
        studies.create_study(
            session, people["r1"], settings, "S1", arms="A", timepoints="t", scheme_key="ainsworth_sensitivity"
        )


def test_import_participants_all_or_nothing(session, settings, people, study):
    bad = "participant,arm,per_protocol\nP10,VIPP,yes\n,VIPP,\nP11,Placebo,\nP12,VIPP,maybe\nP10,Control,\n"
    with pytest.raises(ImportRejected) as err:
        studies.import_participants(session, people["res"], study, bad)
    text = str(err.value)
    assert "row 3: participant id is empty" in text
    assert "row 4: arm 'Placebo'" in text
    assert "row 5: per_protocol must be yes/no" in text
    assert "row 6: participant P10 already appears on row 2" in text
    assert not session.scalar(select(Participant).where(Participant.external_id == "P10"))


@pytest.mark.parametrize("pid", ['"P1\n3"', '"P1\r\n3"', '"P1\t3"', '"P1\x003"', '"P1\x7f3"'])
def test_participant_ids_with_line_breaks_or_tabs_are_refused(session, people, study, pid):
    with pytest.raises(ImportRejected, match=r"row 3: participant id .* holds a line break, tab or other control"):
        studies.import_participants(session, people["res"], study, f"participant,arm\nP40,VIPP\n{pid},VIPP\n")
    assert not session.scalar(select(Participant).where(Participant.external_id == "P40"))  # nothing half-done
    # an emoji and quotes are an id like any other and come back as they went in, up to the column's
    # 120 characters; a longer id is refused with its row, on every database
    odd = 'P-\U0001f476 "x"' + "y" * 110
    studies.import_participants(
        session, people["res"], study, 'participant,arm\n"P-\U0001f476 ""x""' + "y" * 110 + '",VIPP\n'
    )
    assert session.scalar(select(Participant).where(Participant.external_id == odd)) is not None
    with pytest.raises(ImportRejected, match="row 2: participant id is 10,001 characters long; at most 120 fit"):
        studies.import_participants(session, people["res"], study, "participant,arm\nP" + "y" * 10_000 + ",VIPP\n")


def test_import_is_idempotent_and_allocation_cannot_change(session, people, study):
    again = studies.import_participants(session, people["res"], study, "participant,arm\nP01,VIPP\nP02,Control\n")
    assert (again.created, again.updated) == (0, 1)  # clinician column absent now: P01 updated
    with pytest.raises(ImportRejected, match="allocation cannot change"):
        studies.import_participants(session, people["res"], study, "participant,arm\nP01,Control\n")


def test_import_covariates_and_clinician(session, people, study):
    studies.import_participants(
        session, people["res"], study, "participant,arm,age_months,clinician\nP20,VIPP,7.5,clin\n"
    )
    p = session.scalar(select(Participant).where(Participant.external_id == "P20"))
    assert p.covariates == {"age_months": 7.5} and p.clinician_id == people["clin"].user_id


@pytest.mark.parametrize(
    "data,msg",
    [("", "empty"), ("who,arm\nP1,A\n", "missing column"), (b"\xff\xfe\x00\x01\x02", "(?i)participant.*UTF-16")],
)
def test_import_malformed_csv(session, people, study, data, msg):
    with pytest.raises(AnnotateError, match=msg):
        studies.import_participants(session, people["res"], study, data)


def test_unknown_study(session, people):
    with pytest.raises(NotFound, match="No study 'X'"):
        studies.study_info(session, people["res"], "X")
