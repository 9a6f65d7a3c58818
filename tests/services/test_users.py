import datetime as dt

import pytest

from annotate.db.models import LoginSession
from annotate.services import users
from annotate.services.actor import Actor
from annotate.services.errors import PermissionDenied, ServiceError


def test_login_resolve_logout(session, people):
    token, actor = users.login(session, "r1", "r1-password", hours=1)
    session.commit()
    assert actor.role == "rater"
    assert users.resolve_session(session, token).username == "r1"
    users.logout(session, token)
    session.commit()
    assert users.resolve_session(session, token) is None


def test_wrong_password_and_unknown_user_refused(session, people):
    with pytest.raises(PermissionDenied, match="Wrong username or password"):
        users.login(session, "r1", "nope-nope", hours=1)
    with pytest.raises(PermissionDenied):
        users.login(session, "ghost", "whatever1", hours=1)


def test_expired_session_is_rejected(session, people):
    token, _ = users.login(session, "r1", "r1-password", hours=1)
    row = session.query(LoginSession).one()
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    assert users.resolve_session(session, token) is None
    assert users.resolve_session(session, "forged-token") is None


def test_password_is_hashed_with_argon2(session, people):
    user = users.get_user(session, "r1")
    assert user.password_hash.startswith("$argon2")
    assert "r1-password" not in user.password_hash


@pytest.mark.parametrize(
    "name,password,role,msg",
    [("Bad Name!", "longenough", "rater", "not allowed"), ("okname", "short", "rater", "at least 8"),
     ("okname", "longenough", "wizard", "Unknown role"), ("r1", "longenough", "rater", "already exists")],
)
def test_create_user_validation(session, people, name, password, role, msg):
    with pytest.raises(ServiceError, match=msg):
        users.create_user(session, None, name, password, role)


def test_only_admin_creates_users(session, people):
    with pytest.raises(PermissionDenied):
        users.create_user(session, people["res"], "newbie", "longenough", "rater")
    assert users.create_user(session, people["adm"], "newbie", "longenough", "rater").role == "rater"


def test_rater_cannot_list_users(session, people):
    with pytest.raises(PermissionDenied):
        users.list_users(session, Actor(people["r1"].user_id, "r1", "r1", "rater"))
