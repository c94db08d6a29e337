"""Two-way ANOVA of a (tin, tout) grid, as Table 5.1 of Wilkins et al. (2024).

Input size, output size and their interaction as categorical factors
(``y ~ C(tin) * C(tout)``, type II sums of squares). The interaction is only
estimable on a complete grid with replicates in the cells; otherwise the
result says why it is not available.

Up to STATSMODELS_MAX_ROWS rows the table is statsmodels' ``anova_lm``.
Above that, patsy's dummy matrices make it take seconds, so the same type II
table is computed exactly from cell sufficient statistics: every model of
the two factors is constant within a cell, so its residual sum of squares is
the within-cell sum of squares plus a weighted fit to the cell means.
tests/fitting/test_anova.py checks that both give the same table.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

STATSMODELS_MAX_ROWS = 20_000
NAMES = {"C(tin)": "input tokens", "C(tout)": "output tokens",
         "C(tin):C(tout)": "input × output", "Residual": "residual"}


def _clean(v):
    v = float(v)
    return v if math.isfinite(v) else None


def two_way_anova(tin, tout, y) -> dict:
    tin = np.asarray(tin)
    tout = np.asarray(tout)
    y = np.asarray(y, dtype=np.float64)
    levels_in, levels_out = np.unique(tin), np.unique(tout)
    cells = np.unique(np.column_stack([tin, tout]), axis=0) if len(y) else np.empty((0, 2))
    base = {"levels_tin": int(levels_in.size), "levels_tout": int(levels_out.size),
            "cells": int(len(cells)), "n": int(len(y))}
    if levels_in.size < 2 or levels_out.size < 2:
        held = "input" if levels_in.size < 2 else "output"
        return {**base, "available": False, "table": [],
                "reason": f"Only one {held} size was measured (a one-dimensional sweep): a two-way "
                          "ANOVA needs at least two levels of each factor."}
    if len(cells) < levels_in.size * levels_out.size:
        return {**base, "available": False, "table": [],
                "reason": f"The data covers {len(cells)} of the {levels_in.size * levels_out.size} "
                          "(tin, tout) cells (not a complete grid, e.g. separate input and output "
                          "sweeps): the factors and their interaction cannot be separated."}
    replicated = len(y) > len(cells)
    formula = "y ~ C(tin) * C(tout)" if replicated else "y ~ C(tin) + C(tout)"
    if len(y) <= STATSMODELS_MAX_ROWS:
        rows, method = _statsmodels_table(tin, tout, y, formula), "statsmodels anova_lm"
    else:
        rows, method = _sufficient_table(tin, tout, y, replicated), "cell sufficient statistics"
    out = {**base, "available": True, "table": rows, "formula": formula, "typ": 2, "method": method}
    if not replicated:
        out["note"] = "One measurement per cell: the interaction is not testable, main effects only."
    return out


def _statsmodels_table(tin, tout, y, formula) -> list[dict]:
    import pandas as pd
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    frame = pd.DataFrame({"y": y, "tin": tin, "tout": tout})
    table = anova_lm(smf.ols(formula, data=frame).fit(), typ=2)
    return [
        {"source": NAMES.get(idx, idx), "df": _clean(r["df"]), "sum_sq": _clean(r["sum_sq"]),
         "F": _clean(r["F"]), "p": _clean(r["PR(>F)"])}
        for idx, r in table.iterrows()
    ]


def _sufficient_table(tin, tout, y, replicated: bool) -> list[dict]:
    _, a = np.unique(tin, return_inverse=True)
    _, b = np.unique(tout, return_inverse=True)
    a, b = a.ravel(), b.ravel()
    la, lb = a.max() + 1, b.max() + 1
    cell = a * lb + b
    n_c = np.bincount(cell, minlength=la * lb).astype(float)
    sum_c = np.bincount(cell, weights=y, minlength=la * lb)
    mean_c = sum_c / n_c
    within = float(np.sum(y * y) - np.sum(sum_c * mean_c))
    ca, cb = np.repeat(np.arange(la), lb), np.tile(np.arange(lb), la)

    def ssr(*factors):
        cols = [np.ones(la * lb)]
        for f, levels in factors:
            cols += [(f == k).astype(float) for k in range(1, levels)]
        x = np.column_stack(cols) * np.sqrt(n_c)[:, None]
        target = mean_c * np.sqrt(n_c)
        coef, *_ = np.linalg.lstsq(x, target, rcond=None)
        return within + float(np.sum((target - x @ coef) ** 2))

    both = ssr((ca, la), (cb, lb))
    ss = {"C(tin)": ssr((cb, lb)) - both, "C(tout)": ssr((ca, la)) - both}
    df = {"C(tin)": la - 1, "C(tout)": lb - 1}
    if replicated:
        ss["C(tin):C(tout)"] = both - within
        df["C(tin):C(tout)"] = (la - 1) * (lb - 1)
        resid, df_resid = within, len(y) - la * lb
    else:
        resid, df_resid = both, len(y) - (la + lb - 1)
    rows = []
    for key in ss:
        f = (ss[key] / df[key]) / (resid / df_resid) if resid > 0 and df_resid > 0 else math.inf
        rows.append({"source": NAMES[key], "df": float(df[key]), "sum_sq": _clean(ss[key]), "F": _clean(f),
                     "p": _clean(stats.f.sf(f, df[key], df_resid)) if math.isfinite(f) else 0.0})
    rows.append({"source": "residual", "df": float(df_resid), "sum_sq": _clean(resid), "F": None, "p": None})
    return rows
