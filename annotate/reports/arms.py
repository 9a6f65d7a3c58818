"""Use case: a long table of outcome scores (CSV file or DataFrame) -> the per-arm outcome JSON dict.

Input is one row per participant x time point with columns for the participant, the arm, the
time point, the score and optional covariates. The dict is what
``annotate stats arms FILE.csv --json`` prints; a database variant builds the same long
DataFrame from ratings (after unblinding) and calls :func:`arms_summary`. The statistics are in
:mod:`annotate.stats.effects`, which cites the formulas.

Rules (all stated here so a table can be reproduced):

* arms and time points are ordered by first appearance in the table;
* a blank score (or ``NA``, ``N/A``, ``NaN``) is missing: it is not counted in ``n`` and drops
  that participant from the pairs and from the ANCOVA at that time point; an absent row is the
  same as a blank score;
* the baseline is the named time point, else a time point literally called ``baseline`` (any
  case), else there is none: then ANCOVA is ``None`` and ``within_arm`` is empty;
* comparisons (treatment - control) are made at every time point except the baseline; the
  treatment and control arms default to the first and second arm; with one arm there are
  no comparisons, with three or more both must be named;
* the threshold is inclusive (``score >= threshold`` is an event);
* a covariate value is taken from the participant's row at the compared time point, or from
  the baseline row when that cell is blank (so a baseline-only covariate can be given once);
  a covariate whose values are not all numbers is categorical (0/1 dummies, reference = first
  level in order of appearance). ANCOVA uses complete cases;
* within-arm change is reported for every arm, baseline to each later time point, over
  participants with both scores.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annotate.stats.effects import (
    AncovaResult,
    Descriptives,
    EffectsInputError,
    HedgesG,
    MeanDifference,
    PairedChange,
    RiskDifference,
    RiskRatio,
    ThresholdComparison,
    ancova_difference,
    describe,
    hedges_g,
    paired_change,
    threshold_comparison,
    welch_mean_difference,
)

MISSING_TEXT = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL"})
BASELINE_NAME = "baseline"
_SHOWN_ERRORS = 5


class ArmsTableError(EffectsInputError):
    """The table cannot be summarised as given; the message says what to fix."""


@dataclass(frozen=True)
class ArmDescriptives:
    arm: str
    timepoint: str
    stats: Descriptives


@dataclass(frozen=True)
class ArmComparison:
    """Treatment - control at one time point."""

    timepoint: str
    treatment: str
    control: str
    difference: MeanDifference  # Welch; its n1/n2 are the arms' n
    ancova: AncovaResult | None  # None without a baseline
    hedges: HedgesG
    threshold: ThresholdComparison | None  # None without a threshold


@dataclass(frozen=True)
class WithinArmChange:
    arm: str
    start: str
    end: str
    change: PairedChange


@dataclass(frozen=True)
class ArmsReport:
    """The per-arm outcome table of one score (serialise with :func:`arms_json`, :func:`arms_rows`, :func:`arms_text`)."""

    descriptives: tuple[ArmDescriptives, ...]
    comparisons: tuple[ArmComparison, ...]
    within_arm: tuple[WithinArmChange, ...]


def read_arms_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text columns (scores are parsed later, with row numbers in the errors).

    Examples
    --------
    >>> import io
    >>> read_arms_csv(io.StringIO("participant,arm,timepoint,score\\np1,A,baseline,4\\n")).shape
    (1, 4)
    """
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise ArmsTableError(f"file {str(path)!r} not found; check the path") from exc
    except pd.errors.EmptyDataError as exc:
        raise ArmsTableError(
            f"{str(path)!r} is empty; it needs a header row and one row per participant and time point"
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ArmsTableError(
            f"{str(path)!r} is not a readable UTF-8 CSV ({exc}); save it as CSV (comma-separated, UTF-8)"
        ) from exc


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and value.strip() in MISSING_TEXT


def _number(value: object) -> float | None:
    """A finite float, ``nan`` for a missing cell, or ``None`` when it is not a number."""
    if _is_missing(value):
        return math.nan
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _row(position: int) -> str:
    return f"row {position + 2}"


def _problems(what: str, items: list[str], fix: str) -> ArmsTableError:
    shown = "; ".join(items[:_SHOWN_ERRORS])
    more = f" (and {len(items) - _SHOWN_ERRORS} more)" if len(items) > _SHOWN_ERRORS else ""
    return ArmsTableError(f"{what}: {shown}{more}. {fix} (rows are counted with the header as row 1)")


def _labels(frame: pd.DataFrame, column: str, what: str) -> list[str]:
    values = frame[column].tolist()
    blank = [_row(i) for i, v in enumerate(values) if _is_missing(v) or str(v).strip() == ""]
    if blank:
        raise _problems(f"column {column!r} ({what}) is blank", blank, f"give every row a {what}")
    return [str(v).strip() for v in values]


def _scores(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column].tolist()
    parsed = [_number(v) for v in values]
    bad = [f"{_row(i)} has {values[i]!r}" for i, p in enumerate(parsed) if p is None]
    if bad:
        raise _problems(
            f"column {column!r} has scores that are not finite numbers",
            bad,
            "Use numbers, and leave the cell empty for a missing score",
        )
    return np.array(parsed, dtype=float)


def _check_columns(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    present = [str(c) for c in frame.columns]
    for role, name in columns.items():
        if name not in present:
            raise ArmsTableError(
                f"no column {name!r} for the {role}; the table has columns {', '.join(present) or '(none)'}. "
                f"Name the right column (e.g. --{role.split()[0]} COL)"
            )


def _resolve_baseline(timepoints: list[str], baseline: str | None) -> str | None:
    if baseline is not None:
        baseline = str(baseline).strip()
        if baseline not in timepoints:
            raise ArmsTableError(
                f"baseline time point {baseline!r} is not in the table; time points are {', '.join(timepoints)}"
            )
        return baseline
    named = [t for t in timepoints if t.casefold() == BASELINE_NAME]
    if len(named) > 1:
        raise ArmsTableError(
            f"several time points are called baseline ({', '.join(named)}); name the one to use as baseline"
        )
    return named[0] if named else None


def _resolve_arms(arms: list[str], treatment: str | None, control: str | None) -> tuple[str, str] | None:
    known = ", ".join(arms)
    for role, name in (("treatment", treatment), ("control", control)):
        if name is not None and name not in arms:
            raise ArmsTableError(f"unknown {role} arm {name!r}; the arms in the table are {known}")
    if treatment is not None and treatment == control:
        raise ArmsTableError(f"treatment and control are both {treatment!r}; name two different arms")
    if len(arms) == 1:
        if treatment is not None or control is not None:
            raise ArmsTableError(
                f"only one arm ({known}) is in the table, so arms cannot be compared; "
                "leave out treatment/control to get descriptives and within-arm change only"
            )
        return None
    if len(arms) == 2:
        if treatment is None and control is None:
            return arms[0], arms[1]
        if treatment is None:
            return next(a for a in arms if a != control), control  # type: ignore[return-value]
        if control is None:
            return treatment, next(a for a in arms if a != treatment)
        return treatment, control
    if treatment is None or control is None:
        raise ArmsTableError(
            f"the table has {len(arms)} arms ({known}); name the treatment and the control arm to compare"
        )
    return treatment, control


def _covariate_block(values: list[object], name: str) -> tuple[np.ndarray, list[str]]:
    """Numeric column, or 0/1 dummies (reference = first level) for a categorical covariate."""
    numbers_ = [_number(v) for v in values]
    if all(n is not None for n in numbers_):
        return np.array(numbers_, dtype=float).reshape(-1, 1), [name]
    levels = list(dict.fromkeys(str(v).strip() for v in values if not _is_missing(v)))
    block = np.full((len(values), max(len(levels) - 1, 0)), np.nan)
    for i, value in enumerate(values):
        if not _is_missing(value):
            block[i] = [1.0 if str(value).strip() == level else 0.0 for level in levels[1:]]
    return block, [f"{name}={level}" for level in levels[1:]]


@dataclass(frozen=True)
class _Table:
    """The validated table: the raw rows, scores as participants x time points, arm per participant."""

    frame: pd.DataFrame
    wide: pd.DataFrame
    arm_of: pd.Series
    row_of: dict[tuple[Hashable, str], int]

    def scores(self, arm: str, timepoint: str) -> np.ndarray:
        return self.wide.loc[self.arm_of == arm, timepoint].to_numpy()

    def covariates_at(self, names: list[str], participants: list[Hashable], timepoint: str, base: str) -> np.ndarray:
        """One row per participant: each covariate's value at ``timepoint``, else at ``base``."""
        blocks = []
        for name in names:
            column = self.frame[name].tolist()
            values: list[object] = []
            for pid in participants:
                rows = (self.row_of.get((pid, t)) for t in (timepoint, base))
                present = (column[i] for i in rows if i is not None and not _is_missing(column[i]))
                values.append(next(present, None))
            blocks.append(_covariate_block(values, name)[0])
        return np.column_stack(blocks)


def _comparison(
    table: _Table,
    pair: tuple[str, str],
    timepoint: str,
    base: str | None,
    threshold: float | None,
    covariates: list[str],
) -> ArmComparison:
    treatment, control = pair
    x1, x2 = table.scores(treatment, timepoint), table.scores(control, timepoint)
    ancova = None
    if base is not None:
        in_pair = list(table.arm_of[table.arm_of.isin(pair)].index)
        ancova = ancova_difference(
            outcome=table.wide.loc[in_pair, timepoint].to_numpy(),
            treated=(table.arm_of[in_pair] == treatment).to_numpy(),
            baseline=table.wide.loc[in_pair, base].to_numpy(),
            covariates=table.covariates_at(covariates, in_pair, timepoint, base) if covariates else None,
        )
    return ArmComparison(
        timepoint=timepoint,
        treatment=treatment,
        control=control,
        difference=welch_mean_difference(x1, x2),
        ancova=ancova,
        hedges=hedges_g(x1, x2),
        threshold=None if threshold is None else threshold_comparison(x1, x2, threshold),
    )


def arms_summary(
    frame: pd.DataFrame,
    *,
    participant: str = "participant",
    arm: str = "arm",
    timepoint: str = "timepoint",
    score: str = "score",
    baseline: str | None = None,
    treatment: str | None = None,
    control: str | None = None,
    threshold: float | None = None,
    covariates: Sequence[str] = (),
) -> ArmsReport:
    """Per-arm descriptives, between-arm comparisons and within-arm change (typed; see the serializers).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per participant x time point (text or numeric cells).
    participant, arm, timepoint, score : str
        Column names.
    baseline : str, optional
        Baseline time point; default: the time point called ``baseline`` if any, else none.
    treatment, control : str, optional
        Arms to compare (treatment - control); default: the first and second arm.
    threshold : float, optional
        Scores ``>= threshold`` are events (risk ratio and risk difference); default: none.
    covariates : sequence of str
        Extra ANCOVA covariate columns (needs a baseline).

    Returns
    -------
    ArmsReport
        ``None`` for undefined statistics; see the module docstring for the rules.
        :func:`arms_json` gives what ``annotate stats arms --json`` prints.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant": ["a", "b", "c", "d"] * 2,
    ...                       "arm": ["T", "T", "C", "C"] * 2,
    ...                       "timepoint": ["baseline"] * 4 + ["m5"] * 4,
    ...                       "score": [4, 5, 4, 6, 7, 6, 5, 5]})
    >>> out = arms_json(arms_summary(frame, threshold=6))
    >>> [(d["arm"], d["timepoint"], d["mean"]) for d in out["descriptives"]]
    [('T', 'baseline', 4.5), ('T', 'm5', 6.5), ('C', 'baseline', 5.0), ('C', 'm5', 5.0)]
    >>> c = out["comparisons"][0]
    >>> c["timepoint"], c["mean_difference"]["value"], c["threshold"]["treatment_events"]
    ('m5', 1.5, 2)
    >>> [(w["arm"], w["from"], w["to"], w["mean_change"]) for w in out["within_arm"]]
    [('T', 'baseline', 'm5', 2.0), ('C', 'baseline', 'm5', 0.0)]
    """
    if not isinstance(frame, pd.DataFrame):
        raise ArmsTableError(f"expected a table (pandas DataFrame); got {type(frame).__name__}")
    covariates = list(dict.fromkeys(str(c) for c in covariates))
    _check_columns(
        frame,
        {
            "participant column": participant,
            "arm column": arm,
            "timepoint column": timepoint,
            "score column": score,
            **{f"covariate column {c!r}": c for c in covariates},
        },
    )
    frame = frame.reset_index(drop=True)
    if frame.empty:
        raise ArmsTableError("the table has no rows; it needs one row per participant and time point")
    pids = _labels(frame, participant, "participant")
    arm_labels = _labels(frame, arm, "arm")
    tp_labels = _labels(frame, timepoint, "time point")
    scores = _scores(frame, score)

    arms_of: dict[str, dict[str, None]] = {}
    for pid, label in zip(pids, arm_labels, strict=True):
        arms_of.setdefault(pid, {})[label] = None
    in_two = [f"{pid!r} ({' and '.join(a)})" for pid, a in arms_of.items() if len(a) > 1]
    if in_two:
        raise _problems(
            "participants appear in more than one arm",
            in_two,
            "Each participant belongs to one arm; correct the arm column",
        )
    row_of: dict[tuple[Hashable, str], int] = {}
    repeated = []
    for i, key in enumerate(zip(pids, tp_labels, strict=True)):
        if key in row_of:
            repeated.append(f"{key[0]!r} at {key[1]!r} ({_row(row_of[key])} and {_row(i)})")
        row_of.setdefault(key, i)
    if repeated:
        raise _problems(
            "participants have more than one row at a time point",
            repeated,
            "Give one score per participant and time point (aggregate ratings first)",
        )

    arms = list(dict.fromkeys(arm_labels))
    timepoints = list(dict.fromkeys(tp_labels))
    base = _resolve_baseline(timepoints, baseline)
    pair = _resolve_arms(
        arms,
        None if treatment is None else str(treatment).strip(),
        None if control is None else str(control).strip(),
    )
    if covariates and base is None:
        raise ArmsTableError(
            "covariates adjust the ANCOVA, which needs a baseline time point; name the baseline "
            "(or call that time point 'baseline') or leave out the covariates"
        )
    if threshold is not None:
        number = _number(threshold)
        if number is None or math.isnan(number):
            raise ArmsTableError(f"threshold must be a finite number; got {threshold!r}")
        threshold = number

    participants = list(arms_of)
    arm_of = pd.Series({pid: next(iter(a)) for pid, a in arms_of.items()})
    wide = (
        pd.DataFrame({"p": pids, "t": tp_labels, "s": scores})
        .pivot(index="p", columns="t", values="s")
        .reindex(index=participants, columns=timepoints)
    )
    table = _Table(frame, wide, arm_of, row_of)

    descriptives = tuple(ArmDescriptives(a, t, describe(table.scores(a, t))) for a in arms for t in timepoints)
    comparisons: tuple[ArmComparison, ...] = ()
    if pair is not None:
        comparisons = tuple(_comparison(table, pair, t, base, threshold, covariates) for t in timepoints if t != base)
    within_arm: tuple[WithinArmChange, ...] = ()
    if base is not None:
        within_arm = tuple(
            WithinArmChange(a, base, t, paired_change(table.scores(a, base), table.scores(a, t)))
            for a in arms
            for t in timepoints
            if t != base
        )
    return ArmsReport(descriptives, comparisons, within_arm)


def arms_summary_from_csv(path: str | Path, **options: Any) -> ArmsReport:
    """Read ``path`` with :func:`read_arms_csv` and summarise it with :func:`arms_summary`.

    Examples
    --------
    >>> import io
    >>> text = "participant,arm,timepoint,score\\n1,A,pre,3\\n1,A,post,5\\n2,A,pre,4\\n2,A,post,5\\n"
    >>> out = arms_summary_from_csv(io.StringIO(text), baseline="pre")
    >>> out.comparisons, out.within_arm[0].change.mean_change
    ((), 1.5)
    """
    return arms_summary(read_arms_csv(path), **options)


# ---------------------------------------------------------------- serializers
# Each turns one typed result into plain JSON: floats, ``[low, high]`` 95% intervals, and ``None``
# for a number that is undefined or not finite (JSON has no NaN or infinity).


def _ci(low: float | None, high: float | None) -> list[float | None]:
    return [_json_number(low), _json_number(high)]


def _json_number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _descriptives_json(arm: str, timepoint: str, d: Descriptives) -> dict[str, Any]:
    return {
        "arm": arm,
        "timepoint": timepoint,
        "n": d.n,
        "mean": _json_number(d.mean),
        "sd": _json_number(d.sd),
        "median": _json_number(d.median),
        "q1": _json_number(d.q1),
        "q3": _json_number(d.q3),
        "min": _json_number(d.minimum),
        "max": _json_number(d.maximum),
    }


def _mean_difference_json(r: MeanDifference) -> dict[str, Any]:
    return {"value": _json_number(r.difference), "ci95": _ci(r.ci95_low, r.ci95_high)}


def _ancova_json(r: AncovaResult) -> dict[str, Any]:
    return {
        "value": _json_number(r.difference),
        "ci95": _ci(r.ci95_low, r.ci95_high),
        "p": _json_number(r.p_value),
        "n": r.n,
    }


def _hedges_json(r: HedgesG) -> dict[str, Any]:
    return {"value": _json_number(r.g), "ci95": _ci(r.ci95_low, r.ci95_high)}


def _threshold_json(r: ThresholdComparison) -> dict[str, Any]:
    rr, rd = r.risk_ratio, r.risk_difference
    return {
        "value": r.threshold,
        "treatment_events": r.treatment_events,
        "treatment_n": r.treatment_n,
        "control_events": r.control_events,
        "control_n": r.control_n,
        "risk_ratio": {
            "value": _json_number(rr.value) if rr else None,
            "ci95": _ci(rr.ci95_low, rr.ci95_high) if rr else [None, None],
        },
        "risk_difference": {
            "value": _json_number(rd.value) if rd else None,
            "ci95": _ci(rd.ci95_low, rd.ci95_high) if rd else [None, None],
        },
    }


def _within_json(arm: str, start: str, end: str, r: PairedChange) -> dict[str, Any]:
    return {
        "arm": arm,
        "from": start,
        "to": end,
        "n_pairs": r.n_pairs,
        "mean_change": _json_number(r.mean_change),
        "ci95": _ci(r.ci95_low, r.ci95_high),
        "p": _json_number(r.p_value),
        "cohens_dz": _json_number(r.cohens_dz),
    }


def _comparison_json(c: ArmComparison) -> dict[str, Any]:
    return {
        "timepoint": c.timepoint,
        "treatment": c.treatment,
        "control": c.control,
        "n_treatment": c.difference.n1,
        "n_control": c.difference.n2,
        "mean_difference": _mean_difference_json(c.difference),
        "ancova": None if c.ancova is None else _ancova_json(c.ancova),
        "hedges_g": _hedges_json(c.hedges),
        "threshold": None if c.threshold is None else _threshold_json(c.threshold),
    }


def arms_json(report: ArmsReport) -> dict[str, Any]:
    """What ``annotate stats arms --json`` prints: ``{"descriptives", "comparisons", "within_arm"}``."""
    return {
        "descriptives": [_descriptives_json(d.arm, d.timepoint, d.stats) for d in report.descriptives],
        "comparisons": [_comparison_json(c) for c in report.comparisons],
        "within_arm": [_within_json(w.arm, w.start, w.end, w.change) for w in report.within_arm],
    }


ROW_COLUMNS = [
    "section", "arm", "timepoint", "treatment", "control", "statistic", "value", "ci95_low", "ci95_high", "p", "n",
]  # fmt: skip


@dataclass(frozen=True)
class OutcomeRow:
    """One statistic of the outcome table as a long row (for the page's tables and the CSV download)."""

    section: str  # descriptives | comparison | within arm | note
    statistic: str
    value: float | int | str | None
    ci95_low: float | None = None
    ci95_high: float | None = None
    p: float | None = None
    n: int | None = None
    arm: str | None = None
    timepoint: str | None = None
    treatment: str | None = None
    control: str | None = None


def arms_rows(report: ArmsReport) -> list[OutcomeRow]:
    """The report as long rows, one statistic each (the order of the page and of the CSV).

    Examples
    --------
    >>> frame = pd.DataFrame({"participant": ["a", "b"], "arm": ["A", "A"], "timepoint": ["m5", "m5"],
    ...                       "score": [4, 6]})
    >>> [r.statistic for r in arms_rows(arms_summary(frame))]
    ['n', 'mean', 'sd', 'median', 'q1', 'q3', 'min', 'max']
    """
    out: list[OutcomeRow] = []
    for d in report.descriptives:
        st = d.stats
        values = {"n": st.n, "mean": st.mean, "sd": st.sd, "median": st.median, "q1": st.q1, "q3": st.q3}
        values |= {"min": st.minimum, "max": st.maximum}
        for name, value in values.items():
            out.append(OutcomeRow("descriptives", name, _json_number(value) if name != "n" else value, arm=d.arm,
                                  timepoint=d.timepoint))  # fmt: skip
    for c in report.comparisons:
        tp, tr, co = c.timepoint, c.treatment, c.control
        n_both = c.difference.n1 + c.difference.n2
        diff, h = c.difference, c.hedges
        out.append(
            OutcomeRow(
                "comparison", "mean difference (Welch)", _json_number(diff.difference), _json_number(diff.ci95_low),
                _json_number(diff.ci95_high), n=n_both, timepoint=tp, treatment=tr, control=co,
            )
        )  # fmt: skip
        if c.ancova is not None:
            a = c.ancova
            out.append(
                OutcomeRow(
                    "comparison", "ANCOVA adjusted difference", _json_number(a.difference), _json_number(a.ci95_low),
                    _json_number(a.ci95_high), _json_number(a.p_value), a.n, timepoint=tp, treatment=tr, control=co,
                )
            )  # fmt: skip
        out.append(
            OutcomeRow(
                "comparison", "Hedges' g", _json_number(h.g), _json_number(h.ci95_low), _json_number(h.ci95_high),
                n=n_both, timepoint=tp, treatment=tr, control=co,
            )
        )  # fmt: skip
        t = c.threshold
        if t is not None:
            events = f"{t.treatment_events}/{t.treatment_n} vs {t.control_events}/{t.control_n}"
            out.append(
                OutcomeRow(
                    "comparison", f"events (score >= {t.threshold:g})", events, n=n_both, timepoint=tp, treatment=tr,
                    control=co,
                )
            )  # fmt: skip
            risks: tuple[tuple[str, RiskRatio | RiskDifference | None], ...] = (
                ("risk ratio (Katz)", t.risk_ratio),
                ("risk difference (Newcombe)", t.risk_difference),
            )
            for name, r in risks:
                out.append(
                    OutcomeRow(
                        "comparison", name, None if r is None else _json_number(r.value),
                        None if r is None else _json_number(r.ci95_low),
                        None if r is None else _json_number(r.ci95_high), timepoint=tp, treatment=tr, control=co,
                    )
                )  # fmt: skip
    for w in report.within_arm:
        ch = w.change
        span = f"{w.start} -> {w.end}"
        out.append(
            OutcomeRow(
                "within arm", "mean change (paired t)", _json_number(ch.mean_change), _json_number(ch.ci95_low),
                _json_number(ch.ci95_high), _json_number(ch.p_value), ch.n_pairs, arm=w.arm, timepoint=span,
            )
        )  # fmt: skip
        out.append(
            OutcomeRow("within arm", "Cohen's d_z", _json_number(ch.cohens_dz), n=ch.n_pairs, arm=w.arm, timepoint=span)
        )
    return out


def arms_rows_frame(rows: Sequence[OutcomeRow]) -> pd.DataFrame:
    """Rows as a DataFrame with :data:`ROW_COLUMNS` (for display and CSV)."""
    return pd.DataFrame([{c: getattr(r, c) for c in ROW_COLUMNS} for r in rows], columns=ROW_COLUMNS)


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _estimate(value: float | None, low: float | None, high: float | None, p: float | None = None) -> str:
    shown_p = f", p {p:.2g}" if p is not None else ""
    return f"{_fmt(_json_number(value))} [{_fmt(_json_number(low))}, {_fmt(_json_number(high))}]{shown_p}"


def arms_text(report: ArmsReport) -> str:
    """The plain-text table of ``annotate stats arms`` (without ``--json``)."""
    lines = [f"{'arm':<14}{'time point':<14}{'n':>4}{'mean':>9}{'SD':>9}{'median':>9}{'IQR':>18}{'range':>16}"]
    for d in report.descriptives:
        st = d.stats
        iqr = f"[{_fmt(_json_number(st.q1))}, {_fmt(_json_number(st.q3))}]"
        span = f"[{_fmt(_json_number(st.minimum))}, {_fmt(_json_number(st.maximum))}]"
        lines.append(
            f"{d.arm:<14}{d.timepoint:<14}{st.n:>4}{_fmt(_json_number(st.mean)):>9}{_fmt(_json_number(st.sd)):>9}"
            f"{_fmt(_json_number(st.median)):>9}{iqr:>18}{span:>16}"
        )
    for c in report.comparisons:
        diff, a, h = c.difference, c.ancova, c.hedges
        lines += [
            "",
            f"{c.timepoint}: {c.treatment} (n {diff.n1}) - {c.control} (n {diff.n2})",
            f"  mean difference (Welch 95% CI)  {_estimate(diff.difference, diff.ci95_low, diff.ci95_high)}",
            "  ANCOVA adjusted difference      "
            + (f"{_estimate(a.difference, a.ci95_low, a.ci95_high, a.p_value)}, n {a.n}" if a else "n/a (no baseline)"),
            f"  Hedges' g                       {_estimate(h.g, h.ci95_low, h.ci95_high)}",
        ]
        t = c.threshold
        if t is not None:
            rr, rd = t.risk_ratio, t.risk_difference
            lines += [
                f"  score >= {t.threshold:g}: {t.treatment_events}/{t.treatment_n} vs {t.control_events}/{t.control_n}",
                "  risk ratio (Katz)               "
                + (_estimate(rr.value, rr.ci95_low, rr.ci95_high) if rr else _estimate(None, None, None)),
                "  risk difference (Newcombe)      "
                + (_estimate(rd.value, rd.ci95_low, rd.ci95_high) if rd else _estimate(None, None, None)),
            ]
    if report.within_arm:
        lines += ["", "within arm (paired)"]
        for w in report.within_arm:
            ch = w.change
            lines.append(
                f"  {w.arm}: {w.start} -> {w.end}, {ch.n_pairs} pairs, change "
                f"{_fmt(_json_number(ch.mean_change))} [{_fmt(_json_number(ch.ci95_low))}, "
                f"{_fmt(_json_number(ch.ci95_high))}], p {_fmt(_json_number(ch.p_value))}, "
                f"d_z {_fmt(_json_number(ch.cohens_dz))}"
            )
    return "\n".join(lines)


__all__ = [
    "ROW_COLUMNS",
    "ArmComparison",
    "ArmDescriptives",
    "ArmsReport",
    "ArmsTableError",
    "OutcomeRow",
    "WithinArmChange",
    "arms_json",
    "arms_rows",
    "arms_rows_frame",
    "arms_summary",
    "arms_summary_from_csv",
    "arms_text",
    "read_arms_csv",
]
