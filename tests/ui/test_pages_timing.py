"""The Timing agreement page under streamlit.testing.v1.AppTest: kappas, F1, curve, explainer, blinding."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from annotate.services import events
from tests.services.events.conftest import code_study, event_study  # noqa: F401  (fixture)

ALLOCATION_WORDS = ["VIPP", "Control", "baseline", "month5", "P01", "P02", "P03", "IMG_"]


def _page(actor: tuple) -> None:
    import streamlit as st

    from annotate.services.actor import Actor
    from annotate.ui import pages_timing

    st.session_state["actor"] = Actor(*actor)
    pages_timing.timing_page()


def app(actor) -> AppTest:
    fields = (actor.user_id, actor.username, actor.display_name, actor.role)
    return AppTest.from_function(_page, args=(fields,), default_timeout=90).run()


def test_page_shows_both_kappas_f1_curve_and_explainer(env, session, people, event_study) -> None:  # noqa: F811
    code_study(session, people)
    at = app(people["res"])
    assert not at.exception, at.exception
    groups = ["infant_gaze", "maternal_touch", "now_moment", "vocalisation"]  # the groups with events
    assert [s.value for s in at.subheader] == [*groups, "Match explainer"]
    labels = [m.label for m in at.metric]
    assert labels.count("Event kappa") == labels.count("Time-unit kappa") == 4
    assert len(at.get("vega_lite_chart")) == 4
    explainer = at.dataframe[-1].value
    report = events.timing_report(session, people["res"], "EV", tolerance=1.0)
    assert len(explainer) == len(report.explainer)
    gaze = report.result.groups["infant_gaze"].event
    assert (explainer["outcome"] == "same code").sum() >= gaze.n_matched
    blob = repr([e.proto for e in at.main])
    for word in ALLOCATION_WORDS:
        assert word not in blob, word


def test_page_without_done_coding_says_so(env, session, people, event_study) -> None:  # noqa: F811
    at = app(people["res"])
    assert not at.exception
    assert any("no done event coding" in i.value for i in at.info)


def test_explainer_rows_add_up_to_the_table(session, people, event_study) -> None:  # noqa: F811
    code_study(session, people)
    report = events.timing_report(session, people["res"], "EV", tolerance=1.0, curve=())
    for name, g in report.result.groups.items():
        mine = [x for x in report.explainer if x.group == name]
        pairs = [x for x in mine if x.onset_diff is not None]
        assert len(pairs) == g.event.n_matched
        assert sum(x.second_code == "none" for x in mine) == g.event.n_unmatched[0]
        assert sum(x.first_code == "none" for x in mine) == g.event.n_unmatched[1]
    now = [x for x in report.explainer if x.group == "now_moment"]
    assert {x.outcome for x in now} == {"only r1", "only r2"}  # 40 s against 44 s: 4 s apart, outside 1 s
