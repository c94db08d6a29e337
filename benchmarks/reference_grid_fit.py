"""Fits on the paper's Swing grids and sweeps: relative-error forms, intervals, sweeps -> grid.

Reads ../shared/reference/wilkins2024 (skips saying so when absent) and prints three
tables, recorded in docs/BENCHMARKS.md:

1. per 9x9 grid and target (GPU energy, runtime): CV MAPE of every form (leave one
   cell out), the selected form, its CV MAPE and the CV coverage of its 95% interval;
2. why relative weights: CV MAPE of the selected form fitted by OLS, by WLS with
   weights 1/y² (what the fitter does) and in log space (bounded least squares on
   log y), on the same folds;
3. a model fitted on the two Swing sweeps alone (2 x 9 settings), its selected form
   and its MAPE on the full grid of the same LLM.

    .venv/bin/python benchmarks/reference_grid_fit.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "wilkins2024"
TARGETS = (("energy", "gpu"), ("runtime", "runtime"))


def log_space_cv(form, tin, tout, y, regression, term_defs):
    """Leave-one-cell-out MAPE of a non-negative fit minimising sum((log yhat - log y)^2)."""
    from scipy import optimize

    names = regression.FORMS[form]
    x = term_defs.design_matrix(names, tin, tout)
    scale = np.linalg.norm(x / y[:, None], axis=0)
    scale[scale == 0] = 1.0
    xs = x / scale
    pred = np.empty_like(y)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        start, _ = optimize.nnls(xs[keep] / y[keep, None], np.ones(keep.sum()))
        xk, logy = xs[keep], np.log(y[keep])
        res = optimize.least_squares(lambda b, xk=xk, logy=logy: np.log(np.maximum(xk @ b, 1e-300)) - logy,
                                     start + 1e-12, bounds=(0, np.inf))
        pred[i] = xs[i] @ res.x
    return regression.mape(y, pred)


def main():
    if not REFERENCE.exists():
        print(f"SKIP: reference data {REFERENCE} is absent (it lives in ../shared/reference, not in the repo)")
        return 0
    sys.path.insert(0, str(ROOT))
    from profiling.fitting import regression
    from profiling.fitting import terms as term_defs
    from profiling.services import swing_reference

    forms = list(regression.FORMS)
    print("# 1. CV MAPE (%) per form on the 9x9 grids (leave one cell out; * = not eligible)")
    head = f"{'LLM':16s} {'target':8s} " + " ".join(f"{f:>9s}" for f in forms) + \
        f" {'selected':>9s} {'sel CV':>7s} {'cover95':>8s} {'time':>6s}"
    print(head + "\n" + "-" * len(head))
    worst = {"cv": 0.0, "cov_lo": 1.0, "cov_hi": 0.0}
    chosen = {}
    for model in swing_reference.GRID_FILES:
        g = swing_reference.grid(REFERENCE, model)
        for target, col in TARGETS:
            t0 = time.perf_counter()
            results, sel = regression.fit_all(g["tin"], g["tout"], g[col], target=target)
            dt = time.perf_counter() - t0
            cols = " ".join(f"{results[f].cv_mape:8.1f}{'' if regression.eligible(results[f])[0] else '*'}"
                            for f in forms)
            r = results[sel]
            chosen[(model, target)] = sel
            worst["cv"] = max(worst["cv"], r.cv_mape)
            worst["cov_lo"] = min(worst["cov_lo"], r.cv_coverage)
            worst["cov_hi"] = max(worst["cov_hi"], r.cv_coverage)
            print(f"{model:16s} {target:8s} {cols} {sel:>9s} {r.cv_mape:7.1f} {r.cv_coverage * 100:7.1f}% "
                  f"{dt:5.2f}s")
    print(f"\nselected form: worst CV MAPE {worst['cv']:.1f}%, 95% interval coverage "
          f"{worst['cov_lo'] * 100:.1f}-{worst['cov_hi'] * 100:.1f}% of held-out cells")

    print("\n# 2. weighting of the selected form: CV MAPE (%) on the same leave-one-cell-out folds")
    head = f"{'LLM':16s} {'target':8s} {'form':>9s} {'OLS':>7s} {'WLS 1/y²':>9s} {'log':>7s}"
    print(head + "\n" + "-" * len(head))
    for model in swing_reference.GRID_FILES:
        g = swing_reference.grid(REFERENCE, model)
        for target, col in TARGETS:
            form, y = chosen[(model, target)], g[col]
            ols = regression.cross_validate(form, g["tin"], g["tout"], y, weighting="ols")[0]
            rel = regression.cross_validate(form, g["tin"], g["tout"], y, weighting="relative")[0]
            log = log_space_cv(form, g["tin"], g["tout"], y, regression, term_defs)
            print(f"{model:16s} {target:8s} {form:>9s} {ols:7.1f} {rel:9.1f} {log:7.1f}")

    print("\n# 3. fitted on the two Swing sweeps alone, predicting the 9x9 grid (MAPE %)")
    head = f"{'LLM':16s} {'target':8s} {'sweep rows':>10s} {'settings':>8s} {'selected':>9s} " \
           f"{'sweep CV':>8s} {'grid MAPE':>9s} {'in 95% PI':>9s}"
    print(head + "\n" + "-" * len(head))
    sw = swing_reference.sweeps(REFERENCE)
    worst_grid = 0.0
    for model in swing_reference.GRID_FILES:
        g, s = swing_reference.grid(REFERENCE, model), sw[model]
        for target, col in TARGETS:
            results, sel = regression.fit_all(s["tin"], s["tout"], s[col], target=target)
            r = results[sel]
            yhat, lo, hi = regression.prediction_interval(r.coefficients, r.metrics(), g["tin"], g["tout"])
            err = regression.mape(g[col], yhat)
            worst_grid = max(worst_grid, err)
            inside = float(np.mean((g[col] >= lo) & (g[col] <= hi))) * 100
            print(f"{model:16s} {target:8s} {len(s['tin']):10d} {r.diagnostics['cells']:8d} {sel:>9s} "
                  f"{r.cv_mape:8.1f} {err:9.1f} {inside:8.1f}%")
    print(f"\nsweeps-only models: worst grid MAPE {worst_grid:.1f}%")
    for model in sorted(set(sw) - set(swing_reference.GRID_FILES)):
        s = sw[model]
        results, sel = regression.fit_all(s["tin"], s["tout"], s["gpu"], target="energy")
        print(f"{model} (sweeps only, no grid to compare): selected {sel}, CV MAPE "
              f"{results[sel].cv_mape:.1f}%, coverage {results[sel].cv_coverage * 100:.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
