"""Property tests (Hypothesis) for the incomplete/nested-design statistics: invariances that must
hold for any design - row order, relabelling of raters and units, affine rescaling - and a JSON
that is always valid (no NaN or infinity) whatever the data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annotate.stats.reliability_designs import design_reliability, design_reliability_to_json

SCALE = list(range(1, 8))
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def designs(draw: st.DrawFn, nested: bool = False) -> pd.DataFrame:
    """A random incomplete design: units scored by 1-3 of 2-6 raters, scores 1-7, some units double-coded."""
    n_raters = draw(st.integers(2, 6))
    n_units = draw(st.integers(3, 24))
    rows = []
    for i in range(n_units):
        raters = draw(st.lists(st.integers(0, n_raters - 1), min_size=1, max_size=min(3, n_raters), unique=True))
        for j in raters:
            rows.append((f"u{i}", f"r{j}", draw(st.integers(1, 7))))
    frame = pd.DataFrame(rows, columns=["unit", "rater", "score"])
    sizes = frame.groupby("unit").size()
    if sizes.max() < 2:  # make sure one unit is double-coded
        extra = "r1" if frame.loc[0, "rater"] == "r0" else "r0"
        frame = pd.concat([frame, pd.DataFrame([(frame.loc[0, "unit"], extra, 4)], columns=frame.columns)])
    if frame["rater"].nunique() < 2:
        frame = pd.concat([frame, pd.DataFrame([("u0", "r_extra", 3)], columns=frame.columns)])
    if nested:
        per_film = draw(st.integers(2, 4))
        index = frame["unit"].str[1:].astype(int)
        frame = frame.assign(film=(index // per_film).map(lambda f: f"f{f}"))
    return frame.reset_index(drop=True)


def run(frame: pd.DataFrame, **kwargs: object) -> dict:
    options = {"categories": SCALE, "seed": 11, "n_draws": 200, "d_raters": [1, 3], "d_units": [1, 2]}
    options.update(kwargs)
    out = design_reliability_to_json(design_reliability(frame, **options))  # type: ignore[arg-type]
    json.dumps(out, allow_nan=False)  # never NaN or infinity
    return out


def numbers(block: object) -> list[float | None]:
    """All numbers of a JSON block in a fixed order (None kept)."""
    if block is None:
        return [None]
    if isinstance(block, dict):
        return [x for key in sorted(block) for x in numbers(block[key])]
    if isinstance(block, list):
        return [x for item in block for x in numbers(item)]
    if isinstance(block, bool | str):
        return []
    return [float(block)]  # type: ignore[arg-type]


def same(a: list[float | None], b: list[float | None], tol: float) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if (x is None) != (y is None):
            return False
        if x is not None and y is not None and abs(x - y) > tol * max(1.0, abs(x)):
            return False
    return True


@SETTINGS
@given(frame=designs(), seed=st.integers(0, 2**16))
def test_row_order_never_changes_results(frame: pd.DataFrame, seed: int) -> None:
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    assert run(frame) == run(shuffled)


@SETTINGS
@given(frame=designs(nested=True), seed=st.integers(0, 2**16))
def test_row_order_never_changes_nested_results(frame: pd.DataFrame, seed: int) -> None:
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    assert run(frame, cluster="film") == run(shuffled, cluster="film")


@SETTINGS
@given(frame=designs(), data=st.data())
def test_relabelling_raters_and_units_does_not_change_reliability(frame: pd.DataFrame, data: st.DataObject) -> None:
    raters = sorted(frame["rater"].unique())
    new_names = data.draw(st.permutations([f"z{k}" for k in range(len(raters))]))
    renamed = frame.assign(
        rater=frame["rater"].map(dict(zip(raters, new_names, strict=True))),
        unit=frame["unit"].map(lambda u: f"unit-{u[::-1]}"),
    )
    a, b = run(frame), run(renamed)
    assert a["design"] == b["design"] and same(numbers(a["pairwise"]), numbers(b["pairwise"]), 1e-12)
    assert same(numbers(a["icc_oneway"]), numbers(b["icc_oneway"]), 1e-10)
    for block in ("variance_components", "d_study"):
        assert same(numbers(a[block]), numbers(b[block]), 1e-5), block
    assert same(
        numbers({k: v["value"] for k, v in (a["icc_incomplete"] or {}).items()}),
        numbers({k: v["value"] for k, v in (b["icc_incomplete"] or {}).items()}),
        1e-5,
    )
    severity_a = {r["rater"]: r for r in a["raters"]}
    for r in b["raters"]:
        original = raters[new_names.index(r["rater"])]
        assert same(numbers(severity_a[original]), numbers(r), 1e-10)


# Found by Hypothesis in CI: equal unit means (exactly MSB = 0) scaled by 0.1 left MSB at 1e-33,
# and ICC(1,k) came out as -5e31 instead of undefined.
_EQUAL_MEANS = pd.DataFrame(
    [
        ("u0", "r0", 1),
        ("u1", "r0", 1),
        ("u2", "r0", 1),
        ("u2", "r1", 3),
        ("u3", "r0", 1),
        ("u4", "r0", 2),
        ("u4", "r1", 2),
    ],
    columns=["unit", "rater", "score"],
)


@SETTINGS
@given(frame=designs(), scale=st.floats(0.1, 20), shift=st.floats(-50, 50))
@example(frame=_EQUAL_MEANS, scale=0.1, shift=0.0)
def test_affine_rescaling_leaves_iccs_unchanged(frame: pd.DataFrame, scale: float, shift: float) -> None:
    moved = frame.assign(score=frame["score"] * scale + shift)
    a, b = run(frame, categories=None), run(moved, categories=None)
    for name in ("ICC(1)", "ICC(1,k)"):
        assert same(
            numbers(a["icc_oneway"] and a["icc_oneway"][name]["value"]),
            numbers(b["icc_oneway"] and b["icc_oneway"][name]["value"]),
            1e-8,
        )
    if a["variance_components"] is not None and b["variance_components"] is not None:
        for name, value in a["variance_components"].items():
            assert b["variance_components"][name] == pytest.approx(value * scale**2, rel=1e-4, abs=1e-6 * scale**2)
        for name, form in a["icc_incomplete"].items():
            other = b["icc_incomplete"][name]["value"]
            assert (form["value"] is None) == (other is None)
            if other is not None:
                assert other == pytest.approx(form["value"], abs=1e-5)


@SETTINGS
@given(frame=designs(nested=True))
def test_coefficients_are_ordered_and_intervals_contain_estimates(frame: pd.DataFrame) -> None:
    for kwargs in ({}, {"cluster": "film"}):
        out = run(frame, **kwargs)
        one = out["icc_oneway"]
        if one is not None and one["ICC(1)"]["value"] is not None and one["ICC(1)"]["ci95"][0] is not None:
            low, high = one["ICC(1)"]["ci95"]
            assert low <= one["ICC(1)"]["value"] <= high
        iccs = out["icc_incomplete"]
        if iccs is not None and iccs["ICC(A,1)"]["value"] is not None:
            assert iccs["ICC(A,1)"]["value"] <= iccs["ICC(C,1)"]["value"] + 1e-12
            assert iccs["ICC(A,1)"]["value"] <= iccs["ICC(A,k)"]["value"] + 1e-12
            assert all(0 <= f["value"] <= 1 + 1e-12 for f in iccs.values())
        if out["d_study"] is not None:
            phi, rel = np.array(out["d_study"]["phi"], dtype=float), np.array(out["d_study"]["g_relative"], dtype=float)
            ok = ~np.isnan(phi)
            assert np.all(phi[ok] <= rel[ok] + 1e-12)
            assert np.all(np.diff(phi, axis=0)[~np.isnan(np.diff(phi, axis=0))] >= -1e-12)  # more raters help
        pairs = out["pairwise"]
        assert pairs["n_pairs"] >= out["design"]["n_units_multi"]
        for value in (pairs["agreement"]["exact"], pairs["agreement"]["within_1"]):
            assert value is None or 0 <= value <= 1


def test_designs_strategy_makes_incomplete_designs() -> None:
    @settings(max_examples=20, deadline=None)
    @given(frame=designs())
    def check(frame: pd.DataFrame) -> None:
        assert frame.groupby("unit").size().max() >= 2 and frame["rater"].nunique() >= 2

    check()
