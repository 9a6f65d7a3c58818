"""Account pages under AppTest: the demo banner, the one-time password's forced change, Users and Audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.db.models import AuditLog
from annotate.services import accounts
from annotate.services.errors import PermissionDenied

MAIN = str(Path(__file__).resolve().parents[2] / "annotate" / "ui" / "main.py")


def app_with(session, username: str, password: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    token, _ = accounts.login(session, username, password, hours=1)
    session.commit()
    at.session_state["auth_token"] = token
    return at.run()


def test_demo_accounts_show_a_banner_until_deactivated(env, session, people):
    accounts.create_user(session, None, "rater9", "demo-rater9", "rater", is_demo=True)
    session.commit()
    at = app_with(session, "r1", "r1-password")
    assert not at.exception
    assert any("Demo accounts are active" in w.value and "rater9" in w.value for w in at.warning)
    accounts.deactivate(session, None, "rater9")
    session.commit()
    at = app_with(session, "r1", "r1-password")
    assert not any("Demo accounts" in w.value for w in at.warning)


def test_one_time_password_allows_only_the_password_change(env, session, people):
    one_time = accounts.reset_password(session, None, "r1")
    session.commit()
    at = app_with(session, "r1", one_time)
    assert not at.exception
    assert [t.value for t in at.title] == ["My account"]
    assert any("one-time password" in w.value for w in at.warning)
    at.text_input[0].input(one_time)
    at.text_input[1].input("my own long secret")
    at.text_input[2].input("my own long secret")
    at.button[0].click().run()
    assert not at.exception, at.exception
    session.expire_all()
    assert not accounts.get_user(session, "r1").must_change_password
    assert session.scalar(select(AuditLog).where(AuditLog.action == "user.password_change"))


def _page_script() -> None:
    import streamlit as st

    from annotate.ui import pages_admin

    getattr(pages_admin, st.session_state["page"])()


def page_as(actor, page: str) -> AppTest:
    at = AppTest.from_function(_page_script, default_timeout=60)
    at.session_state["actor"] = actor
    at.session_state["page"] = page
    return at.run()


def test_users_page_lists_states_and_deactivates_with_a_signature(env, session, people):
    at = page_as(people["adm"], "users_page")
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    assert set(frame["username"]) == {"adm", "clin", "r1", "r2", "res"} and set(frame["state"]) == {"active"}
    at.selectbox(key="acct_who").select("r2")
    at.selectbox(key="acct_action").select("Deactivate")
    at.text_input(key="acct_sign").input("wrong password")
    at.button[0].click().run()
    assert any("signature is wrong" in e.value for e in at.error)
    at.text_input(key="acct_sign").input("adm-password")
    at.button[0].click().run()
    assert not at.exception, at.exception
    session.expire_all()
    assert not accounts.get_user(session, "r2").active
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "user.deactivate"))
    assert entry.detail["signature"]["meaning"] == "I approve deactivating r2"


def test_audit_page_verifies_the_chain(env, session, people):
    at = page_as(people["adm"], "audit_page")
    assert not at.exception, at.exception
    at.button[0].click().run()
    assert any("whole" in s.value for s in at.success)
    assert "user.create" in set(at.dataframe[0].value["action"])


def test_deferred_download_refuses_after_logout_and_audits_it(env, session, people):
    """A download button drawn before a logout elsewhere builds nothing when clicked after it."""
    from annotate.ui import common

    token, _ = accounts.login(session, "adm", "adm-password", hours=1)
    session.commit()
    common.st.session_state["actor"] = people["adm"]
    common.st.session_state["auth_token"] = token
    build = common.deferred(accounts.audit.export_csv)
    assert build().startswith("id,at,")
    accounts.logout(session, token)
    session.commit()
    with pytest.raises(PermissionDenied, match="session has ended"):
        build()
    session.expire_all()
    refused = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert refused.action == "refused" and refused.username == "adm"
    assert refused.detail["operation"].startswith("download")


def test_add_user_keeps_what_was_typed_when_refused_and_empties_once_added(env, session, people):
    at = page_as(people["adm"], "users_page")
    at.text_input(key="new_username").input("newbie")
    at.text_input(key="new_display").input("New Rater 👶")
    at.text_input(key="new_password").input("short")
    at.button[1].click().run()
    assert any("characters" in e.value for e in at.error), [e.value for e in at.error]
    assert at.text_input(key="new_username").value == "newbie"  # nothing to type again
    assert at.text_input(key="new_display").value == "New Rater 👶"
    at.text_input(key="new_password").input("a long enough passphrase")
    at.button[1].click().run()
    assert not at.exception, at.exception
    assert accounts.get_user(session, "newbie").display_name == "New Rater 👶"
    assert at.text_input(key="new_username").value == ""
