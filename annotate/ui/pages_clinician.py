"""Clinician page: the intervention films of their own families."""

from __future__ import annotations

import streamlit as st

from annotate.services import clinician
from annotate.ui import common
from annotate.ui.player import segment_player


def caseload_page() -> None:
    st.title("My families")
    films = common.call(clinician.caseload_films, st.session_state["actor"], common.settings())
    if films is None:
        return
    if not films:
        st.info("No intervention films of your families yet.")
        return
    labels = {f.blind_code: f"Family {f.family} · session {f.session_no or '?'} · film {f.blind_code}" for f in films}
    code = st.selectbox("Film", list(labels), format_func=labels.get)
    film = next(f for f in films if f.blind_code == code)
    left, _ = st.columns([3, 2])
    with left:
        segment_player(
            src=film.media_url, start_s=0.0, end_s=film.duration_s or 0.0, fps=film.fps,
            key=f"clin_player_{code}", label=labels[code],
        )
    st.caption("Marking and exporting clips for feedback sessions is coming next.")
