"""Do the 95% intervals cover real measurements away from the cells a fit saw?

Held-out shifts made from the paper's Swing grids and sweeps
(../shared/reference/wilkins2024, never copied into the repo), per LLM and target:

1. ``small→large``: fit on the grid cells of the seven smaller input columns (nominal
   input ≤ 512: measured 8-541 tokens), predict the two larger columns (nominal 1,024
   and 2,048: measured 985-2,139) of the same grid;
2. ``sweeps→grid``: fit on the two Swing sweeps only (a cross of 18-19 settings),
   predict every cell of the 9x9 grid;
3. ``LOO``: leave one grid cell out (the fit's own cross-validated coverage).

Columns: the selected form, its κ (relative half-width added per log2 step beyond the
support radius, calibrated on the fit's own edges), the share of test rows flagged
extrapolated (measured support, not a bounding box), the coverage of the interval
without the distance term (q and coefficient variance only: what shipped before) and
with it, the median relative half-width of the interval on the test rows and the MAPE.

    .venv/bin/python benchmarks/interval_calibration.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "wilkins2024"
TARGETS = (("energy", "gpu"), ("runtime", "runtime"))


def small_large(g):
    """Masks of the seven smaller and the two larger input columns of a 9x9 grid."""
    col = np.searchsorted(np.unique(g["tin"]), g["tin"])
    return col <= 6, col >= 7


def take(data, mask):
    return {k: v[mask] for k, v in data.items()}


def judge(regression, intervals, train, test, target, col):
    results, sel = regression.fit_all(train["tin"], train["tout"], train[col], target=target)
    r = results[sel]
    m = r.metrics()
    y = test[col]
    yhat, lo, hi = regression.prediction_interval(r.coefficients, m, test["tin"], test["tout"])
    _, lo0, hi0 = regression.prediction_interval(r.coefficients, {**m, "kappa": None}, test["tin"], test["tout"])
    ext = intervals.beyond_support(m["support"], test["tin"], test["tout"])[1]
    return {
        "form": sel, "kappa": r.kappa, "ext": float(ext.mean()),
        "before": float(np.mean((y >= lo0) & (y <= hi0))), "after": float(np.mean((y >= lo) & (y <= hi))),
        "width": float(np.median((hi - lo) / 2 / yhat)), "mape": regression.mape(y, yhat),
        "cv_mape": r.cv_mape, "loo": r.cv_coverage,
    }


def main():
    if not REFERENCE.exists():
        print(f"SKIP: reference data {REFERENCE} is absent (it lives in ../shared/reference, not in the repo)")
        return 0
    sys.path.insert(0, str(ROOT))
    from profiling.fitting import intervals, regression
    from profiling.services import swing_reference

    sweeps = swing_reference.sweeps(REFERENCE)
    head = (f"{'shift':12s} {'LLM':15s} {'target':8s} {'form':>9s} {'kappa':>6s} {'extrap':>7s} "
            f"{'cov before':>10s} {'cov after':>9s} {'±half':>6s} {'MAPE':>6s}")
    print(head + "\n" + "-" * len(head))
    worst = {}
    loo_rows = []
    t0 = time.perf_counter()
    for model in swing_reference.GRID_FILES:
        g = swing_reference.grid(REFERENCE, model)
        small, large = small_large(g)
        for target, col in TARGETS:
            for shift, train, test in (("small→large", take(g, small), take(g, large)),
                                       ("sweeps→grid", sweeps[model], g)):
                row = judge(regression, intervals, train, test, target, col)
                w = worst.setdefault(shift, {"cov": 1.0, "ext": 1.0, "mape": 0.0})
                w["cov"] = min(w["cov"], row["after"])
                w["ext"] = min(w["ext"], row["ext"])
                w["mape"] = max(w["mape"], row["mape"])
                print(f"{shift:12s} {model:15s} {target:8s} {row['form']:>9s} {row['kappa']:6.3f} "
                      f"{row['ext'] * 100:6.1f}% {row['before'] * 100:9.1f}% {row['after'] * 100:8.1f}% "
                      f"{row['width'] * 100:5.1f}% {row['mape']:5.1f}%")
            results, sel = regression.fit_all(g["tin"], g["tout"], g[col], target=target)
            loo_rows.append((model, target, sel, results[sel]))
    print("\n# leave one grid cell out (all 81 cells): the selected form's CV MAPE and coverage")
    head = f"{'LLM':15s} {'target':8s} {'form':>9s} {'kappa':>6s} {'CV MAPE':>8s} {'LOO cov':>8s}"
    print(head + "\n" + "-" * len(head))
    for model, target, sel, r in loo_rows:
        print(f"{model:15s} {target:8s} {sel:>9s} {r.kappa:6.3f} {r.cv_mape:7.1f}% {r.cv_coverage * 100:7.1f}%")
    print()
    for shift, w in worst.items():
        print(f"{shift}: worst coverage {w['cov'] * 100:.1f}%, least flagged extrapolated {w['ext'] * 100:.1f}%, "
              f"worst MAPE {w['mape']:.1f}%")
    print(f"LOO: worst CV MAPE {max(r.cv_mape for *_, r in loo_rows):.1f}%, coverage "
          f"{min(r.cv_coverage for *_, r in loo_rows) * 100:.1f}-{max(r.cv_coverage for *_, r in loo_rows) * 100:.1f}%")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
