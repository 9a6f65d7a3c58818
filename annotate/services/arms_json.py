"""JSON blocks of the per-arm outcome dict of :func:`annotate.services.arms_table.arms_summary`.

Each helper turns one result of :mod:`annotate.stats.effects` (which cites the formulas) into
plain JSON: floats, ``[low, high]`` 95% intervals, and ``None`` for a number that is undefined
or not finite (JSON has no NaN or infinity).
"""

from __future__ import annotations

import math
from typing import Any

from annotate.stats.effects import (
    AncovaResult,
    Descriptives,
    HedgesG,
    MeanDifference,
    PairedChange,
    ThresholdComparison,
)


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
