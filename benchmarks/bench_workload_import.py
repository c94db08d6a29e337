"""Benchmark: import a 1,000,000-query workload CSV (the Azure conversation trace resampled).

    python benchmarks/bench_workload_import.py                       # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_c2 python benchmarks/bench_workload_import.py
    python benchmarks/bench_workload_import.py --queries 100000 --gzip

Writes the CSV to a temporary directory, times each stage of the import
service (read + parse + validate every row, statistics, the .npz write and the
database row), then loading the columns back as the planner does; prints a
table and deletes the workload afterwards. The database must be migrated.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
AZURE = ROOT.parent / "shared" / "reference" / "azure-llm-2023" / "AzureLLMInferenceTrace_conv.csv"


def make_csv(path: Path, n: int, compress: bool, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    if AZURE.exists():
        import pandas as pd

        src = pd.read_csv(AZURE)
        idx = rng.integers(0, len(src), n)
        tin, tout = src["ContextTokens"].to_numpy()[idx], src["GeneratedTokens"].to_numpy()[idx]
        origin = "Azure conv trace resampled"
    else:
        tin, tout = rng.lognormal(6.5, 1.0, n).astype(int) + 1, rng.lognormal(4.8, 0.8, n).astype(int) + 1
        origin = "log-normal (Azure trace absent)"
    # The Azure trace's own column names, with a timestamp column as the trace has.
    ts = np.datetime64("2023-11-16T18:00:00") + np.arange(n).astype("timedelta64[ms]") * 50
    body = "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
        f"{t},{a},{b}\n" for t, a, b in zip(ts.astype(str), tin, tout, strict=True))
    data = body.encode()
    path.write_bytes(gzip.compress(data, compresslevel=6) if compress else data)
    return origin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plan", action="store_true",
                        help="also time the job code path (services/jobs.execute) on the loaded columns over "
                             "the seven published deployments: zeta=0.5, then an 11-point sweep")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from scheduling.models import Workload
    from scheduling.services import workloads as ws

    settings.MAX_UPLOAD_MB = max(settings.MAX_UPLOAD_MB, 1024)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("bench.csv.gz" if args.gzip else "bench.csv")
        origin = make_csv(path, args.queries, args.gzip)
        size_mb = path.stat().st_size / 1048576
        for i in range(args.repeat):
            name = f"bench-import-{os.getpid()}-{i}"
            t0 = time.perf_counter()
            parsed = ws.parse_workload(path)
            t1 = time.perf_counter()
            wl = ws.store_workload(parsed, name)
            t2 = time.perf_counter()
            arrays = ws.load_workload_arrays(wl)
            t3 = time.perf_counter()
            assert arrays.tin.shape[0] == args.queries
            rows.append((t1 - t0, t2 - t1, t2 - t0, t3 - t2))
            Workload.objects.filter(pk=wl.pk).delete()
        plan_rows = _plan(arrays) if args.plan else []

    print(f"# workload import: {args.queries:,} queries ({origin}), {size_mb:.1f} MB "
          f"{'gzip ' if args.gzip else ''}CSV, database {connection.vendor}")
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'run':>4} {'parse+validate s':>17} {'stats+store s':>14} {'import total s':>15} {'load columns s':>15}")
    for i, r in enumerate(rows, 1):
        print(f"{i:>4} {r[0]:>17.2f} {r[1]:>14.2f} {r[2]:>15.2f} {r[3]:>15.3f}")
    best = min(rows, key=lambda r: r[2])
    print(f"best {best[0]:>17.2f} {best[1]:>14.2f} {best[2]:>15.2f} {best[3]:>15.3f}  (target: import < 30 s)")
    if plan_rows:
        print()
        print(f"{'job path (execute)':<22} {'plans':>5} {'status':>8} {'solve s':>8} {'execute s':>10}")
        for r in plan_rows:
            print(f"{r[0]:<22} {r[1]:>5} {r[2]:>8} {r[3]:>8.2f} {r[4]:>10.2f}")


def _plan(arrays):
    from benchmarks.bench_schedule_common import published_deployments
    from scheduling.services import jobs

    specs = published_deployments()
    out = []
    # Published models (negative a0): clamping allowed knowingly, this times the job path.
    for label, params in (("zeta=0.5", {"zeta": 0.5, "allow_clamping": True}),
                          ("sweep 0..1 (11 zetas)", {"sweep": True, "allow_clamping": True})):
        t0 = time.perf_counter()
        ex = jobs.execute(arrays.tin, arrays.tout, specs, "paper-energy-accuracy", params)
        out.append((label, len(ex.results["plans"]), ex.results["plans"][0]["status"],
                    ex.solver_stats["solve_seconds"], time.perf_counter() - t0))
    return out


if __name__ == "__main__":
    main()
