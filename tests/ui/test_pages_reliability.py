"""The reliability and certification pages under streamlit.testing.v1.AppTest."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.db.models import Assignment
from annotate.services import accounts, assignments
from annotate.services.reliability.certification import create_calibration_set
from tests.services.reliability.test_study import SCORES, SENS, assessment_segments, rate

ALLOCATION_WORDS = ["VIPP", "Control", "baseline", "month5", "P01", "P02", "P03", "IMG_2024"]


def _page(which: str, actor: tuple) -> None:
    import streamlit as st

    from annotate.services.actor import Actor
    from annotate.ui import pages_reliability

    st.session_state["actor"] = Actor(*actor)
    getattr(pages_reliability, which)()


def app(which: str, actor) -> AppTest:
    fields = (actor.user_id, actor.username, actor.display_name, actor.role)
    return AppTest.from_function(_page, args=(which, fields), default_timeout=60).run()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [c.value for c in at.caption] + [w.value for w in at.warning]
    parts += [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def table_with(at: AppTest, column: str):
    """The first table of the page with this column."""
    return next(f.value for f in at.dataframe if column in f.value.columns)


def assert_no_raw_none(at: AppTest) -> None:
    """No table cell and no text shows a bare None / nan: an undefined statistic says why in words."""
    for frame in at.dataframe:
        for column in frame.value.columns:
            cells = frame.value[column]
            if cells.dtype == object:
                assert not any(v is None or str(v) in ("None", "nan") for v in cells), (column, list(cells))
    assert "None" not in texts(at).replace("None of", "")


@pytest.fixture
def double_coded(env, session, people, study):
    assignments.assign_segments(session, people["res"], study, ["r1", "r2"], mode="all", seed=1)
    session.commit()
    segs = assessment_segments(session)
    for name in ("r1", "r2"):
        rate(session, people[name], SCORES[name], segs)
    return segs


def test_reliability_page_shows_statistics_reading_and_charts(double_coded, people):
    at = app("reliability_page", people["res"])
    assert not at.exception, at.exception
    body = texts(at)
    assert "ICC(A,1) =" in body and "Koo & Li" in body
    assert at.metric[0].value == "8"  # double-coded segments
    design_table = at.dataframe[0].value
    assert list(design_table["statistic"])[:2] == ["ICC(1), one-way", "ICC(1,k), one-way"]
    icc_table = at.dataframe[1].value
    assert list(icc_table["ICC"]) == ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"]
    # severity, D-study heat map, Bland-Altman, confusion heat map, drift
    assert len(at.get("vega_lite_chart")) == 5
    assert_no_raw_none(at)
    blob = repr([e.proto for e in at.main])
    for word in ALLOCATION_WORDS:
        assert word not in blob, word


def test_reliability_page_rater_pair_and_dimension(double_coded, people):
    at = app("reliability_page", people["res"])
    at.selectbox(key="rel_dimension").set_value("intrusiveness")
    at.radio(key="rel_set").set_value("pair").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="rel_rater_a").value == "r1" and at.selectbox(key="rel_rater_b").value == "r2"
    assert "r1 − r2" in texts(at)


def test_reliability_page_without_double_coding_explains(env, session, people, study):
    at = app("reliability_page", people["res"])
    assert not at.exception, at.exception
    assert "double-coded segments" in texts(at)


def test_rater_is_refused(double_coded, people):
    at = app("reliability_page", people["r1"])
    assert not at.exception
    assert "needs the researcher or analyst role" in texts(at)


def test_certification_page_creates_a_set_from_a_master_rater(double_coded, session, people):
    at = app("certification_page", people["res"])
    assert not at.exception, at.exception
    assert "No calibration set" in texts(at)
    at.text_input(key="cert_name").input("Cal A")
    at.multiselect(key="cert_segments").set_value(double_coded[:4]).run()
    assert at.selectbox(key="cert_master").options == ["r1", "r2"]
    at.selectbox(key="cert_master").set_value("r1")
    next(b for b in at.button if b.label == "Create calibration set").click().run()
    assert not at.exception, at.exception
    assert "Calibration set Cal A created with 4 segments." in texts(at)
    assert "master scores copied from r1" in texts(at)


def test_certification_page_assigns_and_reports(double_coded, session, people):
    t1 = accounts.create_user(session, None, "t1", "t1-password", "rater")
    create_calibration_set(session, people["res"], "T1", "Cal A", double_coded[:4], master_rater="r1")
    session.commit()
    at = app("certification_page", people["res"])
    at.multiselect[0].set_value(["t1"])
    next(b for b in at.button if b.label == "Assign").click().run()
    assert not at.exception, at.exception
    assert "t1: 4 segment(s) assigned." in texts(at)
    assert session.scalar(select(Assignment).where(Assignment.rater_id == t1.user_id)).purpose == "calibration"
    next(b for b in at.button if b.label == "Check certification").click().run()
    assert "finished 0 of 4 segments of Cal A; 4 are left" in texts(at)
    rate(session, t1, {d: v[:4] for d, v in SCORES["r1"].items()}, double_coded[:4], purpose="calibration")
    next(b for b in at.button if b.label == "Check certification").click().run()
    assert not at.exception, at.exception
    assert "t1 passes Cal A" in texts(at)
    results = at.dataframe[-1].value
    assert list(results["result"]) == ["pass", "pass", "pass"]
    trainees = at.dataframe[0].value  # drawn after the check ran: already shows the outcome
    assert list(trainees["rater"]) == ["t1"] and list(trainees["result"]) == ["pass"]


def test_certification_page_with_entered_master_scores(double_coded, session, people):
    at = app("certification_page", people["res"])
    at.text_input(key="cert_name").input("Typed")
    at.multiselect(key="cert_segments").set_value(double_coded[6:8])
    at.radio(key="cert_source").set_value("entered").run()
    assert not at.exception, at.exception
    editor_key = f"cert_scores_{double_coded[6]}_{double_coded[7]}"
    at.session_state[editor_key] = {
        "edited_rows": {0: {SENS: 3}, 1: {SENS: 1}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    next(b for b in at.button if b.label == "Create calibration set").click().run()
    assert not at.exception, at.exception
    assert "Calibration set Typed created with 2 segments." in texts(at)
    assert "dimensions: sensitivity_nondistress" in texts(at)


@pytest.fixture
def engine_design(env, session, people, study):
    """The engine's own design: every segment double-coded by 2 of 5 raters; all finish."""
    from tests.services.reliability.test_study_design import POOL, finish_queue

    for name in ("r3", "r4", "r5"):
        people[name] = accounts.create_user(session, None, name, f"{name}-password", "rater")
    session.commit()
    assignments.plan_study(session, people["res"], study, POOL, share=1.0, seed=11)
    session.commit()
    segs = assessment_segments(session)
    for name in POOL:
        finish_queue(session, people[name], {sid: k for k, sid in enumerate(segs)})
    return segs


def test_reliability_page_on_the_engine_design_shows_values_and_recommendation(engine_design, people):
    at = app("reliability_page", people["res"])
    assert not at.exception, at.exception
    body = texts(at)
    assert "cannot be computed" not in body and "No ICC" not in body
    assert "Report ICC(A,1) =" in body and "incomplete design" in body and "ten Hove" in body
    design_table = at.dataframe[0].value.set_index("statistic")
    for row in ("ICC(1), one-way", "ICC(A,1), incomplete design", "Cohen's kappa (quadratic weights), pairwise"):
        assert design_table.loc[row, "value"] != "n/a", row
    assert design_table.loc["ICC(A,1), incomplete design", "95% CI"].count(" to ") == 1
    facts = dict(table_with(at, "").values)  # the Design tab
    assert facts["Complete (every rater rated every segment)"] == "no" and facts["Films (clusters)"] == "4"
    assert table_with(at, "shared segments")["shared segments"].sum() == 8
    components = table_with(at, "component")  # the G-study
    assert list(components["component"]) == ["segment within film", "rater", "residual", "film"]
    assert_no_raw_none(at)
    blob = repr([e.proto for e in at.main])
    for word in ALLOCATION_WORDS:
        assert word not in blob, word


def test_plan_panel_before_any_rating_sets_the_share(env, session, people, study):
    at = app("reliability_page", people["res"])
    assert not at.exception, at.exception
    at.number_input(key="plan_rho").set_value(0.85)
    at.number_input(key="plan_k").set_value(4)
    at.number_input(key="plan_width").set_value(0.5).run()
    assert not at.exception, at.exception
    body = texts(at)
    assert "Double-code **4 segments**" in body and "8 ready segments" in body and "**50%**" in body
    next(b for b in at.button if b.key == "plan_apply").click().run()
    assert not at.exception, at.exception
    from annotate.services import studies

    assert studies.study_settings(session, people["res"], "T1").double_code_share == 0.5
    assert "Double-coding share set to 50%" in texts(at)
