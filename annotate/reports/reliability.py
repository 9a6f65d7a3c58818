"""A long table of ratings (CSV file or DataFrame) -> :class:`ReliabilityTable`, and its serializers.

:func:`reliability_json` gives the object ``annotate stats reliability FILE.csv --json`` prints;
the study's reliability page and ``--study`` build the same long table from the database and
call :func:`reliability_from_frame`, so both print the same numbers. :func:`reliability_rows` and
:func:`reliability_text` are the page's table and the CLI's text. The statistics themselves are in
:mod:`annotate.stats.reliability`.

Level of measurement (``level``) decides which statistics are reported; the others are null:

=========  ==========================================================================
nominal    Cohen's kappa (unweighted), Fleiss' kappa, alpha nominal, Gwet's AC1, exact agreement
ordinal    + weighted Cohen's kappa (linear/quadratic on scale positions), alpha ordinal
interval   + all six ICCs, alpha interval, Gwet's AC2, agreement within one point, Bland-Altman
ratio      + alpha ratio
=========  ==========================================================================

Without a level, numeric scores get every statistic and text scores the nominal ones
(text codes are compared as given, case-sensitive). Cohen's kappa and Bland-Altman need
exactly two raters.

The statistics above are complete-case: they use the units every rater scored. Trials double-code
with pairs drawn from a pool of raters, so :attr:`ReliabilityTable.design` adds the statistics of
the design actually run (:func:`annotate.stats.reliability_designs.design_reliability`): the design
description, the unbalanced one-way ICC, ten Hove et al.'s (2022) ICCs of the incomplete design
from REML variance components, the G/D-study (nested when a cluster column names the film of each
segment), Cohen's kappa and agreement averaged over rater pairs, and rater severity.
:func:`recommend` says which coefficient fits the design and why.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from annotate.stats.reliability import (
    ICC_FORMS,
    LEVELS,
    AgreementCoefficient,
    BlandAltman,
    BootstrapResult,
    CohenKappa,
    FleissKappa,
    IccResult,
    IccTable,
    KrippendorffAlpha,
    NotApplicable,
    PercentAgreement,
    Ratings,
    ReliabilityInputError,
    bland_altman,
    bootstrap_intervals,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    intraclass_correlations,
    krippendorff_alpha,
    percent_agreement,
    ratings_from_long,
)
from annotate.stats.reliability_design import DesignInputError
from annotate.stats.reliability_designs import DesignReliability, design_reliability, design_reliability_to_json

T = TypeVar("T")
ScaleValue = int | float | str
LEVEL_RANK: dict[str, int] = {level: rank for rank, level in enumerate(LEVELS)}
MISSING_TEXT = {"", "NA", "N/A", "NaN", "nan"}


class ReliabilityTableError(ReliabilityInputError):
    """The table cannot be read as a long table of ratings; the message says what to fix."""


def parse_categories(text: str) -> list[ScaleValue]:
    """Parse ``"1,2,3"`` (or text codes ``"low,mid,high"``) into a declared scale.

    Examples
    --------
    >>> parse_categories("1, 2,3")
    [1, 2, 3]
    >>> parse_categories("0.5,1.5")
    [0.5, 1.5]
    >>> parse_categories("low,mid,high")
    ['low', 'mid', 'high']
    """
    items = [item.strip() for item in text.split(",")]
    if not items or any(item == "" for item in items):
        raise ReliabilityTableError(f"--categories {text!r} has an empty entry; give a comma-separated list like 1,2,3")
    numbers = _as_numbers(items)
    return list(numbers) if numbers is not None else list(items)


def _as_numbers(items: Sequence[str]) -> list[int | float] | None:
    out: list[int | float] = []
    for item in items:
        try:
            number = float(item)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        out.append(int(number) if number.is_integer() else number)
    return out


def read_long_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text columns (scores are typed later, against the declared scale)."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise ReliabilityTableError(f"file {str(path)!r} not found; check the path") from exc
    except pd.errors.EmptyDataError as exc:
        raise ReliabilityTableError(f"{str(path)!r} is empty; it needs a header row and ratings") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReliabilityTableError(
            f"{str(path)!r} is not a readable UTF-8 CSV ({exc}); save it as CSV (comma-separated, UTF-8)"
        ) from exc


def _scores(column: pd.Series, categories: list[ScaleValue] | None) -> list[ScaleValue | None]:
    declared_text = categories is not None and any(isinstance(c, str) for c in categories)
    if pd.api.types.is_numeric_dtype(column) and not declared_text:
        return [None if pd.isna(v) else (int(v) if float(v).is_integer() else float(v)) for v in column]
    texts = ["" if pd.isna(v) else str(v).strip() for v in column]
    declared = {str(c) for c in categories} if categories is not None else set()
    present = [t for t in texts if t not in MISSING_TEXT or t in declared]
    numbers = None if declared_text else _as_numbers(present)
    if numbers is not None:
        it = iter(numbers)
        return [next(it) if (t not in MISSING_TEXT or t in declared) else None for t in texts]
    return [t if (t not in MISSING_TEXT or t in declared) else None for t in texts]


@dataclass(frozen=True)
class WeightedKappas:
    """Cohen's kappa of two raters with each weighting (None where it does not apply)."""

    unweighted: CohenKappa | None
    linear: CohenKappa | None
    quadratic: CohenKappa | None


@dataclass(frozen=True)
class ReliabilityTable:
    """Every reliability statistic of one long table of ratings, typed (see the module docstring).

    A field is None where the statistic does not apply at the table's level of measurement or to
    its design (e.g. Cohen's kappa with three raters); serialise with :func:`reliability_json`,
    :func:`reliability_rows` or :func:`reliability_text`.
    """

    n_units: int
    n_raters: int
    n_ratings: int
    categories: tuple[ScaleValue, ...]
    level: str | None
    icc: IccTable | None
    icc_allowed: bool  # numeric scale at interval level or above: the six ICCs are reported (maybe as null)
    cohen: WeightedKappas
    fleiss: FleissKappa | None
    alpha: dict[str, KrippendorffAlpha | None]  # every level in LEVELS; None where not computed
    gwet_ac1: AgreementCoefficient | None
    gwet_ac2_linear: AgreementCoefficient | None
    gwet_ac2_quadratic: AgreementCoefficient | None
    exact: PercentAgreement | None
    within_1: PercentAgreement | None
    bland_altman: BlandAltman | None
    bootstrap: BootstrapResult | None
    bootstrap_seed: int | None
    design: DesignReliability | None = None  # statistics of the design actually run (module docstring)
    design_note: str | None = None  # why ``design`` is None
    cluster: str | None = None  # the cluster column the G-study used (e.g. the film of each segment)

    def icc_form(self, name: str) -> IccResult | None:
        """One ICC form by either name (``"ICC(2,1)"`` or ``"ICC(A,1)"``), None when not computed."""
        return None if self.icc is None else self.icc[name]


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _json_category(c: ScaleValue) -> ScaleValue:
    return int(c) if isinstance(c, float) and c.is_integer() else c


def _guarded(compute: Callable[..., T], *args: Any) -> T | None:
    try:
        return compute(*args)
    except NotApplicable:
        return None


def reliability_table(
    ratings: Ratings,
    level: str | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
) -> ReliabilityTable:
    """Every statistic of validated ratings at a level of measurement (see the module docstring)."""
    if level is not None and level not in LEVEL_RANK:
        raise ReliabilityTableError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if level in ("interval", "ratio") and not ratings.numeric:
        raise ReliabilityTableError(
            f"level {level} needs numeric scores, but the scale has text categories; "
            "use --level nominal or ordinal, or recode the scores as numbers"
        )
    rank = LEVEL_RANK[level or ("ratio" if ratings.numeric else "nominal")]
    numeric = ratings.numeric and rank >= LEVEL_RANK["interval"]
    two = ratings.n_raters == 2

    def cohen(weights: str, needed: str) -> CohenKappa | None:
        if not two or rank < LEVEL_RANK[needed]:
            return None
        return _guarded(cohen_kappa, ratings, weights)

    alpha_levels = [lv for lv in LEVELS if rank >= LEVEL_RANK[lv]]
    ratio_ok = ratings.numeric and float(ratings.category_values.min()) >= 0
    alpha_levels = [lv for lv in alpha_levels if lv != "ratio" or ratio_ok]
    icc = _guarded(intraclass_correlations, ratings) if numeric else None
    boot, boot_seed = None, None
    if bootstrap:
        boot_seed = secrets.randbits(32) if seed is None else seed
        icc_ok = icc is not None and icc["ICC(2,1)"] is not None
        boot = bootstrap_intervals(
            ratings,
            n_resamples=bootstrap,
            seed=boot_seed,
            icc_forms=[name for name, _, _ in ICC_FORMS] if icc_ok else (),
            alpha_levels=alpha_levels,
        )
    return ReliabilityTable(
        n_units=ratings.n_units,
        n_raters=ratings.n_raters,
        n_ratings=ratings.n_ratings,
        categories=tuple(ratings.categories),
        level=level,
        icc=icc,
        icc_allowed=numeric,
        cohen=WeightedKappas(cohen("unweighted", "nominal"), cohen("linear", "ordinal"), cohen("quadratic", "ordinal")),
        fleiss=fleiss_kappa(ratings),
        alpha={lv: krippendorff_alpha(ratings, lv) if lv in alpha_levels else None for lv in LEVELS},
        gwet_ac1=gwet_ac(ratings),
        gwet_ac2_linear=gwet_ac(ratings, "linear") if numeric else None,
        gwet_ac2_quadratic=gwet_ac(ratings, "quadratic") if numeric else None,
        exact=_guarded(percent_agreement, ratings),
        within_1=_guarded(percent_agreement, ratings, 1) if numeric else None,
        bland_altman=_guarded(bland_altman, ratings) if numeric and two else None,
        bootstrap=boot,
        bootstrap_seed=boot_seed,
    )


# ---------------------------------------------------------------- serializers


def _value(result: Any) -> float | None:
    return None if result is None else _number(result.value)


def _icc_json(table: ReliabilityTable) -> dict[str, Any]:
    if table.icc is None:
        return {name: None for name, _, _ in ICC_FORMS}
    return {
        r.form: {
            "value": _number(r.value),
            "ci95": [_number(r.ci95_low), _number(r.ci95_high)],
            "F": _number(r.f_statistic),
            "df1": r.df1,
            "df2": r.df2,
            "p": _number(r.p_value),
            "n_units": r.n_units,
            "mcgraw_wong": r.mcgraw_wong,
        }
        for r in table.icc.forms
    }


def reliability_json(table: ReliabilityTable) -> dict[str, Any]:
    """The JSON object ``annotate stats reliability --json`` prints: fractions, null where undefined.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3], "rater": ["a", "b"] * 3,
    ...                       "score": [3, 3, 1, 2, 5, 5]})
    >>> out = reliability_json(reliability_from_frame(frame, categories=[1, 2, 3, 4, 5]))
    >>> out["n_units"], out["percent_agreement"]["exact"], out["cohen_kappa"]["unweighted"]
    (3, 0.6666666666666666, 0.5714285714285714)
    """
    ba = table.bland_altman
    out: dict[str, Any] = {
        "n_units": table.n_units,
        "n_raters": table.n_raters,
        "n_ratings": table.n_ratings,
        "categories": [_json_category(c) for c in table.categories],
        "level": table.level,
        "icc": _icc_json(table),
        "cohen_kappa": {
            "unweighted": _value(table.cohen.unweighted),
            "linear": _value(table.cohen.linear),
            "quadratic": _value(table.cohen.quadratic),
        },
        "fleiss_kappa": _value(table.fleiss),
        "krippendorff_alpha": {lv: _value(a) for lv, a in table.alpha.items()},
        "gwet_ac1": _value(table.gwet_ac1),
        "gwet_ac2": {"linear": _value(table.gwet_ac2_linear), "quadratic": _value(table.gwet_ac2_quadratic)},
        "percent_agreement": {"exact": _value(table.exact), "within_1": _value(table.within_1)},
        "bland_altman": None
        if ba is None
        else {
            "rater_a": str(ba.rater_a),
            "rater_b": str(ba.rater_b),
            "n_units": ba.n_units,
            "mean_difference": ba.mean_difference,
            "sd_difference": ba.sd_difference,
            "limits_of_agreement": [ba.lower_limit, ba.upper_limit],
            "mean_difference_ci95": list(ba.mean_difference_ci95),
            "lower_limit_ci95": list(ba.lower_limit_ci95),
            "upper_limit_ci95": list(ba.upper_limit_ci95),
        },
        "bootstrap": None,
    }
    if table.bootstrap is not None:
        b = table.bootstrap
        out["bootstrap"] = {
            "krippendorff_alpha": {lv: [_number(ci.low), _number(ci.high)] for lv, ci in b.krippendorff_alpha.items()},
            "icc": {form: [_number(ci.low), _number(ci.high)] for form, ci in b.icc.items()},
            "n_resamples": b.n_resamples,
            "seed": table.bootstrap_seed,
            "method": "percentile, units resampled with replacement",
        }
    out.update(_design_json(table))
    return out


DESIGN_KEYS = ("design", "icc_oneway", "icc_incomplete", "variance_components", "d_study", "pairwise", "raters")


def _design_json(table: ReliabilityTable) -> dict[str, Any]:
    """The design blocks (issue 14 keys), ``design_notes`` (why a block is null) and ``recommendation``."""
    d = table.design
    out: dict[str, Any] = dict.fromkeys(DESIGN_KEYS)
    if d is None:
        out["design_notes"] = {"design": table.design_note}
    else:
        out.update(design_reliability_to_json(d))
        out["design"]["cluster"] = table.cluster
        out["design"]["n_clusters"] = d.design.n_clusters
        out["design_notes"] = dict(d.notes)
        out["monte_carlo"] = {"n_draws": d.n_draws, "seed": d.seed, "method": "REML components, normal on log scale"}
    rec = recommend(table)
    out["recommendation"] = (
        None
        if rec is None
        else {
            "statistic": rec.statistic,
            "key": rec.key,
            "value": _number(rec.value),
            "ci95": [_number(rec.ci95[0]), _number(rec.ci95[1])],
            "reason": rec.reason,
            "sources": list(rec.sources),
        }
    )
    return out


# ---------------------------------------------------------------- which coefficient to report

SHROUT_FLEISS = "Shrout & Fleiss (1979), Psychol Bull 86:420"
MCGRAW_WONG = "McGraw & Wong (1996), Psychol Methods 1:30"
TEN_HOVE = "ten Hove, Jorgensen & van der Ark (2022), Psychol Methods 27:650"
BRENNAN = "Brennan (2001), Generalizability Theory, Springer"
KRIPPENDORFF = "Hayes & Krippendorff (2007), Commun Methods Meas 1:77"
LIGHT = "Light (1971), Psychol Bull 76:365"
KOO_LI = "Koo & Li (2016), J Chiropr Med 15:155"


@dataclass(frozen=True)
class Recommendation:
    """Which coefficient to report for this design, its value and interval, and why (cited)."""

    statistic: str  # e.g. "ICC(A,1), incomplete design"
    key: str  # where it is in the JSON, e.g. "icc_incomplete.ICC(A,1)"
    value: float | None
    ci95: tuple[float | None, float | None]
    reason: str
    sources: tuple[str, ...]


def _per_unit(low: int, high: int) -> str:
    return f"{low} ratings per unit" if low == high else f"{low} to {high} ratings per unit"


def recommend(table: ReliabilityTable) -> Recommendation | None:
    """The coefficient that fits the table's design and level of measurement, with the reason.

    * numeric scores, every rater rated every unit: ICC(A,1) = ICC(2,1) of the complete design
      (two-way random, absolute agreement, single rater; Shrout & Fleiss 1979, McGraw & Wong 1996);
    * numeric scores, units rated by different raters (the engine's design): ICC(A,1) of the
      incomplete design from REML variance components (ten Hove et al. 2022), because in the trial
      most segments are scored by one rater drawn from the pool, so rater severity is error;
      the one-way ICC(1) when the components cannot be separated;
    * with a cluster (segments in films), the D-study's Phi is added to the reason (Brennan 2001);
    * nominal or ordinal scores: Krippendorff's alpha at that level (any number of raters,
      missing ratings allowed; Hayes & Krippendorff 2007), or Cohen's kappa of a complete pair.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
    ...                       "rater": ["a", "b", "b", "c", "a", "c", "a", "b", "b", "c", "a", "c"],
    ...                       "score": [1, 2, 3, 3, 5, 4, 2, 2, 4, 5, 3, 3]})
    >>> rec = recommend(reliability_from_frame(frame, categories=[1, 2, 3, 4, 5]))
    >>> rec.key, rec.statistic
    ('icc_incomplete.ICC(A,1)', 'ICC(A,1), incomplete design')
    """
    rank = LEVEL_RANK[table.level or ("ratio" if not any(isinstance(c, str) for c in table.categories) else "nominal")]
    d = table.design
    if rank < LEVEL_RANK["interval"] or d is None:
        level = (
            "ordinal" if rank == LEVEL_RANK["ordinal"] else ("nominal" if rank < LEVEL_RANK["interval"] else "interval")
        )
        alpha = table.alpha.get(level)
        if table.n_raters == 2 and table.cohen.unweighted is not None and (d is None or d.design.complete):
            kappa = table.cohen.quadratic if level == "ordinal" and table.cohen.quadratic else table.cohen.unweighted
            name = "Cohen's kappa (quadratic weights)" if kappa is table.cohen.quadratic else "Cohen's kappa"
            key = "cohen_kappa.quadratic" if kappa is table.cohen.quadratic else "cohen_kappa.unweighted"
            return Recommendation(
                name,
                key,
                kappa.value,
                (None, None),
                f"two raters scored every unit on a {level} scale: chance-corrected agreement of the pair.",
                (KRIPPENDORFF,),
            )
        return Recommendation(
            f"Krippendorff's alpha ({level})",
            f"krippendorff_alpha.{level}",
            None if alpha is None else alpha.value,
            (None, None),
            f"{level} scores rated by different raters: alpha uses every rating, any number of raters and "
            "missing ratings; Cohen's kappa averaged over rater pairs is shown as a check (Light 1971).",
            (KRIPPENDORFF, LIGHT),
        )
    desc = d.design
    nested = ""
    if d.d_study is not None and d.d_study.nested:
        nested = (
            f" The units are nested in {desc.n_clusters} clusters: for a score averaged over m segments of a film, "
            "report the D-study's Phi (absolute) for the numbers of raters and segments the trial uses (Brennan 2001)."
        )
    complete = table.icc_form("ICC(2,1)")
    if desc.complete and complete is not None and complete.value is not None:
        return Recommendation(
            "ICC(A,1), complete design",
            "icc.ICC(2,1)",
            complete.value,
            (complete.ci95_low, complete.ci95_high),
            f"every one of the {desc.n_raters} raters scored every unit, and in the trial a segment's score comes from "
            "one rater: the two-way random, absolute-agreement, single-rater ICC (ICC(2,1) = ICC(A,1)); read it by its "
            "95% CI (Koo & Li 2016)." + nested,
            (SHROUT_FLEISS, MCGRAW_WONG, KOO_LI) + ((BRENNAN,) if nested else ()),
        )
    inc = d.icc_incomplete
    a1 = None if inc is None else next(f for f in inc.forms if f.name == "ICC(A,1)")
    if a1 is not None and a1.value is not None:
        return Recommendation(
            "ICC(A,1), incomplete design",
            "icc_incomplete.ICC(A,1)",
            a1.value,
            a1.ci95,
            f"units were scored by different subsets of the {desc.n_raters} raters "
            f"({_per_unit(desc.ratings_per_unit_min, desc.ratings_per_unit_max)}), so the complete-case ICCs "
            "drop most of them; in the trial most segments are scored by one rater drawn from the pool, so rater "
            "severity counts as error: ICC(A,1) from REML variance components over every rating (ten Hove et al. "
            "2022). The one-way ICC(1) (Shrout & Fleiss Case 1) is a check; it cannot separate rater severity from "
            "error." + nested,
            (TEN_HOVE, SHROUT_FLEISS) + ((BRENNAN,) if nested else ()),
        )
    ow = d.icc_oneway
    if ow is not None and ow.icc1 is not None:
        return Recommendation(
            "ICC(1), one-way",
            "icc_oneway.ICC(1)",
            ow.icc1,
            ow.icc1_ci95,
            "units were scored by different raters and the rater variance cannot be separated here "
            f"({d.notes.get('icc_incomplete', 'too few ratings')}): the one-way random ICC(1) (Shrout & Fleiss "
            "Case 1, unbalanced k0) treats rater differences as error.",
            (SHROUT_FLEISS,),
        )
    return None


@dataclass(frozen=True)
class StatisticRow:
    """One agreement statistic for a table of the page or a CSV: its name and value (None: n/a)."""

    statistic: str
    value: float | None
    why_missing: str | None = None  # why the value is None, in words (filled by reliability_rows)


def _why_missing(table: ReliabilityTable, statistic: str) -> str:
    """Why a complete-case statistic is undefined, for the page and the text report."""
    rank = LEVEL_RANK[table.level or ("ratio" if table.icc_allowed or table.gwet_ac2_linear else "nominal")]
    text = any(isinstance(c, str) for c in table.categories)
    if statistic.startswith("Cohen") and table.n_raters != 2:
        return f"needs exactly two raters ({table.n_raters} here); see the pairwise kappa of the design"
    if ("linear" in statistic or "quadratic" in statistic or "within one" in statistic) and (text or rank < 1):
        return "needs ordered numeric scores"
    if ("interval" in statistic or "ratio" in statistic or "AC2" in statistic or "within one" in statistic) and (
        text or rank < LEVEL_RANK["interval"]
    ):
        return f"needs interval scores (level {table.level or 'nominal'})"
    if "ratio" in statistic:
        return "needs a ratio scale with no negative values"
    return "no unit was scored by every rater; see the design statistics"


def reliability_rows(table: ReliabilityTable) -> list[StatisticRow]:
    """The agreement statistics other than the ICCs, one row each, in the order people read them;
    an undefined one says why (``why_missing``)."""
    rows = [
        StatisticRow("Cohen's kappa (unweighted)", _value(table.cohen.unweighted)),
        StatisticRow("Cohen's kappa (linear weights)", _value(table.cohen.linear)),
        StatisticRow("Cohen's kappa (quadratic weights)", _value(table.cohen.quadratic)),
        StatisticRow("Fleiss' kappa", _value(table.fleiss)),
        *(StatisticRow(f"Krippendorff's alpha ({lv})", _value(a)) for lv, a in table.alpha.items()),
        StatisticRow("Gwet's AC1", _value(table.gwet_ac1)),
        StatisticRow("Gwet's AC2 (linear weights)", _value(table.gwet_ac2_linear)),
        StatisticRow("Gwet's AC2 (quadratic weights)", _value(table.gwet_ac2_quadratic)),
        StatisticRow("Exact agreement", _value(table.exact)),
        StatisticRow("Agreement within one point", _value(table.within_1)),
    ]
    return [
        row if row.value is not None else dataclasses.replace(row, why_missing=_why_missing(table, row.statistic))
        for row in rows
    ]


@dataclass(frozen=True)
class IntervalRow:
    """One statistic of the design table: value, 95% interval, and why it is undefined (else None)."""

    statistic: str
    value: float | None
    ci95_low: float | None
    ci95_high: float | None
    detail: str  # how it was computed (model, k, n), for the reader
    why_missing: str | None


def design_rows(table: ReliabilityTable) -> list[IntervalRow]:
    """The design-appropriate statistics, one row each: one-way ICCs, incomplete-design ICCs,
    pairwise kappas and agreement, Krippendorff's alpha (interval or the table's level).

    Every row carries either a value or the reason in words (``why_missing``).
    """
    d = table.design
    rows: list[IntervalRow] = []

    def add(
        name: str, value: float | None, ci: tuple[float | None, float | None] | None, detail: str, why: str
    ) -> None:
        value = _number(value)
        lo, hi = (None, None) if ci is None else (_number(ci[0]), _number(ci[1]))
        rows.append(IntervalRow(name, value, lo, hi, detail, None if value is not None else why))

    base = table.design_note or "not computed"
    notes = {} if d is None else d.notes
    ow = None if d is None else d.icc_oneway
    why_ow = notes.get("icc_oneway", base)
    k0 = "" if ow is None else f"one-way random, k0 = {_fmt(_number(ow.k0))}, {ow.n_units} units"
    add("ICC(1), one-way", None if ow is None else ow.icc1, None if ow is None else ow.icc1_ci95, k0, why_ow)
    add("ICC(1,k), one-way", None if ow is None else ow.icck, None if ow is None else ow.icck_ci95, k0, why_ow)
    inc = None if d is None else d.icc_incomplete
    why_inc = notes.get("icc_incomplete", base)
    for name in ("ICC(A,1)", "ICC(C,1)", "ICC(A,k)", "ICC(C,k)"):
        form = None if inc is None else next(f for f in inc.forms if f.name == name)
        detail = "" if inc is None else f"REML, Monte Carlo CI ({inc.n_draws} draws, seed {inc.seed})"
        label = name if form is None or form.k is None else name.replace(",k)", f",k={form.k:.2f})")
        add(
            f"{label}, incomplete design",
            None if form is None else form.value,
            None if form is None else form.ci95,
            detail,
            why_inc,
        )
    pw = None if d is None else d.pairwise
    why_pw = notes.get("pairwise") or base
    pairs = "" if pw is None else f"mean over rater pairs weighted by shared units, {pw.n_pairs} rating pairs"
    for label, attr in (
        ("Cohen's kappa (unweighted), pairwise", "kappa_unweighted"),
        ("Cohen's kappa (linear weights), pairwise", "kappa_linear"),
        ("Cohen's kappa (quadratic weights), pairwise", "kappa_quadratic"),
        ("Exact agreement, pairwise", "exact"),
        ("Agreement within one point, pairwise", "within_1"),
    ):
        value = None if pw is None else getattr(pw, attr)
        why = why_pw if pw is None or pw.n_pairs else "no two raters share a unit"
        if pw is not None and value is None and attr in ("kappa_linear", "kappa_quadratic", "within_1"):
            why = f"not at the {table.level} level" if table.level in ("nominal", "ordinal") else why
        add(label, value, None, pairs, why)
    level = table.level if table.level in table.alpha else "interval"
    alpha = table.alpha.get(level)
    add(
        f"Krippendorff's alpha ({level})",
        None if alpha is None else alpha.value,
        None,
        "every rating, missing ones allowed",
        "not defined for these scores",
    )
    return rows


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def reliability_text(table: ReliabilityTable) -> str:
    """The plain-text report of ``annotate stats reliability`` (without ``--json``)."""
    lines = [
        f"units {table.n_units}, raters {table.n_raters}, ratings {table.n_ratings}",
        "",
        f"{'ICC':<10}{'':<10}{'value':>8}  {'95% CI':<17}{'F':>8}{'df1':>6}{'df2':>6}{'p':>9}{'n':>6}",
    ]
    if table.icc is None:
        lines += [f"{name:<10}{'':<10}{'n/a':>8}" for name, _, _ in ICC_FORMS]
        if table.icc_allowed:
            lines.append("(complete-case ICCs need units scored by every rater; see the design statistics below)")
    else:
        for r in table.icc.forms:
            ci = f"[{_fmt(_number(r.ci95_low))}, {_fmt(_number(r.ci95_high))}]"
            p = "n/a" if r.p_value is None else f"{r.p_value:.2g}"
            lines.append(
                f"{r.form:<10}{r.mcgraw_wong:<10}{_fmt(_number(r.value)):>8}  {ci:<17}{_fmt(_number(r.f_statistic)):>8}"
                f"{r.df1:>6}{r.df2:>6}{p:>9}{r.n_units:>6}"
            )
    lines.append("")
    lines += [f"{row.statistic:<34}{_fmt(row.value):>8}" for row in reliability_rows(table)]
    lines += _design_text(table)
    if table.bootstrap is not None:
        b = table.bootstrap
        lines += ["", f"bootstrap ({b.n_resamples} resamples, seed {table.bootstrap_seed}), 95% percentile CI"]
        for form, interval in b.icc.items():
            lines.append(f"  icc {form:<22}[{_fmt(_number(interval.low))}, {_fmt(_number(interval.high))}]")
        for alpha_level, interval in b.krippendorff_alpha.items():
            lines.append(
                f"  krippendorff_alpha {alpha_level:<22}[{_fmt(_number(interval.low))}, {_fmt(_number(interval.high))}]"
            )
    return "\n".join(lines)


def _design_text(table: ReliabilityTable) -> list[str]:
    d = table.design
    if d is None:
        return ["", f"design statistics: {table.design_note or 'not computed'}"]
    desc = d.design
    lines = [
        "",
        f"design: {desc.n_units} units ({desc.n_units_multi} with two or more ratings), {desc.n_raters} raters, "
        f"{_per_unit(desc.ratings_per_unit_min, desc.ratings_per_unit_max)} "
        f"(mean {desc.ratings_per_unit_mean:.2f}), {'complete' if desc.complete else 'incomplete'}, "
        f"{desc.n_rater_pairs} rater pairs share units"
        + (f", {desc.n_clusters} clusters ({table.cluster})" if desc.n_clusters is not None else ""),
        "",
    ]
    for row in design_rows(table):
        if row.value is None:
            lines.append(f"{row.statistic:<44}{'n/a':>8}  {row.why_missing}")
        else:
            ci = (
                ""
                if row.ci95_low is None and row.ci95_high is None
                else f"[{_fmt(row.ci95_low)}, {_fmt(row.ci95_high)}]"
            )
            lines.append(f"{row.statistic:<44}{_fmt(row.value):>8}  {ci}")
    vc = d.variance_components
    if vc is not None:
        parts = ", ".join(f"{name} {value:.4f}" for name, value in vc.as_dict().items())
        lines += ["", f"variance components (REML): {parts}"]
    ds = d.d_study
    if ds is not None:
        lines += ["", "D-study Phi (rows: raters; columns: units per cluster " + " ".join(map(str, ds.units)) + ")"]
        for n, row_phi in zip(ds.raters, ds.phi, strict=True):
            lines.append(f"  {n:>3} " + " ".join(f"{_fmt(_number(v)):>7}" for v in row_phi))
    if d.raters:
        lines += ["", "rater severity (mean deviation from the other raters of the same unit, 95% CI)"]
        for sev in d.raters:
            ci = f"[{_fmt(_number(sev.ci95[0]))}, {_fmt(_number(sev.ci95[1]))}]" if sev.ci95 else ""
            lines.append(f"  {sev.rater!s:<20}{_fmt(_number(sev.mean_deviation)):>8}  {ci}  n={sev.n}")
    rec = recommend(table)
    if rec is not None:
        lines += ["", f"report: {rec.statistic} = {_fmt(_number(rec.value))}; {rec.reason}"]
    return lines


def _ids(column: pd.Series) -> np.ndarray:
    """Unit, rater or cluster ids as an object array, a blank or missing id as None.

    A text or integer column is checked in array operations (a study's 300,000 ratings took
    seconds one value at a time); any other column value by value, with the same rule."""
    values = column.to_numpy(dtype=object)
    if column.dtype.kind in "iu":
        return values
    if pd.api.types.is_string_dtype(column) and column.dtype != object:
        blank = (column.isna() | column.str.strip().eq("")).to_numpy(dtype=bool)
        values[blank] = None
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = [None if pd.isna(v) or str(v).strip() == "" else v for v in values]
    return out


def _scores_of(column: pd.Series, categories: list[ScaleValue] | None) -> list[ScaleValue | None] | np.ndarray:
    """The scores for :func:`ratings_from_long`: a float array (NaN = missing) when the column is
    numeric and the scale declared in numbers (same codes as the per-value list, in array
    operations), else the typed list of :func:`_scores`."""
    declared_numbers = categories is not None and not any(isinstance(c, str) for c in categories)
    if declared_numbers and column.dtype.kind in "fiu":
        return column.to_numpy().astype(np.float64)
    return _scores(column, categories)


def reliability_from_frame(
    frame: pd.DataFrame,
    *,
    unit: str = "unit",
    rater: str = "rater",
    score: str = "score",
    categories: Sequence[ScaleValue] | None = None,
    level: str | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
    cluster: str | None = None,
    d_raters: Sequence[int] = (1, 2, 3, 4),
    d_units: Sequence[int] | None = None,
    n_draws: int = 1000,
    design: bool = True,
) -> ReliabilityTable:
    """Reliability statistics of a long DataFrame (one row per unit, rater and score).

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table; a missing rating is an absent row or an empty / NA / NaN score.
    unit, rater, score : str
        Column names.
    categories : sequence, optional
        The declared scale; default the sorted distinct scores.
    level : {"nominal", "ordinal", "interval", "ratio"}, optional
    bootstrap : int
        0 for none, else the number of resamples (at least 1000).
    seed : int, optional
        Bootstrap seed (a random one is drawn and reported when not given); also the seed of the
        Monte Carlo intervals of the incomplete-design ICCs (0 when not given, so they repeat).
    cluster : str, optional
        Column naming the cluster of each unit (the film a segment is cut from): the G-study is
        then nested (cluster, unit within cluster, rater, residual) and the D-study averages over
        ``d_units`` segments per cluster.
    d_raters, d_units : sequence of int
        D-study numbers of raters and of units per cluster; ``d_units`` defaults to 1, 2, 5, 10
        with a cluster and is ``[1]`` without one.
    n_draws : int
        Monte Carlo draws for the intervals of the incomplete-design ICCs.
    design : bool
        Compute the design statistics (``ReliabilityTable.design``); False skips them.

    Returns
    -------
    ReliabilityTable
        Fractions not percents; None where a statistic does not apply.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3, 3], "rater": ["a", "b"] * 3,
    ...                       "score": [3, 3, 1, 2, 5, 5]})
    >>> table = reliability_from_frame(frame, categories=[1, 2, 3, 4, 5])
    >>> table.n_units, table.exact.value, round(table.cohen.unweighted.value, 4)
    (3, 0.6666666666666666, 0.5714)
    """
    missing = [c for c in (unit, rater, score) if c not in frame.columns]
    if missing:
        raise ReliabilityTableError(
            f"column(s) {missing} not found; the table has {list(frame.columns)}. "
            "Name the columns with --unit, --rater and --score"
        )
    if cluster is not None and cluster not in frame.columns:
        raise ReliabilityTableError(
            f"cluster column {cluster!r} not found; the table has {list(frame.columns)}. "
            "Name the column of the film (family) of each unit with --cluster"
        )
    if frame.empty:
        raise ReliabilityTableError("the table has no rows; it needs one row per unit, rater and score")
    units, raters = _ids(frame[unit]), _ids(frame[rater])
    declared = None if categories is None else list(categories)
    scores = _scores_of(frame[score], declared)
    try:
        ratings = ratings_from_long(units, raters, scores, categories)
    except ReliabilityInputError:
        if isinstance(scores, np.ndarray):  # worded with the scores as typed (8, not np.float64(8.0))
            ratings_from_long(units, raters, _scores(frame[score], declared), categories)
        raise
    table = reliability_table(ratings, level=level, bootstrap=bootstrap, seed=seed)
    if not design:
        return table
    clusters = None if cluster is None else _ids(frame[cluster])
    block, note = _design_block(
        table,
        units,
        raters,
        scores,
        clusters,
        d_raters=d_raters,
        d_units=d_units if d_units is not None else ((1,) if cluster is None else (1, 2, 5, 10)),
        seed=0 if seed is None else seed,
        n_draws=n_draws,
    )
    return dataclasses.replace(table, design=block, design_note=note, cluster=cluster)


def _design_block(
    table: ReliabilityTable,
    units: np.ndarray,
    raters: np.ndarray,
    scores: list[ScaleValue | None] | np.ndarray,
    clusters: np.ndarray | None,
    *,
    d_raters: Sequence[int],
    d_units: Sequence[int],
    seed: int,
    n_draws: int,
) -> tuple[DesignReliability | None, str | None]:
    """The design statistics of the same ratings, restricted to what the level of measurement allows."""
    numeric_array = isinstance(scores, np.ndarray) and scores.dtype.kind == "f"
    if (not numeric_array and any(isinstance(s, str) for s in scores)) or any(
        isinstance(c, str) for c in table.categories
    ):
        return (
            None,
            "the scores are text codes; the design statistics (one-way and incomplete-design ICCs) need numbers",
        )
    score_column = scores if numeric_array else [None if s is None else float(s) for s in scores]
    long = pd.DataFrame({"unit": units, "rater": raters, "score": score_column})
    if clusters is not None:
        long["cluster"] = clusters
    long = long[long["score"].notna()]
    if clusters is not None:
        unplaced = long.index[long["cluster"].isna()]
        if len(unplaced):
            raise ReliabilityTableError(
                f"row {int(unplaced[0]) + 2} has a score but no cluster; fill in the film (family) of every unit"
            )
    try:
        result = design_reliability(
            long,
            cluster=None if clusters is None else "cluster",
            categories=[float(c) for c in table.categories],
            d_raters=d_raters,
            d_units=d_units,
            seed=seed,
            n_draws=n_draws,
        )
    except DesignInputError as exc:
        if clusters is not None:
            raise
        return None, str(exc)
    if clusters is not None and result.reml is None:
        # e.g. every film has a single double-coded segment: the nested model cannot separate the
        # film from the segment, but the crossed one still gives the ICCs and a one-unit D-study.
        why = result.notes.get("variance_components", "the nested model cannot be fitted")
        crossed = design_reliability(
            long.drop(columns="cluster"),
            categories=[float(c) for c in table.categories],
            d_raters=d_raters,
            d_units=(1,),
            seed=seed,
            n_draws=n_draws,
        )
        if crossed.reml is not None:
            note = f"films ignored: {why}; segments crossed with raters instead"
            result = dataclasses.replace(
                crossed,
                design=result.design,
                notes={**crossed.notes, "variance_components": note, "d_study": note},
            )
    rank = LEVEL_RANK[table.level or "ratio"]
    if rank >= LEVEL_RANK["interval"]:
        return result, None
    why = f"ICCs and variance components need interval scores; the level is {table.level}"
    notes = {**result.notes, **dict.fromkeys(("icc_oneway", "icc_incomplete", "variance_components", "d_study"), why)}
    pairwise = dataclasses.replace(
        result.pairwise,
        within_1=None,
        kappa_linear=result.pairwise.kappa_linear if rank >= LEVEL_RANK["ordinal"] else None,
        kappa_quadratic=result.pairwise.kappa_quadratic if rank >= LEVEL_RANK["ordinal"] else None,
    )
    return (
        dataclasses.replace(
            result,
            icc_oneway=None,
            icc_incomplete=None,
            variance_components=None,
            reml=None,
            d_study=None,
            pairwise=pairwise,
            notes=notes,
        ),
        None,
    )


def reliability_from_csv(path: str | Path, **options: Any) -> ReliabilityTable:
    """:func:`reliability_from_frame` of a long CSV file (same keyword options)."""
    return reliability_from_frame(read_long_csv(path), **options)
