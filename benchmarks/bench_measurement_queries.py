"""Benchmark (PostgreSQL): the queries that need profiling_measurement's indexes, on a large table (issue 18).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_b1 python benchmarks/bench_import.py --rows 1000000 --keep
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_b1 python benchmarks/bench_measurement_queries.py

Run it on a table holding a large batch (bench_import's ``--keep``). It adds a small second pair
(LLM ``q-llm``, hardware ``q-hw``, ``--small`` rows in their own batch) and an LLM and a hardware with
no rows, ANALYZEs the table, then times each query the indexes serve: the fits' pair filter, the
measurement list filtered by hardware, LLM or batch (first page, by id), the PROTECT checks and
``energyweb.deletion.holders`` counts on LLM/hardware delete, the batch-delete signal's pairs and
the cascade delete of the small batch (in a transaction rolled back). For each: best of
``--repeat`` wall ms and the indexes its plan names. Removes what it added.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20_000, help="rows of the small pair's batch")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    from profiling.models import LLM, Hardware, ImportBatch, Measurement

    big = ImportBatch.objects.filter(filename__startswith="bench-").order_by("-id").first()
    if big is None:
        sys.exit("no bench batch: run bench_import.py --keep first")
    big_llm, big_hw = LLM.objects.get(name="bench-llm"), Hardware.objects.get(name="bench-hw")
    llm = LLM.objects.create(name="q-llm", parameters_b=1, weights="q")
    hw = Hardware.objects.create(name="q-hw")
    empty_llm = LLM.objects.create(name="q-llm-empty", parameters_b=1, weights="q")
    empty_hw = Hardware.objects.create(name="q-hw-empty")
    small = ImportBatch.objects.create(filename="q-small.csv", row_count=args.small)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Measurement._meta.db_table} (llm_id, hardware_id, import_batch_id, input_tokens, "
                "output_tokens, batch_size, runtime_s, gpu_energy_j, total_energy_j, gpu_energy_source, "
                "cpu_energy_source, dram_energy_source, is_estimated, is_warmup, iteration) "
                "SELECT %s, %s, %s, 8 * (1 + g %% 64), 8 * (1 + g %% 32), 1, 1.0, 10.0, 10.0, 'measured', '', '', "
                "false, false, g %% 10 FROM generate_series(1, %s) g", [llm.pk, hw.pk, small.pk, args.small])
            # BRIN ranges written since the last summary match every lookup until summarised: what
            # autovacuum does for autosummarize indexes, done here (and timed) for a steady state.
            t0 = time.perf_counter()
            cursor.execute("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                           "JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'brin' AND i.indrelid = %s::regclass",
                           [Measurement._meta.db_table])
            for (index,) in cursor.fetchall():
                cursor.execute("SELECT brin_summarize_new_values(%s::regclass)", [index])
            summarised = time.perf_counter() - t0
            cursor.execute(f"ANALYZE {Measurement._meta.db_table}")
            cursor.execute("SELECT count(*) FROM profiling_measurement")
            total = cursor.fetchone()[0]
        M = Measurement.objects.order_by()
        queries = [
            ("fit rows of the big pair (count)", M.filter(llm=big_llm, hardware=big_hw, is_warmup=False), "count"),
            ("fit rows of the small pair (fetch)", M.filter(llm=llm, hardware=hw, is_warmup=False), "list"),
            ("list page: hardware = small", M.filter(hardware=hw).order_by("id")[:50], "list"),
            ("list page: hardware = big", M.filter(hardware=big_hw).order_by("id")[:50], "list"),
            ("list page: llm = small", M.filter(llm=llm).order_by("id")[:50], "list"),
            ("list page: llm = big", M.filter(llm=big_llm).order_by("id")[:50], "list"),
            ("list page: batch = small", M.filter(import_batch=small).order_by("id")[:50], "list"),
            ("list page: batch = big", M.filter(import_batch=big).order_by("id")[:50], "list"),
            ("batch = small (count)", M.filter(import_batch=small), "count"),
            ("delete signal: pairs of the big batch",
             M.filter(import_batch=big).values_list("llm_id", "hardware_id").distinct(), "list"),
            ("PROTECT/holders: LLM with no rows", M.filter(llm=empty_llm), "count"),
            ("PROTECT/holders: hardware with no rows", M.filter(hardware=empty_hw), "count"),
            ("PROTECT/holders: LLM small (count)", M.filter(llm=llm), "count"),
            ("PROTECT/holders: hardware small (count)", M.filter(hardware=hw), "count"),
            ("PROTECT/holders: LLM big (count)", M.filter(llm=big_llm), "count"),
            ("PROTECT/holders: hardware big (count)", M.filter(hardware=big_hw), "count"),
        ]
        print(f"profiling_measurement: {total:,} rows; small pair {args.small:,} rows; best of {args.repeat}; "
              f"BRIN summaries brought up to date in {summarised * 1000:.0f} ms")
        print("| query | ms | plan's indexes (or scan) |")
        print("| --- | ---: | --- |")
        for label, qs, how in queries:
            plan = qs.explain() if how == "list" else _count_plan(connection, qs)
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                list(qs.all()) if how == "list" else qs.all().count()  # .all(): no result cache
                best = min(best, time.perf_counter() - t0)
            print(f"| {label} | {best * 1000:.1f} | {_scans(plan)} |")
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            try:
                with transaction.atomic():
                    ImportBatch.objects.filter(pk=small.pk).delete()
                    raise _Rollback
            except _Rollback:
                pass
            best = min(best, time.perf_counter() - t0)
        print(f"| cascade delete of the small batch ({args.small:,} rows, ORM, rolled back) | {best * 1000:.0f} | |")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        Measurement.objects.filter(import_batch=small).delete()
        small.delete()
        for obj in (llm, hw, empty_llm, empty_hw):
            obj.delete()


def _count_plan(connection, qs) -> str:
    sql, params = qs.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN SELECT count(*) FROM ({sql}) q", params)
        return "\n".join(r[0] for r in cursor.fetchall())


def _scans(plan: str) -> str:
    found = re.findall(r"(?:Parallel )?(?:Seq Scan|Index Only Scan using \w+|Index Scan using \w+|"
                       r"Index Scan Backward using \w+|Bitmap Index Scan on \w+)", plan)
    return ", ".join(dict.fromkeys(found)) or "-"


if __name__ == "__main__":
    main()
