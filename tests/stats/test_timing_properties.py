"""Property tests of timing agreement (Hypothesis, derandomized so CI sees the same cases every run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.stats.timing import timing_agreement, timing_json
from annotate.stats.timing_match import match_onsets

FIXED = settings(derandomize=True, max_examples=60, deadline=None, database=None)
LENGTH = 60.0

times = st.lists(st.floats(min_value=0, max_value=50, allow_nan=False).map(lambda t: round(t, 2)), max_size=25)
event = st.tuples(
    st.sampled_from(["look", "away", "coo"]),
    st.floats(min_value=0, max_value=50, allow_nan=False).map(lambda t: round(t, 2)),
    st.one_of(st.none(), st.floats(min_value=0, max_value=8, allow_nan=False).map(lambda d: round(d, 2))),
)
coder = st.lists(event, min_size=1, max_size=20)


Event = tuple[str, float, float | None]


def to_frame(first: list[Event], second: list[Event]) -> pd.DataFrame:
    rows = []
    for rater, events in (("a", first), ("b", second)):
        for code, onset, duration in events:
            # kind is fixed per code so the table is valid: coo is a point, the others states
            offset = None if code == "coo" else onset + (duration or 0.5)
            rows.append(("s", rater, "g", code, onset, offset))
    return pd.DataFrame(rows, columns=["session", "rater", "group", "code", "onset", "offset"]).assign(
        session_length=LENGTH
    )


@FIXED
@given(coder)
def test_identical_coders_have_kappa_one(events: list[tuple[str, float, float | None]]) -> None:
    g = timing_agreement(to_frame(events, events), 1.0, unit=0.5, curve=()).groups["g"]
    assert g.event.kappa == pytest.approx(1.0)
    assert g.event.n_unmatched == (0, 0) and g.event.f1.pooled == pytest.approx(1.0)
    assert g.time_unit.kappa is None or g.time_unit.kappa == pytest.approx(1.0)


@FIXED
@given(times, times)
def test_matched_pairs_never_fall_as_tolerance_grows(a: list[float], b: list[float]) -> None:
    counts = [match_onsets(a, b, w).n_matched for w in (0.1, 0.25, 0.5, 1, 2, 3, 5, 10)]
    assert counts == sorted(counts)


@FIXED
@given(times.filter(bool), times.filter(bool))
def test_f1_never_falls_as_tolerance_grows_in_a_one_code_group(a: list[float], b: list[float]) -> None:
    rows = [("s", "a", "x", t, None) for t in a] + [("s", "b", "x", t, None) for t in b]
    data = pd.DataFrame(rows, columns=["session", "rater", "code", "onset", "offset"]).assign(session_length=LENGTH)
    curve = timing_agreement(data, 1.0, curve=(0.1, 0.25, 0.5, 1, 2, 3, 5)).groups["x"].curve
    f1 = [p.f1 for p in curve]
    assert all(v is not None for v in f1)
    assert f1 == sorted(f1)  # type: ignore[type-var]


@FIXED
@given(times.filter(bool), st.floats(min_value=0.1, max_value=3))
def test_shifting_one_coder_by_more_than_w_unmatches_everything(a: list[float], w: float) -> None:
    # onsets of one coder are distinct enough that a shift by > w cannot land on another event
    spaced = np.unique(np.round(np.asarray(a) / (3 * w + 1))) * (3 * w + 1)
    shifted = spaced + w + 0.01 + 0.0
    assert match_onsets(spaced, shifted, w).n_matched == 0
    assert match_onsets(spaced, spaced - (w + 0.01), w).n_matched == 0


@FIXED
@given(coder, coder, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(
    first: list[tuple[str, float, float | None]], second: list[tuple[str, float, float | None]], rnd: object
) -> None:
    data = to_frame(first, second)
    order = list(range(len(data)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = data.iloc[order].reset_index(drop=True)
    one = timing_json(timing_agreement(data, 1.0, unit=0.5, curve=(0.5, 2)))
    two = timing_json(timing_agreement(shuffled, 1.0, unit=0.5, curve=(0.5, 2)))
    assert one == two
