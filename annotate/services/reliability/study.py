"""Inter-rater reliability of a study's ratings, for researchers; never needs the allocation key.

The ratings of one dimension are read as a long table (unit = blind segment label, rater =
username, score, completion time), restricted to segments finished ("done") by two or more
raters, and summarised by :func:`annotate.reports.reliability.reliability_from_frame`
on the dimension's full scale (every allowed value, used or not: unused points change
weighted kappa and AC2). The level of measurement is interval (numeric rating scales).

Nothing here reads participants, arms or time points: units are labelled by the film's blind
code and the segment number, so a report can be shown to anyone allowed to see reliability.

The engine's own design double-codes a share of segments, each by two raters drawn from the pool,
and cuts segments from films: ``reliability_report`` therefore passes the film (blind code) as the
cluster of each segment, so the table holds the incomplete-design ICCs (ten Hove et al. 2022), the
nested G-study (film, segment within film, rater, residual) and its D-study, and the recommended
coefficient (:func:`annotate.reports.reliability.recommend`); the Koo & Li reading is of that one.

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
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from annotate.db import arrow
from annotate.db.models import ASSIGNMENT_PURPOSES, Assignment, Rating, Recording, Segment, Study, User
from annotate.reports.reliability import Recommendation, ReliabilityTable, recommend, reliability_from_frame
from annotate.reports.reliability_views import (
    BlandAltmanView,
    PairConfusion,
    agreement_over_time,
    bland_altman_view,
    confusion_tables,
)
from annotate.services.actor import Actor, require_role
from annotate.services.errors import NotEnoughData, NotFound, ServiceError
from annotate.services.policy import READ_ROLES
from annotate.services.studies.revision import cached
from annotate.services.studies.setup import get_study, pick_dimension, scheme_model, study_scheme
from annotate.stats.reliability import IccResult, ReliabilityInputError

RATING_COLUMNS = ["unit", "segment_id", "rater", "score", "rated_at", "purpose", "film"]
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
    """The recommended ICC (ICC(2,1) = ICC(A,1) of a complete design, else ICC(A,1) of the incomplete
    design) with its 95% CI and the Koo & Li (2016) band of each."""

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
    table: ReliabilityTable  # reports.reliability_json(table) is what `annotate stats reliability --json` prints
    koo_li: KooLiReading | None
    bland_altman: BlandAltmanView | None
    confusion: tuple[PairConfusion, ...]
    drift: pd.DataFrame  # reports.reliability_views.DRIFT_COLUMNS
    ratings: pd.DataFrame = field(repr=False)  # RATING_COLUMNS
    recommendation: Recommendation | None = None  # which coefficient fits the design, and why
    cluster: str | None = "film"  # the G-study's cluster column (None: crossed units x raters)


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


def koo_li_reading(icc: IccResult | None) -> KooLiReading | None:
    """The Koo & Li reading of one ICC (None when the ICC is not computable).

    Examples
    --------
    >>> from annotate.stats.reliability import IccResult
    >>> icc = IccResult("ICC(2,1)", "ICC(A,1)", "", 0.82, 0.61, 0.93, 9.1, 9, 9, 0.001, 10, 2)
    >>> r = koo_li_reading(icc)
    >>> r.band, r.band_low, r.band_high, r.range_text
    ('good', 'moderate', 'excellent', 'moderate to excellent')
    """
    if icc is None or icc.value is None:
        return None
    low, high = icc.ci95_low, icc.ci95_high
    return KooLiReading(
        value=icc.value,
        ci95_low=low,
        ci95_high=high,
        band=koo_li_band(icc.value),
        band_low=None if low is None else koo_li_band(low),
        band_high=None if high is None else koo_li_band(high),
    )


def recommended_reading(recommendation: Recommendation | None) -> KooLiReading | None:
    """The Koo & Li reading of the recommended coefficient when it is an ICC (None otherwise).

    Examples
    --------
    >>> from annotate.reports.reliability import Recommendation
    >>> rec = Recommendation("ICC(A,1), incomplete design", "icc_incomplete.ICC(A,1)", 0.8, (0.6, 0.9), "", ())
    >>> r = recommended_reading(rec)
    >>> r.form, r.range_text
    ('ICC(A,1), incomplete design', 'moderate to good')
    """
    if recommendation is None or recommendation.value is None or not recommendation.key.startswith("icc"):
        return None
    low, high = recommendation.ci95
    form = "ICC(2,1)" if recommendation.key == "icc.ICC(2,1)" else recommendation.statistic
    return KooLiReading(
        value=recommendation.value,
        ci95_low=low,
        ci95_high=high,
        band=koo_li_band(recommendation.value),
        band_low=None if low is None else koo_li_band(low),
        band_high=None if high is None else koo_li_band(high),
        form=form,
        mcgraw_wong="ICC(A,1)",
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


def reliability_options(session: Session, actor: Actor, study_key: str) -> ReliabilityOptions:
    """Dimensions, raters and the time span of done ratings of a study."""
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    return cached(session, study, "reliability_options", (), lambda: _options(session, study))


def _options(session: Session, study: Study) -> ReliabilityOptions:
    model = scheme_model(study.scheme)
    # Aggregated in SQL: one row per rater, not one per done assignment.
    rows = session.execute(
        select(User.username, func.min(Assignment.done_at), func.max(Assignment.done_at))
        .join(User, Assignment.rater_id == User.id)
        .where(Assignment.study_id == study.id, Assignment.status == "done", Assignment.purpose.in_(DEFAULT_PURPOSES))
        .group_by(User.username)
    ).all()
    firsts = [_as_utc(t) for _, t, _ in rows if t is not None]
    lasts = [_as_utc(t) for _, _, t in rows if t is not None]
    return ReliabilityOptions(
        study_key=study.key,
        scheme_key=study.scheme.key,
        scheme_version=study.scheme.version,
        dimensions=tuple(DimensionInfo(d.name, d.label, d.min, d.max, d.step) for d in model.dimensions),
        raters=tuple(sorted({name for name, _, _ in rows})),
        first_done=min(firsts) if firsts else None,
        last_done=max(lasts) if lasts else None,
    )


def _check_raters(raters: Sequence[str] | None) -> tuple[str, str] | None:
    if raters is None:
        return None
    pair = tuple(r.strip().lower() for r in raters)
    if len(pair) != 2 or pair[0] == pair[1] or not all(pair):
        raise ServiceError(f"Choose two different raters for a rater pair, not {list(raters)}.")
    return pair[0], pair[1]


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
        ``rater`` (username), ``score``, ``rated_at`` (UTC), ``purpose``, ``film`` (the blind
        code: the cluster of the segment); one row per segment
        and rater (a rater's earlier purpose wins when they finished a segment twice), sorted
        by unit and rater.

    Examples
    --------
    >>> from annotate.services.actor import Actor
    >>> reliability_ratings(None, Actor(3, "rob", "Rob", "rater"), "T1", dimension="x")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher or analyst role; rob is a rater.
    """
    require_role(actor, *READ_ROLES)
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
    stmt = (
        select(
            Recording.blind_code,
            Segment.index,
            Rating.segment_id,
            User.username,
            Rating.value,
            Assignment.done_at,
            Assignment.purpose,
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
    )
    frame = _read_ratings(session, stmt)
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


def _read_ratings(session: Session, stmt: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    """The rows of ``stmt`` as the long table (``RATING_COLUMNS``).

    Why two readers: at a million ratings one dimension's 300,000 rows took 3.5 s as SQLAlchemy
    row tuples turned into Python datetimes one by one; Arrow batches through
    :mod:`annotate.db.arrow` (where ADBC serves the database) take a fraction of that. Both give
    the same frame, column types included (tests compare them)."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    if not arrow.available(url):
        return _ratings_frame_from_rows(session.execute(stmt).all())
    session.commit()  # the Arrow reader is another connection: it must see what this one wrote
    batches = [b for b in arrow.record_batches(url, arrow.sql_text(url, stmt)) if b.num_rows]
    if not batches:
        return _ratings_frame_from_rows([])
    table = pa.Table.from_batches(batches).combine_chunks()
    code, index, seg_id, user, value, done, purpose = (table.column(i).chunk(0) for i in range(7))
    number = pc.cast(pc.add(pc.cast(index, pa.int64()), 1), pa.string())
    rated_at = pd.Series(arrow.utc_naive(done).to_numpy(zero_copy_only=False)).dt.tz_localize("UTC")
    return pd.DataFrame(
        {
            "unit": pc.binary_join_element_wise(code, number, "-").to_numpy(zero_copy_only=False),
            "segment_id": pc.cast(seg_id, pa.int64()).to_numpy(),
            "rater": user.to_numpy(zero_copy_only=False),
            "score": pc.cast(value, pa.float64()).to_numpy(zero_copy_only=False),
            "rated_at": rated_at.astype("datetime64[us, UTC]"),
            "purpose": purpose.to_numpy(zero_copy_only=False),
            "film": code.to_numpy(zero_copy_only=False),
        },
        columns=RATING_COLUMNS,
    )


def _ratings_frame_from_rows(rows: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (f"{code}-{index + 1}", seg_id, user, float(value), _as_utc(done) if done else None, purpose, code)
            for code, index, seg_id, user, value, done, purpose in rows
            if value is not None  # already excluded in SQL; narrows the type
        ],
        columns=RATING_COLUMNS,
    )


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
    cluster: str | None = "film",
    d_raters: Sequence[int] = (1, 2, 3, 4),
    d_units: Sequence[int] | None = None,
    n_draws: int = 1000,
) -> ReliabilityReport:
    """Reliability of one dimension of a study: statistics, Koo & Li reading, plots' data, drift.

    Same selection as :func:`reliability_ratings`. ``table`` equals
    ``reliability_from_frame(report.ratings, categories=report.categories, level=level,
    cluster="film", ...)``; ``reliability_json(report.table)`` is what
    ``annotate stats reliability --json`` prints. ``cluster`` is ``"film"`` (segments nested in
    films: nested G-study) or None; ``d_raters``, ``d_units`` and ``n_draws`` go to the D-study
    and the Monte Carlo CIs (seeded by ``seed``, else 0).

    Examples
    --------
    >>> from annotate.services.actor import Actor
    >>> reliability_report(None, Actor(3, "rob", "Rob", "rater"), "T1", dimension="x")
    Traceback (most recent call last):
    ...
    annotate.services.errors.PermissionDenied: This needs the researcher or analyst role; rob is a rater.
    """
    require_role(actor, *READ_ROLES)
    study = get_study(session, study_key)
    args = (
        dimension,
        tuple(raters) if raters else None,
        since,
        until,
        bootstrap,
        seed,
        scheme,
        level,
        drift_by,
        cluster,
        tuple(d_raters),
        tuple(d_units) if d_units is not None else None,
        n_draws,
    )

    def compute() -> ReliabilityReport:
        return _reliability_report(
            session,
            actor,
            study_key,
            dimension=dimension,
            raters=raters,
            since=since,
            until=until,
            bootstrap=bootstrap,
            seed=seed,
            scheme=scheme,
            level=level,
            drift_by=drift_by,
            cluster=cluster,
            d_raters=d_raters,
            d_units=d_units,
            n_draws=n_draws,
        )

    # The same data and options give the same report: a rerun of the page does not recompute it.
    return cached(session, study, "reliability_report", args, compute)


def _reliability_report(
    session: Session,
    actor: Actor,
    study_key: str,
    *,
    dimension: str | None,
    raters: tuple[str, str] | None,
    since: dt.date | dt.datetime | None,
    until: dt.date | dt.datetime | None,
    bootstrap: int,
    seed: int | None,
    scheme: str | None,
    level: str,
    drift_by: str | int,
    cluster: str | None,
    d_raters: Sequence[int],
    d_units: Sequence[int] | None,
    n_draws: int,
) -> ReliabilityReport:
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
    if cluster not in (None, "film"):
        raise ServiceError(f"The cluster of a study's segments is their film ('film') or none; got {cluster!r}.")
    try:
        table = reliability_from_frame(
            frame,
            categories=categories,
            level=level,
            bootstrap=bootstrap,
            seed=seed,
            cluster=cluster,
            d_raters=d_raters,
            d_units=d_units,
            n_draws=n_draws,
        )
    except ReliabilityInputError as exc:
        raise ServiceError(f"Reliability of {dim.label}: {exc}") from None
    recommendation = recommend(table)
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
        table=table,
        koo_li=recommended_reading(recommendation),
        bland_altman=bland_altman_view(frame, pair),
        confusion=confusion_tables(frame, categories),
        drift=agreement_over_time(frame, categories, drift_by),
        ratings=frame,
        recommendation=recommendation,
        cluster=cluster,
    )
