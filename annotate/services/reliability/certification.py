"""Rater certification: calibration sets with master (gold) scores, trainees, pass or fail.

A researcher makes a calibration set of assessment segments with master scores per segment
and dimension, typed in or copied from a named master rater's done ratings, and a criterion
(default ICC(A,1) >= .70 and >= 80% of segments within one point of the master; settable per
set). Assigning a trainee gives them the segments in their normal, blind queue (assignments
with purpose ``calibration``). Once the trainee has finished every segment,
:func:`certification_report` compares their scores with the master scores per dimension:
ICC(A,1) (McGraw & Wong 1996; Shrout & Fleiss ICC(2,1)) with its exact 95% CI, and percent
exact / within-one agreement as R irr's ``agree`` (via :mod:`annotate.stats.reliability`).
Drift checks are later sets assigned to the same raters. Creating, assigning and certifying
are written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotate.db.models import Assignment, Rating, Recording, Segment, Study, User, utcnow
from annotate.db.models import Scheme as SchemeRow
from annotate.db.models_calibration import (
    DEFAULT_MIN_ICC,
    DEFAULT_MIN_WITHIN_1,
    CalibrationItem,
    CalibrationSet,
    CalibrationTrainee,
)
from annotate.services.accounts import audit
from annotate.services.accounts.users import get_user
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotFound, ServiceError
from annotate.services.policy import StudyStatus
from annotate.services.reliability.masters import master_entered, master_from_rater
from annotate.services.studies.setup import get_study, scheme_model
from annotate.stats.reliability import (
    ReliabilityInputError,
    intraclass_correlations,
    percent_agreement,
    ratings_from_long,
)

MASTER = "(master)"  # usernames cannot contain parentheses, so this never clashes with a rater


class CertificationIncomplete(ServiceError):
    """The trainee has not finished every segment of the set yet."""


@dataclass(frozen=True)
class Criterion:
    """Pass mark of a set: every dimension must reach all of these (fractions, not percents)."""

    min_icc_a1: float = DEFAULT_MIN_ICC
    min_within_1: float = DEFAULT_MIN_WITHIN_1
    min_exact: float | None = None

    def check(self) -> Criterion:
        for name, value, low in (
            ("ICC(A,1)", self.min_icc_a1, -1.0),
            ("within one point", self.min_within_1, 0.0),
            ("exact agreement", self.min_exact, 0.0),
        ):
            if value is not None and not low <= value <= 1:
                raise ServiceError(
                    f"The minimum {name} must be between {low:g} and 1 (a fraction, e.g. 0.8 for 80%); got {value}."
                )
        return self


@dataclass(frozen=True)
class CalibrationCandidate:
    """A segment that can go into a set, with the raters who finished it (possible masters)."""

    segment_id: int
    label: str  # blind code and segment number
    start_s: float
    end_s: float
    done_by: tuple[str, ...]


@dataclass(frozen=True)
class TraineeStatus:
    rater: str
    n_done: int
    n_total: int
    checked_at: dt.datetime | None
    passed: bool | None


@dataclass(frozen=True)
class CalibrationSetInfo:
    id: int
    name: str
    study_key: str
    scheme_key: str
    scheme_version: str
    n_segments: int
    segment_labels: tuple[str, ...]
    dimensions: tuple[str, ...]  # dimensions with master scores
    master_source: str  # "entered" or "rater"
    master_rater: str | None
    criterion: Criterion
    created_at: dt.datetime
    trainees: tuple[TraineeStatus, ...]


@dataclass(frozen=True)
class CertificationResult:
    """Agreement of a trainee with the master scores on one dimension."""

    dimension: str
    icc_a1: float | None  # None: not computable (e.g. no variance among the scores)
    ci95: tuple[float | None, float | None]
    pct_exact: float
    pct_within_1: float
    n_segments: int
    passed: bool
    criterion: Criterion
    note: str | None = None  # why the ICC is missing (then the dimension cannot pass)


@dataclass(frozen=True)
class CertificationReport:
    """A trainee's results on a set; ``passed`` when every dimension passes."""

    set_name: str
    rater: str
    n_segments: int
    criterion: Criterion
    results: tuple[CertificationResult, ...]
    passed: bool


def _label(rec: Recording, seg: Segment) -> str:
    return f"{rec.blind_code}-{seg.index + 1}"


def get_calibration_set(session: Session, ref: str | int) -> CalibrationSet:
    """A set by id or name."""
    row = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        row = session.get(CalibrationSet, int(ref))
    if row is None and isinstance(ref, str):
        row = session.scalar(select(CalibrationSet).where(CalibrationSet.name == ref.strip()))
    if row is None:
        known = session.scalars(select(CalibrationSet.name).order_by(CalibrationSet.name)).all()
        raise NotFound(f"No calibration set {ref!r}; known sets: {', '.join(known) or 'none yet'}.")
    return row


def calibration_candidates(session: Session, actor: Actor, study_key: str) -> list[CalibrationCandidate]:
    """Segments of ready assessment films of a study, each with the raters who finished it."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    rows = session.execute(
        select(Segment, Recording)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(Recording.study_id == study.id, Recording.status == "ready", Recording.purpose == "assessment")
        .order_by(Recording.blind_code, Segment.index)
    ).all()
    done: dict[int, set[str]] = {}
    for seg_id, name in session.execute(
        select(Assignment.segment_id, User.username)
        .join(User, Assignment.rater_id == User.id)
        .where(Assignment.study_id == study.id, Assignment.status == "done", Assignment.purpose != "calibration")
    ):
        done.setdefault(seg_id, set()).add(name)
    return [
        CalibrationCandidate(seg.id, _label(rec, seg), seg.start_s, seg.end_s, tuple(sorted(done.get(seg.id, ()))))
        for seg, rec in rows
    ]


def create_calibration_set(
    session: Session,
    actor: Actor,
    study_key: str,
    name: str,
    segment_ids: Sequence[int],
    *,
    master_rater: str | None = None,
    master_scores: Mapping[int, Mapping[str, float | None]] | None = None,
    criterion: Criterion = Criterion(),
    note: str = "",
) -> CalibrationSetInfo:
    """Create a calibration set of segments with master scores (from a rater or typed in).

    Parameters
    ----------
    study_key : str
    name : str
        Unique name of the set, e.g. ``"Calibration 2026-03"``.
    segment_ids : sequence of int
        At least two ready assessment segments of the study.
    master_rater : str, optional
        Copy the master scores from this user's done ratings of the segments (every dimension).
    master_scores : mapping, optional
        ``{segment_id: {dimension: value}}`` typed by the researcher; dimensions left empty for
        every segment are not part of the set. Give exactly one of the two.
    criterion : Criterion
        Pass mark; default ICC(A,1) >= .70 and >= 80% within one point.

    Examples
    --------
    >>> create_calibration_set(None, Actor(3, "rob", "Rob", "rater"), "T1", "x", [1, 2])
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher role; rob is a rater.
    """
    require_role(actor, "researcher")
    criterion.check()
    name = name.strip()
    if not name or len(name) > 120:
        raise ServiceError("Give the calibration set a name of 1 to 120 characters.")
    if session.scalar(select(CalibrationSet).where(CalibrationSet.name == name)):
        raise ServiceError(f"A calibration set named {name!r} already exists; choose another name.")
    if (master_rater is None) == (master_scores is None):
        raise ServiceError("Give the master scores either from a master rater or typed in, not both or neither.")
    study = get_study(session, study_key)
    model = scheme_model(study.scheme)
    by_id = {c.segment_id: c.label for c in calibration_candidates(session, actor, study_key)}
    chosen = list(dict.fromkeys(int(s) for s in segment_ids))
    unknown = [s for s in chosen if s not in by_id]
    if unknown:
        raise ServiceError(f"Segment(s) {unknown[:10]} are not ready assessment segments of {study.key}.")
    if len(chosen) < 2:
        raise ServiceError("A calibration set needs at least two segments (ten or more give a usable ICC).")
    segments = {sid: by_id[sid] for sid in chosen}
    master_user = None
    if master_rater is not None:
        master_user = get_user(session, master_rater)
        dims = [d.name for d in model.dimensions]
        scores = master_from_rater(session, study, study.scheme_id, master_user, segments, dims)
    else:
        scores = master_entered(master_scores or {}, segments, model)
    cal = CalibrationSet(
        name=name,
        study_id=study.id,
        scheme_id=study.scheme_id,
        master_source="rater" if master_user else "entered",
        master_rater_id=master_user.id if master_user else None,
        min_icc=criterion.min_icc_a1,
        min_within_1=criterion.min_within_1,
        min_exact=criterion.min_exact,
        note=note,
        created_by=actor.user_id,
    )
    session.add(cal)
    session.flush()
    for ordinal, sid in enumerate(chosen):
        session.add(CalibrationItem(set_id=cal.id, segment_id=sid, ordinal=ordinal, master_scores=scores[sid]))
    session.flush()
    audit.record(
        session,
        actor,
        "calibration.create",
        study_id=study.id,
        set=name,
        segments=len(chosen),
        master=master_user.username if master_user else "entered",
        criterion=asdict(criterion),
    )
    return calibration_set_info(session, actor, cal.id)


def _progress(session: Session, cal: CalibrationSet, rater_id: int) -> tuple[int, int]:
    seg_ids = [i.segment_id for i in cal.items]
    statuses = session.scalars(
        select(Assignment.status).where(
            Assignment.rater_id == rater_id,
            Assignment.purpose == "calibration",
            Assignment.scheme_id == cal.scheme_id,
            Assignment.segment_id.in_(seg_ids),
        )
    ).all()
    return sum(s == "done" for s in statuses), len(seg_ids)


def _criterion(cal: CalibrationSet) -> Criterion:
    return Criterion(min_icc_a1=cal.min_icc, min_within_1=cal.min_within_1, min_exact=cal.min_exact)


def calibration_set_info(session: Session, actor: Actor, ref: str | int) -> CalibrationSetInfo:
    """A set with its segments, criterion and each trainee's progress and latest outcome."""
    require_role(actor, "researcher")
    cal = get_calibration_set(session, ref)
    study = session.get_one(Study, cal.study_id)
    scheme = session.get_one(SchemeRow, cal.scheme_id)
    labels = {
        seg.id: _label(rec, seg)
        for seg, rec in session.execute(
            select(Segment, Recording)
            .join(Recording, Segment.recording_id == Recording.id)
            .where(Segment.id.in_([i.segment_id for i in cal.items]))
        )
    }
    trainees = []
    for t, username in session.execute(
        select(CalibrationTrainee, User.username)
        .join(User, CalibrationTrainee.rater_id == User.id)
        .where(CalibrationTrainee.set_id == cal.id)
        .order_by(User.username)
    ):
        n_done, n_total = _progress(session, cal, t.rater_id)
        trainees.append(TraineeStatus(username, n_done, n_total, t.checked_at, t.passed))
    dims = [d.name for d in scheme_model(scheme).dimensions]
    present = {d for i in cal.items for d in i.master_scores}
    master = session.get(User, cal.master_rater_id) if cal.master_rater_id else None
    return CalibrationSetInfo(
        id=cal.id,
        name=cal.name,
        study_key=study.key,
        scheme_key=scheme.key,
        scheme_version=scheme.version,
        n_segments=len(cal.items),
        segment_labels=tuple(labels[i.segment_id] for i in cal.items),
        dimensions=tuple(d for d in dims if d in present),
        master_source=cal.master_source,
        master_rater=master.username if master else None,
        criterion=_criterion(cal),
        created_at=cal.created_at,
        trainees=tuple(trainees),
    )


def list_calibration_sets(session: Session, actor: Actor, study_key: str | None = None) -> list[CalibrationSetInfo]:
    require_role(actor, "researcher")
    query = select(CalibrationSet.id).order_by(CalibrationSet.created_at, CalibrationSet.id)
    if study_key is not None:
        query = query.where(CalibrationSet.study_id == get_study(session, study_key).id)
    return [calibration_set_info(session, actor, i) for i in session.scalars(query).all()]


def assign_trainees(
    session: Session, actor: Actor, ref: str | int, raters: Sequence[str], *, seed: int | None = None
) -> dict[str, int]:
    """Put the set's segments in each trainee's queue (purpose calibration), in a shuffled order.

    Returns the number of new items per rater (0 when the rater was already assigned). A rater
    who already has any of the segments (they would recognise them) or who supplied the master
    scores is refused.
    """
    require_role(actor, "researcher")
    cal = get_calibration_set(session, ref)
    study = session.get_one(Study, cal.study_id)
    if not StudyStatus(study.status).ratings_editable:
        raise ServiceError(f"Study {study.key} is {study.status}: raters can no longer rate its segments.")
    if not raters:
        raise ServiceError("Choose at least one rater to assign.")
    seg_ids = [i.segment_id for i in cal.items]
    enrolled = set(session.scalars(select(CalibrationTrainee.rater_id).where(CalibrationTrainee.set_id == cal.id)))
    users = []
    for name in dict.fromkeys(raters):
        user = get_user(session, name)
        if user.role != "rater":
            raise ServiceError(f"{user.username} is a {user.role}; only raters can be certified.")
        if user.id == cal.master_rater_id:
            raise ServiceError(f"{user.username} supplied the master scores of {cal.name}; choose another rater.")
        if user.id in enrolled:
            continue
        seen = session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.rater_id == user.id, Assignment.segment_id.in_(seg_ids))
        )
        if seen:
            raise ServiceError(
                f"{user.username} already has {seen} of the {len(seg_ids)} segments of {cal.name} in their queue; "
                "a calibration needs segments the rater has not seen. Use another set for this rater."
            )
        users.append(user)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    rng = random.Random(seed)
    created: dict[str, int] = dict.fromkeys(dict.fromkeys(raters), 0)
    for user in users:
        order = list(seg_ids)
        rng.shuffle(order)
        start = session.scalar(select(func.max(Assignment.order_index)).where(Assignment.rater_id == user.id))
        start = -1 if start is None else start
        for offset, sid in enumerate(order, start=1):
            session.add(
                Assignment(
                    study_id=study.id,
                    rater_id=user.id,
                    segment_id=sid,
                    scheme_id=cal.scheme_id,
                    purpose="calibration",
                    order_index=start + offset,
                    status="assigned",
                )
            )
        session.add(CalibrationTrainee(set_id=cal.id, rater_id=user.id, assigned_by=actor.user_id))
        created[user.username] = len(order)
    session.flush()
    audit.record(session, actor, "calibration.assign", study_id=study.id, set=cal.name, seed=seed, created=created)
    return created


def _dimension_result(
    unit_scores: list[tuple[str, float, float]], dim, criterion: Criterion, trainee: str
) -> CertificationResult:
    n = len(unit_scores)
    units = [u for u, _, _ in unit_scores] * 2
    raters = [MASTER] * n + [trainee] * n
    scores = [m for _, m, _ in unit_scores] + [t for _, _, t in unit_scores]
    ratings = ratings_from_long(units, raters, scores, dim.allowed_values())
    exact = percent_agreement(ratings).value
    within = percent_agreement(ratings, 1).value
    note = None
    try:
        icc = intraclass_correlations(ratings)["ICC(A,1)"]
        value, ci = icc.value, (icc.ci95_low, icc.ci95_high)
        if value is None:
            note = "ICC(A,1) is undefined: the scores do not vary (every segment got the same score)."
    except ReliabilityInputError as exc:
        value, ci, note = None, (None, None), f"ICC(A,1) cannot be computed: {exc}"
    passed = (
        value is not None
        and value >= criterion.min_icc_a1
        and within >= criterion.min_within_1
        and (criterion.min_exact is None or exact >= criterion.min_exact)
    )
    return CertificationResult(dim.name, value, ci, exact, within, n, passed, criterion, note)


def certification_report(session: Session, actor: Actor, ref: str | int, rater: str) -> CertificationReport:
    """Compare a trainee's finished calibration ratings with the master scores (audited).

    Raises
    ------
    CertificationIncomplete
        The trainee has not finished every segment; the message says how many are left.
    NotFound
        No such set, or the rater is not assigned to it.

    Examples
    --------
    >>> certification_report(None, Actor(3, "rob", "Rob", "rater"), "Set A", "rob")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher role; rob is a rater.
    """
    require_role(actor, "researcher")
    cal = get_calibration_set(session, ref)
    user = get_user(session, rater)
    trainee = session.scalar(
        select(CalibrationTrainee).where(CalibrationTrainee.set_id == cal.id, CalibrationTrainee.rater_id == user.id)
    )
    if trainee is None:
        raise NotFound(f"{user.username} is not assigned to calibration set {cal.name}; assign them first.")
    n_done, n_total = _progress(session, cal, user.id)
    if n_done < n_total:
        left = n_total - n_done
        raise CertificationIncomplete(
            f"{user.username} has finished {n_done} of {n_total} segments of {cal.name}; {left} "
            f"{'is' if left == 1 else 'are'} left. The certification is computed once all are done."
        )
    model = scheme_model(session.get_one(SchemeRow, cal.scheme_id))
    seg_ids = [i.segment_id for i in cal.items]
    trainee_scores: dict[tuple[int, str], float] = {
        (seg_id, dim): float(value)
        for seg_id, dim, value in session.execute(
            select(Rating.segment_id, Rating.dimension, Rating.value)
            .join(Assignment, Rating.assignment_id == Assignment.id)
            .where(
                Assignment.rater_id == user.id,
                Assignment.purpose == "calibration",
                Assignment.scheme_id == cal.scheme_id,
                Assignment.segment_id.in_(seg_ids),
                Rating.value.is_not(None),
            )
        )
        if value is not None
    }
    criterion = _criterion(cal)
    results = []
    for dim in model.dimensions:
        rows = [
            (str(item.segment_id), float(item.master_scores[dim.name]), trainee_scores[(item.segment_id, dim.name)])
            for item in cal.items
            if dim.name in item.master_scores and (item.segment_id, dim.name) in trainee_scores
        ]
        if rows:
            results.append(_dimension_result(rows, dim, criterion, user.username))
    if not results:
        raise ServiceError(f"{user.username} has no scores on the dimensions of {cal.name} with master scores.")
    report = CertificationReport(
        set_name=cal.name,
        rater=user.username,
        n_segments=n_total,
        criterion=criterion,
        results=tuple(results),
        passed=all(r.passed for r in results),
    )
    trainee.checked_at, trainee.passed = utcnow(), report.passed
    trainee.result = {"results": [asdict(r) for r in results]}
    session.flush()
    audit.record(
        session,
        actor,
        "calibration.certify",
        study_id=cal.study_id,
        set=cal.name,
        rater=user.username,
        passed=report.passed,
        results={r.dimension: {"icc_a1": r.icc_a1, "within_1": r.pct_within_1, "exact": r.pct_exact} for r in results},
    )
    return report
