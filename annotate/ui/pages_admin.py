"""Admin page: local accounts."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st


from annotate.services import users
from annotate.ui import common


def users_page() -> None:
    st.title("Users")
    common.show_flashes()
    rows = common.call(users.list_users, st.session_state["actor"]) or []
    st.dataframe(pd.DataFrame([asdict(r) for r in rows]), hide_index=True, width="stretch")
    with st.form("add_user", clear_on_submit=True):
        st.subheader("Add a user")
        c1, c2 = st.columns(2)
        username = c1.text_input("Username")
        display = c2.text_input("Display name")
        role = c1.selectbox("Role", users.ROLES)
        password = c2.text_input("Initial password (8+ characters)", type="password")
        if st.form_submit_button("Add user", type="primary"):
            made = common.call(users.create_user, st.session_state["actor"], username, password, role, display or None)
            if made:
                common.flash(f"User {made.username} added as {made.role}.")
                st.rerun()
