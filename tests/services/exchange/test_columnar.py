"""The columnar ratings CSV (SQLite through Arrow) writes the very bytes of the row writer: every
mode, adversarial notes, full-precision times, consensus rows after the ratings, odd stored times."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, text

from annotate.db import arrow
from annotate.db.models import Study
from annotate.services import exchange
from annotate.services.exchange import columnar
from annotate.services.exchange.exports import _write_csv
from annotate.services.exchange.tables import RATINGS_COLUMNS, columns_for, iter_ratings
from tests.services.exchange.test_exports import rated  # noqa: F401  (fixture)
from tests.services.exchange.test_lossless import noted  # noqa: F401  (fixture)


def _row_writer(session, study_key: str, mode: str) -> str:
    study = session.scalar(select(Study).where(Study.key == study_key))
    buf = io.StringIO()
    _write_csv(iter_ratings(session, study, mode), columns_for(RATINGS_COLUMNS, mode), buf)
    return buf.getvalue()


def _export(session, people, study_key: str, mode: str) -> str:
    buf = io.StringIO()
    exchange.write_ratings_csv(session, people["res"], study_key, buf, mode=mode)
    return buf.getvalue()


def _sqlite_only(settings) -> None:
    if not columnar.available(settings.database_url):
        pytest.skip("the columnar writer needs a SQLite file or PostgreSQL with the ADBC driver")


@pytest.mark.parametrize("mode", ["blinded", "masked"])
def test_same_bytes_as_the_row_writer_with_adversarial_notes(session, settings, people, noted, mode) -> None:  # noqa: F811
    _sqlite_only(settings)
    fast = _export(session, people, noted, mode)
    assert fast == _row_writer(session, noted, mode)
    assert "33.333333333333336" in fast and '"fine\r=1+2"' in fast and "😀👶🏽" in fast


def test_same_bytes_with_consensus_rows_and_after_unblinding(session, settings, people, rated) -> None:  # noqa: F811
    _sqlite_only(settings)
    assert _export(session, people, rated, "masked") == _row_writer(session, rated, "masked")
    session.execute(text("UPDATE study SET status = 'unblinded'"))
    session.commit()
    full = _export(session, people, rated, "full")
    assert full == _row_writer(session, rated, "full")
    assert ",consensus," in full and "'=HYPERLINK" in full


def test_stored_times_of_other_shapes_are_written_as_the_row_writer_would(session, settings, people, noted) -> None:  # noqa: F811
    _sqlite_only(settings)
    # a time without microseconds, one with an offset, one with a T: all read back by SQLAlchemy
    session.execute(text("UPDATE rating SET created_at = '2026-01-02 03:04:05' WHERE id = 1"))
    session.execute(text("UPDATE rating SET created_at = '2026-01-02 03:04:05.123456+00:00' WHERE id = 2"))
    session.execute(text("UPDATE rating SET updated_at = '2026-01-02T03:04:05.5' WHERE id = 3"))
    session.execute(text("UPDATE rating SET updated_at = '2026-01-02 03:04:05+0100' WHERE id = 4"))  # no colon
    session.commit()
    session.expire_all()
    assert _export(session, people, noted, "blinded") == _row_writer(session, noted, "blinded")


def test_times_are_cut_to_the_second_as_isoformat_does(session, settings, people, noted) -> None:  # noqa: F811
    _sqlite_only(settings)
    session.execute(text("UPDATE rating SET created_at = '2026-01-02 03:04:05.999999' WHERE id = 1"))
    session.execute(text("UPDATE rating SET updated_at = '1969-12-31 23:59:59.5' WHERE id = 2"))  # before the epoch
    session.commit()
    session.expire_all()
    fast = _export(session, people, noted, "blinded")
    assert fast == _row_writer(session, noted, "blinded")
    assert "2026-01-02T03:04:05" in fast and "2026-01-02T03:04:06" not in fast and "1969-12-31T23:59:59" in fast


def test_database_urls_served() -> None:
    assert arrow.sqlite_file("sqlite:///relative.db") is not None
    assert not columnar.available("sqlite://") and not columnar.available("mysql://h/db")
    assert columnar.available("postgresql+psycopg://h/db")


@pytest.mark.parametrize("mode", ["blinded", "masked"])
def test_parquet_from_arrow_holds_the_row_writers_values(session, settings, people, rated, mode, monkeypatch) -> None:  # noqa: F811
    import pyarrow.parquet as pq

    _sqlite_only(settings)
    fast = pq.read_table(io.BytesIO(exchange.export_file(session, people["res"], rated, "parquet", mode).data))
    monkeypatch.setattr(columnar, "available", lambda url: False)  # the row-by-row reference
    rows = pq.read_table(io.BytesIO(exchange.export_file(session, people["res"], rated, "parquet", mode).data))
    assert fast.schema == rows.schema
    assert fast.to_pylist() == rows.to_pylist()
    assert "consensus" in fast.column("purpose").to_pylist()
