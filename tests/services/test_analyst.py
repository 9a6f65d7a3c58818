"""The blinded analyst and the researchers_blinded setting: the role x operation matrix of the
policy, and every service that shows allocation keeping to it before and after unblinding."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from annotate.db.models import Participant, Study
from annotate.services import accounts, assignments, exchange, films, policy, rating, studies
from annotate.services.errors import PermissionDenied
from annotate.services.policy import Operation, StudySettings, permits
from tests.support.signing import sign

Op = Operation
BEFORE, AFTER = "rating", "unblinded"

# role -> operations allowed before unblinding / after unblinding (default settings).
MATRIX = {
    "rater": ({Op.RATE}, {Op.RATE}),
    "clinician": ({Op.CASELOAD}, {Op.CASELOAD}),
    "analyst": (
        {Op.READ_STUDY, Op.RELIABILITY, Op.MASKED_SUMMARY, Op.EXPORT_BLINDED, Op.EXPORT_MASKED},
        {Op.READ_STUDY, Op.RELIABILITY, Op.MASKED_SUMMARY, Op.EXPORT_BLINDED, Op.EXPORT_MASKED}
        | {Op.VIEW_ALLOCATION, Op.EXPORT_FULL, Op.STUDY_PACKAGE},
    ),
    "researcher": (
        {Op.READ_STUDY, Op.RELIABILITY, Op.MASKED_SUMMARY, Op.EXPORT_BLINDED, Op.EXPORT_MASKED}
        | {Op.MANAGE_STUDY, Op.VIEW_ALLOCATION},
        set(Operation) - {Op.RATE, Op.CASELOAD, Op.MANAGE_USERS},
    ),
    "admin": (set(Operation) - {Op.EXPORT_FULL}, set(Operation)),
    "nobody": (set(), set()),
}


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("when", [BEFORE, AFTER])
def test_role_operation_matrix(role, when):
    expected = MATRIX[role][when == AFTER]
    got = {op for op in Operation if permits(role, op, when)}
    assert got == expected


def test_blinded_researchers_setting_moves_only_the_allocation_rows():
    blind = StudySettings(researchers_blinded=True)
    got = {op for op in Operation if permits("researcher", op, BEFORE, blind)}
    assert got == MATRIX["researcher"][0] - {Op.VIEW_ALLOCATION}
    assert {op for op in Operation if permits("researcher", op, AFTER, blind)} == MATRIX["researcher"][1]
    assert permits("admin", Op.VIEW_ALLOCATION, BEFORE, blind)  # the allocation is held by admins
    assert StudySettings().researchers_blinded is False  # default as before


@pytest.fixture
def ana(session, people):
    actor = accounts.create_user(session, None, "ana", "ana-password", "analyst")
    session.commit()
    return actor


@pytest.fixture
def rated(session, people, study):
    """T1 with r1 and r2 scoring every segment (so exports have rows)."""
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=5)
    session.commit()
    for name in ("r1", "r2"):
        actor = people[name]
        for item in rating.rater_queue(session, actor).items:
            rating.save_rating(session, actor, item.assignment_id, "sensitivity_nondistress", 3, expected_version=0)
    session.commit()
    return study


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


REAL = ["VIPP", "Control"]
IDS = ["P01", "P02", "P03"]


def test_analyst_before_unblinding_sees_masked_views_only(session, people, ana, rated):
    info = studies.study_info(session, ana, "T1")
    assert sorted(info.arms) == ["Arm A", "Arm B"]
    assert [i.key for i in studies.list_studies(session, ana)] == ["T1"]
    gate = studies.gate(session, ana, "T1")
    assert set(gate.arm_labels) == {"Arm A", "Arm B"} and not set(gate.arm_labels) & set(REAL)
    assert studies.study_progress(session, ana, "T1") is not None
    for refused in (
        lambda: films.list_recordings(session, ana, "T1"),
        lambda: exchange.export_study_package(session, ana, "T1"),
        lambda: exchange.ratings_csv(session, ana, "T1", mode="full"),
        lambda: rating.blinding_summary(session, ana, "T1"),
        lambda: studies.import_participants(session, ana, "T1", "participant,arm\nP09,VIPP\n"),
        lambda: assignments.plan_study(session, ana, "T1", ["r1"]),
        lambda: assignments.queue_of(session, ana, "T1", "r1"),
    ):
        with pytest.raises(PermissionDenied):
            refused()
    masked = exchange.ratings_csv(session, ana, "T1")  # auto: masked before unblinding
    rows = _rows(masked)
    assert rows and "participant" in rows[0]
    shown = {r["participant"] for r in rows}
    assert len(shown) == 3 and not shown & set(IDS) and all(p.startswith("S-") for p in shown)
    assert not set(masked.replace(",", " ").split()) & set(REAL + IDS)
    # Stable within the study: the same pseudonyms in the next export, in the history, for anyone.
    assert {r["participant"] for r in _rows(exchange.ratings_csv(session, people["res"], "T1", mode="masked"))} == shown
    hist = exchange.export_file(session, ana, "T1", "history", "masked").data.decode()
    assert {r["participant"] for r in _rows(hist)} <= shown
    # A pseudonym maps to one participant: the time points of P01 stay together.
    st = session.scalar(select(Study).where(Study.key == "T1"))
    pseudo = studies.pseudonymizer(st)
    assert {pseudo(p) for p in IDS} == shown and len({pseudo(p) for p in IDS}) == 3


def test_pseudonyms_differ_between_studies(session, settings, people):
    for key in ("PA", "PB"):
        studies.create_study(
            session, people["res"], settings, key, arms="A,B", timepoints="t0", scheme_key="ainsworth_sensitivity"
        )
        studies.import_participants(session, people["res"], key, "participant,arm\nP01,A\n")
    a, b = (studies.pseudonymizer(session.scalar(select(Study).where(Study.key == k)))("P01") for k in ("PA", "PB"))
    assert a != b and a.startswith("S-") and len(a) == 12


def test_analyst_after_unblinding_sees_what_researchers_see_but_manages_nothing(session, people, ana, rated):
    res = people["res"]
    studies.set_status(session, res, "T1", "locked", signature=sign(session, res, "I approve locking study T1"))
    studies.set_status(
        session,
        res,
        "T1",
        "unblinded",
        reason="analysis plan signed",
        signature=sign(session, res, "I approve unblinding"),
    )
    session.commit()
    assert sorted(studies.study_info(session, ana, "T1").arms) == sorted(REAL)
    assert {r.arm for r in films.list_recordings(session, ana, "T1")} >= set(REAL)
    full = _rows(exchange.ratings_csv(session, ana, "T1", mode="full"))
    assert {r["participant"] for r in full} == set(IDS)
    assert exchange.export_study_package(session, ana, "T1")[:2] == b"PK"
    with pytest.raises(PermissionDenied):
        assignments.plan_study(session, ana, "T1", ["r1"])
    with pytest.raises(PermissionDenied):
        studies.update_settings(session, ana, "T1", due_days=3)


def test_blinded_researchers_get_the_analysts_view(session, people, rated):
    res, adm = people["res"], people["adm"]
    with pytest.raises(PermissionDenied):  # researchers cannot blind or unblind themselves
        studies.update_settings(session, res, "T1", researchers_blinded=True)
    studies.update_settings(session, adm, "T1", researchers_blinded=True)
    session.commit()
    with pytest.raises(PermissionDenied):
        studies.update_settings(session, res, "T1", researchers_blinded=False)
    studies.update_settings(session, res, "T1", due_days=7)  # other settings stay theirs
    assert Op.VIEW_ALLOCATION not in studies.operations(session, res, "T1")
    assert Op.MANAGE_STUDY in studies.operations(session, res, "T1")
    assert sorted(studies.study_info(session, res, "T1").arms) == ["Arm A", "Arm B"]
    assert set(studies.gate(session, res, "T1").arm_labels) == {"Arm A", "Arm B"}
    recs = films.list_recordings(session, res, "T1")
    # No arm, and no intervention film (only the intervention arm has them).
    assert {r.arm for r in recs} == {None} and {r.purpose for r in recs} == {"assessment"}
    with pytest.raises(PermissionDenied, match="admins hold the allocation"):
        studies.import_participants(session, res, "T1", "participant,arm\nP09,VIPP\n")
    with pytest.raises(PermissionDenied):
        rating.blinding_summary(session, res, "T1")
    # Management goes on: researchers still plan and ingest.
    assert assignments.queue_of(session, res, "T1", "r1")[0].arm in ("Arm A", "Arm B")
    # Admins hold the allocation.
    assert sorted(studies.study_info(session, adm, "T1").arms) == sorted(REAL)
    studies.import_participants(session, adm, "T1", "participant,arm\nP09,VIPP\n")
    assert session.scalar(select(Participant).where(Participant.external_id == "P09")) is not None
    assert policy.sees_allocation("admin", "rating", StudySettings(researchers_blinded=True))
