"""The job table: every piece of long work (ingest, clip packages, large exports, backups) with
its state, progress and lease, so it outlives the browser and survives a worker killed mid-way.

The queue itself is Huey's (see :mod:`annotate.services.jobs`); this table is the record that
researchers see and that recovery reads: a ``running`` job whose lease has expired belonged to a
dead worker and is queued again (or failed once it has used its attempts). Importing this module
registers the table on ``Base.metadata``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotate.db.models import Base, utcnow

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
JOB_KINDS = ("ingest", "clip_package", "export", "backup")


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_lease", "state", "lease_until"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), nullable=True)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recording.id", ondelete="SET NULL"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
