"""The paper's case study: Llama-2 7B, 13B and 70B on Swing AMD+A100 with the published models.

Workload: the Azure LLM inference trace 2023 (conversation), every query
as recorded (or --queries N resampled with --seed). Question answered: at the
token-weighted accuracy that round-robin delivers, how much energy does the
optimal plan need (min-energy-accuracy-target with target = round-robin's
accuracy, paper-default shares)? Also prints the zeta frontier for the three
models and every baseline with the same metrics.

Usage: python benchmarks/paper_case_study.py [--queries N] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")

from benchmarks.bench_schedule_common import (  # noqa: E402
    AZURE_CONV,
    CASE_STUDY,
    load_azure,
    machine,
    print_table,
    published_deployments,
    resample,
)
from scheduling.services import solver  # noqa: E402


def kwh(j: float) -> str:
    return f"{j / 3.6e6:,.2f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=0, help="resample to N queries (0: the trace as recorded)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=120.0)
    args = ap.parse_args()
    if not AZURE_CONV.exists():
        print(f"SKIP: Azure trace absent ({AZURE_CONV})")
        return 0
    tin, tout = load_azure()
    if args.queries:
        tin, tout = resample(tin, tout, args.queries, args.seed)
    deps = published_deployments(CASE_STUDY)
    base = solver.baselines(tin, tout, deps, objective="min-energy-accuracy-target")
    rr = base["round-robin"]
    plans = []
    for gap in (1e-4, 1e-9):
        t = time.perf_counter()
        plans.append(
            (
                gap,
                solver.plan(
                    tin,
                    tout,
                    deps,
                    objective="min-energy-accuracy-target",
                    accuracy_target=rr.accuracy,
                    mip_gap=gap,
                    time_limit_s=args.time_limit,
                ),
                time.perf_counter() - t,
            )
        )
    plan = plans[-1][1]

    print(f"\nmachine: {machine()}; {len(tin):,} queries; Llama-2 7B/13B/70B, published Table 5.2 models\n")
    print_table(
        ["policy", "energy kWh", "accuracy %", "mean runtime s", "queries 7B / 13B / 70B", "status"],
        [
            [
                f"plan at round-robin accuracy, mip_gap {gap:g}",
                kwh(pl.total_energy_j),
                f"{pl.accuracy:.6f}",
                f"{pl.mean_runtime_s:.2f}",
                " / ".join(str(pl.counts[d.key]) for d in deps),
                f"{pl.status} (gap {pl.gap:.1e}, {wall:.2f} s)",
            ]
            for gap, pl, wall in plans
        ]
        + [
            [
                name,
                kwh(b.total_energy_j),
                f"{b.accuracy:.6f}",
                f"{b.mean_runtime_s:.2f}",
                " / ".join(str(b.counts[d.key]) for d in deps),
                b.status,
            ]
            for name, b in base.items()
        ],
    )
    saving = 1 - plan.total_energy_j / rr.total_energy_j
    print(
        f"\nAt round-robin's accuracy ({rr.accuracy:.2f}%), the plan needs {kwh(plan.total_energy_j)} kWh "
        f"against round-robin's {kwh(rr.total_energy_j)} kWh: {saving:.1%} less energy.\n"
    )
    frontier = solver.sweep(tin, tout, deps)
    print_table(
        ["zeta", "energy kWh", "accuracy %", "queries 7B / 13B / 70B"],
        [
            [
                f"{f.zeta:.1f}",
                kwh(f.total_energy_j),
                f"{f.accuracy:.2f}",
                " / ".join(str(f.counts[d.key]) for d in deps),
            ]
            for f in frontier
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
