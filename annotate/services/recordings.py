"""Film ingest: probe, copy into the media store under a random name, proxy, thumbnails, segments.

Each film is committed on its own so a crash mid-way loses at most the film being worked on;
a film that cannot be used is kept as a ``failed`` recording with the reason, so the researcher
sees what was refused and why.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import PURPOSES, Participant, Recording, Segment, Study, Timepoint
from annotate.media import MediaError, make_proxy, make_thumbnails, plan_segments, probe
from annotate.services import audit
from annotate.services.actor import Actor, require_role
from annotate.services.clips import cached_activity
from annotate.services.csvio import read_csv_rows
from annotate.services.errors import ImportRejected, RowError, ServiceError
from annotate.services.studies import get_study

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
        items.append(IngestItem(path, row.get("participant") or None, row.get("timepoint") or None, purpose, session_no))
    if errors:
        raise ImportRejected("Film manifest", errors)
    return items


def items_from_pattern(
    paths: Iterable[Path], pattern: str, purpose: str = "assessment"
) -> list[IngestItem]:
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


def _resolve_items(session: Session, study: Study, items: list[IngestItem]) -> list[tuple[IngestItem, Participant | None, Timepoint | None]]:
    participants = {
        p.external_id: p
        for p in session.scalars(select(Participant).where(Participant.study_id == study.id))
    }
    timepoints = {t.name.lower(): t for t in study.timepoints}
    resolved, errors = [], []
    for n, item in enumerate(items, start=1):
        where = f"{item.path.name}"
        if item.purpose not in PURPOSES:
            errors.append(RowError(n, f"{where}: purpose must be assessment or intervention"))
            continue
        part = participants.get(item.participant or "")
        if part is None:
            errors.append(RowError(n, f"{where}: participant {item.participant!r} is not in study {study.key}; import the allocation first"))
            continue
        tp = None
        if item.purpose == "assessment":
            tp = timepoints.get((item.timepoint or "").lower())
            if tp is None:
                errors.append(RowError(n, f"{where}: time point {item.timepoint!r} is not one of {', '.join(t.name for t in study.timepoints)}"))
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


def _copy_hashed(src: Path, dst: Path) -> str:
    digest = hashlib.sha256()
    tmp = dst.with_suffix(dst.suffix + ".part")
    with src.open("rb") as fin, tmp.open("wb") as fout:
        while chunk := fin.read(1 << 20):
            digest.update(chunk)
            fout.write(chunk)
    tmp.replace(dst)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (films are large); used by ingest and backups."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def ingest(
    session: Session,
    actor: Actor,
    settings: Settings,
    study_key: str,
    items: list[IngestItem],
    progress: Progress | None = None,
) -> list[IngestOutcome]:
    """Ingest films into a study. Commits after each film (long work must survive a crash)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    if not items:
        raise ServiceError("No films to ingest: give files, a folder with films, or a manifest.")
    resolved = _resolve_items(session, study, items)
    store = settings.media_dir
    for sub in ("originals", "proxies", "thumbs"):
        (store / sub).mkdir(parents=True, exist_ok=True)
    known = {
        sha: code
        for sha, code in session.execute(
            select(Recording.original_sha256, Recording.blind_code).where(
                Recording.study_id == study.id, Recording.status == "ready"
            )
        )
    }
    outcomes: list[IngestOutcome] = []
    n = len(resolved)
    for i, (item, part, tp) in enumerate(resolved):
        def step(frac: float, msg: str, i: int = i) -> None:
            if progress:
                progress((i + frac) / n, f"{item.path.name}: {msg}")

        step(0.0, "checking")
        sha = sha256_file(item.path) if item.path.is_file() else None
        if sha and sha in known:
            outcomes.append(IngestOutcome(item.path.name, "duplicate", known[sha], f"already ingested as film {known[sha]}"))
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
        session.commit()
        outcomes.append(_process(session, settings, study, rec, item.path, step))
        session.commit()
        if rec.status == "ready" and sha:
            known[sha] = rec.blind_code
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


def _process(
    session: Session, settings: Settings, study: Study, rec: Recording, src: Path, step: Callable[[float, str], None]
) -> IngestOutcome:
    store = settings.media_dir
    try:
        info = probe(src)
    except MediaError as exc:
        rec.status, rec.error = "failed", str(exc)
        return IngestOutcome(rec.original_name, "failed", rec.blind_code, str(exc))
    step(0.05, "copying original")
    name = secrets.token_hex(16)
    original = store / "originals" / f"{name}{src.suffix.lower()}"
    _copy_hashed(src, original)
    proxy = store / "proxies" / f"{secrets.token_hex(16)}.mp4"
    try:
        step(0.1, "making browser proxy")
        out = make_proxy(original, proxy, progress=lambda f: step(0.1 + 0.8 * f, "making browser proxy"))
        step(0.92, "thumbnails")
        thumbs = store / "thumbs" / proxy.stem
        make_thumbnails(proxy, thumbs)
    except MediaError as exc:
        rec.status, rec.error = "failed", str(exc)
        original.unlink(missing_ok=True)
        return IngestOutcome(rec.original_name, "failed", rec.blind_code, str(exc))
    rec.original_path = str(original)
    rec.proxy_path = str(proxy)
    rec.thumbs_dir = str(thumbs)
    rec.size_bytes = info.size_bytes
    rec.source_codec = info.video_codec
    rec.duration_s = out.duration_s
    rec.fps = out.fps
    rec.width, rec.height = out.display_width, out.display_height
    rec.has_audio = out.has_audio
    if rec.purpose == "intervention":
        step(0.95, "activity curve")
        cached_activity(rec)  # the clinicians' activity curve: only their films need it
    for span in plan_segments(out.duration_s, study.segment_seconds):
        session.add(Segment(recording_id=rec.id, index=span.index, start_s=span.start_s, end_s=span.end_s))
    rec.status, rec.error = "ready", None
    return IngestOutcome(rec.original_name, "ready", rec.blind_code, None)


def list_recordings(session: Session, actor: Actor, study_key: str) -> list[RecordingInfo]:
    """Every recording of a study with its status (researchers only: it shows allocation)."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    recs = session.scalars(
        select(Recording).where(Recording.study_id == study.id).order_by(Recording.created_at, Recording.id)
    ).all()
    return [
        RecordingInfo(
            blind_code=r.blind_code,
            original_name=r.original_name,
            participant=r.participant.external_id if r.participant else None,
            arm=r.participant.arm.name if r.participant else None,
            timepoint=r.timepoint.name if r.timepoint else None,
            purpose=r.purpose,
            session_no=r.session_no,
            status=r.status,
            reason=r.error,
            proxy_file=Path(r.proxy_path).name if r.proxy_path else None,
            duration_s=r.duration_s,
            width=r.width,
            height=r.height,
            fps=r.fps,
            has_audio=r.has_audio,
            source_codec=r.source_codec,
            n_segments=len(r.segments),
        )
        for r in recs
    ]

