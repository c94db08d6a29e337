"""Benchmark: import N generated measurement rows through the import service.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_b1 python benchmarks/bench_import.py --rows 1000000
    python benchmarks/bench_import.py --rows 100000          # embedded SQLite

Generates a CSV in the project's own columns in a temporary directory, times
parsing+validation and the database write separately, prints a table, and
deletes the batch afterwards (so the database is left as it was).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")


def generate(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    tins = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    with open(path, "w", newline="") as fh:
        fh.write("llm,hardware,input_tokens,output_tokens,batch_size,runtime_s,"
                 "gpu_energy_j,cpu_energy_j,iteration\n")
        for i in range(rows):
            tin, tout = rng.choice(tins), rng.choice(tins)
            e = 3.9 * tin + 31.5 * tout + 0.0427 * tin * tout
            fh.write(f"bench-llm,bench-hw,{tin},{tout},32,{0.0835 * tout + 0.0001 * tin * tout + 0.2:.6f},"
                     f"{e * rng.uniform(0.95, 1.05):.3f},{0.05 * e:.3f},{i % 10}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the imported rows")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from profiling.models import LLM, Hardware, ImportBatch
    from profiling.services import measurement_import as mi

    LLM.objects.get_or_create(name="bench-llm", defaults={"parameters_b": 7, "weights": "bench"})
    Hardware.objects.get_or_create(name="bench-hw")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench-{args.rows}.csv"
        t0 = time.perf_counter()
        generate(path, args.rows)
        t_gen = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6

        # Time the phases separately with the service's own functions, then the whole call:
        # reading, parsing and validating the stream, nothing written or kept.
        t0 = time.perf_counter()
        mi._parse(path, llm=None, hardware=None, create_missing=False, negative_energy="drop",
                  writer=mi._Writer(None, None, keep=False))
        t_parse = time.perf_counter() - t0

        t0 = time.perf_counter()
        summary = mi.import_measurements(path, enqueue_refits=False)
        t_total = time.perf_counter() - t0
    if not args.keep:
        t0 = time.perf_counter()
        ImportBatch.objects.filter(pk=summary.batch_id).delete()
        t_delete = time.perf_counter() - t0
    else:
        t_delete = float("nan")

    db = connection.vendor + (f" {connection.pg_version // 10000}" if connection.vendor == "postgresql" else "")
    print("| database | rows | file MB | generate s | parse+validate s | import total s | rows/s | delete batch s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {db} | {summary.rows:,} | {size_mb:.1f} | {t_gen:.1f} | {t_parse:.1f} | {t_total:.1f} | "
          f"{summary.rows / t_total:,.0f} | {t_delete:.1f} |")


if __name__ == "__main__":
    main()
