"""Film ingest: register the films, then one job per film (``ingest_job``) probes, copies into
the media store under a random name, makes the proxy, thumbnails, activity curve and segments.

Each film is its own job, so a crash mid-way loses at most the film being worked on and the job
is retried; a film that cannot be used is kept as a ``failed`` recording with the reason, so the
researcher sees what was refused and why.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import PURPOSES, Arm, Participant, Recording, Segment, Study, Timepoint
from annotate.reports.csvio import read_csv_rows
from annotate.services import jobs
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ImportRejected, RowError, ServiceError
from annotate.services.policy import READ_ROLES, Operation
from annotate.services.studies.gate import allocation_visible, require_operation
from annotate.services.studies.revision import cached
from annotate.services.studies.setup import get_study
from annotate.store import incoming_key, open_store, original_key

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".mts", ".m2ts", ".webm", ".3gp", ".mpg", ".mpeg", ".wmv"}
# Blind codes avoid look-alike characters (0/O, 1/I/L) so raters can read them aloud.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class IngestItem:
    path: Path
    participant: str | None
    timepoint: str | None
    purpose: str = "assessment"
    session_no: int | None = None


@dataclass(frozen=True)
class IngestOutcome:
    original_name: str
    status: str  # ready | failed | duplicate
    blind_code: str | None
    reason: str | None


@dataclass(frozen=True)
class RecordingInfo:
    blind_code: str
    original_name: str
    participant: str | None
    arm: str | None
    timepoint: str | None
    purpose: str
    session_no: int | None
    status: str
    reason: str | None
    proxy_file: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    fps: float | None
    has_audio: bool | None
    source_codec: str | None
    n_segments: int


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and the video files found (recursively) in given folders, sorted."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES))
        elif p.exists():
            found.append(p)
        else:
            raise ServiceError(f"{p}: no such file or folder.")
    return found


def items_from_manifest(data: bytes | str, base_dir: Path) -> list[IngestItem]:
    """Read a manifest CSV: file, participant, timepoint[, purpose, session]. Paths are relative
    to ``base_dir`` unless absolute. All rows are checked before anything is ingested."""
    rows = read_csv_rows(data, "Film manifest", ["file", "participant"])
    items, errors = [], []
    for i, row in enumerate(rows, start=2):
        if not row:
            continue
        path = Path(row["file"]).expanduser()
        path = path if path.is_absolute() else base_dir / path
        purpose = (row.get("purpose") or "assessment").lower()
        if purpose not in PURPOSES:
            errors.append(RowError(i, f"purpose {purpose!r} must be assessment or intervention"))
            continue
        session_no = None
        if row.get("session"):
            try:
                session_no = int(row["session"])
            except ValueError:
                errors.append(RowError(i, f"session {row['session']!r} must be a whole number"))
                continue
        if not path.is_file():
            errors.append(RowError(i, f"file {row['file']!r} not found (looked at {path})"))
            continue
        items.append(
            IngestItem(path, row.get("participant") or None, row.get("timepoint") or None, purpose, session_no)
        )
    if errors:
        raise ImportRejected("Film manifest", errors)
    return items


def items_from_pattern(paths: Iterable[Path], pattern: str, purpose: str = "assessment") -> list[IngestItem]:
    """Take participant and time point from file names with a regular expression that has the
    named groups ``participant`` and ``timepoint`` (e.g. ``(?P<participant>F\\d+)_(?P<timepoint>\\w+)``).

    Examples
    --------
    >>> items = items_from_pattern([Path("F01_baseline.mp4")], r"(?P<participant>F\\d+)_(?P<timepoint>[a-z0-9]+)")
    >>> items[0].participant, items[0].timepoint
    ('F01', 'baseline')
    """
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ServiceError(f"The file-name pattern is not a valid regular expression: {exc}.") from None
    if "participant" not in rx.groupindex:
        raise ServiceError("The file-name pattern needs a group named participant: (?P<participant>...).")
    items, errors = [], []
    for n, path in enumerate(paths, start=1):
        m = rx.search(path.name)
        if not m:
            errors.append(RowError(n, f"file name {path.name!r} does not match the pattern"))
            continue
        tp = m.groupdict().get("timepoint")
        items.append(IngestItem(path, m.group("participant"), tp, purpose))
    if errors:
        raise ImportRejected("File names", errors)
    return items


def _resolve_items(
    session: Session, study: Study, items: list[IngestItem]
) -> list[tuple[IngestItem, Participant | None, Timepoint | None]]:
    participants = {
        p.external_id: p for p in session.scalars(select(Participant).where(Participant.study_id == study.id))
    }
    timepoints = {t.name.lower(): t for t in study.timepoints}
    resolved: list[tuple[IngestItem, Participant | None, Timepoint | None]] = []
    errors: list[RowError] = []
    for n, item in enumerate(items, start=1):
        where = f"{item.path.name}"
        if item.purpose not in PURPOSES:
            errors.append(RowError(n, f"{where}: purpose must be assessment or intervention"))
            continue
        part = participants.get(item.participant or "")
        if part is None:
            errors.append(
                RowError(
                    n,
                    f"{where}: participant {item.participant!r} is not in study {study.key}; import the allocation first",
                )
            )
            continue
        tp = None
        if item.purpose == "assessment":
            tp = timepoints.get((item.timepoint or "").lower())
            if tp is None:
                errors.append(
                    RowError(
                        n,
                        f"{where}: time point {item.timepoint!r} is not one of {', '.join(t.name for t in study.timepoints)}",
                    )
                )
                continue
        elif item.timepoint:
            tp = timepoints.get(item.timepoint.lower())
        resolved.append((item, part, tp))
    if errors:
        raise ImportRejected("Films to ingest", errors)
    return resolved


def new_blind_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
        if not session.scalar(select(Recording.id).where(Recording.blind_code == code)):
            return code


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (films are large); used by ingest and backups."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class QueuedFilm:
    """A film registered for ingest: its recording (``processing``) and the job that does the work."""

    original_name: str
    status: str  # queued | duplicate
    blind_code: str | None
    job_id: int | None
    reason: str | None


def _register(
    session: Session,
    actor: Actor,
    settings: Settings,
    study_key: str,
    items: list[IngestItem],
    *,
    hash_now: bool,
    send_now: bool,
    incoming: dict[Path, str] | None = None,
) -> list[QueuedFilm]:
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    if not items:
        raise ServiceError("No films to ingest: give files, a folder with films, or a manifest.")
    resolved = _resolve_items(session, study, items)
    known: dict[str | None, str] = dict(
        session.execute(
            select(Recording.original_sha256, Recording.blind_code).where(
                Recording.study_id == study.id, Recording.status == "ready"
            )
        ).all()
    )
    out: list[QueuedFilm] = []
    for item, part, tp in resolved:
        sha = sha256_file(item.path) if hash_now and item.path.is_file() else None
        if sha and sha in known:
            out.append(
                QueuedFilm(item.path.name, "duplicate", known[sha], None, f"already ingested as film {known[sha]}")
            )
            continue
        rec = Recording(
            study_id=study.id,
            participant_id=part.id if part else None,
            timepoint_id=tp.id if tp else None,
            purpose=item.purpose,
            session_no=item.session_no,
            blind_code=new_blind_code(session),
            original_name=item.path.name,
            original_sha256=sha,
            status="processing",
        )
        session.add(rec)
        session.flush()
        if sha:
            known[sha] = rec.blind_code
        key = (incoming or {}).get(item.path)
        payload = {
            "source": None if key else str(item.path.resolve()),
            "incoming": key,
            "original": original_key(secrets.token_hex(16), item.path.suffix or ".mp4"),
            "name": secrets.token_hex(16),
        }
        job = jobs.enqueue(
            session,
            settings,
            "ingest",
            payload,
            study_id=study.id,
            recording_id=rec.id,
            created_by=actor.user_id,
            send_now=send_now,
        )
        out.append(QueuedFilm(item.path.name, "queued", rec.blind_code, job.id, None))
    return out


def enqueue_ingest(
    session: Session,
    actor: Actor,
    settings: Settings,
    study_key: str,
    items: list[IngestItem],
    *,
    incoming: dict[Path, str] | None = None,
) -> list[QueuedFilm]:
    """Register films (``processing``) and queue one ingest job each; returns at once.

    Workers (``annotate worker``, or the one ``annotate serve`` starts) probe, copy, transcode and
    segment them; the Films page and ``annotate jobs`` show progress. ``incoming`` maps an item's
    path to a media-store key already holding its bytes (browser uploads), so a worker on another
    machine can read it. A duplicate of a ready film is found by its checksum in the job.
    """
    queued = _register(session, actor, settings, study_key, items, hash_now=False, send_now=True, incoming=incoming)
    study = get_study(session, study_key)
    audit.record(session, actor, "films.enqueue", study_id=study.id, queued=sum(q.status == "queued" for q in queued))
    session.commit()
    return queued


def enqueue_uploads(
    session: Session,
    actor: Actor,
    settings: Settings,
    study_key: str,
    uploads: list[tuple[str, bytes]],
    participant: str | None,
    timepoint: str | None,
    purpose: str = "assessment",
    session_no: int | None = None,
) -> list[QueuedFilm]:
    """Films uploaded through the browser: their bytes go into the media store (``incoming/``), so
    a worker on any machine can read them, and one ingest job each is queued. The page may close."""
    require_role(actor, "researcher")
    if not uploads:
        raise ServiceError("No films to ingest: choose one or more film files.")
    store = open_store(settings)
    items, incoming = [], {}
    for n, (name, data) in enumerate(uploads):
        clean = Path(name).name or "film"
        if Path(clean).suffix.lower() not in VIDEO_SUFFIXES:
            raise ServiceError(f"{clean}: not a film file ({', '.join(sorted(VIDEO_SUFFIXES))}).")
        key = incoming_key(secrets.token_hex(16), Path(clean).suffix)
        store.put_bytes(key, data)
        path = Path("upload") / str(n) / clean  # two uploads may share a name
        item = IngestItem(
            path,
            participant,
            timepoint if purpose == "assessment" else None,
            purpose,
            session_no if purpose == "intervention" else None,
        )
        items.append(item)
        incoming[path] = key
    try:
        return enqueue_ingest(session, actor, settings, study_key, items, incoming=incoming)
    except ServiceError:
        for key in incoming.values():
            store.delete(key)  # refused before any job: nothing may stay in the store
        raise


def ingest(
    session: Session,
    actor: Actor,
    settings: Settings,
    study_key: str,
    items: list[IngestItem],
    progress: Progress | None = None,
) -> list[IngestOutcome]:
    """Ingest films here and now, one after another, through the same jobs the workers run
    (so a crash mid-way is recovered like any job). Commits after each film."""
    queued = _register(session, actor, settings, study_key, items, hash_now=True, send_now=False)
    study = get_study(session, study_key)
    outcomes: list[IngestOutcome] = []
    n = len(queued)
    for i, q in enumerate(queued):
        if q.job_id is None:
            outcomes.append(IngestOutcome(q.original_name, q.status, q.blind_code, q.reason))
            continue

        def step(frac: float, msg: str, i: int = i, name: str = q.original_name) -> None:
            if progress:
                progress((i + frac) / n, f"{name}: {msg}")

        step(0.0, "checking")
        jobs.execute(settings, q.job_id, echo=step)
        session.expire_all()
        rec = session.scalars(select(Recording).where(Recording.blind_code == q.blind_code)).one()
        outcomes.append(IngestOutcome(q.original_name, rec.status, rec.blind_code, rec.error))
    audit.record(
        session,
        actor,
        "films.ingest",
        study_id=study.id,
        ready=sum(o.status == "ready" for o in outcomes),
        failed=sum(o.status == "failed" for o in outcomes),
        duplicate=sum(o.status == "duplicate" for o in outcomes),
    )
    session.commit()
    if progress:
        progress(1.0, "done")
    return outcomes


def list_recordings(session: Session, actor: Actor, study_key: str) -> list[RecordingInfo]:
    """Every recording of a study with its status.

    It shows the allocation, so in full only to those who see it (policy ``sees_allocation``). A
    researcher kept blinded by the study's setting gets the assessment films without arms (an
    intervention film would tell the family's arm); the analyst gets none before unblinding.
    One statement: participant, arm, time point and the segment count are joined in SQL; the list
    is kept until the study's data changes (a film added or finishing its processing).
    """
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    allocation = allocation_visible(actor, study)
    if not allocation and actor.role == "analyst":
        require_operation(actor, Operation.VIEW_ALLOCATION, study)
    return list(
        cached(session, study, "list_recordings", (allocation,), lambda: _recordings(session, study, allocation))
    )


def _recordings(session: Session, study: Study, allocation: bool) -> list[RecordingInfo]:
    n_segments = (
        select(func.count(Segment.id))
        .where(Segment.recording_id == Recording.id)
        .correlate(Recording)
        .scalar_subquery()
    )
    query = (
        select(Recording, Participant.external_id, Arm.name, Timepoint.name, n_segments)
        .outerjoin(Participant, Recording.participant_id == Participant.id)
        .outerjoin(Arm, Participant.arm_id == Arm.id)
        .outerjoin(Timepoint, Recording.timepoint_id == Timepoint.id)
        .where(Recording.study_id == study.id)
        .order_by(Recording.created_at, Recording.id)
    )
    if not allocation:  # an intervention film would tell the family's arm
        query = query.where(Recording.purpose == "assessment")
    rows = session.execute(query).all()
    return [
        RecordingInfo(
            blind_code=r.blind_code,
            original_name=r.original_name,
            participant=participant,
            arm=arm if allocation else None,
            timepoint=timepoint,
            purpose=r.purpose,
            session_no=r.session_no,
            status=r.status,
            reason=r.error,
            proxy_file=r.proxy_path.rsplit("/", 1)[-1] if r.proxy_path else None,
            duration_s=r.duration_s,
            width=r.width,
            height=r.height,
            fps=r.fps,
            has_audio=r.has_audio,
            source_codec=r.source_codec,
            n_segments=int(n or 0),
        )
        for r, participant, arm, timepoint, n in rows
    ]
