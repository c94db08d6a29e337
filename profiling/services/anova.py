"""Two-way ANOVA of a (tin, tout) grid, as Table 5.1 of Wilkins et al. (2024).

Input size, output size and their interaction as categorical factors
(statsmodels ``anova_lm`` on ``y ~ C(tin) * C(tout)``, type II sums of
squares). The interaction is only estimable on a complete grid with
replicates in the cells; otherwise the result says why it is not available.
"""

from __future__ import annotations

import math

import numpy as np


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
    import pandas as pd
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    replicated = len(y) > len(cells)
    formula = "y ~ C(tin) * C(tout)" if replicated else "y ~ C(tin) + C(tout)"
    frame = pd.DataFrame({"y": y, "tin": tin, "tout": tout})
    table = anova_lm(smf.ols(formula, data=frame).fit(), typ=2)
    names = {"C(tin)": "input tokens", "C(tout)": "output tokens",
             "C(tin):C(tout)": "input × output", "Residual": "residual"}
    rows = [
        {"source": names.get(idx, idx), "df": _clean(r["df"]), "sum_sq": _clean(r["sum_sq"]),
         "F": _clean(r["F"]), "p": _clean(r["PR(>F)"])}
        for idx, r in table.iterrows()
    ]
    out = {**base, "available": True, "table": rows, "formula": formula, "typ": 2}
    if not replicated:
        out["note"] = "One measurement per cell: the interaction is not testable, main effects only."
    return out
