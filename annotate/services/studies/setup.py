"""Studies: creation with arms, time points and a pinned rating scheme; participant import."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.config import Settings
from annotate.db.models import Arm, Assignment, Participant, Rating, Recording, Scheme, Study, Timepoint
from annotate.reports.csvio import read_csv_rows
from annotate.schemes import Dimension, SchemeError, load_schemes_dir, parse_scheme, scheme_sha256
from annotate.schemes import Scheme as SchemeModel
from annotate.services.accounts import audit
from annotate.services.accounts.users import get_user
from annotate.services.actor import Actor, require_role
from annotate.services.errors import ImportRejected, NotFound, RowError, ServiceError
from annotate.services.policy import READ_ROLES, Operation

KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
_TRUE = {"1", "yes", "y", "true", "t"}
_FALSE = {"0", "no", "n", "false", "f"}


@dataclass(frozen=True)
class StudyInfo:
    key: str
    title: str
    status: str
    arms: list[str]
    timepoints: list[str]
    scheme_key: str
    scheme_version: str
    segment_seconds: float | None
    n_participants: int
    n_recordings: int


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int


def available_schemes(settings: Settings) -> dict[str, tuple[SchemeModel, str]]:
    """The shipped rating schemes, ``{key: (scheme, yaml_text)}``; a malformed file is a SchemeError
    naming file, line and field (shown as a message by the pages)."""
    return load_schemes_dir(settings.schemes_dir)


def pin_scheme(session: Session, settings: Settings, scheme_key: str) -> Scheme:
    """The stored copy of a shipped scheme; creates it, or refuses a silent change under ratings."""
    available = load_schemes_dir(settings.schemes_dir)
    if scheme_key not in available:
        raise NotFound(
            f"No rating scheme {scheme_key!r} in {settings.schemes_dir}; available: "
            f"{', '.join(sorted(available)) or 'none'}."
        )
    model, text = available[scheme_key]
    digest = scheme_sha256(text)
    row = session.scalar(select(Scheme).where(Scheme.key == model.key, Scheme.version == model.version))
    if row is None:
        row = Scheme(key=model.key, version=model.version, title=model.title, yaml_text=text, sha256=digest)
        session.add(row)
        session.flush()
        return row
    if row.sha256 != digest:
        used = session.scalar(select(func.count()).select_from(Rating).where(Rating.scheme_id == row.id))
        if used:
            raise ServiceError(
                f"Rating scheme {model.key} version {model.version} was changed on disk but "
                f"{used} rating(s) already use the stored copy. Give the edited file a new "
                f"`version` so existing ratings keep the scale they were made with."
            )
        row.yaml_text, row.sha256, row.title = text, digest, model.title
    return row


@lru_cache(maxsize=64)
def _parsed_scheme(yaml_text: str, origin: str) -> SchemeModel:
    return parse_scheme(yaml_text, origin=origin)


def scheme_model(row: Scheme) -> SchemeModel:
    """The parsed scheme of a stored (pinned) copy.

    Parsing the YAML takes tens of milliseconds and every score saved needs the scheme, so the
    parse is kept per text (a pinned copy never changes); callers get their own deep copy.
    """
    return _parsed_scheme(row.yaml_text, f"stored scheme {row.key} {row.version}").model_copy(deep=True)


def _split_names(values: list[str] | str, what: str) -> list[str]:
    items = values.split(",") if isinstance(values, str) else list(values)
    names = [v.strip() for v in items if v.strip()]
    if not names:
        raise ServiceError(f"Give at least one {what} name.")
    if len({n.lower() for n in names}) != len(names):
        raise ServiceError(f"The {what} names must differ: {', '.join(names)}.")
    return names


def create_study(
    session: Session,
    actor: Actor,
    settings: Settings,
    key: str,
    *,
    arms: list[str] | str,
    timepoints: list[str] | str,
    scheme_key: str,
    segment_seconds: float | None = None,
    title: str | None = None,
) -> StudyInfo:
    require_role(actor, "researcher")
    key = key.strip()
    if not KEY_RE.match(key):
        raise ServiceError(f"Study key {key!r} is not allowed: use letters, digits, '_' or '-' (up to 80).")
    if session.scalar(select(Study).where(Study.key == key)):
        raise ServiceError(f"A study with key {key!r} already exists.")
    if segment_seconds is not None and segment_seconds <= 0:
        raise ServiceError("Segment length must be a positive number of seconds (or empty for whole films).")
    arm_names = _split_names(arms, "arm")
    tp_names = _split_names(timepoints, "time point")
    scheme = pin_scheme(session, settings, scheme_key)
    study = Study(key=key, title=title or key, scheme=scheme, segment_seconds=segment_seconds)
    session.add(study)
    session.flush()
    for i, name in enumerate(arm_names):
        session.add(Arm(study_id=study.id, name=name, ordinal=i))
    for i, name in enumerate(tp_names):
        session.add(Timepoint(study_id=study.id, name=name, ordinal=i))
    session.flush()
    audit.record(session, actor, "study.create", study_id=study.id, key=key, scheme=scheme_key)
    return study_info(session, actor, key)


def get_study(session: Session, key: str) -> Study:
    study = session.scalar(select(Study).where(Study.key == key))
    if study is None:
        known = session.scalars(select(Study.key).order_by(Study.key)).all()
        raise NotFound(f"No study {key!r}; known studies: {', '.join(known) or 'none yet'}.")
    return study


def study_info(session: Session, actor: Actor, key: str) -> StudyInfo:
    """A study's overview; arms by their real names only for those who see the allocation now
    (the analyst and blinded researchers get the masked labels, Arm A / Arm B)."""
    from annotate.services.studies.gate import allocation_visible, arm_mask, require_operation

    study = get_study(session, key)
    require_operation(actor, Operation.READ_STUDY, study)
    arms = [a.name for a in study.arms] if allocation_visible(actor, study) else sorted(arm_mask(study).values())
    n_part = session.scalar(select(func.count()).select_from(Participant).where(Participant.study_id == study.id))
    n_rec = session.scalar(select(func.count()).select_from(Recording).where(Recording.study_id == study.id))
    return StudyInfo(
        key=study.key,
        title=study.title,
        status=study.status,
        arms=arms,
        timepoints=[t.name for t in study.timepoints],
        scheme_key=study.scheme.key,
        scheme_version=study.scheme.version,
        segment_seconds=study.segment_seconds,
        n_participants=n_part or 0,
        n_recordings=n_rec or 0,
    )


def list_studies(session: Session, actor: Actor) -> list[StudyInfo]:
    require_role(actor, *READ_ROLES)
    keys = session.scalars(select(Study.key).order_by(Study.created_at)).all()
    return [study_info(session, actor, k) for k in keys]


def _parse_bool(raw: str) -> bool | None:
    low = raw.strip().lower()
    if low == "":
        return None
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"per_protocol must be yes/no (or 1/0, true/false); got {raw!r}")


def _covariate(raw: str) -> float | str | None:
    if raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        return raw


MAX_PARTICIPANT_ID: int = Participant.__table__.c.external_id.type.length  # type: ignore[attr-defined]
"""The longest participant id the database column holds (checked at import, on every database)."""


def import_participants(session: Session, actor: Actor, study_key: str, data: bytes | str) -> ImportSummary:
    """Import allocation (participant, arm; optional per_protocol, clinician, covariates).

    All-or-nothing: any bad row rejects the whole file with row-numbered reasons. Re-importing
    the same file changes nothing; an allocation can never change arm. Only those who may see the
    allocation import it (admins, when the study keeps its researchers blinded).
    """
    from annotate.services.studies.gate import require_operation

    require_role(actor, "researcher")
    study = get_study(session, study_key)
    require_operation(actor, Operation.VIEW_ALLOCATION, study)
    rows = read_csv_rows(data, "Participants file", ["participant", "arm"])
    arms = {a.name.lower(): a for a in study.arms}
    existing = {p.external_id: p for p in session.scalars(select(Participant).where(Participant.study_id == study.id))}
    fixed = ("participant", "arm", "per_protocol", "clinician")
    extra_cols = [c for c in _header_of(rows) if c not in fixed]
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    parsed = []
    for i, row in enumerate(rows, start=2):
        if not row:
            continue
        pid, arm_name = row.get("participant", ""), row.get("arm", "")
        if not pid:
            errors.append(RowError(i, "participant id is empty"))
            continue
        if any(ch < " " or ch == "\x7f" for ch in pid):
            # A line break or tab inside a quoted id is invisible in most tables and breaks the
            # joins of every export; refuse it rather than store an id nobody can type again.
            errors.append(
                RowError(i, f"participant id {pid!r} holds a line break, tab or other control character; remove it")
            )
            continue
        if len(pid) > MAX_PARTICIPANT_ID:
            errors.append(
                RowError(i, f"participant id is {len(pid):,} characters long; at most {MAX_PARTICIPANT_ID} fit")
            )
            continue
        if pid in seen:
            errors.append(RowError(i, f"participant {pid} already appears on row {seen[pid]}"))
            continue
        seen[pid] = i
        arm = arms.get(arm_name.lower())
        if arm is None:
            errors.append(
                RowError(i, f"arm {arm_name!r} is not an arm of {study.key} ({', '.join(a.name for a in study.arms)})")
            )
            continue
        if pid in existing and existing[pid].arm_id != arm.id:
            errors.append(
                RowError(
                    i,
                    f"participant {pid} is already allocated to {existing[pid].arm.name}; an allocation cannot change",
                )
            )
            continue
        try:
            per_protocol = _parse_bool(row.get("per_protocol", ""))
        except ValueError as exc:
            errors.append(RowError(i, str(exc)))
            continue
        clinician_id = None
        if row.get("clinician"):
            try:
                user = get_user(session, row["clinician"])
            except NotFound:
                errors.append(RowError(i, f"clinician {row['clinician']!r} is not a user"))
                continue
            if user.role != "clinician":
                errors.append(RowError(i, f"user {user.username} is a {user.role}, not a clinician"))
                continue
            clinician_id = user.id
        covariates = {c: _covariate(row.get(c, "")) for c in extra_cols}
        parsed.append((pid, arm, per_protocol, clinician_id, covariates))
    if errors:
        raise ImportRejected("Participants file", errors)
    if not parsed:
        raise ServiceError("Participants file: no data rows; add one row per participant.")
    created = updated = 0
    for pid, arm, per_protocol, clinician_id, covariates in parsed:
        p = existing.get(pid)
        if p is None:
            session.add(
                Participant(
                    study_id=study.id,
                    external_id=pid,
                    arm_id=arm.id,
                    per_protocol=per_protocol,
                    clinician_id=clinician_id,
                    covariates=covariates,
                )
            )
            created += 1
        elif (p.per_protocol, p.clinician_id, p.covariates) != (per_protocol, clinician_id, covariates):
            p.per_protocol, p.clinician_id, p.covariates = per_protocol, clinician_id, covariates
            updated += 1
    session.flush()
    audit.record(session, actor, "participants.import", study_id=study.id, created=created, updated=updated)
    return ImportSummary(created=created, updated=updated)


def _header_of(rows: list[dict[str, str]]) -> list[str]:
    for row in rows:
        if row:
            return list(row.keys())
    return []


def participant_ids(session: Session, actor: Actor, study_key: str) -> list[str]:
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    return list(
        session.scalars(
            select(Participant.external_id).where(Participant.study_id == study.id).order_by(Participant.external_id)
        )
    )


def study_scheme(session: Session, study: Study, scheme_key: str | None = None) -> tuple[Scheme, SchemeModel]:
    """The stored scheme of a study: its pinned scheme, or another one its assignments used."""
    if scheme_key is None or scheme_key == study.scheme.key:
        return study.scheme, scheme_model(study.scheme)
    used = session.scalars(
        select(Scheme)
        .join(Assignment, Assignment.scheme_id == Scheme.id)
        .where(Assignment.study_id == study.id, Scheme.key == scheme_key)
        .order_by(Scheme.id.desc())
    ).first()
    if used is None:
        raise NotFound(f"Study {study.key} has no ratings on scheme {scheme_key!r}; its scheme is {study.scheme.key}.")
    return used, scheme_model(used)


def pick_dimension(model: SchemeModel, name: str | None) -> Dimension:
    names = [d.name for d in model.dimensions]
    if name is None:
        if len(names) == 1:
            return model.dimensions[0]
        raise ServiceError(f"Choose a dimension of {model.key}: {', '.join(names)}.")
    try:
        return model.dimension(name)
    except (SchemeError, KeyError):
        raise ServiceError(f"Scheme {model.key} has no dimension {name!r}; choose one of {', '.join(names)}.") from None
