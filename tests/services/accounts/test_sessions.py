"""Login throttling, lockout, the failed-login audit, idle and absolute timeouts."""

import datetime as dt

import pytest
from sqlalchemy import select

from annotate.db.models import AuditLog, LoginSession
from annotate.services import accounts
from annotate.services.accounts import sessions


@pytest.fixture(autouse=True)
def _fresh_memory():
    sessions.reset_memory()
    yield
    sessions.reset_memory()


def _fail(session, settings, name, password="wrong-password", client="10.0.0.1"):
    with pytest.raises(accounts.LoginRefused) as info:
        accounts.login(session, name, password, hours=1, client=client, settings=settings)
    session.commit()
    return info.value


def test_five_failures_lock_the_account_with_growing_delays(session, settings, people):
    answers = [_fail(session, settings, "r1") for _ in range(5)]
    assert [a.delay for a in answers] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert [a.locked for a in answers] == [False] * 4 + [True]
    # Locked: even the right password is refused, without another password check counted.
    locked = _fail(session, settings, "r1", "r1-password")
    assert locked.locked and "paused for 15 minutes" in str(locked)
    info = {a.username: a for a in accounts.accounts_list(session, people["adm"])}
    assert info["r1"].state == "locked" and info["r1"].failed_attempts == 5
    assert session.scalar(select(AuditLog).where(AuditLog.action == "login.locked")).detail["username"] == "r1"
    accounts.unlock(session, people["adm"], "r1")
    session.commit()
    token, _ = accounts.login(session, "r1", "r1-password", hours=1, settings=settings)
    assert token
    assert accounts.get_user(session, "r1").failed_attempts == 0


def test_unknown_names_are_answered_like_known_ones(session, settings, people):
    known = [(str(a), a.delay, a.locked) for a in (_fail(session, settings, "r2") for _ in range(6))]
    unknown = [(str(a), a.delay, a.locked) for a in (_fail(session, settings, "nobody") for _ in range(6))]
    assert known == unknown


def test_failed_login_never_stores_the_typed_text_of_an_unknown_name(session, settings, people):
    typed = "My$ecretPassw0rd\r\n\t'\"😀" + "x" * 10_000
    _fail(session, settings, typed)
    _fail(session, settings, "r1")
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "login.failed").order_by(AuditLog.id)).all()
    assert "My$ecret" not in str([r.detail for r in rows]) and rows[0].username is None
    assert rows[0].detail == {"reason": "unknown_name", "known": False, "client": "10.0.0.1"}
    assert rows[1].detail["username"] == "r1"


def test_per_client_limit_covers_many_names(session, settings, people):
    for i in range(sessions.CLIENT_FAILURES):
        _fail(session, settings, f"name{i}", client="192.0.2.7")
    refused = _fail(session, settings, "r1", "r1-password", client="192.0.2.7")
    assert "from this computer" in str(refused)
    # Another address is not affected.
    token, _ = accounts.login(session, "r1", "r1-password", hours=1, client="192.0.2.8", settings=settings)
    assert token
    assert session.scalar(select(AuditLog).where(AuditLog.action == "login.refused")).detail["reason"] == "client_limit"


def test_idle_timeout_and_absolute_lifetime(session, settings, people):
    token, _ = accounts.login(session, "r1", "r1-password", hours=12, settings=settings)
    session.commit()
    row = session.scalar(select(LoginSession))
    row.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=29)
    session.commit()
    assert accounts.resolve_session(session, token, settings) is not None  # and notes the request
    session.commit()
    assert accounts.as_utc(session.scalar(select(LoginSession)).last_seen_at) > dt.datetime.now(dt.UTC) - dt.timedelta(
        minutes=1
    )
    row = session.scalar(select(LoginSession))
    row.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    session.commit()
    assert accounts.resolve_session(session, token, settings) is None  # idle 31 minutes
    token2, _ = accounts.login(session, "r1", "r1-password", hours=1, settings=settings)
    session.commit()
    row = session.get(LoginSession, sessions.token_id(token2))
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    assert accounts.resolve_session(session, token2, settings) is None  # past the absolute lifetime


def test_two_sessions_failing_at_once_both_count(settings, people):
    from annotate.db.engine import session_factory

    make = session_factory(settings.database_url)
    a, b = make(), make()
    try:
        for s in (a, b):
            with pytest.raises(accounts.LoginRefused):
                accounts.login(s, "r1", "bad-password", hours=1, settings=settings)
            s.commit()
    finally:
        a.close()
        b.close()
    with make() as s:
        assert accounts.get_user(s, "r1").failed_attempts == 2
