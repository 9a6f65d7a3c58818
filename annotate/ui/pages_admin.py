"""Admin pages: accounts (Users) and the audit trail; and everyone's "My account" (change password)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from annotate.services import accounts
from annotate.services.actor import Actor
from annotate.ui import common

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ACTIONS = (
    "Reset password (one-time)",
    "Change role",
    "Deactivate",
    "Activate",
    "Unlock",
    "Remove second factor",
)


def _actor() -> Actor:
    return st.session_state["actor"]


def _change_password(session: Session, actor: Actor, old: str, new: str, keep: str | None) -> bool:
    accounts.change_password(session, actor, old, new, keep_session=keep)
    return True


def account_page() -> None:
    actor = st.session_state["actor"]
    st.title("My account")
    common.show_flashes()
    st.caption(f"{actor.display_name} · {actor.username} · {actor.role}")
    with common.db() as session:
        live = accounts.resolve_login(session, common.session_token())
    if live is not None and live.must_change_password:
        st.warning("You logged in with a one-time password: choose your own password to go on.")
    if live is not None and live.must_enrol_totp:
        st.warning(
            "This site asks every " + actor.role + " for a second factor: set up an authenticator app below to go on."
        )
    need = accounts.min_length(actor.role)
    with st.form("change_password", clear_on_submit=True):
        st.subheader("Change password")
        old = st.text_input("Current password", type="password")
        new = st.text_input(f"New password ({need}+ characters; a few unrelated words work well)", type="password")
        again = st.text_input("New password again", type="password")
        if st.form_submit_button("Change password", type="primary"):
            if new != again:
                st.error("The two new passwords differ; type the same new password twice.")
            elif common.call(_change_password, actor, old, new, st.session_state.get("login_session_id")):
                common.flash("Password changed; your other sessions ended.")
                st.rerun()
    _second_factor(actor)


def _second_factor(actor: Actor) -> None:
    """Set up, show the state of, or turn off the own TOTP second factor."""
    st.subheader("Second factor (authenticator app)")
    codes = st.session_state.pop("totp_codes", None)
    if codes:
        st.success(
            "The second factor is on. Keep these recovery codes somewhere safe: each logs you in once "
            "without the app, and they are shown only now."
        )
        st.code("\n".join(codes), language=None)
    if common.call(accounts.totp.has_second_factor, actor):
        left = common.call(accounts.totp.recovery_codes_left, actor)
        st.caption(f"On: logins ask for the 6-digit code of your app. Recovery codes left: {left}.")
        with st.form("totp_off", clear_on_submit=True):
            password = st.text_input("Your password, to turn the second factor off", type="password")
            if st.form_submit_button("Turn off") and common.call(_totp_off, actor, password):
                common.flash("The second factor is off.")
                st.rerun()
        return
    enrolment = st.session_state.get("totp_enrolment")
    if enrolment is None:
        st.caption("Off. With it on, a login also asks for the code an authenticator app on your phone shows.")
        if st.button("Set up a second factor"):
            st.session_state["totp_enrolment"] = accounts.totp.new_enrolment(actor)
            st.rerun()
        return
    st.markdown("1. Scan this code with an authenticator app (or type the key below into it).")
    # SVG text: drawn here, no image service; the key below it is the same secret in words.
    st.image(enrolment.qr_svg, width=220, alt="QR code of the second-factor key shown below")
    st.code(enrolment.secret, language=None)
    with st.form("totp_on", clear_on_submit=True):
        code = st.text_input("2. The 6-digit code the app shows now", max_chars=8, autocomplete="one-time-code")
        if st.form_submit_button("Turn on", type="primary"):
            made = common.call(accounts.totp.confirm_enrolment, actor, enrolment.secret, code)
            if made:
                st.session_state.pop("totp_enrolment", None)
                st.session_state["totp_codes"] = made
                st.rerun()


def users_page() -> None:
    actor = _actor()
    st.title("Users")
    common.show_flashes()
    rows = common.call(accounts.accounts_list, actor) or []
    st.dataframe(pd.DataFrame([asdict(r) for r in rows]), hide_index=True, width="stretch")
    names = [r.username for r in rows]
    if names:
        with st.form("user_action"):
            st.subheader("Change an account")
            c1, c2 = st.columns(2)
            who = c1.selectbox("Account", names, key="acct_who")
            action = c2.selectbox("Action", ACTIONS, key="acct_action")
            role = c1.selectbox("New role (for Change role)", accounts.ROLES, key="acct_role")
            st.caption("Role changes and deactivation are e-signed: enter your password.")
            password = c2.text_input("Your password (signature)", type="password", key="acct_sign")
            if st.form_submit_button("Apply", type="primary"):
                _apply(actor, who, action, role, password)
    # The form keeps what was typed when the account is refused (a taken name, a short password),
    # and is emptied only once the account exists.
    if st.session_state.pop("_add_user_done", False):
        for key in ("new_username", "new_display", "new_password"):
            st.session_state[key] = ""
    with st.form("add_user"):
        st.subheader("Add a user")
        c1, c2 = st.columns(2)
        username = c1.text_input("Username", key="new_username")
        display = c2.text_input("Display name", key="new_display")
        role = c1.selectbox("Role", accounts.ROLES, key="new_role")
        password = c2.text_input(
            "Initial password (12+ characters for researchers and admins, 10+ for others)",
            type="password",
            key="new_password",
        )
        if st.form_submit_button("Add user", type="primary"):
            made = common.call(accounts.create_user, actor, username, password, role, display or None)
            if made:
                common.flash(f"User {made.username} added as {made.role}.")
                st.session_state["_add_user_done"] = True
                st.rerun()


def _totp_off(session: Session, actor: Actor, password: str) -> bool:
    accounts.totp.disable(session, actor, password)
    return True


def _totp_reset(session: Session, actor: Actor, who: str) -> bool:
    accounts.totp.admin_reset(session, actor, who)
    return True


def _apply(actor: Actor, who: str, action: str, role: str, password: str) -> None:
    if action == ACTIONS[0]:
        one_time = common.call(accounts.reset_password, actor, who)
        if one_time:
            st.success(f"One-time password for {who} (shown once; it must be changed at the next login):")
            st.code(one_time, language=None)
        return
    if action in (ACTIONS[1], ACTIONS[2]):
        meaning = f"I approve making {who} a {role}" if action == ACTIONS[1] else f"I approve deactivating {who}"
        signature = common.call(accounts.sign, actor, password, meaning)
        if signature is None:
            return
        done: object = (
            common.call(accounts.set_role, actor, who, role, signature=signature)
            if action == ACTIONS[1]
            else common.call(accounts.deactivate, actor, who, signature=signature)
        )
        if done is not None:
            common.flash(f"{meaning} — done and signed; {who}'s sessions ended.")
            st.rerun()
        return
    if action == ACTIONS[5]:
        if not common.call(_totp_reset, actor, who):
            return
        common.flash(f"{who}'s second factor is removed; they can set up a new one on My account.")
        st.rerun()
    common.call(accounts.activate if action == ACTIONS[3] else accounts.unlock, actor, who)
    common.flash(f"{action}: {who}.")
    st.rerun()


def audit_page() -> None:
    actor = _actor()
    st.title("Audit trail")
    st.caption(
        "Append-only (the database refuses changes and deletions) and hash-chained: each entry's hash covers "
        "its content and the previous entry's hash."
    )
    if st.button("Verify the chain"):
        with common.db() as session:
            check = accounts.audit.verify(session)
        (st.success if check.ok else st.error)(check.message)
    prefix = st.text_input("Action starts with", placeholder="e.g. login, user., refused, rating.")
    rows = common.call(accounts.audit.recent, actor, limit=500, action=prefix.strip() or None) or []
    st.dataframe(pd.DataFrame([asdict(r) for r in rows]), hide_index=True, width="stretch")
    st.download_button(
        "Export the whole trail (CSV)",
        data=common.deferred(accounts.audit.export_csv),
        file_name="audit_trail.csv",
        mime="text/csv",
    )
