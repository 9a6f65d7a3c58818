"""Onset matching: most pairs, then least total |Δ|, checked against an assignment solver and mir_eval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from annotate.stats.timing_match import SLACK, match_onsets, match_sorted_batch, segment_counts


def reference(a: np.ndarray, b: np.ndarray, w: float) -> tuple[int, float]:
    """Cardinality and cost by linear_sum_assignment on |Δ| - M over feasible pairs (issue 19's hint)."""
    wide = w + SLACK
    feasible = (b[None, :] >= a[:, None] - wide) & (b[None, :] <= a[:, None] + wide)
    if not feasible.any():
        return 0, 0.0
    big = (min(a.size, b.size) + 1) * (w + 1) * 10
    cost = np.where(feasible, np.abs(a[:, None] - b[None, :]) - big, 0.0)
    rows, cols = linear_sum_assignment(cost)
    keep = feasible[rows, cols]
    return int(keep.sum()), float(np.abs(a[rows[keep]] - b[cols[keep]]).sum())


def random_case(rng: np.random.Generator, n_max: int = 15) -> tuple[np.ndarray, np.ndarray, float]:
    n, m = rng.integers(0, n_max, 2)
    decimals = int(rng.integers(0, 3))  # rounded times make ties and exact window boundaries common
    a = np.sort(np.round(rng.uniform(0, 20, n), decimals))
    b = np.sort(np.round(rng.uniform(0, 20, m), decimals))
    return a, b, float(rng.choice([0.25, 0.5, 1.0, 2.0, 3.0, 5.0]))


def test_matches_the_assignment_solver_on_random_cases() -> None:
    rng = np.random.default_rng(20260119)
    for _ in range(1500):
        a, b, w = random_case(rng)
        ia, ib = match_sorted_batch(a, np.array([0, a.size]), b, np.array([0, b.size]), w)
        assert len(set(ia.tolist())) == ia.size and len(set(ib.tolist())) == ib.size
        assert (np.abs(a[ia] - b[ib]) <= w + SLACK).all()
        k, cost = reference(a, b, w)
        assert ia.size == k
        assert np.abs(a[ia] - b[ib]).sum() == pytest.approx(cost, abs=1e-9)


def test_batch_of_problems_equals_each_problem_alone() -> None:
    rng = np.random.default_rng(7)
    cases = [random_case(rng, 30)[:2] for _ in range(300)]
    a = np.concatenate([c[0] for c in cases])
    b = np.concatenate([c[1] for c in cases])
    a_ptr = np.concatenate([[0], np.cumsum([c[0].size for c in cases])])
    b_ptr = np.concatenate([[0], np.cumsum([c[1].size for c in cases])])
    for w in (0.25, 1.0, 5.0):
        ia, ib = match_sorted_batch(a, a_ptr, b, b_ptr, w)
        problem = np.searchsorted(a_ptr, ia, side="right") - 1
        assert np.array_equal(problem, np.searchsorted(b_ptr, ib, side="right") - 1)
        for p, (x, y) in enumerate(cases):
            alone_a, alone_b = match_sorted_batch(x, np.array([0, x.size]), y, np.array([0, y.size]), w)
            assert np.array_equal(ia[problem == p] - a_ptr[p], alone_a)
            assert np.array_equal(ib[problem == p] - b_ptr[p], alone_b)


def test_cardinality_equals_mir_eval_match_events() -> None:
    mir_util = pytest.importorskip("mir_eval.util")
    rng = np.random.default_rng(11)
    for _ in range(1000):
        a, b, w = random_case(rng, 25)
        a = a + rng.uniform(0, 1e-4, a.size)  # off the grid: mir_eval's window has no float slack
        a.sort()
        mine = match_onsets(a, b, w)
        assert mine.n_matched == len(mir_util.match_events(a, b, w))


def test_order_of_the_input_does_not_matter() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 30, 20), rng.uniform(0, 30, 25)
    m = match_onsets(a, b, 1.0)
    perm_a, perm_b = rng.permutation(20), rng.permutation(25)
    shuffled = match_onsets(a[perm_a], b[perm_b], 1.0)
    back = sorted((int(perm_a[i]), int(perm_b[j])) for i, j in shuffled.pairs)
    assert back == list(m.pairs)
    assert shuffled.total_abs_diff == pytest.approx(m.total_abs_diff)


def test_window_is_inclusive_despite_float_rounding() -> None:
    assert match_onsets([1.1], [1.6], 0.5).n_matched == 1  # 1.6 - 1.1 = 0.5000000000000002
    assert match_onsets([1.1], [1.61], 0.5).n_matched == 0


def test_prefers_more_pairs_over_closer_ones() -> None:
    m = match_onsets([10.0, 10.8], [10.4, 9.5], 0.5)
    assert m.pairs == ((0, 1), (1, 0)) and m.total_abs_diff == pytest.approx(0.9)
    # among maximum matchings the one with the least total |Δ|
    assert match_onsets([0.0, 1.0], [0.9, 1.1], 1.0).pairs == ((0, 0), (1, 1))


def test_empty_inputs_and_bad_tolerance() -> None:
    assert match_onsets([], [1.0], 1.0).pairs == ()
    assert match_onsets([1.0], [], 1.0).n_second == 0
    with pytest.raises(ValueError, match="positive number"):
        match_onsets([1.0], [1.0], 0)


def test_segment_counts_is_exact_per_segment() -> None:
    values = np.array([1.0, 2.0, 2.0, 5.0, 0.5, 2.0])
    ptr = np.array([0, 4, 6])
    queries = np.array([2.0, 2.0, 9.0, 2.0])
    segment = np.array([0, 0, 0, 1])
    assert segment_counts(values, ptr, queries, segment, strict=True).tolist() == [1, 1, 4, 1]
    assert segment_counts(values, ptr, queries, segment, strict=False).tolist() == [3, 3, 4, 2]
