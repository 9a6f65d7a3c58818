"""Speed of the incomplete-design reliability statistics against statsmodels MixedLM and R lme4.

Data (seeded): 2,000 units x a pool of 6 raters, every unit scored by a random pair (4,000
ratings), 9-point scale; unit SD 1.3, rater SD 0.5, residual SD 0.9.

Rows, all timed in this run:

* ``reliability_json(reliability_from_frame(...))`` - the whole JSON ``annotate stats reliability
  --json`` prints: the complete-case statistics (ICCs, kappas, Krippendorff's alpha, Gwet) and
  every design block below;
* ``design_reliability`` - everything the report prints: design, one-way ICC, REML fit, the four
  ICCs with 1,000-draw Monte Carlo CIs, D-study, 15 pairs of kappas, rater severity;
* ``fit_reml`` - the REML fit alone (unit effects absorbed, 7 x 7 system per evaluation);
* statsmodels ``MixedLM`` REML with unit and rater as variance components in one group (the
  only way to fit crossed effects in statsmodels); on ``--mixedlm-units`` units (default: all);
* R ``lme4::lmer`` REML (``Rscript``, if installed): the fit alone, timed inside R, and the
  whole ``Rscript`` call including start-up and reading the CSV.

The variance components of the three fits are printed side by side.

Run: ``python bench/bench_reliability_designs.py`` (``--mixedlm-units 500`` for a quicker run)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.regression.mixed_linear_model import MixedLM

from annotate.reports.reliability import reliability_from_frame, reliability_json
from annotate.stats.reliability_design import long_ratings
from annotate.stats.reliability_designs import DesignReliability, design_reliability, design_reliability_to_json
from annotate.stats.reliability_reml import fit_reml

N_UNITS, N_RATERS, SEED, N_DRAWS = 2000, 6, 2024, 1000
SCALE = list(range(1, 10))

R_SCRIPT = """
suppressPackageStartupMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1])
d$unit <- factor(d$unit); d$rater <- factor(d$rater)
t <- system.time(fit <- lmer(score ~ 1 + (1 | unit) + (1 | rater), data = d, REML = TRUE))[["elapsed"]]
v <- as.data.frame(VarCorr(fit))
cat(sprintf('{"seconds": %.6f, "unit": %.10f, "rater": %.10f, "residual": %.10f, "REMLcrit": %.10f}\\n', t,
            v$vcov[v$grp == "unit"], v$vcov[v$grp == "rater"], v$vcov[v$grp == "Residual"], REMLcrit(fit)))
"""


def make_long_table(n_units: int = N_UNITS) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    unit = rng.normal(0, 1.3, n_units)
    rater = rng.normal(0, 0.5, N_RATERS)
    raters = np.concatenate([rng.choice(N_RATERS, 2, replace=False) for _ in range(n_units)])
    units = np.repeat(np.arange(n_units), 2)
    score = np.clip(np.rint(5 + unit[units] + rater[raters] + rng.normal(0, 0.9, units.size)), 1, 9)
    return pd.DataFrame({"unit": units, "rater": [f"r{j}" for j in raters], "score": score.astype(int)})


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def mixedlm(frame: pd.DataFrame) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MixedLM.from_formula(
            "score ~ 1",
            groups=np.ones(len(frame)),
            vc_formula={"unit": "0 + C(unit)", "rater": "0 + C(rater)"},
            re_formula="0",
            data=frame,
        )
        result = model.fit(reml=True, method=["lbfgs"])
    seconds = time.perf_counter() - start
    components = dict(zip(model.exog_vc.names, (float(v) for v in result.vcomp), strict=True))
    components["residual"] = float(result.scale)
    return seconds, components


def lme4(frame: pd.DataFrame) -> tuple[float, float, dict[str, float], float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        data, script = Path(folder) / "ratings.csv", Path(folder) / "fit.R"
        frame.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        start = time.perf_counter()
        done = subprocess.run(["Rscript", str(script), str(data)], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        print(f"Rscript failed (is r-cran-lme4 installed?): {done.stderr.strip()[:200]}")
        return None
    out = json.loads(done.stdout.strip().splitlines()[-1])
    seconds, criterion = float(out.pop("seconds")), float(out.pop("REMLcrit"))
    return seconds, wall, {k: float(v) for k, v in out.items()}, criterion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixedlm-units", type=int, default=N_UNITS, help="units given to MixedLM (default all)")
    args = parser.parse_args()

    frame = make_long_table()
    data = long_ratings(frame, categories=SCALE)

    def report() -> DesignReliability:
        return design_reliability(frame, categories=SCALE, d_raters=[1, 2, 3, 4], seed=1, n_draws=N_DRAWS)

    def full_json() -> dict[str, object]:
        return reliability_json(reliability_from_frame(frame, categories=SCALE, level="interval", seed=1))

    json.dumps(full_json(), allow_nan=False)
    ours_json = best_of(full_json)
    result = report()
    print(json.dumps(design_reliability_to_json(result), indent=1))
    ours_full = best_of(report)
    ours_fit = best_of(lambda: fit_reml(data))
    our_fit = fit_reml(data)
    ours = our_fit.components.as_dict()

    subset = frame[frame["unit"] < args.mixedlm_units]
    sm_seconds, sm = mixedlm(subset)
    ours_subset = fit_reml(long_ratings(subset)).components.as_dict() if len(subset) < len(frame) else ours
    r = lme4(frame)

    print(
        f"\n{N_UNITS} units x {N_RATERS} raters, 2 ratings per unit ({len(frame)} ratings), {N_DRAWS} Monte Carlo draws"
    )
    print(f"{'task':<64}{'seconds':>10}{'x ours':>9}   unit / rater / residual")
    rows = [
        ("annotate stats reliability --json (reliability_from_frame + json)", ours_json, ours),
        ("design_reliability (REML + 1000-draw CIs + every block)", ours_full, ours),
        ("fit_reml (direct REML, this package)", ours_fit, ours),
        (f"statsmodels MixedLM REML ({args.mixedlm_units} units)", sm_seconds, sm),
    ]
    if r is not None:
        rows.append(("R lme4::lmer REML (fit, timed inside R)", r[0], r[2]))
        rows.append(("R lme4::lmer REML (whole Rscript call)", r[1], r[2]))
    for name, seconds, vc in rows:
        ratio = seconds / ours_fit
        print(f"{name:<64}{seconds:>10.3f}{ratio:>8.0f}x   {vc['unit']:.5f} / {vc['rater']:.5f} / {vc['residual']:.5f}")
    if len(subset) < len(frame):
        print(
            f"(our fit on the MixedLM subset: {ours_subset['unit']:.5f} / {ours_subset['rater']:.5f} / "
            f"{ours_subset['residual']:.5f})"
        )
    else:
        print(f"max |ours - MixedLM| = {max(abs(ours[k] - sm[k]) for k in ours):.2e}")
    if r is not None:
        print(
            f"max |ours - lme4| = {max(abs(ours[k] - r[2][k]) for k in ours):.2e}; REML criterion "
            f"(-2 log restricted likelihood): ours {our_fit.criterion:.8f}, lme4 {r[3]:.8f}"
        )
    print(f"\ntarget: the full JSON <= 2 s -> {'met' if ours_json <= 2 else 'NOT met'} ({ours_json:.3f} s)")


if __name__ == "__main__":
    main()
