"""Simulation: known variance components are recovered and the Monte Carlo 95% intervals cover.

Two designs a trial runs, 200 data sets each (seeded):

* incomplete crossed: 150 units, a pool of 8 raters, 80% of units double-coded by a random pair
  and 20% single-coded; s2_unit = 1, s2_rater = .3, s2_residual = .5;
* nested: 40 films x 5 segments, the same pool and coding; s2_cluster = .5, s2_unit = .5,
  s2_rater = .3, s2_residual = .5.

The mean REML estimate must be within 4 Monte Carlo standard errors of the truth, and each ICC's
95% interval must cover the true ICC in 90%-98% of the data sets (the log-scale draws of
``RemlFit.draws``, 1,000 per data set). About 40 s on the shared 2-core box (2.5 minutes under heavy load); marked slow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate.stats.reliability_design import long_ratings
from annotate.stats.reliability_incomplete import INCOMPLETE_FORMS, icc_forms, incomplete_iccs

N_SIMULATIONS = 200


def simulate(rng: np.random.Generator, truth: dict[str, float], n_units: int, per_cluster: int | None) -> pd.DataFrame:
    n_raters = 8
    rater = rng.normal(0, np.sqrt(truth["rater"]), n_raters)
    unit = rng.normal(0, np.sqrt(truth["unit"]), n_units)
    if per_cluster:
        film = rng.normal(0, np.sqrt(truth["cluster"]), n_units // per_cluster)
        unit = unit + film[np.arange(n_units) // per_cluster]
    k = np.where(rng.random(n_units) < 0.2, 1, 2)
    units = np.repeat(np.arange(n_units), k)
    raters = np.concatenate([rng.choice(n_raters, size, replace=False) for size in k])
    score = unit[units] + rater[raters] + rng.normal(0, np.sqrt(truth["residual"]), units.size)
    frame = pd.DataFrame({"unit": units, "rater": raters, "score": score})
    if per_cluster:
        frame["film"] = units // per_cluster
    return frame


@pytest.mark.slow
@pytest.mark.parametrize(
    ("truth", "n_units", "per_cluster"),
    [
        ({"unit": 1.0, "rater": 0.3, "residual": 0.5}, 150, None),
        ({"cluster": 0.5, "unit": 0.5, "rater": 0.3, "residual": 0.5}, 200, 5),
    ],
    ids=["incomplete-crossed", "nested"],
)
def test_estimates_recover_truth_and_intervals_cover(
    truth: dict[str, float], n_units: int, per_cluster: int | None
) -> None:
    rng = np.random.default_rng(20240614 + n_units)
    estimates = []
    covered = dict.fromkeys(INCOMPLETE_FORMS, 0)
    for s in range(N_SIMULATIONS):
        frame = simulate(rng, truth, n_units, per_cluster)
        data = long_ratings(frame, cluster="film" if per_cluster else None)
        iccs = incomplete_iccs(data, n_draws=1000, seed=s)
        estimates.append(iccs.components.as_dict())
        unit_variance = truth["unit"] + truth.get("cluster", 0.0)
        true_iccs = icc_forms(unit_variance, truth["rater"], truth["residual"], iccs.k)
        for name in INCOMPLETE_FORMS:
            low, high = iccs[name].ci95
            covered[name] += low is not None and high is not None and low <= float(true_iccs[name]) <= high
    table = pd.DataFrame(estimates)
    for name, value in truth.items():
        mean, se = table[name].mean(), table[name].std(ddof=1) / np.sqrt(N_SIMULATIONS)
        assert abs(mean - value) <= 4 * se, f"{name}: mean estimate {mean:.4f} vs truth {value} (se {se:.4f})"
    for name, hits in covered.items():
        assert 0.90 <= hits / N_SIMULATIONS <= 0.98, f"{name}: coverage {hits / N_SIMULATIONS:.3f}"
