"""Database layer: typed models, engine/session factory, Alembic migrations."""

import annotate.db.models_calibration
import annotate.db.models_events
import annotate.db.models_jobs  # noqa: F401  (registers the job table)
from annotate.db.engine import make_engine, session_factory, session_scope, upgrade_database

__all__ = ["make_engine", "session_factory", "session_scope", "upgrade_database"]
