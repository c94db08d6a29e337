"""Benchmark (PostgreSQL only): what each index of profiling_measurement costs a 1M-row COPY (issue 18).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_b1 python benchmarks/bench_measurement_indexes.py --rows 1000000

Builds N rows shaped like one imported batch (one LLM, one hardware, one batch, NULL profiling run,
the generator's token counts; ids in order, as the sequence gives them), reads them out once as
binary COPY (untimed), then for each index set: a new table ``LIKE profiling_measurement`` (column
types, NOT NULLs and CHECKs; no key, foreign key or index), the set's indexes created on it empty,
one ``COPY ... FROM STDIN (FORMAT binary)`` of the rows, committed; timed wall and server CPU (the
backend's user+sys from /proc), the table dropped. Prints a table: each set's best of ``--repeat``
and its cost over the unindexed table.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")

T = "bench_index_cost"
SETS = {
    "no index": [],
    "pkey (id)": ["ALTER TABLE {t} ADD PRIMARY KEY (id)"],
    "(llm_id, hardware_id, is_warmup)": ["CREATE INDEX ON {t} (llm_id, hardware_id, is_warmup)"],
    "(hardware_id, llm_id, is_warmup)": ["CREATE INDEX ON {t} (hardware_id, llm_id, is_warmup)"],
    "(hardware_id)": ["CREATE INDEX ON {t} (hardware_id)"],
    "(import_batch_id) btree": ["CREATE INDEX ON {t} (import_batch_id)"],
    "(import_batch_id) BRIN": ["CREATE INDEX ON {t} USING brin (import_batch_id)"],
    "partial unique (run, cell, trial)": [
        "CREATE UNIQUE INDEX ON {t} (profiling_run_id, cell_index, trial_index) WHERE profiling_run_id IS NOT NULL"],
    "before: all five": [
        "ALTER TABLE {t} ADD PRIMARY KEY (id)", "CREATE INDEX ON {t} (llm_id, hardware_id, is_warmup)",
        "CREATE INDEX ON {t} (hardware_id)", "CREATE INDEX ON {t} (import_batch_id)",
        "CREATE UNIQUE INDEX ON {t} (profiling_run_id, cell_index, trial_index) WHERE profiling_run_id IS NOT NULL"],
    "(hardware_id, llm_id) BRIN": ["CREATE INDEX ON {t} USING brin (hardware_id, llm_id)"],
    "t3: pkey, BRIN (hw, llm), BRIN batch, partial": [
        "ALTER TABLE {t} ADD PRIMARY KEY (id)", "CREATE INDEX ON {t} USING brin (hardware_id, llm_id)",
        "CREATE INDEX ON {t} USING brin (import_batch_id)",
        "CREATE UNIQUE INDEX ON {t} (profiling_run_id, cell_index, trial_index) WHERE profiling_run_id IS NOT NULL"],
    "(hardware_id, llm_id, import_batch_id) BRIN": [
        "CREATE INDEX ON {t} USING brin (hardware_id, llm_id, import_batch_id)"],
    "now: pkey, BRIN (hw, llm, batch), partial": [
        "ALTER TABLE {t} ADD PRIMARY KEY (id)", "CREATE INDEX ON {t} USING brin (hardware_id, llm_id, import_batch_id)",
        "CREATE UNIQUE INDEX ON {t} (profiling_run_id, cell_index, trial_index) WHERE profiling_run_id IS NOT NULL"],
    "after: pkey, (hw, llm, warmup), BRIN batch, partial": [
        "ALTER TABLE {t} ADD PRIMARY KEY (id)", "CREATE INDEX ON {t} (hardware_id, llm_id, is_warmup)",
        "CREATE INDEX ON {t} USING brin (import_batch_id)",
        "CREATE UNIQUE INDEX ON {t} (profiling_run_id, cell_index, trial_index) WHERE profiling_run_id IS NOT NULL"],
}


from benchmarks._django import backend_cpu as _backend_cpu  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="index-set names to run (default: all)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only")
    table = "profiling_measurement"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {T}")
        cursor.execute(f"CREATE TEMP TABLE bench_src AS SELECT * FROM {table} WITH NO DATA")
        # The generator's shape (benchmarks/bench_import.py): tokens from 8..2048, iteration i % 10.
        cursor.execute(
            "INSERT INTO bench_src (id, llm_id, hardware_id, import_batch_id, input_tokens, output_tokens, "
            "batch_size, runtime_s, gpu_energy_j, cpu_energy_j, total_energy_j, gpu_energy_source, "
            "cpu_energy_source, dram_energy_source, is_estimated, is_warmup, iteration) "
            "SELECT g, 1, 1, 1, t.a, t.b, 32, 0.0835 * t.b + 0.2, 3.9 * t.a + 31.5 * t.b, 0.2 * t.a, "
            "4.1 * t.a + 31.5 * t.b, 'measured', 'measured', '', false, false, g %% 10 "
            "FROM generate_series(1, %s) g, LATERAL (SELECT (2 ^ (3 + (g * 7) %% 9))::int a, "
            "(2 ^ (3 + (g * 13) %% 9))::int b) t", [args.rows])
        buffer = io.BytesIO()
        with cursor.copy("COPY bench_src TO STDOUT (FORMAT binary)") as copy:
            for data in copy:
                buffer.write(data)
        cursor.execute("DROP TABLE bench_src")
    data = buffer.getbuffer()

    results: dict[str, list[tuple[float, float | None]]] = {}
    names = [n for n in SETS if not args.only or n in args.only]
    for _ in range(args.repeat):
        for name in names:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE TABLE {T} (LIKE {table} INCLUDING CONSTRAINTS)")
                for sql in SETS[name]:
                    cursor.execute(sql.format(t=T))
            with connection.cursor() as cursor:
                s0, t0 = _backend_cpu(cursor), time.perf_counter()
                with transaction.atomic():
                    with cursor.copy(f"COPY {T} FROM STDIN (FORMAT binary)") as copy:
                        for start in range(0, len(data), 8 << 20):
                            copy.write(data[start:start + (8 << 20)])
                wall, s1 = time.perf_counter() - t0, _backend_cpu(cursor)
                cursor.execute(f"DROP TABLE {T}")
            results.setdefault(name, []).append((wall, None if s0 is None or s1 is None else s1 - s0))
    load = os.getloadavg()
    base = min(w for w, _ in results.get("no index", [(float("nan"), None)]))
    base_cpu = min((c for _, c in results.get("no index", []) if c is not None), default=float("nan"))
    print(f"{args.rows:,} rows, best of {args.repeat}; load average after: {load[0]:.2f} / {load[1]:.2f}")
    print("| index set | COPY wall s (runs) | server CPU s | wall over no index s | CPU over no index s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in names:
        runs = results[name]
        wall = min(w for w, _ in runs)
        cpu = min((c for _, c in runs if c is not None), default=float("nan"))
        print(f"| {name} | {wall:.2f} ({' / '.join(f'{w:.2f}' for w, _ in runs)}) | {cpu:.2f} "
              f"| {wall - base:+.2f} | {cpu - base_cpu:+.2f} |")


if __name__ == "__main__":
    main()
