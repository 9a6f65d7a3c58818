"""The audit trail: hash chain, append-only in the database, refused attempts kept, export."""

import csv
import io

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from annotate.db.engine import session_factory
from annotate.db.models import AuditLog
from annotate.services import accounts, studies
from annotate.services.errors import PermissionDenied
from annotate.services.session import unit_of_work


def test_chain_is_whole_and_breaks_are_named(session, settings, people):
    for i in range(3):
        accounts.audit.record(session, people["adm"], "test.act", n=i, text="CR\rLF\nTAB\t'\"😀")
    session.commit()
    check = accounts.audit.verify(session)
    assert check.ok and check.entries >= 8
    # Tamper behind the triggers' back (a DBA with the triggers dropped) and the chain shows where.
    victim = session.scalars(select(AuditLog).where(AuditLog.action == "test.act").order_by(AuditLog.id)).all()[1]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
    session.execute(text("UPDATE audit_log SET detail = :d WHERE id = :i"), {"d": '{"n": 99}', "i": victim.id})
    session.commit()
    session.expire_all()
    broken = accounts.audit.verify(session)
    assert not broken.ok and broken.first_broken_id == victim.id and "changed" in broken.message


def test_database_refuses_update_and_delete(session, settings, people):
    session.commit()
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert session.scalar(select(AuditLog.id).limit(1)) is not None


def test_refused_attempt_survives_the_rollback(settings, people):
    session_factory(settings.database_url)  # migrated
    with pytest.raises(PermissionDenied), unit_of_work(settings) as s:
        accounts.audit.record(s, people["r1"], "should.vanish")
        studies.create_study(
            s, people["r1"], settings, "X1", arms="A,B", timepoints="t0", scheme_key="ainsworth_sensitivity"
        )
    with unit_of_work(settings) as s:
        actions = [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
        refused = s.scalars(select(AuditLog).where(AuditLog.action == "refused")).one()
        assert "should.vanish" not in actions
        assert refused.username == "r1" and refused.detail["operation"] == "studies.setup.create_study"
        assert "researcher role" in refused.detail["message"]
        assert accounts.audit.verify(s).ok


def test_concurrent_appends_do_not_fork_the_chain(settings, people):
    """Eight threads appending at once: the appends queue on the chain's lock, none forks it."""
    import threading

    make = session_factory(settings.database_url)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                with make() as s:
                    accounts.audit.record(s, people["r1"], "parallel", worker=n, i=i)
                    s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with make() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "parallel")) == 40
        check = accounts.audit.verify(s)
        assert check.ok, check.message


def test_export_csv_has_every_entry_with_hashes(session, people):
    accounts.audit.record(session, people["adm"], "test.act", note='a,b\n"c"')
    session.commit()
    rows = list(csv.DictReader(io.StringIO(accounts.audit.export_csv(session, people["adm"]))))
    assert rows[-1]["action"] == "test.act" and len(rows[-1]["entry_hash"]) == 64
    assert '"note":"a,b\\n\\"c\\""' in rows[-1]["detail"]
    with pytest.raises(PermissionDenied):
        accounts.audit.export_csv(session, people["res"])
