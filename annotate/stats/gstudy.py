"""Generalizability theory: D-study projections from G-study variance components.

The G-study components come from :func:`~annotate.stats.reliability_reml.fit_reml`: for a
crossed design unit (u), rater (r) and residual (e); with a cluster column (segments u nested
in films c) cluster, unit-within-cluster, rater and residual. The residual contains every
interaction with raters (u x r, and c x r, which this model does not separate).

A D-study asks how reliable a score would be with ``n`` raters and ``m`` units per cluster. For
a cluster-level score (the mean over m segments of a film, each scored by n raters)::

    Phi    = s2_c / (s2_c + s2_u:c / m + s2_r / n + s2_e / (m n))      (dependability, absolute)
    E rho2 = s2_c / (s2_c + s2_u:c / m + s2_e / (m n))                 (generalizability, relative)

Without a cluster the object of measurement is the unit: the same formulas with ``m = 1`` and
``s2_c`` replaced by the unit variance, ``Phi = s2_u / (s2_u + (s2_r + s2_e) / n)`` and
``E rho2 = s2_u / (s2_u + s2_e / n)`` (ICC(A,n) and ICC(C,n)).

Sources
-------
* Brennan, R. L. (2001). *Generalizability Theory*. Springer (ch. 4 D-studies; Synthetic Data
  Sets No. 1 and No. 4; Tables 6.2 and 6.5 for No. 4 read as a p x i design).
* Shavelson, R. J. & Webb, N. M. (1991). *Generalizability Theory: A Primer*. Sage (ch. 6).
* Cronbach, L. J., Gleser, G. C., Nanda, H. & Rajaratnam, N. (1972). *The Dependability of
  Behavioral Measurements*. Wiley.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from annotate.stats.reliability_design import DesignInputError
from annotate.stats.reliability_reml import VarianceComponents


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else float(numerator / denominator)


def dependability(components: VarianceComponents, n_raters: float, n_units: float = 1) -> float | None:
    """Phi for a score averaged over ``n_raters`` raters (and ``n_units`` units per cluster).

    Examples
    --------
    Brennan (2001) Synthetic Data Set No. 4 as p x i, 12 items (Table 6.5, p. 198: Phi = .672):

    >>> round(dependability(VarianceComponents(unit=0.6258, rater=0.8840, residual=2.7872), 12), 3)
    0.672
    """
    if components.cluster is None:
        error = (components.rater + components.residual) / n_raters
        return _ratio(components.unit, components.unit + error)
    c = components.cluster
    error = components.unit / n_units + components.rater / n_raters + components.residual / (n_units * n_raters)
    return _ratio(c, c + error)


def generalizability(components: VarianceComponents, n_raters: float, n_units: float = 1) -> float | None:
    """E rho^2 (relative error) for ``n_raters`` raters and ``n_units`` units per cluster.

    Examples
    --------
    Brennan (2001) Synthetic Data Set No. 4 as p x i, 12 items (Table 6.5: E rho^2 = .729):

    >>> round(generalizability(VarianceComponents(unit=0.6258, rater=0.8840, residual=2.7872), 12), 3)
    0.729
    """
    if components.cluster is None:
        return _ratio(components.unit, components.unit + components.residual / n_raters)
    c = components.cluster
    error = components.unit / n_units + components.residual / (n_units * n_raters)
    return _ratio(c, c + error)


@dataclass(frozen=True)
class DStudy:
    """Projected coefficients: ``phi[i][j]`` for ``raters[i]`` raters and ``units[j]`` units."""

    raters: tuple[int, ...]
    units: tuple[int, ...]
    phi: tuple[tuple[float | None, ...], ...]
    g_relative: tuple[tuple[float | None, ...], ...]
    nested: bool
    components: VarianceComponents
    note: str | None


def _counts(values: Sequence[int], name: str) -> tuple[int, ...]:
    counts = tuple(values)
    if not counts:
        raise DesignInputError(f"{name} is empty; list at least one number, e.g. [1, 2, 3]")
    for value in counts:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise DesignInputError(f"{name} must list whole numbers of at least 1, got {value!r}")
    return tuple(int(v) for v in counts)


def d_study(components: VarianceComponents, raters: Sequence[int], units: Sequence[int] = (1,)) -> DStudy:
    """Phi and E rho^2 for every combination of numbers of raters and units per cluster.

    Parameters
    ----------
    components : VarianceComponents
        G-study estimates (with ``cluster`` for a nested design).
    raters : sequence of int
        Numbers of raters ``n`` to project.
    units : sequence of int
        Numbers of units per cluster ``m``; without a cluster only ``m = 1`` applies and
        ``units`` is returned as ``(1,)``.

    Examples
    --------
    Brennan (2001) Synthetic Data Set No. 1 (p x i, 10 persons x 12 items; sigma2(p) = .0574,
    sigma2(i) = .0754, sigma2(pi) = .1269; published E rho^2 = .844 and Phi = .773 for 12 items):

    >>> d = d_study(VarianceComponents(unit=0.0574, rater=0.0754, residual=0.1269), raters=[1, 12])
    >>> [round(row[0], 3) for row in d.phi], [round(row[0], 3) for row in d.g_relative], d.units
    ([0.221, 0.773], [0.311, 0.844], (1,))

    A nested design (films with segments), two raters and 1 or 4 segments per film:

    >>> vc = VarianceComponents(unit=0.5, rater=0.2, residual=0.6, cluster=0.8)
    >>> [[round(p, 3) for p in row] for row in d_study(vc, [2], [1, 4]).phi]
    [[0.471, 0.727]]
    """
    n_list = _counts(raters, "the numbers of raters")
    m_list = _counts(units, "the numbers of units")
    nested = components.cluster is not None
    note = None
    if not nested:
        if m_list != (1,):
            note = "no cluster column: the score is a single unit's, so the projection is for one unit (m = 1)"
        m_list = (1,)
    phi = tuple(tuple(dependability(components, n, m) for m in m_list) for n in n_list)
    rel = tuple(tuple(generalizability(components, n, m) for m in m_list) for n in n_list)
    if any(value is None for row in phi for value in row):
        note = "all variance components are zero: the coefficients are undefined"
    return DStudy(n_list, m_list, phi, rel, nested, components, note)
