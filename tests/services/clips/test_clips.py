"""Clinicians' clips on a real ingested intervention film: caseload only, frame-snapped, tagged,
planned into a session and exported as a package that holds nothing of other families."""

from __future__ import annotations

import zipfile

import pytest
from sqlalchemy import select

from annotate.db.models import AuditLog
from annotate.services import accounts, clips, films, studies
from annotate.services.errors import NotFound, PermissionDenied, ServiceError
from tests.support.synthetic import make_synthetic_film

STRENGTH = {"polarity": ["strength"], "vipp_theme": ["speaking_for_child"]}


@pytest.fixture
def caseload(session, settings, people, tmp_path):
    res = people["res"]
    studies.create_study(
        session, res, settings, "C", arms="VIPP,Control", timepoints="baseline", scheme_key="ainsworth_sensitivity"
    )
    studies.import_participants(session, res, "C", "participant,arm,clinician\nF1,VIPP,clin\nF2,VIPP,\nF3,Control,\n")
    other = accounts.create_user(session, None, "clin2", "clin2-password", "clinician")
    studies.import_participants(session, res, "C", "participant,arm,clinician\nF2,VIPP,clin2\n")
    src = tmp_path / "src"
    src.mkdir()
    f1 = make_synthetic_film(src / "f1.mp4", 6, 160, 120, 25, seed=1)
    f2 = make_synthetic_film(src / "f2.mp4", 4, 160, 120, 25, seed=2)
    a = make_synthetic_film(src / "a.mp4", 3, 160, 120, 25, seed=3)
    out = films.ingest(
        session,
        res,
        settings,
        "C",
        [
            films.IngestItem(f1, "F1", None, "intervention", 1),
            films.IngestItem(f2, "F2", None, "intervention", 1),
            films.IngestItem(a, "F1", "baseline", "assessment"),
        ],
    )
    session.commit()
    return {"F1": out[0].blind_code, "F2": out[1].blind_code, "assess": out[2].blind_code, "clin2": other}


def test_clip_is_snapped_tagged_and_warned(session, settings, people, caseload):
    c = clips.save_clip(
        session, people["clin"], settings, caseload["F1"], 1.013, 2.507, tags=STRENGTH, caption="I like that!"
    )
    assert (c.in_s, c.out_s) == (1.0, 2.52)  # frame grid of 25 fps
    assert c.length_warning and "usually 3–60 s" in c.length_warning
    assert "Speaking for the child" in c.tag_labels and "Strength to celebrate" in c.tag_labels


@pytest.mark.parametrize("in_s,out_s,msg", [(3, 2, ""), (1, 99, ""), (-1, 2, "")])
def test_bad_in_out(session, settings, people, caseload, in_s, out_s, msg):
    with pytest.raises(ServiceError):
        clips.save_clip(session, people["clin"], settings, caseload["F1"], in_s, out_s, tags=STRENGTH)


def test_outside_caseload_assessment_and_wrong_role(session, settings, people, caseload):
    with pytest.raises(PermissionDenied, match="outside your caseload"):
        clips.save_clip(session, people["clin"], settings, caseload["F2"], 0, 3, tags=STRENGTH)
    with pytest.raises(PermissionDenied, match="assessment film"):
        clips.save_clip(session, people["clin"], settings, caseload["assess"], 0, 2, tags=STRENGTH)
    with pytest.raises(PermissionDenied):
        clips.save_clip(session, people["r1"], settings, caseload["F1"], 0, 3, tags=STRENGTH)
    with pytest.raises(ServiceError, match="Polarity"):
        clips.save_clip(
            session, people["clin"], settings, caseload["F1"], 0, 3, tags={"vipp_theme": ["sharing_emotions"]}
        )
    with pytest.raises(NotFound):
        clips.save_clip(session, people["clin"], settings, "NOSUCH", 0, 3, tags=STRENGTH)


def test_session_plan_and_package(session, settings, people, caseload):
    clin = people["clin"]
    a = clips.save_clip(
        session,
        clin,
        settings,
        caseload["F1"],
        0.5,
        3.6,
        tags=STRENGTH,
        caption="Look, you waited",
        note="Ask what she saw",
    )
    b = clips.save_clip(session, clin, settings, caseload["F1"], 4.0, 5.5, tags={"polarity": ["growth_point"]})
    with pytest.raises(ServiceError, match="no clips"):
        clips.export_session(session, clin, settings, "F1", 2)
    assert (
        clips.plan_session(session, clin, "F1", 2, [b.clip_id, a.clip_id], opening_note="Hello", closing_note="Bye")
        == 2
    )
    plan = clips.session_plan(session, clin, settings, "F1", 2)
    assert [c.clip_id for c in plan.clips] == [b.clip_id, a.clip_id] and plan.opening_note == "Hello"
    with pytest.raises(PermissionDenied):
        clips.plan_session(session, caseload["clin2"], "F1", 2, [a.clip_id])
    path = clips.export_session(session, clin, settings, "F1", 2)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        blob = b"".join(z.read(n) for n in names if n.endswith((".html", ".vtt")))
    assert any(n.endswith("index.html") for n in names) and sum(n.endswith(".mp4") for n in names) == 2
    assert b"Look, you waited" in blob and b"F2" not in blob and caseload["F2"].encode() not in blob
    assert session.scalar(select(AuditLog).where(AuditLog.action == "clips.export"))


def test_delete_only_own(session, settings, people, caseload):
    c = clips.save_clip(session, people["clin"], settings, caseload["F1"], 0.5, 4.0, tags=STRENGTH)
    with pytest.raises(NotFound):
        clips.delete_clip(session, caseload["clin2"], c.clip_id)
    clips.delete_clip(session, people["clin"], c.clip_id)
    assert clips.family_clips(session, people["clin"], settings, "F1") == []


def test_family_id_is_looked_up_within_its_study(session, settings, people, caseload):
    """A family id is unique only within a study: the same id in a second study of the same clinician
    must not be confused with the first (the study is asked for, then honoured)."""
    res = people["res"]
    studies.create_study(
        session, res, settings, "C2", arms="VIPP,Control", timepoints="baseline", scheme_key="ainsworth_sensitivity"
    )
    studies.import_participants(session, res, "C2", "participant,arm,clinician\nF1,VIPP,clin\n")
    clips.save_clip(session, people["clin"], settings, caseload["F1"], 1.0, 2.0, tags=STRENGTH)
    with pytest.raises(ServiceError, match=r"several studies \(C, C2\)"):
        clips.family_clips(session, people["clin"], settings, "F1")
    assert len(clips.family_clips(session, people["clin"], settings, "F1", study_key="C")) == 1
    assert clips.family_clips(session, people["clin"], settings, "F1", study_key="C2") == []
    films_seen = clips.caseload_films(session, people["clin"], settings)
    assert {(f.study_key, f.family) for f in films_seen} == {("C", "F1")}
