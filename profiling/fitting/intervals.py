"""Prediction intervals that widen with distance from the measured cells (pure numpy).

A fit's cross-validated half-width ``q`` (the 95% quantile of held-out relative errors,
leave one cell out) describes the error *between* measured cells. Away from them the
error of a fitted form grows: the terms it did not need on the measured cells
(tin², the decode attention) decide the prediction there. Leave-one-cell-out never
asks the fit to reach, so it cannot see that growth; on the paper's grids a fit made
on inputs up to 512 missed inputs of 1,024-2,048 by up to 23% with q at 7-11%.

So the interval adds an inflation linear in the distance ``d`` (log2 token space,
Chebyshev, see ``support.py``) beyond the support radius ``r``::

    half = sqrt((q·ŷ)² + (κ·max(0, d − r)·ŷ)² + t²·x'Σx)

and ``κ`` is calibrated per fit, at fit time, on *edge shifts of its own data*: hold
out the one or two largest measured values of each axis (largest inputs, largest
outputs), refit on the rest, and see how far the relative error of the held-out cells
exceeds ``q`` per unit of distance. Only the upper edges: real traffic reaches past the
longest measured prompt, and the lower edges hold the paper's warm-up cell (its first
cell runs several times slower), which made κ two to four times wider for no coverage
gained (docs/BENCHMARKS.md, "Intervals off the data"). κ is the 95% quantile
of that excess, so a fit that extrapolates well on its own data (a form that captures
the physics) gets a narrow band, one that does not gets a wide one. Nothing about the
held-out shifts that judge the method (benchmarks/interval_calibration.py) enters κ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from profiling.fitting import terms
from profiling.fitting.support import Support, cell_index
from profiling.fitting.t_quantiles import T975

# Quantile of the per-cell excess-per-distance ratios taken as κ (a 95% interval).
KAPPA_QUANTILE = 0.95
# An axis needs this many distinct values left after an edge is held out, or that shift
# would leave a design too thin to say anything (a 3-term form on 2 values).
MIN_LEFT = 4
# Floor of κ: even a fit that extrapolated perfectly on its own edges keeps some growth,
# because its own edges are only one or two steps away (relative error per log2 step).
MIN_KAPPA = 0.02


def edge_shifts(tin, tout, depth: int = 2) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train mask, test mask) pairs holding out the ``1..depth`` largest values of each axis."""
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    for axis in (tin, tout):
        values = np.unique(axis)
        for k in range(1, depth + 1):
            if len(values) - k < MIN_LEFT:
                break
            test = axis >= values[-k]
            yield ~test, test


def calibrate_kappa(tin, tout, y, q: float, predict_without: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    depth: int = 2) -> tuple[float, dict]:
    """κ for one fit: how fast its relative error outgrows ``q`` with distance, on its own edges.

    ``predict_without(train_mask, test_mask)`` refits the form on the training rows and
    returns predictions for the test rows (the fitter supplies it, so this stays free of
    any one form). Returns (κ, {"shifts": n, "cells": n, "max_excess": ...}).
    """
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    # Cells once (a 1-D key): a Support over 100,000 raw rows would sort them per shift.
    cells, cell_of = cell_index(tin, tout)
    ratios, shifts = [], 0
    for train, test in edge_shifts(tin, tout, depth):
        pred = np.asarray(predict_without(train, test), dtype=np.float64)
        if pred.size == 0:
            continue
        shifts += 1
        support = Support(cells[np.bincount(cell_of[train], minlength=len(cells)) > 0])
        beyond = (support.distance(cells[:, 0], cells[:, 1]) - support.radius)[cell_of[test]]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(pred > 0, np.abs(y[test] - pred) / np.where(pred > 0, pred, 1.0), np.inf)
        excess = np.sqrt(np.maximum(rel * rel - q * q, 0.0))
        ok = beyond > 0
        ratios.append(np.where(np.isfinite(excess[ok]), excess[ok] / beyond[ok], 10.0))
    if not ratios or not np.concatenate(ratios).size:
        return MIN_KAPPA, {"shifts": shifts, "cells": 0}
    allr = np.concatenate(ratios)
    kappa = float(max(MIN_KAPPA, np.quantile(allr, KAPPA_QUANTILE)))
    return kappa, {"shifts": shifts, "cells": int(allr.size), "max_ratio": float(allr.max())}


def beyond_support(support_json: dict | None, tin, tout) -> tuple[np.ndarray, np.ndarray] | None:
    """(distance beyond the radius, extrapolated flag) per query, or None for a fit without a support."""
    if not support_json or not support_json.get("cells"):
        return None
    support = Support.from_json(support_json)
    d = support.distance(tin, tout)
    return np.maximum(d - support.radius, 0.0), d > support.radius + 1e-12


def t_quantile(df, p: float) -> float:
    """Student t quantile (scipy.stats.t.ppf), bit-equal to ``float(scipy.special.stdtrit(df, p))``.

    The 95% bands' quantile for whole df up to 1,024 comes from a table of stdtrit's own values
    (t_quantiles.py): importing scipy.special (or scipy.stats) cost ~0.5 s of every `schedule`
    run and worker start, for this one number. Anything else calls stdtrit.
    """
    if p == 0.975 and float(df).is_integer() and 1 <= df <= len(T975):
        return T975[int(df) - 1]
    from scipy.special import stdtrit

    return float(stdtrit(df, p))


def quadratic_form(cov_terms, cov: np.ndarray, tin, tout, columns: dict | None = None) -> np.ndarray:
    """x' cov x per query, x = the terms of (tin, tout): the variance of the fitted mean.

    Expanded over the term columns (sum_a cov_aa x_a^2 + 2 sum_a<b cov_ab x_a x_b) instead of
    ``np.sum((x @ cov) * x, axis=1)``: a (n, 3) @ (3, 3) product takes numpy's slow small-matrix
    path, ~0.1 s per million rows against ~0.01 s for these few vector operations. Equal within
    float rounding (tests/fitting compare the two on random inputs). ``columns``: the term cache
    of ``terms.column`` for these same arrays.
    """
    tin = np.atleast_1d(np.asarray(tin, dtype=np.float64))
    tout = np.atleast_1d(np.asarray(tout, dtype=np.float64))
    cov = np.asarray(cov, dtype=np.float64).reshape(len(cov_terms), len(cov_terms))
    cols = [terms.column(t, tin, tout, columns) for t in terms.check_terms(cov_terms)]
    out = np.zeros(np.broadcast_shapes(tin.shape, tout.shape))
    for a, xa in enumerate(cols):
        # The row a of the (symmetrised) form: cov_aa x_a + sum_b>a (cov_ab + cov_ba) x_b.
        inner = cov[a, a] * xa
        for b in range(a + 1, len(cols)):
            inner += (cov[a, b] + cov[b, a]) * cols[b]
        out += xa * inner
    return out


def prediction_interval(coefs: dict, metrics: dict, tin, tout, level: float = 0.95, reach=None, yhat=None,
                        columns: dict | None = None):
    """(yhat, lower, upper) arrays; lower/upper None when the fit carries no covariance.

    The band widens with the distance of each query from the fit's measured cells
    (metrics["support"], metrics["kappa"]): the module docstring says how and why.
    ``reach``: ``beyond_support``'s answer for these queries when the caller has it already;
    ``yhat``: ``terms.predict(coefs, tin, tout)`` likewise; ``columns``: the term cache of
    ``terms.column`` for these same (float64) arrays.
    """
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    yhat = terms.predict(coefs, tin, tout, columns) if yhat is None else yhat
    cov, cov_terms = metrics.get("cov"), metrics.get("cov_terms") or []
    sigma2, df = metrics.get("sigma2"), metrics.get("df_resid") or 0
    if not cov or sigma2 is None or df <= 0:
        return yhat, None, None
    coef_var = np.maximum(quadratic_form(cov_terms, np.asarray(cov, dtype=np.float64), tin, tout, columns), 0.0)
    t = t_quantile(df, 0.5 + level / 2)
    q = metrics.get("interval_q95")
    if q is not None and level == 0.95:
        # Jackknife half-width, calibrated by cross-validation (profiling.fitting.regression._held_out_covered).
        noise = q * (np.abs(yhat) if metrics.get("error_model") == "relative" else 1.0)
        half = np.sqrt(noise * noise + t * t * coef_var)
    else:
        noise = sigma2 * yhat * yhat if metrics.get("error_model") == "relative" else sigma2
        half = t * np.sqrt(noise + coef_var)
    if reach is None and metrics.get("kappa"):
        reach = beyond_support(metrics.get("support"), tin, tout)
    if reach is not None and metrics.get("kappa"):
        grow = metrics["kappa"] * reach[0] * np.abs(yhat)
        half = np.sqrt(half * half + grow * grow)
    lower, upper = yhat - half, yhat + half
    if metrics.get("interval_method", "").startswith("Active-set") or metrics.get("error_model") == "relative":
        lower = np.maximum(lower, 0.0)
    return yhat, lower, upper
