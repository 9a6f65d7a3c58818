"""Direct REML for crossed (units x raters) and nested ((units : clusters) x raters) random models.

The model for rating ``t`` of unit ``i`` (in cluster ``c``) by rater ``j`` is::

    y_t = mu + c_c + u_i + r_j + e_t,   c ~ N(0, s2_cluster), u ~ N(0, s2_unit), r ~ N(0, s2_rater),
                                        e ~ N(0, s2_residual)

without the cluster term for a crossed design. Variance components are estimated by restricted
maximum likelihood (Patterson & Thompson 1971) over **every** rating, units with a single
rating included (they inform the unit + residual variance and the rater effects).

Why this is fast
----------------
We maximise the same profiled REML criterion as R ``lme4`` (Bates, Maechler, Bolker & Walker
2015, *J. Stat. Softw.* 67(1), eqs. 34-42): with relative standard deviations
``theta = (s_unit, s_rater[, s_cluster]) / s_residual`` and ``Lambda = diag(theta)``,

    -2 l_R(theta) = log|C| + (N - 1) (1 + log(2 pi r2 / (N - 1))),
    C = [[X'X, X'Z Lambda], [Lambda Z'X, Lambda Z'Z Lambda + I]],  r2 = y'y - b' C^-1 b

(``X`` the intercept, ``Z = [Z_unit, Z_rater, Z_cluster]``, ``b = [X Z Lambda]'y``). The matrix
``C`` has one row per unit, but its unit block is **diagonal** (a unit's effect only meets its
own ratings): ``1 + theta_u^2 n_i``. The unit effects are therefore eliminated in closed form
(a Schur complement, i.e. Henderson's absorption): what remains is a ``(1 + n_raters)``-square
system in the intercept and rater effects,

    S = D (A0 - sum_i w_i a_i a_i') D + diag(0, I),   w_i = theta_u^2 / (1 + theta_u^2 n_i),

with ``a_i = (n_i, incidence row of unit i)``, ``A0 = [X Z_rater]'[X Z_rater]`` and
``D = diag(1, theta_r, ..., theta_r)``. Because ``w_i`` depends on unit ``i`` only through its
number of ratings ``n_i``, the sums ``sum_i w_i a_i a_i'`` are combinations of a handful of
matrices precomputed once per distinct ``n_i``; one evaluation of the likelihood costs
``O(n_raters^3)``, independent of the number of ratings. In the nested model the cluster block
is diagonal too once the units are absorbed (units are nested in clusters), so clusters are
absorbed the same way at ``O(n_clusters n_raters^2)`` per evaluation. The few (2 or 3)
parameters ``0 <= theta <= 1000`` are found with L-BFGS-B from two starting points (the
boundary ``theta = 0`` is allowed, as in lme4). Because the criterion is even in each theta,
``theta_k = 0`` is always a stationary point; a search that ends at or near it is probed away
from the boundary and restarted when that is lower, and a few Newton steps polish the optimum.

Designs whose variance components are not identified are refused (:class:`NotApplicable`):
every rater scored one unit; every cluster holds one unit; no residual degrees of freedom
(``N - n_units - n_raters + c``, ``c`` connected components of the rater-unit graph); or unit
and rater effects reproduce every score exactly.

statsmodels ``MixedLM`` has no crossed random effects; written as variance components within
one all-enclosing group it works on dense ``N x (n_units + n_raters)`` matrices: 2-4 minutes
for 2,000 units x 6 raters (bench/bench_reliability_designs.py) against well under a second
here. The tests compare our estimates with MixedLM on small designs and with lme4 fixtures
(``tests/stats/fixtures``) to 1e-4, and our criterion with lme4's REML criterion to 1e-6.

Sampling distribution
---------------------
The asymptotic covariance of the estimates is the inverse of the observed information, the
Hessian of ``-l_R`` at the optimum taken numerically (central differences) on the log scale of
the positive components. :meth:`RemlFit.draws` samples components from the corresponding
normal distribution, on the log scale (default; draws stay positive) or on the variance scale
(ten Hove, Jorgensen & van der Ark 2022 use the variance scale via ``semTools::monteCarloCI``
with the ``merDeriv`` covariance). A component estimated at or near zero (below 1e-6 of the
residual variance) is held at its estimate in the draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import linalg, optimize, sparse
from scipy.sparse import csgraph

from annotate.stats.reliability_data import NotApplicable
from annotate.stats.reliability_design import FloatArray, LongRatings
from annotate.stats.reliability_numeric import central_derivatives, newton_polish

DrawScale = Literal["log", "variance"]
_LOG_2PI = float(np.log(2 * np.pi))
_THETA_MAX = 1e3  # relative SD bound: a variance 10^6 times the residual variance


@dataclass(frozen=True)
class VarianceComponents:
    """REML variance components; ``unit`` is the unit-within-cluster variance when nested."""

    unit: float
    rater: float
    residual: float
    cluster: float | None = None

    def as_dict(self) -> dict[str, float]:
        out = {"unit": self.unit, "rater": self.rater, "residual": self.residual}
        if self.cluster is not None:
            out["cluster"] = self.cluster
        return out


@dataclass(frozen=True, eq=False)
class _Sufficient:
    """Everything the REML criterion needs, computed once from the ratings."""

    n: int
    yy: float
    a0: FloatArray  # (J+1, J+1)
    b0: FloatArray  # (J+1,)
    m_values: FloatArray  # (M,) distinct numbers of ratings per unit
    m_count: FloatArray  # (M,) units with that number
    w_mats: FloatArray  # (M, J+1, J+1) sum of a_i a_i'
    v_vecs: FloatArray  # (M, J+1) sum of a_i t_i
    q_sums: FloatArray  # (M,) sum of t_i^2
    g_vecs: FloatArray | None  # (C, M, J+1) per cluster: sum of a_i
    h_sums: FloatArray | None  # (C, M) per cluster: sum of t_i
    c_count: FloatArray | None  # (C, M) per cluster: number of units
    w_flat: FloatArray = field(init=False, repr=False)  # (M, (J+1)^2) w_mats flattened for one matmul
    g_flat: FloatArray | None = field(init=False, repr=False)  # (C (J+1), M)
    eye_raters: FloatArray = field(init=False, repr=False)  # diag(0, 1, ..., 1)

    def __post_init__(self) -> None:
        size = self.a0.shape[0]
        object.__setattr__(self, "w_flat", self.w_mats.reshape(self.w_mats.shape[0], -1))
        flat = (
            None
            if self.g_vecs is None
            else np.ascontiguousarray(self.g_vecs.transpose(0, 2, 1)).reshape(-1, self.g_vecs.shape[1])
        )
        object.__setattr__(self, "g_flat", flat)
        eye = np.eye(size)
        eye[0, 0] = 0.0
        object.__setattr__(self, "eye_raters", eye)

    @property
    def nested(self) -> bool:
        return self.g_vecs is not None


def _sufficient(data: LongRatings, nested: bool) -> _Sufficient:
    y = data.score - data.score.mean()
    n_units, n_raters = data.n_units, data.n_raters
    n_i = data.ratings_per_unit
    t_i = np.bincount(data.unit, weights=y, minlength=n_units)
    incidence = data.incidence()
    a = sparse.hstack([sparse.csr_matrix(n_i.astype(float)[:, None]), incidence], format="csr")
    m_values, m_index = np.unique(n_i, return_inverse=True)
    m_index = m_index.astype(np.int64)
    w_mats = np.empty((m_values.size, n_raters + 1, n_raters + 1))
    v_vecs = np.empty((m_values.size, n_raters + 1))
    for k in range(m_values.size):
        rows = np.flatnonzero(m_index == k)
        block = a[rows]
        w_mats[k] = (block.T @ block).toarray()
        v_vecs[k] = block.T @ t_i[rows]
    q_sums = np.bincount(m_index, weights=t_i**2, minlength=m_values.size).astype(float)
    m_count = np.bincount(m_index, minlength=m_values.size).astype(float)
    per_rater = np.bincount(data.rater, minlength=n_raters).astype(float)
    a0 = np.zeros((n_raters + 1, n_raters + 1))
    a0[0, 0] = data.n_ratings
    a0[0, 1:] = a0[1:, 0] = per_rater
    a0[1:, 1:] = np.diag(per_rater)
    b0 = np.concatenate([[y.sum()], np.bincount(data.rater, weights=y, minlength=n_raters)])
    g_vecs = h_sums = c_count = None
    if nested:
        if data.unit_cluster is None or data.n_clusters is None:
            raise NotApplicable("a nested model needs a cluster column")
        n_clusters = data.n_clusters
        key = data.unit_cluster * m_values.size + m_index
        pick = sparse.csr_matrix(
            (np.ones(n_units), (key, np.arange(n_units))), shape=(n_clusters * m_values.size, n_units)
        )
        g_vecs = np.asarray((pick @ a).toarray()).reshape(n_clusters, m_values.size, n_raters + 1)
        h_sums = (pick @ t_i).reshape(n_clusters, m_values.size)
        c_count = np.bincount(key, minlength=n_clusters * m_values.size).astype(float)
        c_count = c_count.reshape(n_clusters, m_values.size)
    return _Sufficient(
        n=data.n_ratings,
        yy=float(y @ y),
        a0=a0,
        b0=b0,
        m_values=m_values.astype(float),
        m_count=m_count,
        w_mats=w_mats,
        v_vecs=v_vecs,
        q_sums=q_sums,
        g_vecs=g_vecs,
        h_sums=h_sums,
        c_count=c_count,
    )


def _logdet_and_r2(suff: _Sufficient, theta: FloatArray) -> tuple[float, float]:
    """``log|C|`` and the penalised residual sum of squares ``r2`` at relative SDs ``theta``."""
    gamma_u = float(theta[0]) ** 2
    theta_r = float(theta[1])
    g = 1.0 / (1.0 + gamma_u * suff.m_values)
    w = gamma_u * g
    size = suff.a0.shape[0]
    logdet = float(suff.m_count @ np.log1p(gamma_u * suff.m_values))
    m = suff.a0 - (w @ suff.w_flat).reshape(size, size)
    rhs = suff.b0 - w @ suff.v_vecs
    r2 = suff.yy - float(w @ suff.q_sums)
    if suff.g_flat is not None and suff.h_sums is not None and suff.c_count is not None:
        gamma_c = float(theta[2]) ** 2
        b = (suff.g_flat @ g).reshape(-1, size)  # (C, J+1): sum over units of the cluster of g_i a_i
        e = 1.0 + gamma_c * (suff.c_count @ (g * suff.m_values))
        h = suff.h_sums @ g
        s = gamma_c / e
        m = m - (b.T * s) @ b
        rhs = rhs - b.T @ (s * h)
        r2 -= float(s @ (h * h))
        logdet += float(np.sum(np.log(e)))
    d = np.full(size, theta_r)
    d[0] = 1.0
    s_mat = m * np.outer(d, d) + suff.eye_raters
    rhs = rhs * d
    chol = np.linalg.cholesky(s_mat)
    logdet += 2.0 * float(np.sum(np.log(np.diag(chol))))
    half = np.linalg.solve(chol, rhs)
    r2 -= float(half @ half)
    return logdet, max(r2, 1e-300)


def _profiled_criterion(suff: _Sufficient, theta: FloatArray) -> float:
    """lme4's REML criterion (-2 restricted log-likelihood, residual variance profiled out)."""
    logdet, r2 = _logdet_and_r2(suff, theta)
    dof = suff.n - 1
    return logdet + dof * (1.0 + _LOG_2PI + float(np.log(r2 / dof)))


def _criterion(suff: _Sufficient, sigma2: FloatArray) -> float:
    """-2 restricted log-likelihood at variances ``(unit, rater, residual[, cluster])``."""
    residual = float(sigma2[2])
    ratios = [sigma2[0], sigma2[1]] + ([sigma2[3]] if suff.nested else [])
    theta = np.sqrt(np.maximum(np.asarray(ratios, dtype=float) / residual, 0.0))
    logdet, r2 = _logdet_and_r2(suff, theta)
    dof = suff.n - 1
    return logdet + dof * (_LOG_2PI + float(np.log(residual))) + r2 / residual


@dataclass(frozen=True, eq=False)
class RemlFit:
    """A fitted crossed or nested random model.

    Attributes
    ----------
    components : VarianceComponents
    criterion : float
        -2 restricted log-likelihood at the optimum, on lme4's scale (``REMLcrit``).
    theta : tuple of float
        Relative standard deviations (unit, rater[, cluster]) / residual, as lme4's ``getME(, "theta")``.
    log_covariance : numpy.ndarray or None
        Asymptotic covariance of the log of the positive components named in ``free``.
    free : tuple of str
        Components estimated above zero, in the order of ``log_covariance``.
    note : str or None
        Why draws are unavailable or which components sit on the boundary.
    """

    components: VarianceComponents
    criterion: float
    theta: tuple[float, ...]
    converged: bool
    n_evaluations: int
    log_covariance: FloatArray | None
    free: tuple[str, ...]
    note: str | None
    nested: bool
    _suff: _Sufficient = field(repr=False)

    def criterion_at(self, components: VarianceComponents) -> float:
        """-2 restricted log-likelihood at other variance components (for checks)."""
        values = [components.unit, components.rater, components.residual]
        if self.nested:
            values.append(0.0 if components.cluster is None else components.cluster)
        return _criterion(self._suff, np.asarray(values, dtype=float))

    def draws(self, n_draws: int, seed: int, scale: DrawScale = "log") -> dict[str, FloatArray] | None:
        """Draw variance components from their asymptotic normal distribution (seeded).

        Returns ``None`` when the covariance is unavailable (see ``note``). Components estimated
        at or near zero (not in ``free``) keep their estimate in every draw.
        """
        if n_draws < 1:
            raise ValueError(f"n_draws must be at least 1, got {n_draws}")
        if self.log_covariance is None:
            return None
        rng = np.random.default_rng(seed)
        estimate = self.components.as_dict()
        centre = np.array([estimate[name] for name in self.free])
        try:
            chol = np.linalg.cholesky(self.log_covariance)
        except np.linalg.LinAlgError:
            return None
        z = rng.standard_normal((n_draws, len(self.free)))
        if scale == "log":
            sample = np.exp(np.clip(np.log(centre) + z @ chol.T, -700.0, 700.0))
        elif scale == "variance":
            sample = centre + (z @ chol.T) * centre  # covariance D Sigma_log D, D = diag(estimates)
        else:
            raise ValueError(f"unknown scale {scale!r}; use 'log' or 'variance'")
        out = {name: np.full(n_draws, value) for name, value in estimate.items()}
        for k, name in enumerate(self.free):
            out[name] = sample[:, k]
        return out


def _start_values(data: LongRatings, nested: bool) -> list[FloatArray]:
    y = data.score
    n_i = data.ratings_per_unit
    means = np.bincount(data.unit, weights=y, minlength=data.n_units) / n_i
    within = y - means[data.unit]
    multi = n_i[data.unit] >= 2
    dof = max(int(multi.sum()) - int(np.sum(n_i >= 2)), 1)
    s2_e = max(float(np.sum(within[multi] ** 2)) / dof, 1e-8 * max(float(np.var(y)), 1e-12))
    s2_total = max(float(np.var(y)), s2_e)
    ratio = np.sqrt(max(s2_total / s2_e - 1.0, 0.05))
    moment = [ratio, 0.3] + ([ratio / 2] if nested else [])
    ones = [1.0, 1.0] + ([1.0] if nested else [])
    return [np.asarray(moment, dtype=float), np.asarray(ones, dtype=float)]


def residual_df(data: LongRatings) -> int:
    """Residual degrees of freedom of the crossed model, ``N - rank([1, Z_unit, Z_rater])``.

    The rank is ``n_units + n_raters - c`` with ``c`` the number of connected components of the
    graph linking raters to the units they scored (clusters, nested in units, add no rank).
    """
    graph = sparse.bmat([[None, data.incidence()], [data.incidence().T, None]], format="csr")
    components, _ = csgraph.connected_components(graph, directed=False)
    return data.n_ratings - (data.n_units + data.n_raters - int(components))


def _additive_sse(suff: _Sufficient) -> float:
    """Residual sum of squares of the fixed-effects fit ``y ~ unit + rater`` (the theta -> infinity limit)."""
    w = 1.0 / suff.m_values
    m = suff.a0 - (w @ suff.w_flat).reshape(suff.a0.shape)
    rhs = suff.b0 - w @ suff.v_vecs
    solution = np.linalg.lstsq(m, rhs, rcond=None)[0]
    return float(suff.yy - w @ suff.q_sums - rhs @ solution)


def _check_identifiable(data: LongRatings, nested: bool) -> None:
    per_rater = np.bincount(data.rater, minlength=data.n_raters)
    if per_rater.max() < 2:
        raise NotApplicable(
            "every rater scored a single unit, so rater and residual variance cannot be separated; use the one-way ICC"
        )
    if nested and data.unit_cluster is not None and data.n_clusters is not None:
        sizes = np.bincount(data.unit_cluster, minlength=data.n_clusters)
        if sizes.max() < 2:
            raise NotApplicable(
                "every cluster holds a single unit, so cluster and unit variance cannot be separated; "
                "drop the cluster column"
            )
        if data.n_clusters < 2:
            raise NotApplicable("a nested G-study needs at least two clusters; drop the cluster column")
    if residual_df(data) < 1:
        raise NotApplicable(
            "the ratings leave no residual degrees of freedom: unit and rater effects reproduce every score, "
            "so the variance components cannot be estimated; double-code more units"
        )


def fit_reml(data: LongRatings, nested: bool | None = None) -> RemlFit:
    """REML variance components of the crossed or nested random model.

    Parameters
    ----------
    data : LongRatings
    nested : bool, optional
        Fit the cluster term; default: when the data have a cluster column.

    Raises
    ------
    NotApplicable
        The components cannot be separated: each rater scored one unit, each cluster holds one
        unit (or there is one cluster), no residual degrees of freedom are left, or unit and rater
        effects reproduce every score exactly.

    Examples
    --------
    Brennan (2001) Synthetic Data Set No. 4 as a p x i design (Table 6.2, p. 182: sigma2(p) =
    .6258, sigma2(i) = .8840, sigma2(pi,e) = 2.7872); persons are the units, items the raters.
    On balanced data REML equals the ANOVA estimates when these are non-negative:

    >>> import pandas as pd
    >>> from annotate.stats.reliability_design import long_ratings
    >>> items = [[5, 9, 3, 7, 9, 3, 7, 5, 9, 4], [6, 3, 4, 5, 2, 4, 3, 8, 9, 4], [5, 7, 3, 5, 9, 3, 7, 5, 8, 4],
    ...          [5, 7, 3, 3, 7, 5, 7, 7, 8, 3], [5, 7, 5, 3, 7, 3, 7, 7, 6, 3], [3, 5, 3, 1, 7, 3, 5, 5, 6, 5],
    ...          [4, 5, 3, 4, 3, 6, 5, 5, 6, 6], [5, 5, 5, 3, 7, 3, 7, 4, 5, 5], [6, 7, 6, 5, 2, 4, 5, 3, 5, 5],
    ...          [7, 7, 5, 3, 7, 5, 5, 2, 8, 7], [3, 5, 1, 3, 5, 1, 5, 1, 1, 1], [3, 2, 6, 5, 3, 2, 4, 1, 1, 1]]
    >>> frame = pd.DataFrame([(p, i, s) for i, row in enumerate(items) for p, s in enumerate(row)],
    ...                      columns=["unit", "rater", "score"])
    >>> vc = fit_reml(long_ratings(frame)).components
    >>> round(vc.unit, 4), round(vc.rater, 4), round(vc.residual, 4)
    (0.6258, 0.884, 2.7872)
    """
    nested = data.cluster_ids is not None if nested is None else nested
    _check_identifiable(data, nested)
    suff = _sufficient(data, nested)
    if suff.yy == 0:
        raise NotApplicable("all scores are equal: there is no variance to split into components")
    if _additive_sse(suff) <= 1e-10 * suff.yy:
        raise NotApplicable(
            "unit and rater effects reproduce every score exactly (no residual variation), so REML puts the "
            "residual variance at zero and the other components are not determined; double-code more units"
        )
    n_params = 3 if nested else 2

    def criterion(th: FloatArray) -> float:
        return _profiled_criterion(suff, th)

    evaluations = 0

    def descend(start: FloatArray) -> tuple[FloatArray, float, bool]:
        nonlocal evaluations
        run = optimize.minimize(
            criterion,
            start,
            method="L-BFGS-B",
            bounds=[(0.0, _THETA_MAX)] * n_params,
            options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 1000, "maxfun": 5000},
        )
        evaluations += int(run.nfev)
        return np.asarray(run.x, dtype=float), float(run.fun), bool(run.success)

    runs = [descend(start) for start in _start_values(data, nested)]
    theta, best_value, converged = min(runs, key=lambda run: run[1])
    # The criterion is even in each theta, so theta_k = 0 is always a stationary point and the
    # gradient is tiny near it: a search that ends on or near the boundary may sit on a saddle.
    # Probe away from it and restart when that is lower.
    for _ in range(3):
        probes = []
        for k in np.flatnonzero(theta < 1e-3):
            for t in (1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0):
                probe = theta.copy()
                probe[k] = t
                probes.append((criterion(probe), probe))
        evaluations += len(probes)
        if not probes:
            break
        value, probe = min(probes, key=lambda item: item[0])
        if not value < best_value - 1e-10 * max(1.0, abs(best_value)):
            break
        candidate, candidate_value, candidate_ok = descend(probe)
        if candidate_value < best_value:
            theta, best_value, converged = candidate, candidate_value, candidate_ok
    theta, criterion_value = newton_polish(criterion, theta, best_value)
    _, r2 = _logdet_and_r2(suff, theta)
    residual = r2 / (suff.n - 1)
    gamma = theta**2 * residual
    components = VarianceComponents(
        unit=float(gamma[0]),
        rater=float(gamma[1]),
        residual=float(residual),
        cluster=float(gamma[2]) if nested else None,
    )
    values = components.as_dict()
    scale = max(sum(values.values()), 1e-300)
    # A component below 1e-6 of the residual variance (theta < 1e-3) is on the boundary for the
    # draws: its log-scale information is ~0, so it is held at its (negligible) estimate.
    free = tuple(
        name
        for name, value in values.items()
        if value > 1e-10 * scale and (name == "residual" or value > 1e-6 * components.residual)
    )
    at_zero = [name for name in values if name not in free]
    notes = []
    if np.any(theta >= _THETA_MAX * (1 - 1e-9)):
        notes.append("the residual variance is near zero compared with the other components (estimate at its bound)")
    if at_zero:
        notes.append(
            f"the {', '.join(at_zero)} variance is estimated at or near zero (boundary); it is held fixed in the "
            "CI draws"
        )
    log_cov = None
    if "residual" in free:
        names = list(values)

        def neg_loglik(log_free: FloatArray) -> float:
            sigma2 = np.array([values[name] for name in names])
            for k, name in enumerate(free):
                sigma2[names.index(name)] = np.exp(log_free[k])
            return 0.5 * _criterion(suff, sigma2)

        centre = np.log(np.array([values[name] for name in free]))
        _, _, hessian = central_derivatives(neg_loglik, centre, np.full(centre.size, 1e-4))
        try:
            chol = np.linalg.cholesky(hessian)
            inv_chol = linalg.solve_triangular(chol, np.eye(len(free)), lower=True)
            log_cov = inv_chol.T @ inv_chol
        except np.linalg.LinAlgError:
            notes.append("the information matrix is not positive definite, so no confidence interval is given")
    else:
        notes.append("the residual variance is zero (every rating equals its unit's prediction); no CI")
    return RemlFit(
        components=components,
        criterion=float(criterion_value),
        theta=tuple(float(t) for t in theta),
        converged=converged,
        n_evaluations=evaluations,
        log_covariance=log_cov,
        free=free,
        note="; ".join(notes) or None,
        nested=nested,
        _suff=suff,
    )
