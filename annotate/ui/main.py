"""Entry script run by st.App: resolves the login and shows the pages of the user's role."""

from __future__ import annotations

import streamlit as st

from annotate.ui import common

st.set_page_config(page_title="annotate", page_icon=":material/movie:", layout="wide")

actor = common.current_actor()
if actor is None:
    st.title("annotate")
    st.info("You are not logged in, or your session has expired.")
    st.markdown('<a href="/api/login" target="_self">Log in</a>', unsafe_allow_html=True)
    st.stop()

from annotate.ui import (  # noqa: E402
    pages_admin,
    pages_clinician,
    pages_data,
    pages_rater,
    pages_reliability,
    pages_researcher,
    pages_summaries,
    pages_trial,
)

PAGES = {
    "rater": [
        st.Page(pages_rater.rate_page, title="Rate", icon=":material/rate_review:", url_path="rate"),
        st.Page(pages_rater.consensus_page, title="Consensus", icon=":material/handshake:", url_path="consensus"),
    ],
    "clinician": [st.Page(pages_clinician.caseload_page, title="My families", icon=":material/family_restroom:", url_path="families")],
    "researcher": [
        st.Page(pages_researcher.studies_page, title="Studies", icon=":material/assignment:", url_path="studies"),
        st.Page(pages_researcher.films_page, title="Films", icon=":material/movie:", url_path="films"),
        st.Page(pages_researcher.assign_page, title="Assign", icon=":material/group_work:", url_path="assign"),
        st.Page(pages_trial.progress_page, title="Progress", icon=":material/monitoring:", url_path="progress"),
        st.Page(pages_trial.gate_page, title="Study status", icon=":material/lock:", url_path="status"),
        st.Page(pages_data.data_page, title="Data in and out", icon=":material/swap_vert:", url_path="data"),
        st.Page(pages_reliability.reliability_page, title="Reliability", icon=":material/compare_arrows:", url_path="reliability"),
        st.Page(pages_reliability.certification_page, title="Certification", icon=":material/verified:", url_path="certification"),
        st.Page(pages_summaries.summaries_page, title="Summaries", icon=":material/bar_chart:", url_path="summaries"),
    ],
}
PAGES["admin"] = PAGES["researcher"] + [st.Page(pages_admin.users_page, title="Users", icon=":material/manage_accounts:", url_path="users")]

with st.sidebar:
    st.markdown(f"**{actor.display_name}**  \n{actor.role}")
    st.markdown('<a href="/api/logout" target="_self">Log out</a>', unsafe_allow_html=True)

st.session_state["actor"] = actor
st.navigation(PAGES[actor.role]).run()
