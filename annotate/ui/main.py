"""Entry script run by st.App: resolves the login and shows the pages of the user's role."""

from __future__ import annotations

import streamlit as st

from annotate.services import accounts
from annotate.ui import common

# An emoji icon is drawn by the browser itself: a ":material/…:" icon makes every page fetch the
# favicon from fonts.gstatic.com, and the tool must work offline in a hospital network.
st.set_page_config(page_title="annotate", page_icon="🎬", layout="wide")
# Streamlit draws captions at opacity 0.6 (#828180 on white, 3.9:1), below WCAG 2.1 AA's 4.5:1 for
# body text (1.4.3); captions carry real information here (counts, rules, formats), so they are
# drawn opaque in a grey of 6.8:1.
# Streamlit's sidebar page links show no focus at all; every control the Tab key reaches gets one
# clearly visible ring (WCAG 2.4.7), whatever Streamlit draws itself.
st.html(
    "<style>.stApp [data-testid='stCaptionContainer'] { opacity: 1; color: #5c5b59; }"
    " .stApp :focus-visible { outline: 3px solid #1a5fb4 !important; outline-offset: 2px; }</style>"
)

with common.db() as _session:
    live = accounts.resolve_login(_session, common.session_token())
    demo_accounts = accounts.active_demo_accounts(_session)
if live is None:
    st.title("annotate")
    st.info("You are not logged in, or your session has expired.")
    st.markdown('<a href="/api/login" target="_self">Log in</a>', unsafe_allow_html=True)
    st.stop()
actor = live.actor
if demo_accounts:
    st.warning(
        f"**Demo accounts are active** ({', '.join(demo_accounts)}): their passwords are published, so this "
        "installation is for trying annotate only. Before real films are added, an admin deactivates them "
        "(Users page, or `annotate users deactivate NAME`).",
        icon=":material/warning:",
    )

from annotate.ui import (  # noqa: E402
    pages_admin,
    pages_clinician,
    pages_data,
    pages_rater,
    pages_reliability,
    pages_researcher,
    pages_summaries,
    pages_timing,
    pages_trial,
)

PAGES = {
    "rater": [
        st.Page(pages_rater.rate_page, title="Rate", icon=":material/rate_review:", url_path="rate"),
        st.Page(pages_rater.consensus_page, title="Consensus", icon=":material/handshake:", url_path="consensus"),
    ],
    "clinician": [
        st.Page(
            pages_clinician.caseload_page, title="My families", icon=":material/family_restroom:", url_path="families"
        )
    ],
    "researcher": [
        st.Page(pages_researcher.studies_page, title="Studies", icon=":material/assignment:", url_path="studies"),
        st.Page(pages_researcher.films_page, title="Films", icon=":material/movie:", url_path="films"),
        st.Page(pages_researcher.assign_page, title="Assign", icon=":material/group_work:", url_path="assign"),
        st.Page(pages_trial.progress_page, title="Progress", icon=":material/monitoring:", url_path="progress"),
        st.Page(pages_trial.gate_page, title="Study status", icon=":material/lock:", url_path="status"),
        st.Page(pages_data.data_page, title="Data in and out", icon=":material/swap_vert:", url_path="data"),
        st.Page(
            pages_reliability.reliability_page,
            title="Reliability",
            icon=":material/compare_arrows:",
            url_path="reliability",
        ),
        st.Page(
            pages_reliability.certification_page,
            title="Certification",
            icon=":material/verified:",
            url_path="certification",
        ),
        st.Page(pages_summaries.summaries_page, title="Summaries", icon=":material/bar_chart:", url_path="summaries"),
        st.Page(pages_timing.timing_page, title="Timing agreement", icon=":material/timer:", url_path="timing"),
    ],
}
# The blinded analyst: studies, progress, status, masked summaries and exports, reliability (the
# services mask arms and participants and refuse the allocation until unblinding).
PAGES["analyst"] = [
    p
    for p in PAGES["researcher"]
    if p.url_path in ("studies", "progress", "status", "data", "reliability", "summaries")
]
PAGES["admin"] = PAGES["researcher"] + [
    st.Page(pages_admin.users_page, title="Users", icon=":material/manage_accounts:", url_path="users"),
    st.Page(pages_admin.audit_page, title="Audit trail", icon=":material/history_edu:", url_path="audit"),
]
ACCOUNT = st.Page(pages_admin.account_page, title="My account", icon=":material/key:", url_path="account")

with st.sidebar:
    st.markdown(f"**{actor.display_name}**  \n{actor.role}")
    st.markdown('<a href="/api/logout" target="_self">Log out</a>', unsafe_allow_html=True)

st.session_state["actor"] = actor
st.session_state["login_session_id"] = live.session_id
own_pages = PAGES[actor.role]


def _home() -> None:
    st.switch_page(own_pages[0])


# Streamlit serves its default page at "/" only (a default page's url_path is ignored), so /rate
# or /studies would say "Page not found". A hidden home page is the default and opens the role's
# first page; every visible page keeps its own address.
home = st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden")
if not live.may_act:  # a one-time password to change or a required second factor: nothing else first
    st.navigation([ACCOUNT]).run()
else:
    st.navigation([home, *own_pages, ACCOUNT]).run()
