"""Tables of rater certification: calibration sets with master (gold) scores and their trainees.

A calibration set is a fixed list of assessment segments of one study with master scores per
segment and dimension. Trainees rate the segments in their normal queue (assignments with
purpose ``calibration``); :mod:`annotate.services.reliability.certification` compares their scores with
the master scores. Importing this module registers the tables on ``Base.metadata``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotate.db.models import Base, utcnow

DEFAULT_MIN_ICC = 0.70
DEFAULT_MIN_WITHIN_1 = 0.80


class CalibrationSet(Base):
    __tablename__ = "calibration_set"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    # "entered" (typed by the researcher) or "rater" (copied from master_rater_id's done ratings)
    master_source: Mapped[str] = mapped_column(String(20))
    master_rater_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    min_icc: Mapped[float] = mapped_column(Float, default=DEFAULT_MIN_ICC)
    min_within_1: Mapped[float] = mapped_column(Float, default=DEFAULT_MIN_WITHIN_1)
    min_exact: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    items: Mapped[list[CalibrationItem]] = relationship(
        order_by="CalibrationItem.ordinal", back_populates="calibration_set", cascade="all, delete-orphan"
    )


class CalibrationItem(Base):
    """One segment of a set with its master scores (dimension name -> value)."""

    __tablename__ = "calibration_item"
    __table_args__ = (UniqueConstraint("set_id", "segment_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("calibration_set.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    master_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    calibration_set: Mapped[CalibrationSet] = relationship(back_populates="items")


class CalibrationTrainee(Base):
    """A rater assigned to a set; the latest certification outcome is kept for the overview."""

    __tablename__ = "calibration_trainee"
    __table_args__ = (UniqueConstraint("set_id", "rater_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("calibration_set.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    passed: Mapped[bool | None] = mapped_column(nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
