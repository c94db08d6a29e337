"""Fit every form (paper, NNLS, extended) for one pair with 100,000 measurements.

Target (issue 3): under 5 s. Prints a table of timings for the numpy service
alone (fit_all + ANOVA) and for the whole stored refit of one target
(load from the database, fit all forms with leave-one-cell-out CV, ANOVA,
store three EnergyModelFit rows).

    .venv/bin/python benchmarks/bench_fit.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import platform
import time

import _django
import numpy as np


def synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    grid = 2 ** np.arange(3, 12)  # 8..2048, the paper's 9 x 9 grid
    tin = rng.choice(grid, n).astype(float)
    tout = rng.choice(grid, n).astype(float)
    energy = (150 + 0.4 * tin + 30 * tout + 0.04 * tin * tout) * rng.lognormal(0, 0.05, n)
    return tin, tout, energy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    vendor = _django.setup()

    from profiling.choices import EnergySource
    from profiling.fitting import regression
    from profiling.fitting.anova import two_way_anova
    from profiling.models import LLM, Hardware, Measurement
    from profiling.services import fitting

    tin, tout, energy = synthetic(args.rows)
    rows = []

    t = time.perf_counter()
    regression.fit_all(tin[:200], tout[:200], energy[:200])  # first call imports statsmodels/scipy.sparse
    rows.append(("first call, 200 rows (imports)", 200, time.perf_counter() - t, ""))
    t = time.perf_counter()
    results, selected = regression.fit_all(tin, tout, energy)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    anova = two_way_anova(tin, tout, energy)
    t_anova = time.perf_counter() - t
    rows.append((f"service: fit_all ({len(regression.FORMS)} forms, CV)", args.rows, t_fit, selected))
    rows.append(("service: two-way ANOVA", args.rows, t_anova, "available" if anova["available"] else "n/a"))

    llm = LLM.objects.create(name="Bench LLM", parameters_b=7, weights="bench/llm")
    hw = Hardware.objects.create(name="Bench box", gpu_model="A100", gpu_count=1)
    batch = [Measurement(llm=llm, hardware=hw, input_tokens=int(a), output_tokens=int(b), runtime_s=e / 300,
                         gpu_energy_j=e, total_energy_j=e, gpu_energy_source=EnergySource.NVML_COUNTER,
                         iteration=1) for a, b, e in zip(tin, tout, energy, strict=True)]
    Measurement.objects.bulk_create(batch, batch_size=5000)
    for target in ("energy", "runtime"):
        t = time.perf_counter()
        out = fitting.fit_pair(llm, hw, target)
        rows.append((f"stored refit, {target} ({vendor})", args.rows, time.perf_counter() - t, out["selected"]))

    from profiling.views.explorer import pair_data

    t = time.perf_counter()
    data = pair_data(llm, hw)
    rows.append((f"explorer pair data (charts, {vendor})", args.rows, time.perf_counter() - t,
                 f"{len(data['targets']['energy']['cells'])} cells"))

    print(f"# bench_fit on {platform.machine()}, {vendor}")
    print(f"{'step':42s} {'rows':>8s} {'seconds':>8s}  result")
    for name, n, sec, res in rows:
        print(f"{name:42s} {n:8d} {sec:8.3f}  {res}")
    for form, r in results.items():
        print(f"  {form:9s} CV MAPE {r.cv_mape:6.2f}%  R² {r.r2:.5f} (uncentered {r.r2_uncentered:.5f})  {r.cv_scheme}")


if __name__ == "__main__":
    main()
