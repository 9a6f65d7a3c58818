"""Units of work: a database that does not answer becomes a message, other database errors do not."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from annotate.services.errors import DatabaseUnavailable
from annotate.services.session import unit_of_work


def test_an_unreachable_database_is_a_message_not_a_traceback(settings, caplog) -> None:
    gone = dataclasses.replace(settings, database_url="postgresql+psycopg://postgres@127.0.0.1:9/none")
    with caplog.at_level(logging.ERROR, logger="annotate.services.session"), pytest.raises(DatabaseUnavailable) as info:  # noqa: SIM117
        with unit_of_work(gone) as session:
            session.execute(text("select 1"))
    assert "Nothing of this step was saved" in str(info.value)
    assert any("database unavailable" in r.getMessage() for r in caplog.records)  # the operator sees why


def test_a_missing_table_is_not_mistaken_for_an_unavailable_database(settings) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's OperationalError covers both; PostgreSQL names a missing table otherwise")
    with pytest.raises(OperationalError, match="no such table"), unit_of_work(settings) as session:
        session.execute(text("select * from no_such_table"))
