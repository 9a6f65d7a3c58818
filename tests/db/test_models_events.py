"""Migration 0008_events builds the coded_event table exactly as the model declares it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from annotate.db import make_engine
from annotate.db.models import Base


def test_migration_matches_the_event_model(settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    mine = [d for d in diffs if "coded_event" in repr(d)]
    assert mine == []
    assert "coded_event" in Base.metadata.tables
