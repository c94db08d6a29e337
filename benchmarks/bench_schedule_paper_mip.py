"""The class-count planner against the paper's per-query binary MIP.

Same objective (paper eq. 3.5, zeta = 0.5), same seven published deployments,
same paper-default shares; the per-query MIP is solved through pywraplp by CBC
(PuLP's default, which the paper used) or, with --solver SCIP, by SCIP. Reports both objective values and the
speed-up. Usage: python benchmarks/bench_schedule_paper_mip.py [--sizes 1000 10000] [--limit 900]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")

from benchmarks.bench_schedule_common import azure_workload, machine, print_table, published_deployments  # noqa: E402
from scheduling.planner import solver  # noqa: E402
from tests.oracles import paper_mip  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--limit", type=float, default=900.0, help="time limit of the per-query MIP, s")
    ap.add_argument("--zeta", type=float, default=0.5)
    ap.add_argument("--solver", default="CBC", help="pywraplp backend of the per-query MIP (CBC, SCIP)")
    args = ap.parse_args()
    if azure_workload(1) is None:
        print("SKIP: Azure trace absent (../shared/reference/azure-llm-2023)")
        return 0
    deps = published_deployments()
    rows = []
    for n in args.sizes:
        tin, tout = azure_workload(n, seed=42)
        t = time.perf_counter()
        ours = solver.plan(tin, tout, deps, zeta=args.zeta, allow_clamping=True)  # published models: clamped like the MIP
        t_ours = time.perf_counter() - t
        ref = paper_mip.solve(tin, tout, deps, zeta=args.zeta, time_limit_s=args.limit, solver=args.solver)
        t_ref = ref.build_seconds + ref.solve_seconds
        same = ref.objective_value is not None and abs(
            ref.objective_value - ours.objective_value
        ) <= 1e-9 * abs(ours.objective_value)
        rows.append(
            [
                f"{n:,}",
                f"{ours.objective_value:.9f}",
                ours.status,
                f"{t_ours:.3f}",
                "-" if ref.objective_value is None else f"{ref.objective_value:.9f}",
                ref.status,
                f"{ref.build_seconds:.1f} + {ref.solve_seconds:.1f}",
                "yes" if same else "no",
                f"{t_ref / t_ours:,.0f}x",
            ]
        )
        print(f"n={n} done", flush=True)
    print(
        f"\nmachine: {machine()}; 7 published deployments, paper-default shares, zeta={args.zeta}, "
        f"per-query MIP by {args.solver}\n"
    )
    print_table(
        [
            "queries",
            "class-count objective",
            "status",
            "time s",
            "per-query MIP objective",
            "status",
            "MIP build + solve s",
            "identical",
            "speed-up",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
