"""Inter-rater reliability of a study's ratings, for researchers; never needs the allocation key.

The ratings of one dimension are read as a long table (unit = blind segment label, rater =
username, score, completion time), restricted to segments finished ("done") by two or more
raters, and summarised by :func:`annotate.services.reliability_table.reliability_summary`
on the dimension's full scale (every allowed value, used or not: unused points change
weighted kappa and AC2). The level of measurement is interval (numeric rating scales).

Nothing here reads participants, arms or time points: units are labelled by the film's blind
code and the segment number, so a report can be shown to anyone allowed to see reliability.

Reading of the ICC follows Koo & Li (2016), "A guideline of selecting and reporting
intraclass correlation coefficients for reliability research", J Chiropr Med 15(2):155-163:
below .50 poor, .50 to below .75 moderate, .75 to .90 good, above .90 excellent; they advise
judging by the 95% confidence interval, so the band of each bound is reported too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotate.db.models import ASSIGNMENT_PURPOSES, Assignment, Rating, Recording, Segment, Study, User
from annotate.db.models import Scheme as SchemeRow
from annotate.schemes import Dimension, SchemeError
from annotate.schemes import Scheme as SchemeModel
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotEnoughData, NotFound, ServiceError
from annotate.services.reliability_table import reliability_summary
from annotate.services.reliability_views import (  # noqa: F401  (re-exported: public names moved there)
    DRIFT_COLUMNS,
    BlandAltmanData,
    PairConfusion,
    _bland_altman,
    _confusion,
    agreement_over_time,
)
from annotate.services.studies import get_study, scheme_model
from annotate.stats.reliability import ReliabilityInputError

RATING_COLUMNS = ["unit", "segment_id", "rater", "score", "rated_at", "purpose"]
DEFAULT_PURPOSES = ("primary", "reliability")
KOO_LI_BANDS = ("poor", "moderate", "good", "excellent")


@dataclass(frozen=True)
class DimensionInfo:
    name: str
    label: str
    min: float
    max: float
    step: float


@dataclass(frozen=True)
class ReliabilityOptions:
    """What a researcher can choose from for one study (for the page's widgets)."""

    study_key: str
    scheme_key: str
    scheme_version: str
    dimensions: tuple[DimensionInfo, ...]
    raters: tuple[str, ...]  # raters with done ratings in the study
    first_done: dt.datetime | None
    last_done: dt.datetime | None


@dataclass(frozen=True)
class KooLiReading:
    """ICC(2,1) = ICC(A,1) with its 95% CI and the Koo & Li (2016) band of each."""

    value: float
    ci95_low: float | None
    ci95_high: float | None
    band: str
    band_low: str | None
    band_high: str | None
    form: str = "ICC(2,1)"
    mcgraw_wong: str = "ICC(A,1)"

    @property
    def range_text(self) -> str:
        """Koo & Li's recommended wording from the CI, e.g. ``"moderate to good"``."""
        if self.band_low is None or self.band_high is None:
            return self.band
        return self.band_low if self.band_low == self.band_high else f"{self.band_low} to {self.band_high}"


@dataclass(frozen=True, eq=False)
class ReliabilityReport:
    study_key: str
    scheme_key: str
    scheme_version: str
    dimension: str
    dimension_label: str
    categories: tuple[float, ...]
    level: str
    raters: tuple[str, ...] | None
    since: dt.datetime | None
    until: dt.datetime | None
    n_segments: int
    summary: dict[str, Any]  # the same JSON dict as `annotate stats reliability --json`
    koo_li: KooLiReading | None
    bland_altman: BlandAltmanData | None
    confusion: tuple[PairConfusion, ...]
    drift: pd.DataFrame  # DRIFT_COLUMNS
    ratings: pd.DataFrame = field(repr=False)  # RATING_COLUMNS


def koo_li_band(value: float) -> str:
    """Koo & Li (2016) band of an ICC value.

    Examples
    --------
    >>> [koo_li_band(v) for v in (0.3, 0.5, 0.75, 0.9, 0.95)]
    ['poor', 'moderate', 'good', 'good', 'excellent']
    """
    if not math.isfinite(value):
        raise ValueError(f"an ICC must be a finite number, got {value}")
    if value < 0.50:
        return "poor"
    if value < 0.75:
        return "moderate"
    if value <= 0.90:
        return "good"
    return "excellent"


def koo_li_reading(icc: dict[str, Any] | None) -> KooLiReading | None:
    """The reading of one ICC entry of the summary dict (None when the ICC is not computable).

    Examples
    --------
    >>> r = koo_li_reading({"value": 0.82, "ci95": [0.61, 0.93]})
    >>> r.band, r.band_low, r.band_high, r.range_text
    ('good', 'moderate', 'excellent', 'moderate to excellent')
    """
    if icc is None or icc.get("value") is None:
        return None
    low, high = icc["ci95"]
    return KooLiReading(
        value=icc["value"],
        ci95_low=low,
        ci95_high=high,
        band=koo_li_band(icc["value"]),
        band_low=None if low is None else koo_li_band(low),
        band_high=None if high is None else koo_li_band(high),
    )


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _bound(value: dt.date | dt.datetime | None, *, end: bool) -> dt.datetime | None:
    """A date means the whole day: ``since`` from its start, ``until`` to its end."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _as_utc(value)
    if isinstance(value, dt.date):
        start = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end else start
    raise ServiceError(f"A period bound must be a date or a date and time, not {value!r}.")


def study_scheme(session: Session, study: Study, scheme_key: str | None = None) -> tuple[SchemeRow, SchemeModel]:
    """The stored scheme of a study: its pinned scheme, or another one its assignments used."""
    if scheme_key is None or scheme_key == study.scheme.key:
        return study.scheme, scheme_model(study.scheme)
    used = session.scalars(
        select(SchemeRow)
        .join(Assignment, Assignment.scheme_id == SchemeRow.id)
        .where(Assignment.study_id == study.id, SchemeRow.key == scheme_key)
        .order_by(SchemeRow.id.desc())
    ).first()
    if used is None:
        raise NotFound(
            f"Study {study.key} has no ratings on scheme {scheme_key!r}; its scheme is {study.scheme.key}."
        )
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


def reliability_options(session: Session, actor: Actor, study_key: str) -> ReliabilityOptions:
    """Dimensions, raters and the time span of done ratings of a study."""
    require_role(actor, "researcher")
    study = get_study(session, study_key)
    model = scheme_model(study.scheme)
    rows = session.execute(
        select(User.username, Assignment.done_at)
        .join(User, Assignment.rater_id == User.id)
        .where(Assignment.study_id == study.id, Assignment.status == "done", Assignment.purpose.in_(DEFAULT_PURPOSES))
    ).all()
    times = [_as_utc(t) for _, t in rows if t is not None]
    return ReliabilityOptions(
        study_key=study.key,
        scheme_key=study.scheme.key,
        scheme_version=study.scheme.version,
        dimensions=tuple(DimensionInfo(d.name, d.label, d.min, d.max, d.step) for d in model.dimensions),
        raters=tuple(sorted({name for name, _ in rows})),
        first_done=min(times) if times else None,
        last_done=max(times) if times else None,
    )


def _check_raters(raters: Sequence[str] | None) -> tuple[str, str] | None:
    if raters is None:
        return None
    pair = tuple(r.strip().lower() for r in raters)
    if len(pair) != 2 or pair[0] == pair[1] or not all(pair):
        raise ServiceError(f"Choose two different raters for a rater pair, not {list(raters)}.")
    return pair  # type: ignore[return-value]


def reliability_ratings(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    dimension: str | None,
    raters: tuple[str, str] | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    purposes: Sequence[str] = DEFAULT_PURPOSES,
    scheme: str | None = None,
) -> pd.DataFrame:
    """Done ratings of one dimension on segments finished by two or more raters, as a long table.

    Parameters
    ----------
    session, actor
        A researcher (or admin).
    study_key : str
    dimension : str or None
        A dimension of the study's scheme (None when the scheme has only one).
    raters : (str, str), optional
        Keep only this rater pair (and the segments both finished).
    since, until : date or datetime, optional
        Keep ratings finished (marked done) in this period; a date means the whole day,
        ``until`` is exclusive for a datetime. Naive datetimes are UTC.
    purposes : sequence of str
        Assignment purposes to include (default primary and reliability; calibration ratings
        belong to certification).
    scheme : str, optional
        Scheme key, default the study's scheme.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit`` (blind code and segment number, e.g. ``"K7Q2M-3"``), ``segment_id``,
        ``rater`` (username), ``score``, ``rated_at`` (UTC), ``purpose``; one row per segment
        and rater (a rater's earlier purpose wins when they finished a segment twice), sorted
        by unit and rater.

    Examples
    --------
    >>> from annotate.services.actor import Actor
    >>> reliability_ratings(None, Actor(3, "rob", "Rob", "rater"), "T1", dimension="x")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher role; rob is a rater.
    """
    require_role(actor, "researcher")
    pair = _check_raters(raters)
    bad = [p for p in purposes if p not in ASSIGNMENT_PURPOSES]
    if bad or not purposes:
        raise ServiceError(f"Purposes must be some of {', '.join(ASSIGNMENT_PURPOSES)}; got {list(purposes)}.")
    study = get_study(session, study_key)
    scheme_row, model = study_scheme(session, study, scheme)
    dim = pick_dimension(model, dimension)
    low, high = _bound(since, end=False), _bound(until, end=True)
    if low and high and low >= high:
        raise ServiceError("The period is empty: its start must come before its end.")
    if pair:
        known = set(session.scalars(select(User.username).where(User.username.in_(pair))))
        missing = [r for r in pair if r not in known]
        if missing:
            raise NotFound(f"No user named {', '.join(missing)}.")
    rows = session.execute(
        select(
            Recording.blind_code, Segment.index, Rating.segment_id, User.username, Rating.value,
            Assignment.done_at, Assignment.purpose,
        )
        .join(Assignment, Rating.assignment_id == Assignment.id)
        .join(User, Rating.rater_id == User.id)
        .join(Segment, Rating.segment_id == Segment.id)
        .join(Recording, Segment.recording_id == Recording.id)
        .where(
            Assignment.study_id == study.id,
            Assignment.status == "done",
            Assignment.purpose.in_(list(purposes)),
            Recording.purpose == "assessment",
            Rating.dimension == dim.name,
            Rating.scheme_id == scheme_row.id,
            Rating.value.is_not(None),
        )
    ).all()
    frame = pd.DataFrame(
        [
            (f"{code}-{index + 1}", seg_id, user, float(value), _as_utc(done) if done else None, purpose)
            for code, index, seg_id, user, value, done, purpose in rows
        ],
        columns=RATING_COLUMNS,
    )
    if pair:
        frame = frame[frame["rater"].isin(pair)]
    if low is not None:
        frame = frame[frame["rated_at"].notna() & (frame["rated_at"] >= low)]
    if high is not None:
        frame = frame[frame["rated_at"].notna() & (frame["rated_at"] < high)]
    rank = {p: i for i, p in enumerate(purposes)}
    frame = (
        frame.assign(_rank=frame["purpose"].map(rank))
        .sort_values(["_rank", "rated_at"], kind="stable")
        .drop_duplicates(["segment_id", "rater"], keep="first")
        .drop(columns="_rank")
    )
    counts = frame.groupby("segment_id")["rater"].transform("size")
    frame = frame[counts >= 2]
    return frame.sort_values(["unit", "rater"], kind="stable").reset_index(drop=True)


def reliability_report(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    dimension: str | None,
    raters: tuple[str, str] | None = None,
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
    scheme: str | None = None,
    level: str = "interval",
    drift_by: str | int = "month",
) -> ReliabilityReport:
    """Reliability of one dimension of a study: statistics, Koo & Li reading, plots' data, drift.

    Same selection as :func:`reliability_ratings`. ``summary`` equals
    ``reliability_summary(report.ratings, categories=report.categories, level=level, ...)``,
    the dict ``annotate stats reliability --json`` prints.

    Examples
    --------
    >>> from annotate.services.actor import Actor
    >>> reliability_report(None, Actor(3, "rob", "Rob", "rater"), "T1", dimension="x")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher role; rob is a rater.
    """
    require_role(actor, "researcher")
    frame = reliability_ratings(
        session, actor, study_key, dimension=dimension, raters=raters, since=since, until=until, scheme=scheme
    )
    study = get_study(session, study_key)
    scheme_row, model = study_scheme(session, study, scheme)
    dim = pick_dimension(model, dimension)
    pair = _check_raters(raters)
    if frame.empty:
        chosen = f" by {pair[0]} and {pair[1]}" if pair else ""
        period = " in the chosen period" if since or until else ""
        raise NotEnoughData(
            f"No segment of {study.key} has {dim.label} ratings marked done by two raters{chosen}{period}. "
            "Reliability needs double-coded segments: assign segments to a second rater "
            "(Assign page, 'every chosen rater rates every segment') and let both finish them."
        )
    categories = tuple(dim.allowed_values())
    try:
        summary = reliability_summary(
            frame, categories=categories, level=level, bootstrap=bootstrap, seed=seed
        )
    except ReliabilityInputError as exc:
        raise ServiceError(f"Reliability of {dim.label}: {exc}") from None
    return ReliabilityReport(
        study_key=study.key,
        scheme_key=scheme_row.key,
        scheme_version=scheme_row.version,
        dimension=dim.name,
        dimension_label=dim.label,
        categories=categories,
        level=level,
        raters=pair,
        since=_bound(since, end=False),
        until=_bound(until, end=True),
        n_segments=int(frame["segment_id"].nunique()),
        summary=summary,
        koo_li=koo_li_reading(summary["icc"]["ICC(2,1)"]),
        bland_altman=_bland_altman(frame, pair),
        confusion=_confusion(frame, categories),
        drift=agreement_over_time(frame, categories, drift_by),
        ratings=frame,
    )
