"""Pages under streamlit.testing.v1.AppTest: login states, rater scoring, researcher pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.db.models import Rating
from annotate.services import accounts, assignments
from tests.blinding import leaked_words

MAIN = str(Path(__file__).resolve().parents[2] / "annotate" / "ui" / "main.py")


def app_as(session, username: str | None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=30)
    if username:
        token, _ = accounts.login(session, username, f"{username}-password", hours=1)
        session.commit()
        at.session_state["auth_token"] = token
    return at.run()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def assigned(session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1"], mode="all", seed=3)
    session.commit()
    return study


def test_not_logged_in_shows_login_link(env, session):
    at = app_as(session, None)
    assert not at.exception
    assert "not logged in" in texts(at)
    assert "/api/login" in texts(at)


def test_rater_scores_and_it_is_saved(env, session, people, assigned):
    at = app_as(session, "r1")
    assert not at.exception, at.exception
    assert "0 of 8 segments done" in at.get("progress")[0].proto.text
    groups = at.button_group
    assert len(groups) == 3  # the NICHD scheme's three dimensions
    groups[0].set_value(3.0).run()
    assert not at.exception
    saved = session.scalars(select(Rating)).all()
    assert [(r.dimension, r.value) for r in saved] == [("sensitivity_nondistress", 3.0)]
    assert "Saved" in texts(at)
    player = at.get("bidi_component")[0]
    assert "/api/media/" in player.proto.json


def test_rater_page_has_no_allocation(env, session, people, assigned):
    at = app_as(session, "r1")
    blob = repr([e.proto for e in at.main]) + repr([e.proto for e in at.sidebar])
    assert not leaked_words(blob, ["VIPP", "Control", "baseline", "month5", "P01", "P02", "P03", "IMG_2024"])


def test_mark_done_requires_all_scores(env, session, people, assigned):
    at = app_as(session, "r1")
    done = next(b for b in at.button if b.label == "Mark segment done")
    done.click().run()
    assert "Score every scale" in texts(at)


def test_researcher_sees_studies_and_can_create_one(env, session, people, study):
    at = app_as(session, "res")
    assert not at.exception, at.exception
    assert at.title[0].value == "Studies"
    assert "T1" in repr(at.dataframe[0].value)


def test_clinician_sees_only_caseload(env, session, people, study):
    at = app_as(session, "clin")
    assert not at.exception, at.exception
    assert at.title[0].value == "My families"
    assert at.selectbox[0].options == ["Family P01 · session 1 · film CODE4"]


def _keys_and_blob(at: AppTest) -> tuple[set[str], str]:
    import re

    blob = repr([e.proto for e in at.main]) + repr([e.proto for e in at.sidebar])
    keys = set(re.findall(r"(?:score|note|player|reason|guess|unblind_send|unblind)_([A-Za-z0-9]+)", blob))
    return keys, blob


def test_rater_page_carries_no_database_or_sequential_id(env, session, people, study):
    import re

    from annotate.db.models import Assignment

    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=3)
    session.commit()
    ids = {str(a.id) for a in session.scalars(select(Assignment))}
    seen = {}
    for who in ("r1", "r2"):
        at = app_as(session, who)
        assert not at.exception, at.exception
        at.button_group[0].set_value(3.0).run()  # a saved score: the rating exists too
        keys, blob = _keys_and_blob(at)
        assert keys, "the page shows keyed widgets"
        # Every key token is 16 random hex digits, never a number (assignment, segment or rating id).
        assert all(re.fullmatch(r"[0-9a-f]{16}", k) for k in keys), keys
        assert not ids & keys
        assert not re.search(r"segment \d+ (?:of|/) ?\d+", blob) and not re.search(r"segment \d+/\d+", blob)
        assert "u=" not in blob and "/api/media/CODE" in blob
        seen[who] = (keys, re.findall(r"/api/media/\w+\?t=[\w.\-]+", blob))
    # Same films for both raters, nothing in common in what their browsers receive but the film code.
    assert not seen["r1"][0] & seen["r2"][0]
    assert not set(seen["r1"][1]) & set(seen["r2"][1])


def test_rater_all_done_says_so_instead_of_reopening_a_done_segment(env, session, people, assigned):
    from annotate.services import rating

    r1 = people["r1"]
    items = rating.rater_queue(session, r1).items
    for item in items:
        for dim in ("sensitivity_nondistress", "intrusiveness", "positive_regard"):
            rating.save_rating(session, r1, item.assignment_id, dim, 2, expected_version=0)
        if item is not items[-1]:
            rating.mark_done(session, r1, item.assignment_id)
    session.commit()
    at = app_as(session, "r1")
    assert "7 of 8 segments done" in at.get("progress")[0].proto.text
    next(b for b in at.button if b.label == "Mark segment done").click().run()
    assert not at.exception, at.exception
    assert "All done — thank you" in "\n".join(s.value for s in at.success)
    assert not [t for t in at.text_input if t.label == "Reason for the change"]
    next(b for b in at.button if b.label == "Review my segments").click().run()
    assert [t for t in at.text_input if t.label == "Reason for the change"]  # a done segment, opened on purpose


def test_clinician_form_is_fresh_after_save_and_a_clip_can_be_edited(env, session, people, study):
    from annotate.db.models import Clip

    at = app_as(session, "clin")
    assert not at.exception, at.exception
    at.number_input(key="clip_in").set_value(1.0)
    at.number_input(key="clip_out").set_value(4.0)
    at.text_input(key="clip_caption").set_value("Look, I can do it!\tCR\r\nLF 😀")
    at.text_area(key="clip_note").set_value("Ask how it felt")
    at.run()
    next(b for b in at.button if b.label == "Save clip").click().run()
    assert "Choose a tag for: Polarity" in [e.value for e in at.error]
    assert at.text_input(key="clip_caption").value.startswith("Look")  # kept after the refusal
    at.selectbox(key="tags_polarity").set_value("strength").run()
    next(b for b in at.button if b.label == "Save clip").click().run()
    assert not at.exception, at.exception
    saved = session.scalars(select(Clip)).all()
    assert [c.caption for c in saved] == ["Look, I can do it!\tCR\r\nLF 😀"]
    # The next clip starts from an empty form: no caption of the first clip can slip into it.
    assert at.number_input(key="clip_in").value == 0.0 and at.number_input(key="clip_out").value == 0.0
    assert at.text_input(key="clip_caption").value == "" and at.text_area(key="clip_note").value == ""
    # Edit the saved clip: the form is filled with it, and saving changes it (no second clip).
    next(b for b in at.button if b.label == "Edit").click().run()
    assert at.text_input(key="clip_caption").value.startswith("Look, I can do it!")
    at.text_input(key="clip_caption").set_value("Changed").run()
    next(b for b in at.button if b.label == "Save changes").click().run()
    session.expire_all()
    assert [c.caption for c in session.scalars(select(Clip)).all()] == ["Changed"]
    assert at.text_input(key="clip_caption").value == ""
