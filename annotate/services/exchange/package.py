"""The study package: one zip that moves a study's definition and ratings to another database.

Exporting a study, importing the package into a fresh database and exporting again gives the same
bytes (members are sorted, zip timestamps fixed). The package holds, as UTF-8 CSV (RFC 4180: comma, CRLF,
quoted where needed; text neutralised as in :mod:`annotate.reports.csvio` and restored on import):

``study.json``        format ``annotate-study-package`` version 1: key, title, status, segment length,
                      arms and time points in order, scheme key/version/sha256, settings (without the
                      random arm mask, which is drawn again)
``scheme.yaml``       the pinned copy of the rating scheme (its sha256 is checked on import)
``users.csv``         username, display_name, role: raters who scored and clinicians named in the allocation
``participants.csv``  participant, arm, per_protocol, clinician, then covariate columns (the allocation format)
``films.csv``         film (code), participant, timepoint, purpose, session, original_name, original_sha256,
                      duration_s, fps, width, height, has_audio, status
``segments.csv``      film, segment (1-based), start, end, task (the segments import format)
``ratings.csv``       film, segment, rater, purpose, dimension, value, note (the ratings import format;
                      primary and second-rater scores)

Not in the package: media files (use ``annotate backup``), assignments without any score, calibration
sets, consensus decisions, the rating history, clips and the audit log, and timestamps. Imported
accounts get a random password (set a new one before they log in). Because the package contains
the real allocation, researchers may export it only after unblinding; admins at any time.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import Arm, Assignment, Participant, Rating, Recording, Scheme, Segment, Study, Timepoint, User
from annotate.reports.csvio import csv_text, format_number, read_csv_rows
from annotate.schemes import parse_scheme, scheme_sha256
from annotate.services import accounts, exchange, studies
from annotate.services.accounts import audit
from annotate.services.actor import Actor, require_role
from annotate.services.errors import PermissionDenied, ServiceError
from annotate.services.policy import READ_ROLES, Operation, study_package_allowed
from annotate.services.studies.gate import require_operation
from annotate.services.studies.setup import get_study

FORMAT = "annotate-study-package"
VERSION = 1
MEMBERS = ("study.json", "scheme.yaml", "users.csv", "participants.csv", "films.csv", "segments.csv", "ratings.csv")
FILM_COLUMNS = [
    "film",
    "participant",
    "timepoint",
    "purpose",
    "session",
    "original_name",
    "original_sha256",
    "duration_s",
    "fps",
    "width",
    "height",
    "has_audio",
    "status",
]
RATING_COLUMNS = ["film", "segment", "rater", "purpose", "dimension", "value", "note"]


@dataclass(frozen=True)
class PackageImport:
    study_key: str
    participants: int
    films: int
    segments: int
    ratings: int
    users_created: list[str]


def _csv(columns: list[str], rows: list[list[Any]]) -> str:
    return csv_text(columns, rows)


def _members_rows(files: dict[str, str], member: str, required: list[str]) -> list[dict[str, str]]:
    """A member CSV read back with the importers' reader (strict, cells byte for byte, guard removed)."""
    return [r for r in read_csv_rows(files[member], f"{member} in the study package", required, verbatim=True) if r]


def _num(value: float | int | None) -> str:
    return "" if value is None else repr(value)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def export_study_package(session: Session, actor: Actor, study_key: str) -> bytes:
    """The study package as zip bytes (contents in the module docstring)."""
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    if not study_package_allowed(study.status, actor.role):
        raise PermissionDenied(
            "The study package contains the real allocation, so a researcher may export it only "
            f"after unblinding (the study is {study.status}); an admin can export it at any time."
        )
    require_operation(actor, Operation.STUDY_PACKAGE, study)
    scheme = study.scheme
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "key": study.key,
        "title": study.title,
        "status": study.status,
        "segment_seconds": study.segment_seconds,
        "arms": [a.name for a in study.arms],
        "timepoints": [t.name for t in study.timepoints],
        "scheme": {"key": scheme.key, "version": scheme.version, "sha256": scheme.sha256},
        "settings": {k: v for k, v in sorted((study.settings or {}).items()) if k != "arm_mask"},
    }
    names = {u.id: u for u in session.scalars(select(User))}
    parts = session.scalars(select(Participant).where(Participant.study_id == study.id)).all()
    covariates = sorted({k for p in parts for k in (p.covariates or {})})
    part_rows = sorted(
        [
            p.external_id,
            p.arm.name,
            _yes_no(p.per_protocol),
            names[p.clinician_id].username if p.clinician_id else "",
            *(
                ""
                if (p.covariates or {}).get(c) is None
                else (repr(v) if isinstance(v := p.covariates[c], float) else str(v))
                for c in covariates
            ),
        ]
        for p in parts
    )
    recs = session.scalars(select(Recording).where(Recording.study_id == study.id)).all()
    film_rows = sorted(
        [
            r.blind_code,
            r.participant.external_id if r.participant else "",
            r.timepoint.name if r.timepoint else "",
            r.purpose,
            _num(r.session_no),
            r.original_name,
            r.original_sha256 or "",
            _num(r.duration_s),
            _num(r.fps),
            _num(r.width),
            _num(r.height),
            _yes_no(r.has_audio),
            r.status,
        ]
        for r in recs
    )
    seg_rows = sorted(
        (
            [r.blind_code, s.index + 1, _num(s.start_s), _num(s.end_s), s.task_label or ""]
            for r in recs
            for s in r.segments
        ),
        key=lambda row: (row[0], row[1]),
    )
    rating_rows = []
    used: set[int] = {p.clinician_id for p in parts if p.clinician_id}
    for rating, a, seg, code in session.execute(
        select(Rating, Assignment, Segment, Recording.blind_code)
        .join(Assignment, Rating.assignment_id == Assignment.id)
        .join(Segment, Rating.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(
            Assignment.study_id == study.id, Assignment.purpose.in_(exchange.IMPORT_PURPOSES), Rating.value.is_not(None)
        )
    ):
        rating_rows.append(
            [
                code,
                seg.index + 1,
                names[a.rater_id].username,
                a.purpose,
                rating.dimension,
                format_number(rating.value) if rating.value is not None else "",
                a.note,
            ]
        )
        used.add(a.rater_id)
    rating_rows.sort(key=lambda row: (row[0], row[1], row[2], row[3], row[4]))
    user_rows = sorted([names[i].username, names[i].display_name, names[i].role] for i in used)
    members = {
        "study.json": json.dumps(meta, indent=2, sort_keys=True) + "\n",
        "scheme.yaml": scheme.yaml_text,
        "users.csv": _csv(["username", "display_name", "role"], user_rows),
        "participants.csv": _csv(["participant", "arm", "per_protocol", "clinician", *covariates], part_rows),
        "films.csv": _csv(FILM_COLUMNS, film_rows),
        "segments.csv": _csv(["film", "segment", "start", "end", "task"], seg_rows),
        "ratings.csv": _csv(RATING_COLUMNS, rating_rows),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in MEMBERS:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, members[name])
    audit.record(
        session, actor, "export.study_package", study_id=study.id, ratings=len(rating_rows), films=len(film_rows)
    )
    return buf.getvalue()


def _read_package(data: bytes) -> dict[str, str]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ServiceError(
            "This is not a study package (not a zip file); make one with `annotate export --format study`."
        ) from None
    with zf:
        missing = [m for m in MEMBERS if m not in zf.namelist()]
        if missing:
            raise ServiceError(f"The study package lacks {', '.join(missing)}; it is damaged or not a study package.")
        return {m: zf.read(m).decode("utf-8") for m in MEMBERS}


def _pin(session: Session, meta: dict, text: str) -> Scheme:
    want = meta["scheme"]
    if scheme_sha256(text) != want["sha256"]:
        raise ServiceError(
            "scheme.yaml in the package does not match its checksum in study.json; the package was edited."
        )
    row = session.scalar(select(Scheme).where(Scheme.key == want["key"], Scheme.version == want["version"]))
    if row is not None:
        if row.sha256 != want["sha256"]:
            raise ServiceError(
                f"This database already has scheme {want['key']} version {want['version']} with different "
                "content; give one of them a new version."
            )
        return row
    model = parse_scheme(text, origin="scheme.yaml in the study package")
    row = Scheme(key=model.key, version=model.version, title=model.title, yaml_text=text, sha256=want["sha256"])
    session.add(row)
    session.flush()
    return row


def _float(text: str) -> float | None:
    return float(text) if text else None


def import_study_package(session: Session, actor: Actor, data: bytes, *, new_key: str | None = None) -> PackageImport:
    """Create a study from a package made by :func:`export_study_package` (admins; creates accounts)."""
    require_role(actor, "admin")
    files = _read_package(data)
    meta = json.loads(files["study.json"])
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ServiceError(f"study.json is not a version {VERSION} {FORMAT}; this version cannot read it.")
    key = new_key or meta["key"]
    if session.scalar(select(Study.id).where(Study.key == key)):
        raise ServiceError(f"A study {key!r} already exists here; import under another key (--key NEW).")
    scheme = _pin(session, meta, files["scheme.yaml"])
    study = Study(
        key=key,
        title=meta["title"],
        scheme_id=scheme.id,
        segment_seconds=meta["segment_seconds"],
        settings=dict(meta["settings"]),
        status="setup",
    )
    session.add(study)
    session.flush()
    arms = {n: Arm(study_id=study.id, name=n, ordinal=i) for i, n in enumerate(meta["arms"])}
    tps = {n: Timepoint(study_id=study.id, name=n, ordinal=i) for i, n in enumerate(meta["timepoints"])}
    session.add_all([*arms.values(), *tps.values()])
    session.flush()
    created = []
    for row in _members_rows(files, "users.csv", ["username", "display_name", "role"]):
        found = session.scalar(select(User).where(User.username == row["username"]))
        if found is None:
            accounts.create_user(
                session, actor, row["username"], secrets.token_urlsafe(24), row["role"], row["display_name"]
            )
            created.append(row["username"])
        elif found.role != row["role"]:
            raise ServiceError(f"User {found.username} is a {found.role} here but a {row['role']} in the package.")
    part_summary = None
    if files["participants.csv"].count("\n") > 1:
        part_summary = studies.import_participants(session, actor, key, files["participants.csv"])
    pmap = {p.external_id: p for p in session.scalars(select(Participant).where(Participant.study_id == study.id))}
    recs: dict[str, Recording] = {}
    for row in _members_rows(files, "films.csv", FILM_COLUMNS):
        if session.scalar(select(Recording.id).where(Recording.blind_code == row["film"])):
            raise ServiceError(
                f"Film code {row['film']} is already used in this database; import into a fresh database."
            )
        rec = Recording(
            study_id=study.id,
            participant_id=pmap[row["participant"]].id if row["participant"] else None,
            timepoint_id=tps[row["timepoint"]].id if row["timepoint"] else None,
            purpose=row["purpose"],
            session_no=int(row["session"]) if row["session"] else None,
            blind_code=row["film"],
            original_name=row["original_name"],
            original_sha256=row["original_sha256"] or None,
            duration_s=_float(row["duration_s"]),
            fps=_float(row["fps"]),
            width=int(row["width"]) if row["width"] else None,
            height=int(row["height"]) if row["height"] else None,
            has_audio=None if not row["has_audio"] else row["has_audio"] == "yes",
            status=row["status"],
        )
        session.add(rec)
        recs[row["film"]] = rec
    session.flush()
    n_seg = 0
    for row in _members_rows(files, "segments.csv", ["film", "segment", "start", "end", "task"]):
        session.add(
            Segment(
                recording_id=recs[row["film"]].id,
                index=int(row["segment"]) - 1,
                start_s=float(row["start"]),
                end_s=float(row["end"]),
                task_label=row["task"] or None,
            )
        )
        n_seg += 1
    session.flush()
    n_ratings = 0
    if files["ratings.csv"].count("\n") > 1:
        n_ratings = exchange.import_ratings(session, actor, key, files["ratings.csv"], source="study package").created
    study.status = meta["status"]
    audit.record(
        session,
        actor,
        "study.import_package",
        study_id=study.id,
        source_key=meta["key"],
        films=len(recs),
        ratings=n_ratings,
        users_created=created,
    )
    return PackageImport(
        study_key=key,
        participants=part_summary.created if part_summary else 0,
        films=len(recs),
        segments=n_seg,
        ratings=n_ratings,
        users_created=created,
    )
