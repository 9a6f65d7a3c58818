"""The Assign page's planned double-coding: the share starts at the study's setting, and a plan
that would double-code no segment warns (streamlit.testing.v1.AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from annotate.services import studies


def _page(actor: tuple) -> None:
    import streamlit as st

    from annotate.services.actor import Actor
    from annotate.ui import pages_researcher

    st.session_state["actor"] = Actor(*actor)
    pages_researcher.assign_page()


def app(actor) -> AppTest:
    fields = (actor.user_id, actor.username, actor.display_name, actor.role)
    return AppTest.from_function(_page, args=(fields,), default_timeout=60).run()


def warnings(at: AppTest) -> str:
    return "\n".join(str(w.value) for w in at.warning)


def test_share_defaults_to_the_study_setting(env, session, people, study):
    studies.update_settings(session, people["res"], study, double_code_share=0.35)
    session.commit()
    at = app(people["res"])
    assert not at.exception, at.exception
    assert at.slider(key="engine_share").value == 0.35
    assert "no segment would be double-coded" not in warnings(at)


def test_a_share_giving_no_double_coded_segment_warns_before_and_after(env, session, people, study):
    at = app(people["res"])
    at.slider(key="engine_share").set_value(0.05).run()  # 5% of 8 segments rounds to none
    assert "At 5% of 8 unassigned segments no segment would be double-coded" in warnings(at)
    next(b for b in at.button if b.label == "Plan and assign").click().run()
    assert not at.exception, at.exception
    assert "This plan double-codes no segment" in warnings(at)
    assert "0 double-coded items" in "\n".join(str(s.value) for s in at.success)
