"""Execute a 1,000-query plan over the two tiny LLMs through a real Celery worker on this machine.

Target (issue 9): under 10% of the execution's wall time outside inference (queueing,
metering, database). Also records the predicted-vs-measured error of the tiny models' own
fits on their executed plan. Energy here is the labelled TDP estimate (no counter on a VM).

Setup (not timed): this host as hardware, both tiny LLMs profiled in the foreground on a 3x3
design covering the workload's token range, fitted with fit_pair, a plan over both with at
least 30% of the queries each, and a worker on hw.<host> already consuming. Timed: from the
execution's commit to both parts finished. Inference is the summed generate() time of every
query (repeats included); the rest of the wall time is queueing, model load and warm-up,
metering and the database, reported separately.

    DATABASE_URL=postgres://.../scratch REDIS_URL=redis://127.0.0.1:6379/9 ENERGYWEB_VAR_DIR=/tmp/x \\
        .venv/bin/python benchmarks/bench_execute.py [--queries 1000] [--batch-size 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import _django

DESIGN = {"input_tokens": [4, 16, 48], "output_tokens": [2, 6, 12], "min_trials": 2, "max_trials": 2,
          "warmup_trials": 1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--cold", action="store_true",
                    help="time the first execution on a fresh worker (it imports torch and transformers inside the job)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    vendor = _django.setup()

    from scheduling.services import execution_report
    from tests.conftest import start_worker
    from tests.executions import helpers

    t0 = time.perf_counter()
    host = helpers.this_host("bench-host")
    deps = helpers.tiny_deployments(host, design=DESIGN)
    plan = helpers.finished_plan(deps, n=args.queries, seed=1, tin=(4, 48), tout=(2, 12))
    warmup_plan = None if args.cold else helpers.finished_plan(deps, n=20, seed=2, tin=(4, 48), tout=(2, 12))
    setup_s = time.perf_counter() - t0
    broker = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    worker = start_worker(broker, Path(tempfile.mkdtemp(prefix="ew-bench-exec-")), queues="default,hw.bench-host",
                          env={"ENERGYWEB_HARDWARE_SLUG": "bench-host"})
    try:
        if warmup_plan is not None:
            # A worker that has served before (libraries imported), as on a host that is up; each part
            # of the timed execution still loads its model, which is counted.
            _execute(warmup_plan, args.batch_size)
        started = time.perf_counter()
        execution = _execute(plan, args.batch_size)
        wall = time.perf_counter() - started
    finally:
        worker.stop()
    rep = execution_report.summary(execution)
    timing = {"inference_s": 0.0, "load_s": 0.0, "warmup_s": 0.0, "store_s": 0.0, "window_s": 0.0,
              "body_wall_s": 0.0}
    for child in execution.jobs.all():
        for t in child.summary["attempts"].values():
            for k in ("inference_s", "load_s", "warmup_s", "store_s", "window_s"):
                timing[k] += t[k]
            timing["body_wall_s"] += t["wall_s"]
    outside = wall - timing["inference_s"]
    out = {
        "machine": platform.node(), "database": vendor, "worker": "cold" if args.cold else "warm", "queries": rep["queries_done"],
        "batch_size": args.batch_size, "batches": rep["batches_done"], "status": rep["status"],
        "setup_s": round(setup_s, 1), "wall_s": round(wall, 2), **{k: round(v, 2) for k, v in timing.items()},
        "outside_inference_pct": round(100 * outside / wall, 2),
        "outside_inference_excl_model_load_pct": round(
            100 * (outside - timing["load_s"] - timing["warmup_s"]) / wall, 2),
        "database_pct": round(100 * timing["store_s"] / wall, 2),
        "queueing_and_rest_pct": round(100 * (wall - timing["body_wall_s"]) / wall, 2),
        "energy_sources": rep["energy_sources"],
        "total": {k: rep[k] for k in ("predicted_energy_j", "measured_energy_j", "energy_error_pct",
                                     "energy_mape_pct", "energy_bias_pct", "predicted_runtime_s",
                                     "measured_runtime_s", "runtime_error_pct", "runtime_mape_pct",
                                     "runtime_bias_pct")},
        "per_deployment": {k: {kk: d[kk] for kk in ("queries_done", "predicted_energy_j", "measured_energy_j",
                                                     "energy_error_pct", "energy_mape_pct", "energy_bias_pct",
                                                     "runtime_error_pct", "runtime_mape_pct")}
                           for k, d in rep["per_deployment"].items()},
    }
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


def _execute(plan, batch_size):
    from energyweb.jobs.choices import JobStatus
    from scheduling.models import Execution
    from scheduling.services import execution as ex

    execution = ex.create_execution(plan, batch_size=batch_size)
    while Execution.objects.get(pk=execution.pk).status in JobStatus.active():
        time.sleep(0.1)
    return execution


if __name__ == "__main__":
    main()
