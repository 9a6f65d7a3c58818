"""Input validation shared by the effect statistics."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.stats.effects_input import EffectsInputError, count, finite_or_none, observed, score_array


def test_score_array_accepts_numbers_and_missing():
    assert np.array_equal(score_array([1, None, 2.5], "s"), np.array([1.0, np.nan, 2.5]), equal_nan=True)
    assert observed(np.array([3, np.nan, 4]), "s").tolist() == [3.0, 4.0]


@pytest.mark.parametrize("bad", [["4", 5], [True], [1, float("-inf")]])
def test_score_array_rejects_text_booleans_and_infinity(bad):
    with pytest.raises(EffectsInputError):
        score_array(bad, "scores")


def test_score_array_must_be_one_dimensional():
    with pytest.raises(EffectsInputError, match="one-dimensional"):
        score_array(np.ones((2, 2)), "scores")


def test_count_and_finite_or_none():
    assert count(4.0, "n") == 4
    with pytest.raises(EffectsInputError, match="negative"):
        count(-1, "n")
    with pytest.raises(EffectsInputError, match="whole number"):
        count(True, "n")
    assert finite_or_none(float("inf")) is None and finite_or_none(None) is None
