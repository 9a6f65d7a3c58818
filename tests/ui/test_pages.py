"""Pages under streamlit.testing.v1.AppTest: login states, rater scoring, researcher pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.db.models import Rating
from annotate.services import assignments, users
from tests.blinding import leaked_words

MAIN = str(Path(__file__).resolve().parents[2] / "annotate" / "ui" / "main.py")


def app_as(session, username: str | None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=30)
    if username:
        token, _ = users.login(session, username, f"{username}-password", hours=1)
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
    done = [b for b in at.button if b.label == "Mark segment done"][0]
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
