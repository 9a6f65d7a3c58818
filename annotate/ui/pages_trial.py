"""Researcher pages for running the trial: progress and blinding, and the study's status gate."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from annotate.services import blinding, progress, study_status, users
from annotate.ui import common


def _actor():
    return st.session_state["actor"]


def _fmt_index(ix) -> str:  # noqa: ANN001
    if ix is None or ix.value is None:
        return "–"
    ci = f" (95% CI {ix.ci95_low:.2f} to {ix.ci95_high:.2f})" if ix.ci95_low is not None else ""
    return f"{ix.value:.2f}{ci}, n = {ix.n}"


def progress_page() -> None:
    st.title("Progress")
    key = common.pick_study()
    if not key:
        return
    p = common.call(progress.study_progress, _actor(), key)
    if p is None:
        return
    st.caption(f"Study status: **{p.status}**. Items not done {p.due_days} days after assignment count as overdue.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Segments done", f"{int(p.per_rater['done'].sum())} / {int(p.per_rater['assigned'].sum())}")
    c2.metric("Consensus open", p.consensus_open)
    c3.metric("Consensus resolved", p.consensus_resolved)
    st.subheader("Raters")
    st.dataframe(p.per_rater.rename(columns={"minutes_spent": "minutes spent"}), hide_index=True, width="stretch")
    st.subheader("Completion per arm and time point")
    st.caption("Counts only. Arms are masked as Arm A / Arm B until the study is unblinded.")
    st.dataframe(p.per_stratum, hide_index=True, width="stretch")
    st.subheader("Blinding")
    b = common.call(blinding.blinding_summary, _actor(), key)
    if b is None:
        return
    if b.n_guesses:
        st.markdown(
            f"- Bang's index, {b.treatment_label} (intervention): {_fmt_index(b.bang_treatment)}\n"
            f"- Bang's index, {b.control_label} (control): {_fmt_index(b.bang_control)}\n"
            f"- James' index: {_fmt_index(b.james)}"
        )
        st.caption("Bang: 0 = blind held, 1 = all guessed right, −1 = all guessed wrong. James: 0.5 = random guessing; "
                   "1 = complete blinding; 0 = complete unblinding.")
    else:
        st.caption("No arm guesses yet (turn them on in Study status).")
    if b.reports:
        st.dataframe(pd.DataFrame([asdict(r) for r in b.reports]), hide_index=True, width="stretch")
    else:
        st.caption("No rater has reported possible unblinding.")


def gate_page() -> None:
    st.title("Study status")
    common.show_flashes()
    key = common.pick_study()
    if not key:
        return
    g = common.call(study_status.gate, _actor(), key)
    if g is None:
        return
    steps = ["setup", "rating", "locked", "unblinded"]
    st.markdown(" → ".join(f"**{s}**" if s == g.status else s for s in steps))
    with st.form("settings"):
        st.subheader("Settings")
        cur = common.call(study_status.study_settings, _actor(), key) or {}
        raters = [u.username for u in (common.call(users.list_users, _actor(), "rater") or [])]
        share = st.slider("Share of segments double-coded", 0.0, 1.0, float(cur.get("double_code_share", 0.2)), 0.05)
        tol = st.number_input("Consensus when scores differ by more than (points)", 0.0, 10.0, float(cur.get("consensus_tolerance", 1.0)), 0.5)
        guess = st.checkbox("Ask raters to guess the arm after each film", bool(cur.get("ask_arm_guess")))
        due = st.number_input("Items overdue after (days)", 1, 365, int(cur.get("due_days", 14)))
        senior = st.selectbox("Consensus decided by", [None, *raters], index=([None, *raters].index(cur.get("consensus_rater"))
                              if cur.get("consensus_rater") in raters else 0),
                              format_func=lambda r: "the two raters together (primary rater records it)" if r is None else r)
        if st.form_submit_button("Save settings"):
            if common.call(study_status.update_settings, _actor(), key, double_code_share=share, consensus_tolerance=tol,
                           ask_arm_guess=guess, due_days=int(due), consensus_rater=senior) is not None:
                common.flash("Settings saved.")
                st.rerun()
    st.subheader("Next step")
    reason = st.text_input("Reason (required to unblind or reopen; kept in the audit log)", key="gate_reason")
    moves = {"rating": "Open for rating", "locked": "Lock ratings", "unblinded": "Unblind", "rating_reopen": "Reopen (admin)"}
    nxt = [b for (a, b) in study_status.TRANSITIONS if a == g.status]
    for target in nxt:
        label = moves["rating_reopen"] if (g.status, target) == ("locked", "rating") else moves[target]
        if st.button(label, type="primary" if target != "rating" else "secondary", key=f"gate_{target}"):
            done = common.call(study_status.set_status, _actor(), key, target, reason)
            if done:
                common.flash(f"The study is now {done.status}.")
                st.rerun()
    if not nxt:
        st.success("The study is unblinded: per-arm results and full exports are available.")
