"""Researcher pages for running the trial: progress and blinding, and the study's status gate."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

import pandas as pd
import streamlit as st

from annotate.services import accounts, policy, rating, studies
from annotate.ui import common

RATER_COLUMNS = {
    "rater": "Rater",
    "assigned": "Assigned",
    "done": "Done",
    "in_progress": "In progress",
    "minutes_spent": "Minutes spent",
    "overdue": "Overdue",
}
STRATUM_COLUMNS = {
    "arm": "Arm",
    "timepoint": "Time point",
    "segments": "Segments",
    "assigned": "Assigned",
    "done": "Done",
}


def _actor():
    return st.session_state["actor"]


def _fmt_index(ix) -> str:
    if ix is None or ix.value is None:
        return "–"
    ci = f" (95% CI {ix.ci95_low:.2f} to {ix.ci95_high:.2f})" if ix.ci95_low is not None else ""
    return f"{ix.value:.2f}{ci}, n = {ix.n}"


def progress_page() -> None:
    st.title("Progress")
    key = common.pick_study()
    if not key:
        return
    p = common.call(studies.study_progress, _actor(), key)
    if p is None:
        return
    st.caption(f"Study status: **{p.status}**. Items not done {p.due_days} days after assignment count as overdue.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Segments done", f"{int(p.per_rater['done'].sum())} / {int(p.per_rater['assigned'].sum())}")
    c2.metric("Consensus open", p.consensus_open)
    c3.metric("Consensus resolved", p.consensus_resolved)
    st.subheader("Raters")
    st.dataframe(p.per_rater.rename(columns=RATER_COLUMNS), hide_index=True, width="stretch")
    st.subheader("Completion per arm and time point")
    st.caption("Counts only. Arms are masked as Arm A / Arm B until the study is unblinded.")
    st.dataframe(p.per_stratum.rename(columns=STRATUM_COLUMNS), hide_index=True, width="stretch")
    st.subheader("Blinding")
    if policy.Operation.VIEW_ALLOCATION not in (common.call(studies.operations, _actor(), key) or ()):
        st.caption("The blinding report names which masked arm is the intervention: it is shown after unblinding.")
        return
    b = common.call(rating.blinding_summary, _actor(), key)
    if b is None:
        return
    if b.n_guesses:
        st.markdown(
            f"- Bang's index, {b.treatment_label} (intervention): {_fmt_index(b.bang_treatment)}\n"
            f"- Bang's index, {b.control_label} (control): {_fmt_index(b.bang_control)}\n"
            f"- James' index: {_fmt_index(b.james)}"
        )
        st.caption(
            "Bang: 0 = blind held, 1 = all guessed right, −1 = all guessed wrong. James: 0.5 = random guessing; "
            "1 = complete blinding; 0 = complete unblinding."
        )
    else:
        st.caption("No arm guesses yet (turn them on in Study status).")
    if b.reports:
        reports = pd.DataFrame([asdict(r) for r in b.reports]).rename(
            columns=lambda c: c.replace("_", " ").capitalize()
        )
        st.dataframe(reports.fillna("–"), hide_index=True, width="stretch")
    else:
        st.caption("No rater has reported possible unblinding.")


def gate_page() -> None:
    st.title("Study status")
    common.show_flashes()
    key = common.pick_study()
    if not key:
        return
    g = common.call(studies.gate, _actor(), key)
    if g is None:
        return
    st.markdown(" → ".join(f"**{s}**" if s == g.status else s.value for s in policy.StudyStatus.path()))
    ops = common.call(studies.operations, _actor(), key) or frozenset()
    if policy.Operation.MANAGE_STUDY not in ops:
        st.caption(f"Arms as shown to you: {', '.join(g.arm_labels.values())}.")
        return
    with st.form("settings"):
        st.subheader("Settings")
        cur = common.call(studies.study_settings, _actor(), key) or policy.StudySettings()
        raters = [u.username for u in (common.call(accounts.list_users, _actor(), "rater") or [])]
        share = st.slider("Share of segments double-coded", 0.0, 1.0, float(cur.double_code_share), 0.05)
        tol = st.number_input(
            "Consensus when scores differ by more than (points)", 0.0, 10.0, float(cur.consensus_tolerance), 0.5
        )
        guess = st.checkbox("Ask raters to guess the arm after each film", cur.ask_arm_guess)
        blind_res = st.checkbox(
            "Researchers see only the masked view until unblinding (admins hold the allocation; admins change this)",
            cur.researchers_blinded,
            disabled=_actor().role != "admin",
        )
        due = st.number_input("Items overdue after (days)", 1, 365, cur.due_days)
        senior = st.selectbox(
            "Consensus decided by",
            [None, *raters],
            index=([None, *raters].index(cur.consensus_rater) if cur.consensus_rater in raters else 0),
            format_func=lambda r: "the two raters together (primary rater records it)" if r is None else r,
        )
        if st.form_submit_button("Save settings") and (
            common.call(
                studies.update_settings,
                _actor(),
                key,
                double_code_share=share,
                consensus_tolerance=tol,
                ask_arm_guess=guess,
                researchers_blinded=blind_res,
                due_days=int(due),
                consensus_rater=senior,
            )
            is not None
        ):
            common.flash("Settings saved.")
            st.rerun()
    st.subheader("Next step")
    reason = st.text_input("Reason (required to unblind or reopen; kept in the audit log)", key="gate_reason")
    nxt = g.next_steps
    signed_steps = (policy.StudyStatus.LOCKED, policy.StudyStatus.UNBLINDED)
    password = ""
    if any(t in signed_steps for t in nxt):
        password = st.text_input(
            "Your password (locking and unblinding are e-signed: 21 CFR Part 11)", type="password", key="gate_sign"
        )
    for target in nxt:
        rule = policy.transition(g.status, target)
        kind: Literal["primary", "secondary"] = "secondary" if target is policy.StudyStatus.RATING else "primary"
        confirmed = True
        if target is policy.StudyStatus.LOCKED:
            confirmed = _lock_checklist(key)
        if st.button(rule.label, type=kind, key=f"gate_{target.value}", disabled=not confirmed):
            signature = None
            if target in signed_steps:
                verb = "locking" if target is policy.StudyStatus.LOCKED else "unblinding"
                signature = common.call(accounts.sign, _actor(), password, f"I approve {verb} study {key}")
                if signature is None:
                    continue
            done = common.call(studies.set_status, _actor(), key, target.value, reason, signature=signature)
            if done:
                common.flash(f"The study is now {done.status.value}.")
                st.rerun()
    if not nxt:
        st.success("The study is unblinded: per-arm results and full exports are available.")


def _lock_checklist(key: str) -> bool:
    """What is still open before locking, and an explicit confirmation; True when confirmed."""
    c = common.call(studies.lock_checklist, _actor(), key)
    if c is None:
        return False
    with st.container(border=True):
        st.markdown("**Before locking** — after the lock no score can be added or changed.")
        if c.clear:
            st.success("Every assigned segment is done, no consensus task is open and no rater is overdue.")
        else:
            lines = [f"- {rater}: {n} segment(s) not done" for rater, n in sorted(c.open_per_rater.items())]
            lines += [f"- {rater}: {n} item(s) overdue" for rater, n in sorted(c.overdue_raters.items())]
            if c.consensus_open:
                lines.append(f"- {c.consensus_open} consensus task(s) open")
            st.warning("Still open:\n" + "\n".join(lines))
        return st.checkbox("I have checked this list and want to lock the ratings", key=f"lock_confirm_{key}")
