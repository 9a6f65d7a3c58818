import datetime as dt

import pytest
from sqlalchemy import select

from annotate.db.models import AuditLog, LoginSession
from annotate.services import accounts
from annotate.services.actor import Actor
from annotate.services.errors import PermissionDenied, ServiceError


def test_login_resolve_logout(session, people):
    token, actor = accounts.login(session, "r1", "r1-password", hours=1)
    session.commit()
    assert actor.role == "rater"
    assert accounts.resolve_session(session, token).username == "r1"
    accounts.logout(session, token)
    session.commit()
    assert accounts.resolve_session(session, token) is None


def test_wrong_password_and_unknown_user_refused(session, people):
    accounts.sessions.reset_memory()
    with pytest.raises(PermissionDenied, match="Wrong username or password") as known:
        accounts.login(session, "r1", "nope-nope", hours=1)
    with pytest.raises(PermissionDenied) as unknown:
        accounts.login(session, "ghost", "whatever1", hours=1)
    assert str(known.value) == str(unknown.value) and known.value.delay == unknown.value.delay


def test_expired_session_is_rejected(session, people):
    token, _ = accounts.login(session, "r1", "r1-password", hours=1)
    row = session.query(LoginSession).one()
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    assert accounts.resolve_session(session, token) is None
    assert accounts.resolve_session(session, "forged-token") is None


def test_password_is_hashed_with_argon2(session, people):
    user = accounts.get_user(session, "r1")
    assert user.password_hash.startswith("$argon2")
    assert "r1-password" not in user.password_hash


@pytest.mark.parametrize(
    "name,password,role,msg",
    [
        ("Bad Name!", "longenough", "rater", "not allowed"),
        ("okname", "short", "rater", "at least 10"),
        ("okname", "ninechars", "rater", "at least 10"),
        ("okname", "elevenchars", "researcher", "at least 12"),
        ("okname", "Password1234", "rater", "commonly used"),
        ("okname", "okname12345", "rater", "must not be the username"),
        ("okname", "aaaaaaaaaaaa", "rater", "repeated character"),
        ("okname", "longenough", "wizard", "Unknown role"),
        ("r1", "longenough", "rater", "already exists"),
    ],
)
def test_create_user_validation(session, people, name, password, role, msg):
    with pytest.raises(ServiceError, match=msg):
        accounts.create_user(session, None, name, password, role)


def test_only_admin_creates_users(session, people):
    with pytest.raises(PermissionDenied):
        accounts.create_user(session, people["res"], "newbie", "longenough", "rater")
    assert accounts.create_user(session, people["adm"], "newbie", "longenough", "rater").role == "rater"


def test_rater_cannot_list_users(session, people):
    with pytest.raises(PermissionDenied):
        accounts.list_users(session, Actor(people["r1"].user_id, "r1", "r1", "rater"))


def test_unicode_password_is_normalised_and_long_passwords_work(session, people):
    # NFKC: a composed and a decomposed "é" are the same password (800-63B §5.1.1.2).
    accounts.create_user(session, None, "zoe", "caf\u00e9 au lait \U0001f37c", "rater")
    session.commit()
    token, _ = accounts.login(session, "zoe", "cafe\u0301 au lait \U0001f37c", hours=1)
    assert token
    with pytest.raises(ServiceError, match="at most 256"):
        accounts.create_user(session, None, "long", "x" * 10_000, "rater")
    accounts.create_user(session, None, "tabby", 'tab\there\r\nand "quotes"', "rater")


def test_lifecycle_reset_role_deactivate_activate(session, people):
    token, _ = accounts.login(session, "r1", "r1-password", hours=1)
    session.commit()
    one_time = accounts.reset_password(session, None, "r1")
    session.commit()
    assert accounts.resolve_session(session, token) is None  # the reset ended the session
    with pytest.raises(PermissionDenied):
        accounts.login(session, "r1", "r1-password", hours=1)
    token2, _ = accounts.login(session, "r1", one_time, hours=1)
    session.commit()
    live = accounts.resolve_login(session, token2)
    assert live is not None and live.must_change_password
    assert accounts.resolve_session(session, token2) is None  # may not act before changing it
    with pytest.raises(PermissionDenied, match="current password is wrong"):
        accounts.change_password(session, live.actor, "not-it-at-all", "a brand new secret")
    accounts.change_password(session, live.actor, one_time, "a brand new secret", keep_session=live.session_id)
    session.commit()
    assert accounts.resolve_session(session, token2).username == "r1"
    accounts.set_role(session, None, "r1", "clinician")
    session.commit()
    assert accounts.resolve_session(session, token2) is None  # a role change ends the sessions
    token3, actor = accounts.login(session, "r1", "a brand new secret", hours=1)
    session.commit()
    assert actor.role == "clinician"
    accounts.deactivate(session, None, "r1")
    session.commit()
    assert accounts.resolve_session(session, token3) is None
    with pytest.raises(PermissionDenied, match="Wrong username or password"):
        accounts.login(session, "r1", "a brand new secret", hours=1)
    info = {a.username: a for a in accounts.accounts_list(session, people["adm"])}
    assert info["r1"].state == "deactivated" and info["r1"].role == "clinician"
    accounts.activate(session, None, "r1")
    session.commit()
    accounts.login(session, "r1", "a brand new secret", hours=1)
    actions = [
        a.action
        for a in session.scalars(select(AuditLog).where(AuditLog.action.startswith("user.")).order_by(AuditLog.id))
    ]
    assert actions[-5:] == [
        "user.password_reset",
        "user.password_change",
        "user.role",
        "user.deactivate",
        "user.activate",
    ]


def test_person_needs_an_e_signature_for_role_and_deactivation(session, people):
    adm = people["adm"]
    with pytest.raises(ServiceError, match="e-signature"):
        accounts.set_role(session, adm, "r1", "researcher")
    with pytest.raises(PermissionDenied, match="password given for the signature is wrong"):
        accounts.sign(session, adm, "wrong", "I approve making r1 a researcher")
    sig = accounts.sign(session, adm, "adm-password", "I approve making r1 a researcher")
    accounts.set_role(session, adm, "r1", "researcher", signature=sig)
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "user.role"))
    assert (
        entry.detail["signature"]["meaning"] == "I approve making r1 a researcher"
        and entry.detail["signature"]["signed_by"] == "adm"
    )
    assert (entry.detail["old"], entry.detail["new"]) == ("rater", "researcher")
    with pytest.raises(ServiceError, match="last active admin"):
        accounts.deactivate(session, None, "adm")


def test_rater_cannot_manage_accounts(session, people):
    for fn, args in [
        (accounts.reset_password, ("r2",)),
        (accounts.set_role, ("r2", "admin")),
        (accounts.deactivate, ("r2",)),
        (accounts.unlock, ("r2",)),
        (accounts.accounts_list, ()),
    ]:
        with pytest.raises(PermissionDenied):
            fn(session, people["r1"], *args)
