"""Fit energy and runtime models of one (LLM, hardware) pair, honestly.

Three forms (profiling.choices.FitForm):

``paper``
    ``y = a0*tin + a1*tout + a2*tin*tout``, no intercept, ordinary least squares
    through statsmodels, as Wilkins et al. (2024) did. Reported with standard
    errors, t and p values, 95% confidence intervals and the F statistic. Its
    coefficients are unconstrained, so it can be physically invalid (a0 < 0
    predicts negative energy for short outputs on long inputs).
``nnls``
    ``y = c + a0*tin + a1*tout + a2*tin*tout`` with every coefficient >= 0: the
    intercept is the fixed overhead of a query (tokenise, launch, sync) and no
    token can give energy back, so a non-negative model never predicts
    negative energy anywhere.
``extended``
    ``y = c + a0*tin + b0*tin^2 + a1*tout + a2*tin*tout + b1*tout^2`` with every
    coefficient >= 0. Transformer cost motivates each term: prefill does work
    linear in tin (MLP) plus tin^2 (self-attention over the prompt); each of
    the tout decode steps costs a constant (weights streamed once per token)
    plus attention over a KV cache of length tin + t, which summed over the
    tout steps gives the tin*tout and tout^2 terms. Non-negativity keeps it
    physically valid for the same reason as ``nnls``.
``cached``
    ``y = c + a0*tin + b0*tin^2 + a1*tout + d*(tin*tout + tout^2/2)``, all >= 0:
    prefill (tin, tin^2), a constant per decode step (tout) and attention over a
    KV cache of tin + t tokens at step t, summed into ONE term. With one
    coefficient for the decode attention, the form stays identifiable on a cross
    of an input sweep and an output sweep (2 x 9 cells), which ``extended`` is not.
``recompute``
    ``cached`` plus ``e*(tin^2*tout + tin*tout^2 + tout^3/3)``: decoding without
    a KV cache (the paper's ``use_cache=False``) recomputes the (tin + t)^2
    attention at every step. Also identifiable on a cross (it needs 4 distinct
    output lengths).

Weighting: the paper form is fitted by OLS, as published. The non-negative forms
minimise the *relative* error, weighted least squares with weights 1/y^2: the
measured values span four orders of magnitude (33 J to 630 kJ on a 9x9 grid), and
an unweighted fit serves the large cells and leaves the small ones 100% off.
Cross-validation chose this over OLS and over a log-space fit
(benchmarks/reference_grid_fit.py, docs/BENCHMARKS.md): on the paper's five grids
the CV MAPE of the ``recompute`` form is 3.5-6.7% with 1/y^2 weights, 4.7-18.7%
with OLS and 4.3-9.3% in log space. Its residuals are then multiplicative, so the
95% prediction interval is relative (jackknife q·yhat plus the coefficients' x'Σx), and
it widens by κ·yhat per log2 step beyond the support of the measured cells, κ
calibrated on the fit's own upper edges (profiling/fitting/intervals.py); each fit
stores its cells, so prediction needs no measurement query. Cross-validation reports
how often it covers the held-out cells; benchmarks/interval_calibration.py how often it
covers held-out shifts (small inputs to large, sweeps to grid).

The default form of a pair is chosen by cross-validated MAPE (leave one
(tin, tout) grid cell out when the data is a grid with few cells, else
k-fold), never by training R^2, and only among identifiable forms.

Cross-validation and the non-negative fits work on Gram matrices (X'X, X'y)
of column-scaled designs; the folds subtract one cell's or one fold's
Gram from the total, so 100,000 rows cost one pass over the data per form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from profiling.fitting import intervals
from profiling.fitting import terms as term_defs
from profiling.fitting.support import Support, cell_index  # noqa: F401 (cell_index: public here too)

FORMS = {
    "paper": ("tin", "tout", "tin_tout"),
    "nnls": ("intercept", "tin", "tout", "tin_tout"),
    "extended": ("intercept", "tin", "tin2", "tout", "tin_tout", "tout2"),
    "cached": ("intercept", "tin", "tin2", "tout", "decode"),
    "recompute": ("intercept", "tin", "tin2", "tout", "decode", "decode_sq"),
}
NONNEGATIVE = {"paper": False, "nnls": True, "extended": True, "cached": True, "recompute": True}
# How rows are weighted: "ols" (equal weights) or "relative" (1/y^2: minimise relative error).
WEIGHTING = {"paper": "ols", "nnls": "relative", "extended": "relative", "cached": "relative",
             "recompute": "relative"}

CI_METHOD = {
    "paper": "OLS (statsmodels): t-based 95% confidence intervals.",
    "nnls": (
        "Active-set OLS: the coefficients that are not at zero are refitted by OLS and "
        "their t-based 95% intervals reported (lower bounds clipped at 0); coefficients "
        "held at 0 by the constraint have no interval. Conditional on the active set."
    ),
}
CI_METHOD["nnls"] = CI_METHOD["nnls"].replace("OLS", "WLS (weights 1/y²)")
for _form in ("extended", "cached", "recompute"):
    CI_METHOD[_form] = CI_METHOD["nnls"]
INTERVAL_METHOD = {
    "paper": "OLS prediction interval: yhat ± t(0.975, n-p)·sqrt(s² + x'Σx).",
    "nnls": (
        "Jackknife interval on relative errors: yhat ± sqrt((q·yhat)² + t(0.975, n-k)²·x'Σx), q the "
        "95% quantile of the cross-validated relative errors and Σ the active-set WLS covariance of "
        "the k free coefficients at a robust (MAD) residual scale, which widens it outside the "
        "measured range (lower bound clipped at 0), plus κ·ŷ per log2 step beyond the measured cells' support "
        "(κ calibrated on the fit's own upper edges held out). Its cross-validated coverage is cv_coverage_95."
    ),
}
for _form in ("extended", "cached", "recompute"):
    INTERVAL_METHOD[_form] = INTERVAL_METHOD["nnls"]

# Terms whose column only varies when an axis has enough distinct values.
NEEDS = {
    "intercept": {},
    "tin": {"tin": 2},
    "tout": {"tout": 2},
    "tin_tout": {"tin": 2, "tout": 2},
    "tin2": {"tin": 3},
    "tout2": {"tout": 3},
    "decode": {"tout": 3},
    "decode_sq": {"tout": 4},
}

# The column-scaled design's condition number above which the coefficients are
# numerically meaningless (float64 leaves ~16 digits; this keeps 8).
MAX_CONDITION = 1e8
# A grid with at most this many distinct cells is cross-validated cell by cell.
MAX_CV_CELLS = 400
KFOLD = 10


@dataclass
class FitResult:
    form: str
    target: str
    terms: tuple[str, ...]
    coefficients: dict[str, float]
    n: int
    r2: float | None
    r2_uncentered: float | None
    rmse: float
    mape: float | None
    cv_mape: float | None
    cv_scheme: str
    identifiable: bool
    cv_mape_se: float | None = None
    coef_table: dict[str, dict] = field(default_factory=dict)
    f_statistic: float | None = None
    f_pvalue: float | None = None
    sigma2: float | None = None
    df_resid: int = 0
    cov: list | None = None        # covariance over ``cov_terms`` (free terms)
    cov_terms: list = field(default_factory=list)
    diagnostics: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    uses_estimated_energy: bool = False
    tin_range: tuple[int, int] | None = None
    tout_range: tuple[int, int] | None = None
    weighting: str = "ols"
    cv_coverage: float | None = None   # share of held-out rows inside their 95% interval
    interval_q95: float | None = None  # jackknife half-width (relative or absolute), see _held_out_covered
    kappa: float | None = None         # relative half-width added per log2 step beyond the support
    kappa_detail: dict = field(default_factory=dict)
    support: dict | None = None        # the measured cells and radius (profiling.fitting.support)

    @property
    def label(self) -> str:
        base = self.form
        return f"{base} (estimated energy)" if self.uses_estimated_energy else base

    def metrics(self) -> dict:
        return {
            "n": self.n,
            "r2": self.r2,
            "r2_uncentered": self.r2_uncentered,
            "rmse": self.rmse,
            "mape": self.mape,
            "cv_mape": self.cv_mape,
            "cv_scheme": self.cv_scheme,
            "cv_mape_se": self.cv_mape_se,
            "cv_coverage_95": self.cv_coverage,
            "interval_q95": self.interval_q95,
            "weighting": self.weighting,
            "error_model": "relative" if self.weighting == "relative" else "additive",
            "coef_table": self.coef_table,
            "f_statistic": self.f_statistic,
            "f_pvalue": self.f_pvalue,
            "sigma2": self.sigma2,
            "df_resid": self.df_resid,
            "cov": self.cov,
            "cov_terms": self.cov_terms,
            "ci_method": CI_METHOD[self.form],
            "interval_method": INTERVAL_METHOD[self.form],
            "label": self.label,
            "tin_range": list(self.tin_range) if self.tin_range else None,
            "tout_range": list(self.tout_range) if self.tout_range else None,
            "kappa": self.kappa,
            "kappa_detail": self.kappa_detail,
            "support": self.support,
        }

    def as_dict(self) -> dict:
        """The JSON shape printed by ``fit_models --json`` and served by the explorer."""
        out = {"form": self.form, "target": self.target, "label": self.label,
               "coefficients": self.coefficients, "identifiable": self.identifiable,
               "uses_estimated_energy": self.uses_estimated_energy,
               "warnings": self.warnings, "diagnostics": self.diagnostics}
        out.update(self.metrics())
        return out


class FitError(ValueError):
    """The data cannot be fitted at all (too few rows, non-finite values)."""


# --- small numeric helpers ---------------------------------------------------------


def _finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def r2_scores(y, yhat) -> tuple[float | None, float | None]:
    """(centered, uncentered) R^2.

    Centered: 1 - SSR / sum((y - mean y)^2), the usual figure. Uncentered:
    1 - SSR / sum(y^2), what a no-intercept OLS (the paper's) reports, which
    flatters any model because sum(y^2) is far larger than the spread about
    the mean.
    """
    y = np.asarray(y, dtype=np.float64)
    ssr = float(np.sum((y - yhat) ** 2))
    sst_c = float(np.sum((y - y.mean()) ** 2))
    sst_u = float(np.sum(y * y))
    r2c = 1.0 - ssr / sst_c if sst_c > 0 else None
    r2u = 1.0 - ssr / sst_u if sst_u > 0 else None
    return r2c, r2u


def mape(y, yhat) -> float | None:
    y = np.asarray(y, dtype=np.float64)
    ok = y != 0
    if not ok.any():
        return None
    return float(np.mean(np.abs((y[ok] - yhat[ok]) / y[ok])) * 100.0)


def group_sums(groups: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Sum the rows of ``values`` per group (a sparse one-hot product: np.add.at is slow)."""
    from scipy import sparse

    onehot = sparse.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))),
                               shape=(n_groups, len(groups)))
    return np.asarray(onehot @ values)


def design_diagnostics(form: str, tin, tout) -> dict:
    """Rank, condition number and distinct values: can this design separate the terms?"""
    names = FORMS[form]
    x = term_defs.design_matrix(names, tin, tout)
    distinct = {"tin": int(np.unique(tin).size), "tout": int(np.unique(tout).size)}
    cells = int(len(cell_index(tin, tout)[0]))
    norms = np.linalg.norm(x, axis=0)
    xs = x / np.where(norms > 0, norms, 1.0)
    sv = np.linalg.svd(xs, compute_uv=False) if len(tin) else np.zeros(len(names))
    tol = sv.max(initial=0.0) * max(xs.shape) * np.finfo(float).eps
    rank = int(np.sum(sv > tol))
    cond = float(sv[0] / sv[-1]) if sv.size and sv[-1] > tol else math.inf
    reasons = []
    if rank < len(names):
        reasons.append(f"design rank {rank} < {len(names)} terms: the terms are collinear")
    if cond > MAX_CONDITION:
        reasons.append(f"condition number {cond:.3g} of the column-scaled design exceeds {MAX_CONDITION:.0e}")
    for term in names:
        for axis, need in NEEDS[term].items():
            if distinct[axis] < need:
                reasons.append(
                    f"term {term} needs at least {need} distinct {axis} values; the data has {distinct[axis]}"
                )
    if len(tin) <= len(names):
        reasons.append(f"{len(tin)} rows cannot fit {len(names)} terms with any residual degrees of freedom")
    return {
        "terms": list(names),
        "rank": rank,
        "n_terms": len(names),
        "condition_number": cond if math.isfinite(cond) else None,
        "distinct": distinct,
        "cells": cells,
        "identifiable": not reasons,
        "reasons": reasons,
    }


def _gram_solve(g, c, nonneg: bool) -> np.ndarray:
    """Minimise ||Xb - y||^2 given G = X'X and c = X'y (columns already scaled).

    Non-negative: rewrite as ||Rb - d||^2 with G = R'R (eigen square root, so a
    singular G works too) and hand the small problem to scipy's NNLS.
    """
    w, v = np.linalg.eigh(g)
    keep = w > w.max(initial=0.0) * 1e-13
    if not nonneg:
        inv = (v[:, keep] / w[keep]) @ v[:, keep].T
        return inv @ c
    r = np.sqrt(np.where(keep, w, 0.0))[:, None] * v.T
    proj = v.T @ c
    d = np.where(keep, proj / np.sqrt(np.where(keep, w, 1.0)), 0.0)
    from scipy import optimize  # lazily: `schedule` imports this module for blocking_flag only

    b, _ = optimize.nnls(r, d, maxiter=50 * len(c))
    return b


def _cv_groups(tin, tout, seed: int = 0) -> tuple[np.ndarray, str]:
    cells, inverse = cell_index(tin, tout)
    if 3 <= len(cells) <= MAX_CV_CELLS:
        return inverse, f"leave-one-cell-out ({len(cells)} (tin, tout) cells)"
    k = min(KFOLD, len(tin))
    rng = np.random.default_rng(seed)
    return rng.permutation(len(tin)) % k, f"{k}-fold (shuffled, seed {seed})"


def row_weights(y, weighting: str) -> np.ndarray:
    """Per-row multipliers w (the fit minimises sum((w*(y - yhat))^2)).

    ``relative``: w = 1/y, so each row counts by its relative error. A zero or
    negative measurement has no relative error; it gets the weight of the smallest
    positive value rather than an infinite one.
    """
    y = np.asarray(y, dtype=np.float64)
    if weighting != "relative":
        return np.ones_like(y)
    positive = y[y > 0]
    floor = positive.min() if positive.size else 1.0
    return 1.0 / np.maximum(y, floor)


# Rows that the robust residual scale is computed from in cross-validation (a stride
# sample keeps 100,000-row fits fast; the median of 5,000 residuals is precise enough).
SCALE_SAMPLE = 5000


def robust_scale2(resid) -> float | None:
    """Squared residual scale from the median absolute deviation (1.4826·MAD).

    Measured grids carry warm-up outliers (the paper's first cell of a grid runs
    several times slower); a sum-of-squares scale lets one such cell double the
    interval width everywhere, so the interval would over-cover every other cell.
    """
    resid = np.asarray(resid, dtype=np.float64)
    if resid.size < 2:
        return None
    mad = np.median(np.abs(resid - np.median(resid)))
    return float((1.4826 * mad) ** 2)


def _scaled_design(names, tin, tout, w):
    x = term_defs.design_matrix(names, tin, tout)
    # Scale the columns of the weighted design: that is the matrix the solver sees.
    scale = np.linalg.norm(x * w[:, None], axis=0)
    scale[scale == 0] = 1.0
    return x / scale


def cross_validate(form: str, tin, tout, y, groups=None, scheme=None, weighting=None, detail=False,
                   kappa_fn=None, reach=None):
    """(CV MAPE, scheme, standard error of the CV MAPE across held-out groups).

    With ``detail``, a fourth item: {"coverage": share of held-out rows inside the
    95% prediction interval built without them, "q95": the interval's error quantile,
    "kappa": the distance inflation}. ``kappa_fn(q95)`` calibrates the inflation
    (profiling.fitting.intervals); each held-out cell then gets the interval of its
    distance from the cells left in its fold, as a new query would.
    """
    names = FORMS[form]
    weighting = weighting or WEIGHTING[form]
    w = row_weights(y, weighting)
    xs = _scaled_design(names, tin, tout, w)
    if groups is None:
        groups, scheme = _cv_groups(tin, tout)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups < 2:
        return (None, scheme, None, {}) if detail else (None, scheme, None)
    # Per-group Gram matrices in one pass: G_k = sum over rows of group k of (wx)(wx)'.
    p = xs.shape[1]
    xw, yw = xs * w[:, None], y * w
    outer = (xw[:, :, None] * xw[:, None, :]).reshape(len(xs), p * p)
    g_groups = group_sums(groups, n_groups, outer)
    c_groups = group_sums(groups, n_groups, xw * yw[:, None])
    s_groups = group_sums(groups, n_groups, np.column_stack([yw * yw, np.ones_like(yw)]))
    g_tot, c_tot, s_tot = g_groups.sum(0), c_groups.sum(0), s_groups.sum(0)
    pred = np.empty_like(y)
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
    folds = []
    for k in range(n_groups):
        rows = order[bounds[k]:bounds[k + 1]]
        if rows.size == 0:
            continue
        g, c = (g_tot - g_groups[k]).reshape(p, p), c_tot - c_groups[k]
        b = _gram_solve(g, c, NONNEGATIVE[form])
        pred[rows] = xs[rows] @ b
        folds.append((k, rows, g, c, b))
    out = (mape(y, pred), scheme, _group_se(y, pred, groups, n_groups))
    if not detail:
        return out
    errors = _interval_errors(y, pred, weighting)
    finite = errors[np.isfinite(errors)]
    q95 = float(np.quantile(finite, 0.95)) if finite.size else None
    kappa = kappa_fn(q95) if kappa_fn is not None and q95 is not None else None
    if kappa and reach is None:
        reach = fold_reach(tin, tout, groups)
    covered = np.zeros(len(y), dtype=bool)
    sample = np.arange(0, len(y), max(1, len(y) // SCALE_SAMPLE))
    for k, rows, g, c, b in folds:
        train = sample[groups[sample] != k]
        beyond = reach[rows] if kappa else None
        if NONNEGATIVE[form]:
            q = float(np.quantile(errors[train], 0.95)) if train.size else math.inf
            s2 = robust_scale2(yw[train] - xw[train] @ b)
            covered[rows] = _held_out_covered(g, s_tot - s_groups[k], b, xs[rows], y[rows], pred[rows],
                                              weighting, True, s2=s2, q=q, kappa=kappa, beyond=beyond)
        else:
            s2 = max(float(s_tot[0] - s_groups[k][0] - 2 * b @ c + b @ g @ b), 0.0)
            covered[rows] = _held_out_covered(g, s_tot - s_groups[k], b, xs[rows], y[rows], pred[rows],
                                              weighting, False, s2=s2 / max(s_tot[1] - s_groups[k][1] - p, 1),
                                              kappa=kappa, beyond=beyond)
    return (*out, {"coverage": float(covered.mean()), "q95": q95, "kappa": kappa})


def fold_reach(tin, tout, groups) -> np.ndarray:
    """Per row: how far beyond the support of the cells left in its fold it lies (log2 steps).

    The same for every form on one split, so fit_all computes it once.
    """
    cells, cell_of = cell_index(tin, tout)
    cell_rows = np.bincount(cell_of, minlength=len(cells))
    out = np.zeros(len(tin))
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
    for k in range(n_groups):
        rows = order[bounds[k]:bounds[k + 1]]
        # A cell is gone from the fold only when all its rows are held out.
        kept = np.bincount(cell_of[rows], minlength=len(cells)) < cell_rows
        if rows.size == 0 or not kept.any():
            continue
        sup = Support(cells[kept])
        held = np.unique(cell_of[rows])  # one distance per held-out cell, not per row
        per_cell = np.zeros(len(cells))
        per_cell[held] = sup.distance(cells[held, 0], cells[held, 1]) - sup.radius
        out[rows] = np.maximum(per_cell[cell_of[rows]], 0.0)
    return out


def refit_predict(form: str, tin, tout, y, weighting=None):
    """``predict_without(train, test)`` for one form: refit on the training rows, predict the test rows.

    What profiling.fitting.intervals.calibrate_kappa holds out its edge shifts with.
    """
    names = FORMS[form]
    weighting = weighting or WEIGHTING[form]

    def predict_without(train, test):
        w = row_weights(y[train], weighting)
        x = term_defs.design_matrix(names, tin[train], tout[train])
        scale = np.linalg.norm(x * w[:, None], axis=0)
        scale[scale == 0] = 1.0
        xw = x / scale * w[:, None]
        b = _gram_solve(xw.T @ xw, xw.T @ (y[train] * w), NONNEGATIVE[form]) / scale
        return term_defs.design_matrix(names, tin[test], tout[test]) @ b

    return predict_without


def _interval_errors(y, yhat, weighting):
    """Held-out errors on the interval's scale: relative to the prediction, or absolute.

    Relative to the *prediction*, not the measurement, because a new query's interval
    can only be built from its prediction.
    """
    err = np.abs(y - yhat)
    if weighting != "relative":
        return err
    with np.errstate(divide="ignore", invalid="ignore"):
        # A non-positive prediction has no relative error: count it as never covered.
        return np.where(yhat > 0, err / np.where(yhat > 0, yhat, 1.0), 1e12)


def _held_out_covered(g, sums, b, x_out, y_out, yhat, weighting, nonneg, s2, q=None, level=0.95, kappa=None,
                      beyond=None):
    """Which held-out rows fall inside the training fit's prediction interval.

    The same formula as ``prediction_interval``, from the training Gram matrices:
    the paper's OLS uses yhat ± t·sqrt(s² + x'Σx); the non-negative forms use the
    jackknife half-width q·yhat (q: 95% quantile of the other rows' held-out
    relative errors, Barber et al. 2021) combined with t·sqrt(x'Σx) for the
    coefficients' uncertainty, which grows outside the measured range.
    """
    free = b > 0 if nonneg else np.ones(len(b), dtype=bool)
    n, k = sums[1], int(free.sum())
    if n - k <= 0 or k == 0 or s2 is None:
        return np.zeros(len(y_out), dtype=bool)
    cov = s2 * np.linalg.pinv(g[np.ix_(free, free)])
    xf = x_out[:, free]
    coef_var = np.sum((xf @ cov) * xf, axis=1)
    from scipy import stats  # lazily: scipy.stats costs ~1 s of every `schedule` start

    t = stats.t.ppf(0.5 + level / 2, n - k)
    if q is None:
        half = t * np.sqrt(np.maximum(coef_var + s2, 0.0))
    else:
        noise = q * (np.abs(yhat) if weighting == "relative" else 1.0)
        half = np.sqrt(noise * noise + t * t * np.maximum(coef_var, 0.0))
    if kappa and beyond is not None:
        reach = kappa * beyond * np.abs(yhat)
        half = np.sqrt(half * half + reach * reach)
    return np.abs(y_out - yhat) <= half


def _group_se(y, pred, groups, n_groups) -> float | None:
    """Standard error of the CV MAPE across held-out groups (cells or folds)."""
    ok = y != 0
    ape = np.zeros_like(y)
    ape[ok] = np.abs((y[ok] - pred[ok]) / y[ok]) * 100.0
    count = np.bincount(groups[ok], minlength=n_groups)
    per_group = np.bincount(groups[ok], weights=ape[ok], minlength=n_groups)[count > 0] / count[count > 0]
    if per_group.size < 2:
        return None
    return float(per_group.std(ddof=1) / np.sqrt(per_group.size))


# --- fitting ---------------------------------------------------------------------------


def _check_arrays(tin, tout, y):
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not (tin.shape == tout.shape == y.shape) or tin.ndim != 1:
        raise FitError("tin, tout and y must be 1-D arrays of one length")
    if not (np.isfinite(tin).all() and np.isfinite(tout).all() and np.isfinite(y).all()):
        raise FitError("the data contains non-finite values")
    if len(y) < 2:
        raise FitError(f"{len(y)} measurements: at least 2 are needed to fit anything")
    return tin, tout, y


def _ols_table(x, y, names, clip_low: bool, w=None):
    """OLS (WLS with row multipliers ``w``) on the given columns via statsmodels; (fit, table)."""
    import warnings

    import statsmodels.api as sm

    with warnings.catch_warnings():
        # A rank-deficient design is reported by design_diagnostics, not by a console warning.
        warnings.simplefilter("ignore")
        fit = sm.OLS(y, x).fit() if w is None else sm.WLS(y, x, weights=w * w).fit()
    ci = fit.conf_int(0.05)
    table = {}
    for i, name in enumerate(names):
        low, high = float(ci[i][0]), float(ci[i][1])
        if clip_low:
            low = max(low, 0.0)
        table[name] = {
            "coef": float(fit.params[i]), "se": _finite(fit.bse[i]), "t": _finite(fit.tvalues[i]),
            "p": _finite(fit.pvalues[i]), "ci_low": _finite(low), "ci_high": _finite(high),
        }
    return fit, table


def fit_form(form: str, tin, tout, y, *, target: str = "energy", uses_estimated_energy: bool = False,
             cv_groups=None, cv_scheme=None, weighting=None, cv_reach=None) -> FitResult:
    """Fit one form to arrays of token counts and the target (J or s)."""
    tin, tout, y = _check_arrays(tin, tout, y)
    names = FORMS[form]
    weighting = weighting or WEIGHTING[form]
    w = row_weights(y, weighting)
    diag = design_diagnostics(form, tin, tout)
    x = term_defs.design_matrix(names, tin, tout)
    n, p = x.shape
    coef_table: dict[str, dict] = {}
    f_stat = f_p = sigma2 = None
    cov = None
    cov_terms: list[str] = []
    df_resid = n - p

    if not NONNEGATIVE[form]:
        fit, coef_table = _ols_table(x, y, names, clip_low=False, w=None if weighting == "ols" else w)
        coefs = {name: float(fit.params[i]) for i, name in enumerate(names)}
        f_stat, f_p = _finite(float(fit.fvalue)), _finite(float(fit.f_pvalue))
        sigma2 = _finite(float(fit.scale))
        if diag["identifiable"]:
            cov = np.asarray(fit.cov_params()).tolist()
            cov_terms = list(names)
    else:
        scale = np.linalg.norm(x * w[:, None], axis=0)
        scale[scale == 0] = 1.0
        xw = x / scale * w[:, None]
        b = _gram_solve(xw.T @ xw, xw.T @ (y * w), nonneg=True) / scale
        b = np.maximum(b, 0.0)
        coefs = {name: float(b[i]) for i, name in enumerate(names)}
        free = [i for i in range(p) if b[i] > 0]
        resid = (y - x @ b) * w
        df_resid = n - len(free)
        # With relative weights, the scale of the relative residual; robust (see robust_scale2).
        sigma2 = robust_scale2(resid) if df_resid > 0 else None
        for i, name in enumerate(names):
            coef_table[name] = {"coef": coefs[name], "se": None, "t": None, "p": None,
                                "ci_low": None, "ci_high": None, "at_bound": i not in free}
        if free and diag["identifiable"] and df_resid > 0:
            fit, free_table = _ols_table(x[:, free], y, [names[i] for i in free], clip_low=True,
                                         w=None if weighting == "ols" else w)
            for name, row in free_table.items():
                # The reported estimate stays the constrained one; the interval is the active-set OLS one.
                row["coef"] = coefs[name]
                row["at_bound"] = False
                coef_table[name] = row
            # The covariance at the robust residual scale, as the interval uses it.
            ratio = sigma2 / fit.scale if sigma2 is not None and fit.scale > 0 else 1.0
            cov = (np.asarray(fit.cov_params()) * ratio).tolist()
            cov_terms = [names[i] for i in free]

    yhat = term_defs.predict(coefs, tin, tout)
    r2c, r2u = r2_scores(y, yhat)
    rmse = float(np.sqrt(np.mean((y - yhat) ** 2)))
    calibrated = {}

    def kappa_fn(q95):
        # The paper's OLS band is additive: its κ is then the whole relative error per unit of distance.
        q_rel = q95 if weighting == "relative" else 0.0
        calibrated["kappa"], calibrated["detail"] = intervals.calibrate_kappa(
            tin, tout, y, q_rel, refit_predict(form, tin, tout, y, weighting))
        return calibrated["kappa"]

    cv, scheme, cv_se, calibration = cross_validate(form, tin, tout, y, cv_groups, cv_scheme, weighting,
                                                    detail=True, kappa_fn=kappa_fn, reach=cv_reach)
    result = FitResult(
        form=form, target=target, terms=names, coefficients=coefs, n=int(n),
        r2=_finite(r2c), r2_uncentered=_finite(r2u), rmse=rmse, mape=mape(y, yhat),
        cv_mape=_finite(cv), cv_scheme=scheme, identifiable=diag["identifiable"], cv_mape_se=_finite(cv_se),
        coef_table=coef_table, f_statistic=f_stat, f_pvalue=f_p, sigma2=sigma2,
        df_resid=int(df_resid), cov=cov, cov_terms=cov_terms, diagnostics=diag,
        uses_estimated_energy=uses_estimated_energy,
        tin_range=(int(tin.min()), int(tin.max())), tout_range=(int(tout.min()), int(tout.max())),
        weighting=weighting, cv_coverage=_finite(calibration.get("coverage")),
        interval_q95=_finite(calibration.get("q95")) if NONNEGATIVE[form] else None,
        kappa=_finite(calibrated.get("kappa")), kappa_detail=calibrated.get("detail") or {},
        support=Support(cell_index(tin, tout)[0]).to_json(),
    )
    result.warnings = model_warnings(form, coefs, result.tin_range, result.tout_range, diag,
                                     uses_estimated_energy=uses_estimated_energy, target=target)
    result.diagnostics["negative_in_range"] = negative_region(coefs, result.tin_range, result.tout_range)
    return result


def negative_region(coefs: dict, tin_range, tout_range, points: int = 64) -> dict | None:
    """Where inside the measured range the model predicts below zero (None if nowhere)."""
    if not tin_range or not tout_range:
        return None
    tin = np.unique(np.round(np.geomspace(max(tin_range[0], 1), max(tin_range[1], 1), points)))
    tout = np.unique(np.round(np.geomspace(max(tout_range[0], 1), max(tout_range[1], 1), points)))
    tin = np.unique(np.concatenate([tin, tin_range]).astype(float))
    tout = np.unique(np.concatenate([tout, tout_range]).astype(float))
    gi, go = np.meshgrid(tin, tout, indexing="ij")
    pred = term_defs.predict(coefs, gi.ravel(), go.ravel())
    bad = pred < 0
    if not bad.any():
        return None
    i = int(np.argmin(pred))
    return {
        "fraction": float(bad.mean()),
        "min_prediction": float(pred[i]),
        "at": [int(gi.ravel()[i]), int(go.ravel()[i])],
        "tin_range": [int(gi.ravel()[bad].min()), int(gi.ravel()[bad].max())],
        "tout_range": [int(go.ravel()[bad].min()), int(go.ravel()[bad].max())],
    }


def model_warnings(form, coefs, tin_range, tout_range, diag=None, *, uses_estimated_energy=False,
                   target="energy") -> list[str]:
    out = []
    if diag and not diag["identifiable"]:
        out.append("Not identifiable: " + "; ".join(diag["reasons"])
                   + ". The coefficients are stored but not offered for planning.")
    negatives = [t for t, v in coefs.items() if v < 0]
    if negatives:
        out.append(
            "Physically invalid: negative coefficient(s) " + ", ".join(f"{t}={coefs[t]:.4g}" for t in negatives)
            + "; the model can predict negative " + ("energy" if target == "energy" else "runtime")
            + " for some token counts."
        )
    neg = negative_region(coefs, tin_range, tout_range)
    if neg:
        out.append(
            f"Negative predictions inside the measured range on {neg['fraction'] * 100:.1f}% of a grid "
            f"over it (minimum {neg['min_prediction']:.4g} at tin={neg['at'][0]}, tout={neg['at'][1]})."
        )
    if uses_estimated_energy:
        out.append("Uses estimated energy (TDP x time), not meter readings.")
    return out


def eligible(r: FitResult) -> tuple[bool, str]:
    """May this fit be offered for planning? (identifiable and never negative where measured)."""
    if not r.identifiable:
        return False, "not identifiable"
    if r.cv_mape is None:
        return False, "no cross-validated error (too few cells or rows)"
    if r.diagnostics.get("negative_in_range"):
        return False, "predicts negative values inside the measured range (physically invalid)"
    flag = blocking_flag(r.coefficients, r.identifiable, r.diagnostics)
    if flag:
        return False, flag
    return True, ""


def blocking_flag(coefficients: dict, identifiable: bool = True, diagnostics: dict | None = None) -> str:
    """Why a fit must never be used for planning ("" when nothing bars it).

    The one rule that selection (``select_form``) and the fit-to-use lookup
    (``EnergyModelFit.objects.to_use``) share, so a fit whose page shows a validity flag
    is never the one a plan uses: a negative coefficient predicts negative energy or
    runtime somewhere, even when not inside the measured range (the paper form of
    tiny-random-llama was selected with one). "Estimated energy" is a label, not a
    flaw of the form: every form of the pair carries it, so it bars none.
    """
    if not identifiable:
        return "not identifiable"
    negatives = sorted(t for t, v in (coefficients or {}).items() if isinstance(v, (int, float)) and v < 0)
    if negatives:
        return "physically invalid: negative coefficient(s) " + ", ".join(negatives)
    if (diagnostics or {}).get("negative_in_range"):
        return "predicts negative values inside the measured range (physically invalid)"
    return ""


def select_form(results: dict[str, FitResult]) -> str | None:
    """The simplest eligible form within one standard error of the lowest CV MAPE.

    Eligible: identifiable, and physically valid over the measured range; a model
    used for planning must not predict negative energy where it is used. The
    one-standard-error rule (Breiman et al. 1984; Hastie et al., ESL 7.10) keeps a
    form with more terms from winning on noise it has learnt to fit: the extended
    form nests the NNLS form, so on NNLS-shaped data it is often a hair better.
    """
    ok = [r for r in results.values() if eligible(r)[0]]
    if not ok:
        return None
    best = min(ok, key=lambda r: (r.cv_mape, len(r.terms)))
    limit = best.cv_mape + (best.cv_mape_se or 0.0)
    return min((r for r in ok if r.cv_mape <= limit), key=lambda r: (len(r.terms), r.cv_mape)).form


def fit_all(tin, tout, y, *, target="energy", forms=None, uses_estimated_energy=False):
    """Fit every form (or ``forms``) on one shared CV split; return (results, selected form)."""
    tin, tout, y = _check_arrays(tin, tout, y)
    groups, scheme = _cv_groups(tin, tout)
    reach = fold_reach(tin, tout, groups)
    results = {
        f: fit_form(f, tin, tout, y, target=target, uses_estimated_energy=uses_estimated_energy,
                    cv_groups=groups, cv_scheme=scheme, cv_reach=reach)
        for f in (forms or FORMS)
    }
    return results, select_form(results)


# --- prediction ---------------------------------------------------------------------------


def prediction_interval(coefs: dict, metrics: dict, tin, tout, level: float = 0.95):
    """(yhat, lower, upper) arrays; lower/upper None when the fit carries no covariance.

    The maths lives in profiling.fitting.intervals (pure), which the planner uses too.
    """
    return intervals.prediction_interval(coefs, metrics, tin, tout, level)
