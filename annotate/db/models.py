"""SQLAlchemy 2.0 typed models: the study, its allocation key, films, ratings and the audit trail.

The allocation key (participant -> arm, recording -> time point and participant) lives in
``participant`` and in the ``participant_id``/``timepoint_id`` columns of ``recording``.
Rater-facing services never select those columns: they return rater views built from
``segment`` and ``recording.blind_code`` only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, dt.datetime: DateTime(timezone=True)}


ROLES = ("rater", "clinician", "researcher", "analyst", "admin")
STUDY_STATUSES = ("setup", "rating", "locked", "unblinded")
PURPOSES = ("assessment", "intervention")
RECORDING_STATUSES = ("pending", "processing", "ready", "failed")
ASSIGNMENT_PURPOSES = ("primary", "reliability", "calibration", "consensus")
ASSIGNMENT_STATUSES = ("assigned", "in_progress", "done")


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Account lifecycle (see annotate.services.accounts): demo accounts, one-time passwords, lockout.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # Second factor (TOTP, RFC 6238): the base32 secret once enrolment is confirmed, the last time
    # step accepted (a code is never accepted twice), and sha256 hashes of unused recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    totp_recovery: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class LoginSession(Base):
    """A server-side login; the cookie carries only a signed random id (revocable on logout)."""

    __tablename__ = "login_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]  # the absolute lifetime
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # for the idle timeout
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    user: Mapped[User] = relationship()


class Study(Base):
    __tablename__ = "study"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="setup")
    segment_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    scheme: Mapped[Scheme] = relationship()
    arms: Mapped[list[Arm]] = relationship(order_by="Arm.ordinal", back_populates="study")
    timepoints: Mapped[list[Timepoint]] = relationship(order_by="Timepoint.ordinal", back_populates="study")


class Arm(Base):
    __tablename__ = "arm"
    __table_args__ = (UniqueConstraint("study_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    ordinal: Mapped[int] = mapped_column(Integer)
    study: Mapped[Study] = relationship(back_populates="arms")


class Timepoint(Base):
    __tablename__ = "timepoint"
    __table_args__ = (UniqueConstraint("study_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    ordinal: Mapped[int] = mapped_column(Integer)
    study: Mapped[Study] = relationship(back_populates="timepoints")


class Participant(Base):
    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("study_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(120))
    arm_id: Mapped[int] = mapped_column(ForeignKey("arm.id"))
    per_protocol: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    covariates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    arm: Mapped[Arm] = relationship()


class Scheme(Base):
    """A pinned copy of a rating scheme: once ratings use it, its text cannot change."""

    __tablename__ = "scheme"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Recording(Base):
    __tablename__ = "recording"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), nullable=True)
    timepoint_id: Mapped[int | None] = mapped_column(ForeignKey("timepoint.id"), nullable=True)
    purpose: Mapped[str] = mapped_column(String(20), default="assessment")
    session_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    blind_code: Mapped[str] = mapped_column(String(20), unique=True)
    original_name: Mapped[str] = mapped_column(String(500))
    original_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Media-store keys (``originals/<hex>.mp4``, ``proxies/<hex>.mp4``, ``thumbs/<hex>``), never
    # absolute paths: annotate.store resolves them (migration 0006 converted older paths).
    original_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    proxy_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    thumbs_dir: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    has_audio: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    source_codec: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    participant: Mapped[Participant | None] = relationship()
    timepoint: Mapped[Timepoint | None] = relationship()
    segments: Mapped[list[Segment]] = relationship(order_by="Segment.index", back_populates="recording")


class Segment(Base):
    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("recording_id", "index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recording.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    task_label: Mapped[str | None] = mapped_column(String(120), nullable=True)
    recording: Mapped[Recording] = relationship(back_populates="segments")


class Assignment(Base):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("rater_id", "segment_id", "scheme_id", "purpose"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    purpose: Mapped[str] = mapped_column(String(20), default="primary")
    order_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="assigned")
    note: Mapped[str] = mapped_column(Text, default="")
    note_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    first_activity_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    segment: Mapped[Segment] = relationship()
    rater: Mapped[User] = relationship()


Index("ix_assignment_rater_order", Assignment.rater_id, Assignment.order_index)
# Trial-scale pages (migration 0009_indexes): a segment's assignments, a study's by status, a rater's open items.
Index("ix_assignment_segment", Assignment.segment_id)
Index("ix_assignment_study_status", Assignment.study_id, Assignment.status, Assignment.done_at)
Index("ix_assignment_rater_status_order", Assignment.rater_id, Assignment.status, Assignment.order_index)


class Rating(Base):
    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("assignment_id", "dimension"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    dimension: Mapped[str] = mapped_column(String(80))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    changed_after_lock: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    assignment: Mapped[Assignment] = relationship()


Index("ix_rating_segment", Rating.segment_id)
Index("ix_rating_updated_at", Rating.updated_at)


class RatingHistory(Base):
    """Every change of a rating or a segment note: old, new, who, when, why."""

    __tablename__ = "rating_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    dimension: Mapped[str] = mapped_column(String(80))  # "(note)" for the segment note
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")


class ConsensusTask(Base):
    """A double-coded score pair that differs by more than the study's tolerance.

    The two original ratings stay untouched (they are the ones used for reliability); the
    consensus value is the one used for analysis.
    """

    __tablename__ = "consensus_task"
    __table_args__ = (UniqueConstraint("segment_id", "dimension"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    dimension: Mapped[str] = mapped_column(String(80))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BlindingReport(Base):
    """A rater's "I may have been unblinded" report, or their guess of a film's arm."""

    __tablename__ = "blinding_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    recording_id: Mapped[int] = mapped_column(ForeignKey("recording.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(20))  # "unblinded" | "guess"
    guess: Mapped[str | None] = mapped_column(String(20), nullable=True)  # treatment | control | dont_know
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Clip(Base):
    """A clinician's clip of an intervention film (used by the clip workflow)."""

    __tablename__ = "clip"
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recording.id", ondelete="CASCADE"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    in_s: Mapped[float] = mapped_column(Float)
    out_s: Mapped[float] = mapped_column(Float)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    caption: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    session_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeedbackSession(Base):
    """A clinician's plan for one video-feedback session with a family: notes around the clips."""

    __tablename__ = "feedback_session"
    __table_args__ = (UniqueConstraint("participant_id", "session_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    session_no: Mapped[int] = mapped_column(Integer)
    opening_note: Mapped[str] = mapped_column(Text, default="")
    closing_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Append-only (database triggers refuse UPDATE and DELETE) and hash-chained: ``entry_hash`` is
    sha256 over the entry's content and ``prev_hash`` (see ``annotate.services.accounts.audit``).

    ``user_id`` and ``study_id`` carry no foreign keys since 0005: an entry outlives what it names
    (and a restore of an older backup keeps newer entries whose user or study the backup lacks);
    ``username`` keeps who acted in the entry itself."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str | None] = mapped_column(String(80), nullable=True)
    action: Mapped[str] = mapped_column(String(60))
    study_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    entry_hash: Mapped[str] = mapped_column(String(64), default="")


AUDIT_GENESIS = ""  # prev_hash of the first entry


def audit_canonical_detail(detail: dict[str, Any] | None) -> str:
    """The one JSON text of an entry's detail that its hash covers (sorted keys, no spaces).

    Examples
    --------
    >>> audit_canonical_detail({"b": 1, "a": "é"})
    '{"a":"é","b":1}'
    """
    return json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def audit_entry_hash(
    *,
    at: dt.datetime,
    user_id: int | None,
    username: str | None,
    action: str,
    study_id: int | None,
    detail: dict[str, Any] | None,
    prev_hash: str,
) -> str:
    """sha256 (hex) over an audit entry's content and the previous entry's hash (the chain).

    ``at`` counts as UTC when naive (SQLite hands back naive values that were written as UTC), to
    the microsecond, so the same entry hashes alike on SQLite and PostgreSQL.

    Examples
    --------
    >>> h = audit_entry_hash(at=dt.datetime(2026, 1, 2, 3, 4, 5, 6), user_id=1, username="ann",
    ...     action="login", study_id=None, detail={}, prev_hash="")
    >>> h == audit_entry_hash(at=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), user_id=1,
    ...     username="ann", action="login", study_id=None, detail={}, prev_hash="")
    True
    >>> len(h)
    64
    """
    when = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    parts = [
        "annotate-audit-v1",
        when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "" if user_id is None else str(user_id),
        username or "",
        action,
        "" if study_id is None else str(study_id),
        audit_canonical_detail(detail),
        prev_hash,
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


Index("ix_recording_study", Recording.study_id)
Index("ix_consensus_task_study", ConsensusTask.study_id)
Index("ix_blinding_report_study", BlindingReport.study_id)
