"""Database layer: typed models, engine/session factory, Alembic migrations."""

from annotate.db.engine import make_engine, session_factory, session_scope, upgrade_database

__all__ = ["make_engine", "session_factory", "session_scope", "upgrade_database"]
