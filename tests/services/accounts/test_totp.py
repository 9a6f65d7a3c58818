"""The TOTP second factor: two-step enrolment, login with a code, replay refused, recovery codes
spent once, a role that must enrol sees nothing else first, admin and command-line reset, audit."""

from __future__ import annotations

import dataclasses
import time

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from annotate.cli.main import main
from annotate.db.models import AuditLog
from annotate.services import accounts
from annotate.services.accounts import sessions, totp
from annotate.services.errors import PermissionDenied, ServiceError


@pytest.fixture(autouse=True)
def _fresh_memory():
    sessions.reset_memory()
    yield
    sessions.reset_memory()


def enrol(session, actor) -> tuple[str, list[str]]:
    """Turn the factor on for ``actor`` at the previous time step (so the current one is still unused)."""
    started = totp.new_enrolment(actor)
    earlier = time.time() - totp.STEP_SECONDS
    codes = totp.confirm_enrolment(session, actor, started.secret, pyotp.TOTP(started.secret).at(earlier), now=earlier)
    session.commit()
    return started.secret, codes


def login(session, settings, username, password, code=""):
    return accounts.login(session, username, password, hours=1, settings=settings, code=code)


def refused(session, settings, username, password, code=""):
    with pytest.raises(accounts.LoginRefused) as info:
        login(session, settings, username, password, code)
    session.commit()
    return str(info.value)


def test_enrolment_shows_a_qr_code_and_needs_a_matching_code(session, people) -> None:
    r1 = people["r1"]
    started = totp.new_enrolment(r1)
    assert started.uri.startswith("otpauth://totp/annotate:r1?secret=") and "issuer=annotate" in started.uri
    assert started.qr_svg.lstrip().startswith("<svg") and "http" not in started.qr_svg.split("xmlns")[0]
    with pytest.raises(ServiceError, match="does not match"):
        totp.confirm_enrolment(
            session, r1, started.secret, "000000" if pyotp.TOTP(started.secret).now() != "000000" else "111111"
        )
    assert not totp.has_second_factor(session, r1)  # nothing stored before a code matched
    codes = totp.confirm_enrolment(session, r1, started.secret, pyotp.TOTP(started.secret).now())
    assert len(codes) == 10 and len(set(codes)) == 10 and all(len(c) == 11 and c[5] == "-" for c in codes)
    user = accounts.get_user(session, "r1")
    assert user.totp_secret == started.secret and not set(codes) & set(user.totp_recovery or [])  # hashes only
    with pytest.raises(ServiceError, match="already set up"):
        totp.confirm_enrolment(session, r1, started.secret, pyotp.TOTP(started.secret).now())


def test_login_asks_for_the_code_and_refuses_a_replay(session, settings, people) -> None:
    secret, _ = enrol(session, people["r1"])
    assert "also asks for an authentication code" in refused(session, settings, "r1", "r1-password")
    # the code question is only reached with the right password: a wrong one answers as ever
    assert refused(session, settings, "r1", "wrong-password", "123456") == sessions.WRONG
    code = pyotp.TOTP(secret).now()
    token, actor = login(session, settings, "r1", "r1-password", code)
    session.commit()
    assert token and actor.username == "r1"
    assert "Wrong authentication code" in refused(session, settings, "r1", "r1-password", code)  # replayed
    user = accounts.get_user(session, "r1")
    assert user.failed_attempts == 1  # the replayed code counts (the login before it reset the count)
    reasons = [
        a.detail.get("reason")
        for a in session.scalars(select(AuditLog).where(AuditLog.action == "login.failed").order_by(AuditLog.id))
    ]
    assert reasons == ["wrong_password", "wrong_code"]


def test_a_code_one_step_old_is_accepted_two_steps_old_is_not(session, settings, people) -> None:
    secret, _ = enrol(session, people["r2"])
    user = accounts.get_user(session, "r2")
    user.totp_last_step = None
    session.commit()
    now = time.time()
    assert not totp.check_second_factor(session, user, pyotp.TOTP(secret).at(now - 2 * totp.STEP_SECONDS), now=now)
    assert totp.check_second_factor(session, user, pyotp.TOTP(secret).at(now - totp.STEP_SECONDS), now=now)


def test_recovery_codes_log_in_once_each(session, settings, people) -> None:
    _, codes = enrol(session, people["r1"])
    token, _ = login(session, settings, "r1", "r1-password", codes[0].upper().replace("-", " "))
    session.commit()
    assert token and totp.recovery_codes_left(session, people["r1"]) == 9
    assert "Wrong authentication code" in refused(session, settings, "r1", "r1-password", codes[0])
    used = session.scalar(select(AuditLog).where(AuditLog.action == "totp.recovery_used"))
    assert used.detail == {"username": "r1", "left": 9}


def test_a_role_that_must_enrol_sees_my_account_only_until_it_has(session, settings, people) -> None:
    strict = dataclasses.replace(settings, totp_required_roles=frozenset({"researcher", "admin"}))
    token, _ = login(session, strict, "res", "res-password")
    session.commit()
    live = accounts.resolve_login(session, token, strict)
    assert live is not None and live.must_enrol_totp and not live.may_act
    assert accounts.resolve_session(session, token, strict) is None  # no page, route or download yet
    enrol(session, people["res"])
    live = accounts.resolve_login(session, token, strict)
    assert live is not None and live.may_act
    rater_token, _ = login(session, strict, "r1", "r1-password")
    assert accounts.resolve_session(session, rater_token, strict) is not None  # raters are not asked


def test_turning_off_needs_the_password_and_admins_reset_a_lost_factor(env, session, settings, people) -> None:
    enrol(session, people["r1"])
    with pytest.raises(PermissionDenied, match="Wrong password"):
        totp.disable(session, people["r1"], "not-my-password")
    totp.disable(session, people["r1"], "r1-password")
    session.commit()
    assert not totp.has_second_factor(session, people["r1"])
    enrol(session, people["r2"])
    with pytest.raises(PermissionDenied):
        totp.admin_reset(session, people["r1"], "r2")
    token, _ = login(
        session, settings, "r2", "r2-password", pyotp.TOTP(accounts.get_user(session, "r2").totp_secret).now()
    )
    session.commit()
    result = CliRunner().invoke(main, ["users", "totp-reset", "r2"])
    assert result.exit_code == 0, result.output
    assert "second factor is removed" in result.output
    session.expire_all()
    assert accounts.get_user(session, "r2").totp_secret is None
    assert accounts.resolve_login(session, token, settings) is None  # its sessions ended
    again = CliRunner().invoke(main, ["users", "totp-reset", "r2"])
    assert again.exit_code != 0 and "has no second factor" in again.output and "Traceback" not in again.output
    actions = set(session.scalars(select(AuditLog.action)))
    assert {"totp.enabled", "totp.disabled", "totp.reset"} <= actions
