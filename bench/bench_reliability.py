"""Speed of annotate's reliability statistics against pingouin and krippendorff.

Data: 2,000 units x 4 raters, 9-point scale, 10% of ratings missing (seeded).
Rows: full statistics table, ICC alone, alpha alone, and the 1,000-resample bootstrap of
ICC and alpha. pingouin's bootstrap is extrapolated from 5 resampled calls (1,000 would take
minutes); krippendorff's is run for real (1,000 calls, interval level).

Run: ``python bench/bench_reliability.py``
"""

from __future__ import annotations

import time

import krippendorff
import numpy as np
import pandas as pd
import pingouin

from annotate.reports.reliability import reliability_from_frame, reliability_json
from annotate.stats.reliability import (
    LEVELS,
    bootstrap_intervals,
    intraclass_correlations,
    krippendorff_alpha,
    ratings_from_long,
)


def summary_of(frame, **options):
    """The JSON of the reliability table of a long frame (what `annotate stats reliability --json` prints)."""
    return reliability_json(reliability_from_frame(frame, **options))


N_UNITS, N_RATERS, MISSING, SEED, N_RESAMPLES = 2000, 4, 0.10, 2024, 1000
SCALE = list(range(1, 10))


def make_long_table() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    truth = rng.normal(5, 1.6, size=(N_UNITS, 1))
    scores = np.clip(np.rint(truth + rng.normal(0, 1.0, size=(N_UNITS, N_RATERS))), 1, 9)
    scores[rng.random(scores.shape) < MISSING] = np.nan
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(N_UNITS), N_RATERS),
            "rater": np.tile([f"r{j}" for j in range(N_RATERS)], N_UNITS),
            "score": scores.ravel(),
        }
    )
    return frame.dropna(subset=["score"]).reset_index(drop=True)


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    frame = make_long_table()
    ratings = ratings_from_long(frame["unit"], frame["rater"], frame["score"].astype(int), SCALE)
    wide = frame.pivot(index="unit", columns="rater", values="score").to_numpy()
    complete = frame[frame.groupby("unit")["score"].transform("size") == N_RATERS]
    rows = []

    ours = best_of(lambda: summary_of(frame, categories=SCALE))
    peer = best_of(
        lambda: (
            pingouin.intraclass_corr(complete, targets="unit", raters="rater", ratings="score"),
            [krippendorff.alpha(reliability_data=wide.T, level_of_measurement=lv, value_domain=SCALE) for lv in LEVELS],
        ),
        repeats=1,
    )
    rows.append(("full table (ours: every statistic) vs pingouin ICC + 4 alphas", ours, peer))

    ours = best_of(lambda: intraclass_correlations(ratings))
    peer = best_of(
        lambda: pingouin.intraclass_corr(complete, targets="unit", raters="rater", ratings="score"),
        repeats=2,
    )
    rows.append(("ICC, six forms with CIs, one call", ours, peer))

    ours = best_of(lambda: krippendorff_alpha(ratings, "interval"))
    peer = best_of(
        lambda: krippendorff.alpha(reliability_data=wide.T, level_of_measurement="interval", value_domain=SCALE)
    )
    rows.append(("Krippendorff alpha interval, one call", ours, peer))

    forms = ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"]
    ours = best_of(lambda: bootstrap_intervals(ratings, n_resamples=N_RESAMPLES, seed=1, icc_forms=forms))
    rng = np.random.default_rng(1)
    units = complete["unit"].unique()
    indexed = complete.set_index("unit")

    def pingouin_resample():
        drawn = rng.choice(units, size=units.size, replace=True)
        sample = indexed.loc[drawn].reset_index()
        sample["unit"] = np.repeat(np.arange(units.size), N_RATERS)
        pingouin.intraclass_corr(sample, targets="unit", raters="rater", ratings="score")

    start = time.perf_counter()
    for _ in range(5):
        pingouin_resample()
    peer = (time.perf_counter() - start) / 5 * N_RESAMPLES
    rows.append((f"ICC bootstrap {N_RESAMPLES} (pingouin extrapolated from 5)", ours, peer))

    ours = best_of(lambda: bootstrap_intervals(ratings, n_resamples=N_RESAMPLES, seed=1, alpha_levels=["interval"]))
    pairable = wide[(~np.isnan(wide)).sum(axis=1) >= 2]

    def kripp_bootstrap():
        draw = np.random.default_rng(1)
        for _ in range(N_RESAMPLES):
            sample = pairable[draw.integers(0, pairable.shape[0], pairable.shape[0])]
            krippendorff.alpha(reliability_data=sample.T, level_of_measurement="interval", value_domain=SCALE)

    peer = best_of(kripp_bootstrap, repeats=1)
    rows.append((f"alpha interval bootstrap {N_RESAMPLES} (krippendorff run for real)", ours, peer))

    ours = best_of(
        lambda: bootstrap_intervals(ratings, n_resamples=N_RESAMPLES, seed=1, icc_forms=forms, alpha_levels=LEVELS)
    )
    rows.append(
        (f"bootstrap {N_RESAMPLES}: 6 ICCs + 4 alphas (ours) vs the two above", ours, rows[-1][2] + rows[-2][2])
    )

    print(
        f"{N_UNITS} units x {N_RATERS} raters, 9-point scale, {MISSING:.0%} missing "
        f"({len(frame)} ratings, {len(complete) // N_RATERS} complete units)"
    )
    print(f"{'task':<66}{'ours s':>10}{'peer s':>10}{'peer/ours':>11}")
    for name, ours_s, peer_s in rows:
        print(f"{name:<66}{ours_s:>10.4f}{peer_s:>10.3f}{peer_s / ours_s:>10.1f}x")


if __name__ == "__main__":
    main()
