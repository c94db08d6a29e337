"""The paper's case study on Swing AMD+A100: published models against valid fitted ones.

Workload: the Azure LLM inference trace 2023 (conversation), every query as
recorded (or --queries N resampled with --seed). Question answered: at the
token-weighted accuracy that round-robin delivers, how much energy does the
optimal plan need (min-energy-accuracy-target with target = round-robin's
accuracy, paper-default shares)?

Two model sets, for the three Llama-2 (the paper's case) and for all seven LLMs:

- ``published``: Table 5.2 as printed. Its negative a0 predicts negative energy for
  long prompts with short answers, so the planner refuses it unless clamping is
  allowed; it is run with ``allow_clamping`` to show the figure it would give.
- ``valid``: the models ``seed_reference`` fits to the shipped Swing measurements
  (selected by cross-validation, non-negative everywhere), in a throw-away database.

Usage: python benchmarks/paper_case_study.py [--queries N] [--seed 0] [--frontier]
"""

from __future__ import annotations

import argparse
import sys
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._django import setup  # noqa: E402

setup()

from benchmarks.bench_schedule_common import (  # noqa: E402
    AZURE_CONV,
    CASE_STUDY,
    PUBLISHED,
    SYSTEM,
    load_azure,
    machine,
    print_table,
    published_deployments,
    resample,
)
from scheduling.planner import solver  # noqa: E402


def kwh(j: float) -> str:
    return f"{j / 3.6e6:,.2f}"


def valid_deployments(names):
    from django.core.management import call_command

    from scheduling.models.deployment_specs import spec_from_entry

    call_command("seed_reference", stdout=StringIO())
    return [spec_from_entry({"llm": n, "hardware": SYSTEM}) for n in names]


def case(tin, tout, deps, *, allow_clamping, time_limit):
    base = solver.baselines(tin, tout, deps, objective="min-energy-accuracy-target", allow_clamping=allow_clamping)
    rr = base["round-robin"]
    t = time.perf_counter()
    plan = solver.plan(tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=rr.accuracy,
                       time_limit_s=time_limit, allow_clamping=allow_clamping)
    return plan, base, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=0, help="resample to N queries (0: the trace as recorded)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--frontier", action="store_true", help="also print the zeta frontier of each case")
    args = ap.parse_args()
    if not AZURE_CONV.exists():
        print(f"SKIP: Azure trace absent ({AZURE_CONV})")
        return 0
    tin, tout = load_azure()
    if args.queries:
        tin, tout = resample(tin, tout, args.queries, args.seed)
    print(f"\nmachine: {machine()}; {len(tin):,} queries of the Azure conversation trace")
    summary = []
    for llms_label, names in (("three Llama-2", CASE_STUDY), ("all seven LLMs", tuple(PUBLISHED))):
        for models, deps, clamp in (("published (clamped)", published_deployments(names), True),
                                    ("valid fitted", valid_deployments(names), False)):
            plan, base, wall = case(tin, tout, deps, allow_clamping=clamp, time_limit=args.time_limit)
            rr = base["round-robin"]
            short = [d.key.split(" @ ")[0] for d in deps]
            print(f"\n## {llms_label}, {models} models\n")
            rows = [["plan at round-robin accuracy", kwh(plan.total_energy_j), f"{plan.accuracy:.4f}",
                     f"{plan.mean_runtime_s:.2f}", " / ".join(str(plan.counts[d.key]) for d in deps),
                     f"{plan.status} (gap {plan.gap:.1e}, {wall:.2f} s)"]]
            rows += [[name, kwh(b.total_energy_j), f"{b.accuracy:.4f}", f"{b.mean_runtime_s:.2f}",
                      " / ".join(str(b.counts[d.key]) for d in deps), b.status]
                     for name, b in base.items() if name in ("round-robin", "random", "greedy-energy")]
            print_table(["policy", "energy kWh", "accuracy %", "mean runtime s", " / ".join(short), "status"], rows)
            extra = {k.split(" @ ")[0]: f"{v['extrapolated_queries']:,} q, {v['extrapolated_energy_share']:.1%} E"
                     for k, v in plan.per_deployment.items() if v["extrapolated_queries"]}
            clamped = [w for w in plan.warnings if w.startswith("CLAMPED")]
            print(f"\nextrapolated in the plan (queries outside the fit's measured range): {extra or 'none'}")
            for w in clamped:
                print(f"  {w}")
            saving = 1 - plan.total_energy_j / rr.total_energy_j
            summary.append([llms_label, models, f"{rr.accuracy:.2f}", kwh(rr.total_energy_j),
                            kwh(plan.total_energy_j), f"{saving:.1%}", str(len(clamped))])
            if args.frontier:
                frontier = solver.sweep(tin, tout, deps, allow_clamping=clamp)
                print_table(["zeta", "energy kWh", "accuracy %", " / ".join(short)],
                            [[f"{f.zeta:.1f}", kwh(f.total_energy_j), f"{f.accuracy:.2f}",
                              " / ".join(str(f.counts[d.key]) for d in deps)] for f in frontier])
    print("\n## summary: energy at round-robin's accuracy\n")
    print_table(["LLMs", "models", "RR accuracy %", "round-robin kWh", "plan kWh", "saving",
                 "deployments clamped"], summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
