"""`annotate users ...` and `annotate audit ...`: the exact names scripts call."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from annotate.cli.main import main
from annotate.db.models import AuditLog
from annotate.services import accounts


@pytest.fixture
def run(env, people):
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(main, list(args), input=stdin, catch_exceptions=False)

    return invoke


def test_list_json_has_the_promised_fields(run):
    out = run("users", "list", "--json")
    assert out.exit_code == 0
    rows = {r["username"]: r for r in json.loads(out.output)}
    assert set(rows["r1"]) >= {"username", "role", "state", "last_login", "failed_attempts"}
    assert rows["r1"]["state"] == "active" and rows["r1"]["last_login"] is None and rows["r1"]["failed_attempts"] == 0


def test_reset_prints_the_one_time_password_alone_on_the_last_line(run, session):
    out = run("users", "reset", "r1")
    assert out.exit_code == 0
    one_time = out.output.rstrip("\n").splitlines()[-1]
    assert " " not in one_time and len(one_time) >= 20
    session.expire_all()
    token, _ = accounts.login(session, "r1", one_time, hours=1)
    session.commit()
    assert accounts.resolve_login(session, token).must_change_password


def test_passwd_from_stdin_checks_the_rules(run, session):
    bad = run("users", "passwd", "r1", "--password-stdin", stdin="password1234\n")
    assert bad.exit_code == 1 and "commonly used" in bad.output
    good = run("users", "passwd", "r1", "--password-stdin", stdin="tabs\tand 😀 emoji ok\r\n")
    assert good.exit_code == 0, good.output
    session.expire_all()
    assert accounts.login(session, "r1", "tabs\tand 😀 emoji ok", hours=1)[0]


def test_set_role_deactivate_activate_unlock(run, session):
    assert run("users", "set-role", "r1", "researcher").exit_code == 0
    assert run("users", "deactivate", "r1").exit_code == 0
    rows = {r["username"]: r for r in json.loads(run("users", "list", "--json").output)}
    assert rows["r1"]["state"] == "deactivated" and rows["r1"]["role"] == "researcher"
    assert run("users", "activate", "r1").exit_code == 0
    assert run("users", "unlock", "r1").exit_code == 0
    assert run("users", "set-role", "r1", "wizard").exit_code == 2


def test_signed_role_change_with_as_and_password_stdin(run, session):
    wrong = run("users", "set-role", "r1", "clinician", "--as", "adm", "--password-stdin", stdin="nope\n")
    assert wrong.exit_code == 1 and "signature is wrong" in wrong.output
    ok = run("users", "set-role", "r1", "clinician", "--as", "adm", "--password-stdin", stdin="adm-password\n")
    assert ok.exit_code == 0, ok.output
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "user.role"))
    assert entry.username == "adm" and entry.detail["signature"]["meaning"] == "I approve making r1 a clinician"
    refused = session.scalar(select(AuditLog).where(AuditLog.action == "refused"))
    assert refused.detail["operation"] == "accounts.sign"


def test_audit_verify_and_export(run, session, tmp_path):
    assert run("users", "unlock", "r2").exit_code == 0
    ok = run("audit", "verify")
    assert ok.exit_code == 0 and "whole" in ok.output
    out = tmp_path / "audit.csv"
    assert run("audit", "export", "--out", str(out)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["action"] for r in rows].count("user.create") == 5
    # Break an entry behind the triggers' back: verify exits 1 and names it.
    first = rows[0]["id"]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
    session.execute(text("UPDATE audit_log SET action = 'user.nothing' WHERE id = :i"), {"i": int(first)})
    session.commit()
    broken = CliRunner().invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1 and f"entry {first}" in broken.output


def test_study_lock_is_e_signed_with_as_and_password_stdin(run, session, people, study):
    from annotate.services import studies

    studies.set_status(session, people["res"], study, "rating")
    session.commit()
    unsigned = run("study", "lock", study, "--as", "res")
    assert unsigned.exit_code == 2 and "--password-stdin" in unsigned.output
    wrong = run("study", "lock", study, "--as", "res", "--password-stdin", stdin="not-it\n")
    assert wrong.exit_code == 1 and "signature is wrong" in wrong.output
    ok = run("study", "lock", study, "--reason", "all rated", "--as", "res", "--password-stdin", stdin="res-password\n")
    assert ok.exit_code == 0 and "is now locked" in ok.output
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "study.locked"))
    assert entry.detail["signature"] == {
        "signed_by": "res",
        "meaning": f"I approve locking study {study}",
        "signed_at": entry.detail["signature"]["signed_at"],
    }
