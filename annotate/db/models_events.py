"""Coded events (issue 19): point and state events a rater codes on a film, per assignment.

One row per event. ``onset_s`` and ``offset_s`` are media times of the film in seconds (the
frame the player showed); ``offset_s`` is NULL for a point event, and for a state that is
still running (an *open* state, which the rater must close before marking the item done).
``group_key`` and ``code`` name an event group and code of the assignment's scheme
(:mod:`annotate.schemes.events`). ``version`` starts at 1 and is raised by every change: an
edit or delete names the version it saw and one ``UPDATE/DELETE ... WHERE version = :v``
decides (compare-and-set). Importing this module registers the table on ``Base.metadata``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from annotate.db.models import Base, utcnow


class Event(Base):
    __tablename__ = "coded_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    group_key: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    modifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    onset_s: Mapped[float] = mapped_column(Float)
    offset_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


Index("ix_coded_event_assignment_onset", Event.assignment_id, Event.onset_s)
