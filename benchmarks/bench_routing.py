"""Online routing (issue 19): regret against the offline oracle, feedback, router speed.

    python benchmarks/bench_routing.py [--decisions 1000000] [--load --users 50 --duration 20]

Workload: the Azure LLM inference trace 2023 (conversation), in time order: the first half
trains the policy, the second half is replayed query by query (each query seen by its input
length only). Deployments: the seven seeded LLMs on Swing AMD+A100 with the models
``seed_reference`` fits to the shipped measurements (selected by cross-validation), in a
throw-away database. Objective: paper-energy-accuracy, zeta = 0.5, the paper's default shares.

Tables:
1. online against the oracle (the exact offline plan on the same second half, knowing every
   output length), round-robin and the greedy baseline; per predictor.
2. one deployment's energy model 30% too low (each of the seven in turn): regret of the
   policy built on it, then after one round of feedback from that replay's readings.
3. router decisions per second in-process.
With --load: POST /api/v1/route p50/p99 under locust users against gunicorn on 127.0.0.1
(benchmarks/bench_routing_load.py). Energy figures are model estimates (fitted models), not
meter readings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._django import setup  # noqa: E402

setup()

import numpy as np  # noqa: E402

from benchmarks.bench_schedule_common import AZURE_CONV, PUBLISHED, SYSTEM, load_azure  # noqa: E402
from scheduling.routing import feedback  # noqa: E402
from scheduling.routing.policy import build_policy  # noqa: E402
from scheduling.routing.replay import replay  # noqa: E402
from scheduling.routing.router import Router  # noqa: E402

ZETA = 0.5
WRONG = 0.7  # the biased model predicts 70% of the true energy: 30% wrong


def seeded_specs():
    from django.core.management import call_command

    from scheduling.models.deployment_specs import spec_from_entry

    call_command("seed_reference", stdout=StringIO())
    return [spec_from_entry({"llm": n, "hardware": SYSTEM}) for n in PUBLISHED]


def online_table(specs, train, test, explore_share: float = 0.0):
    label = f", exploring {explore_share:g} per deployment" if explore_share else ""
    print(f"\n## 1. Online policy vs the offline oracle (zeta {ZETA}{label}, train {len(train[0]):,} / "
          f"replay {len(test[0]):,} queries; energy in kWh, estimated from fitted models)\n")
    print(f"{'policy':34} {'energy':>9} {'acc %':>6} {'regret %':>8} {'obj regret %':>12} {'vs RR %':>8} "
          f"{'in bounds':>9} {'build s':>7} {'replay s':>8}")
    rows = {}
    for predictor in ("empirical", "bucket-median"):
        t = time.perf_counter()
        pol = build_policy(*train, specs, zeta=ZETA, predictor=predictor, explore_share=explore_share)
        built = time.perf_counter() - t
        t = time.perf_counter()
        r = replay(pol, *test)
        took = time.perf_counter() - t
        rows[predictor] = (pol, r)
        print(f"{'online, ' + predictor:34} {r['energy_j'] / 3.6e6:9.2f} {r['accuracy']:6.2f} {r['regret_pct']:8.2f} "
              f"{r['objective_regret_pct']:12.2f} {-r['saving_vs_round_robin_pct']:8.1f} "
              f"{str(r['shares_within_bounds']):>9} {built:7.2f} {took:8.2f}")
    r = rows["empirical"][1]
    print(f"{'oracle (offline plan, knows tout)':34} {r['oracle_energy_j'] / 3.6e6:9.2f} {r['oracle_accuracy']:6.2f}")
    for name in ("round-robin", "random", "greedy-energy", "accuracy-first"):
        b = r["baselines"][name]
        print(f"{name:34} {b['energy_j'] / 3.6e6:9.2f} {b['accuracy']:6.2f}")
    print("\nRealised shares (empirical):", json.dumps({k: round(v, 4) for k, v in r["shares"].items()}))
    return rows["empirical"][0]


def feedback_table(specs, train, test, explore_share: float = 0.0):
    label = f"exploration {explore_share:g} per under-observed deployment" if explore_share else "no exploration"
    print(f"\n## 2. One deployment's energy model 30% wrong (x0.7 or x1.3), then one round of feedback "
          f"({label})\n")
    print("regret = energy regret against the oracle on the true models; obj = the objective's regret;\n"
          "after = the policy re-solved with the replay's readings (exploring only deployments still under-observed)\n")
    print(f"{'biased deployment':32} {'x':>3} {'regret %':>8} {'obj %':>6} {'after %':>7} {'obj %':>6} "
          f"{'share':>6} {'after':>6} {'factor':>6} {'reads':>5}")
    worst, rows = 0.0, []
    for wrong in (0.7, 1.3):
        for j, spec in enumerate(sorted(specs, key=lambda s: s.key)):
            biased = [replace(s, energy_coefs={k: v * wrong for k, v in s.energy_coefs.items()})
                      if s.key == spec.key else s for s in specs]
            pol = build_policy(*train, biased, zeta=ZETA, explore_share=explore_share)
            first = replay(pol, *test, truth=specs, keep_queries=True)
            obs = feedback.observations(pol.edges, len(pol.keys), test[0], first["assignment"],
                                        first["charged_j"], first["predicted_j"])
            factors = feedback.bounded_step(feedback.corrections(obs), pol.corrections)
            still = [pol.keys[d] for d in feedback.under_observed(obs, len(pol.keys))]
            fixed = build_policy(*train, biased, zeta=ZETA, corrections=factors, explore_share=explore_share,
                                 explore=still)
            second = replay(fixed, *test, truth=specs)
            worst = max(worst, abs(second["regret_pct"]), second["objective_regret_pct"])
            factor = np.asarray(fixed.corrections)[:, j]
            n_j = np.asarray(obs["n"])[:, j]
            used = n_j > 0
            shown = f"{np.average(factor[used], weights=n_j[used]):.3f}" if used.any() else "-"
            rows.append((spec.key, wrong, first, second))
            print(f"{spec.key:32} {wrong:3.1f} {first['regret_pct']:8.2f} {first['objective_regret_pct']:6.2f} "
                  f"{second['regret_pct']:7.2f} {second['objective_regret_pct']:6.2f} "
                  f"{first['shares'][spec.key]:6.4f} {second['shares'][spec.key]:6.4f} {shown:>6} "
                  f"{int(n_j.sum()):5d}")
    print(f"\nworst |energy regret| or objective regret after one round of feedback: {worst:.2f}% (target <= 5%)")
    return rows


def router_speed(pol, tins, n):
    stream = np.resize(tins, n).tolist()
    router = Router(pol, seed=0)
    route = router.route
    t, c = time.perf_counter(), time.process_time()
    for tin in stream:
        route(tin)
    took, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"\n## 3. Router, in-process (one thread)\n\n{n:,} decisions in {took:.2f} s wall, {cpu:.2f} s CPU: "
          f"{n / took:,.0f} decisions/s wall, {n / cpu:,.0f} per CPU-second ({1e6 * took / n:.2f} us each; "
          f"target >= 50,000/s; the wall figure falls when other work shares the two cores)")


def load(pol_pk: int, users: str, duration: float, server: str = "asgi", extra=()) -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(username="routing-load")
    token, _ = Token.objects.get_or_create(user=user)
    info = Path(tempfile.mkdtemp(prefix="ew-route-")) / "info.json"
    info.write_text(json.dumps({"token": token.key, "policy": pol_pk}))
    subprocess.run([sys.executable, str(Path(__file__).with_name("bench_routing_load.py")), str(info),
                    "--users", users, "--duration", str(duration), "--server", server, *extra], check=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--decisions", type=int, default=1_000_000)
    ap.add_argument("--load", action="store_true", help="also load-test POST /api/v1/route with locust")
    ap.add_argument("--users", default="1,10,50")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--server", choices=("asgi", "sync"), default="asgi",
                    help="asgi: the server make run and the container start (energyweb/webserver.py)")
    ap.add_argument("--load-only", action="store_true", help="skip tables 1-3")
    ap.add_argument("--nice", type=int, default=0, help="the server's niceness in the load test")
    ap.add_argument("--in-process", type=int, default=2000, help="in-process requests per variant (0: skip)")
    ap.add_argument("--explore", type=float, nargs="*", default=[feedback.EXPLORE_SHARE],
                    help="exploration shares to repeat tables 1-3 with (feedback.py)")
    args = ap.parse_args()
    if not AZURE_CONV.exists():
        print(f"SKIP: Azure trace absent ({AZURE_CONV})")
        return 0
    t = time.perf_counter()
    specs = seeded_specs()
    print(f"seeded the reference catalogue and fits in {time.perf_counter() - t:.1f} s; "
          f"{os.cpu_count()} cores, loaded by other work")
    tin, tout = load_azure()  # in time order (the file is sorted by TIMESTAMP)
    half = len(tin) // 2
    train, test = (tin[:half], tout[:half]), (tin[half:], tout[half:])
    if not args.load_only:
        pol = online_table(specs, train, test)
        feedback_table(specs, train, test)
        router_speed(pol, test[0], args.decisions)
        for share in args.explore:
            explored = online_table(specs, train, test, explore_share=share)
            feedback_table(specs, train, test, explore_share=share)
            router_speed(explored, test[0], args.decisions)
    if args.load or args.load_only:
        from profiling.models import Hardware  # noqa: F401  (Django is set up)
        from scheduling.models import Workload
        from scheduling.services import routing
        from scheduling.services.workloads import import_workload

        path = Path(tempfile.mkdtemp(prefix="ew-route-")) / "train.csv"
        path.write_text("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in zip(*train, strict=True)))
        wl = Workload.objects.filter(name="azure-conv first half").first() or import_workload(
            path, "azure-conv first half")
        row = routing.make_policy(wl, specs, params={"zeta": ZETA})
        load(row.pk, args.users, args.duration, args.server,
             ["--nice", str(args.nice), "--in-process", str(args.in_process)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
