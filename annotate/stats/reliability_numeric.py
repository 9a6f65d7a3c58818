"""Small numerical helpers for the REML fit: central-difference derivatives and a Newton polish.

The REML criterion of :mod:`~annotate.stats.reliability_reml` has 2-4 parameters and costs tens
of microseconds per evaluation, so derivatives by central differences (error O(h^2)) are cheap
and accurate enough both for the observed information (the Monte Carlo intervals) and for a few
Newton steps after L-BFGS-B.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from annotate.stats.reliability_design import FloatArray, IntArray


def central_derivatives(
    f: Callable[[FloatArray], float], x: FloatArray, h: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """``f(x)``, gradient and Hessian by central differences with steps ``h`` (error O(h^2))."""
    d = x.size
    f0 = f(x)
    steps = np.diag(h)
    up = np.array([f(x + steps[i]) for i in range(d)])
    down = np.array([f(x - steps[i]) for i in range(d)])
    grad = (up - down) / (2 * h)
    hess = np.diag((up - 2 * f0 + down) / h**2)
    for i in range(d):
        for j in range(i):
            corners = (
                f(x + steps[i] + steps[j])
                - f(x + steps[i] - steps[j])
                - f(x - steps[i] + steps[j])
                + f(x - steps[i] - steps[j])
            )
            hess[i, j] = hess[j, i] = corners / (4 * h[i] * h[j])
    return f0, grad, hess


def newton_polish(f: Callable[[FloatArray], float], theta: FloatArray, fx: float) -> tuple[FloatArray, float]:
    """Up to three Newton steps on the interior coordinates, kept only when they lower the criterion.

    L-BFGS-B with finite-difference gradients stops about 1e-7 (relative) from the optimum; the
    polish takes the estimates to about 1e-9, so that they do not depend on how raters are
    labelled or ordered.
    """
    x = theta.copy()
    for _ in range(3):
        idx = np.flatnonzero(x > 1e-6)
        if idx.size == 0:
            break

        def along(point: FloatArray, x: FloatArray = x, idx: IntArray = idx) -> float:
            moved = x.copy()
            moved[idx] = point
            return f(moved)

        _, grad, hess = central_derivatives(along, x[idx], 1e-4 * np.maximum(x[idx], 0.05))
        try:
            np.linalg.cholesky(hess)
        except np.linalg.LinAlgError:
            break
        step = -np.linalg.solve(hess, grad)
        trial = x.copy()
        trial[idx] = x[idx] + step
        if np.any(trial[idx] < 0):
            break
        f_trial = f(trial)
        # near the optimum the criterion changes by less than its rounding error; allow for that
        if not f_trial <= fx + 1e-11 * max(1.0, abs(fx)):
            break
        x, fx = trial, f_trial
        if np.max(np.abs(step) / np.maximum(x[idx], 1e-3)) < 1e-10:
            break
    return x, fx
