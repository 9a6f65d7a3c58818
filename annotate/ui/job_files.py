"""The files an account's background jobs made (large exports, session packages): progress while
they are made, a download link when done, the reason when one failed. Refreshed every few
seconds; it survives closing the tab because the jobs live in the database, not in the page."""

from __future__ import annotations

import streamlit as st

from annotate.services import jobs
from annotate.ui import common


@st.fragment(run_every=3)
def my_files_panel(kind: str) -> None:
    """The actor's jobs of ``kind``, newest first."""
    mine = common.call(jobs.my_jobs, st.session_state["actor"], kind) or []
    if not mine:
        st.caption("Nothing prepared yet.")
        return
    for m in mine[:10]:
        r, what = m.job, m.title
        when = r.created_at.replace("T", " ")[:16]
        if r.state in jobs.ACTIVE:
            st.progress(
                min(max(r.progress, 0.0), 1.0), text=f"{what} ({when} UTC): {r.state}, {r.message or 'waiting'}"
            )
        elif r.state == "done":
            common.download_link(f"Download: {what} ({when} UTC)", jobs.job_file_url(r.id))
        elif r.state == "failed":
            st.error(f"{what} ({when} UTC) failed: {r.error}")
        else:
            st.caption(f"{what} ({when} UTC): {r.state}")
