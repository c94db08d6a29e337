"""Benchmark: import N generated measurement rows through the import service.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_b1 python benchmarks/bench_import.py --rows 1000000
    python benchmarks/bench_import.py --rows 100000          # embedded SQLite

Generates a CSV in the project's own columns in a temporary directory, imports it
with ``import_measurements`` end to end (best of ``--repeat`` runs), prints the
whole time and its phases, and deletes the batch afterwards (so the database is
left as it was). Phases: ``parse`` (decode, parse and validate), ``write``
(the batch row and the COPY, index maintenance included), ``commit`` (from the
end of the write to the return of the call: the deferred foreign-key checks at
COMMIT, and a couple of small queries after it). By default (as the importer ships) it reads,
parses, hashes and encodes the next chunk on a thread while it writes this one, and ``parse`` is
then only what the writing side waited for it (the first, small chunk mostly); ``--no-read-ahead``
does each chunk in turn.

On PostgreSQL it also times the floor the import is measured against (issue 18): a plain
``COPY`` of the same rows (the imported batch's 18 written columns, as COPY text) into a new
unindexed table of the same column types, with no keys or constraints, created and dropped in the
same run, and prints the ratio. Wall and CPU are given for both: the client's (this process,
user+sys) and the server's (the PostgreSQL backend, from /proc when it runs on this machine).
"""

from __future__ import annotations

import argparse
import io
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
    parser.add_argument("--keep", action="store_true", help="keep the imported rows (of the last run)")
    parser.add_argument("--repeat", type=int, default=1, help="import this many times; report the best")
    parser.add_argument("--no-read-ahead", dest="read_ahead", action="store_false",
                        help="parse each chunk in turn instead of on a thread ahead of the COPY "
                             "(ENERGYWEB_IMPORT_READ_AHEAD=false; on by default)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from profiling.models import LLM, Hardware, ImportBatch, Measurement
    from profiling.services import measurement_import as mi

    settings.IMPORT_READ_AHEAD = args.read_ahead

    LLM.objects.get_or_create(name="bench-llm", defaults={"parameters_b": 7, "weights": "bench"})
    Hardware.objects.get_or_create(name="bench-hw")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench-{args.rows}.csv"
        t0 = time.perf_counter()
        generate(path, args.rows)
        t_gen = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6

        runs = []
        for attempt in range(args.repeat):
            runs.append(timed_import(mi, path))
            if connection.vendor == "postgresql":
                runs[-1]["copy"] = plain_copy(connection, mi, runs[-1]["batch"])
            if attempt + 1 < args.repeat or not args.keep:
                t0 = time.perf_counter()
                ImportBatch.objects.filter(pk=runs[-1]["batch"]).delete()
                runs[-1]["delete"] = time.perf_counter() - t0
                if connection.vendor == "postgresql":
                    # Untimed: the next run starts from a table without a million dead rows (where
                    # autovacuum is off or behind, repeated runs grew the table by 1M rows each).
                    with connection.cursor() as cursor:
                        cursor.execute(f"VACUUM {Measurement._meta.db_table}")
    best = min(runs, key=lambda r: r["total"])

    db = connection.vendor + (f" {connection.pg_version // 10000}" if connection.vendor == "postgresql" else "")
    load = os.getloadavg()[0]
    print(f"load average (1 min) after the runs: {load:.2f}; totals of {len(runs)} runs: "
          + ", ".join(f"{r['total']:.1f}" for r in runs) + " s")
    if "copy" in best:
        print("| run | import wall s | client CPU s | server CPU s | plain COPY wall s | client CPU s "
              "| server CPU s | import / COPY |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for k, r in enumerate(runs, 1):
            c = r["copy"]
            print(f"| {k}{' (best)' if r is best else ''} | {r['total']:.2f} | {r['cpu']:.2f} | {_s(r['server_cpu'])} "
                  f"| {c['wall']:.2f} | {c['cpu']:.2f} | {_s(c['server_cpu'])} | **{r['total'] / c['wall']:.2f}x** |")
    print("| database | rows | file MB | generate s | parse s | write s | commit s | import total s | rows/s "
          "| delete batch s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {db} | {best['rows']:,} | {size_mb:.1f} | {t_gen:.1f} | {best['parse']:.1f} | {best['write']:.1f} | "
          f"{best['commit']:.1f} | {best['total']:.1f} | {best['rows'] / best['total']:,.0f} | "
          f"{best.get('delete', float('nan')):.1f} |")


def _s(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _backend_cpu(connection) -> float | None:
    """CPU seconds (user+sys) of this connection's PostgreSQL backend, when it runs on this machine."""
    from benchmarks._django import backend_cpu

    with connection.cursor() as cursor:
        return backend_cpu(cursor)


def plain_copy(connection, mi, batch_id: int) -> dict:
    """The floor: the batch's rows, as COPY text, into an unindexed table of the same column types.

    The rows are read back from the database first (not timed), so the baseline sends exactly the
    rows and width the import wrote; then a new table with the same column types and nothing else
    (no index, key, constraint or default) takes them in one ``COPY ... FROM STDIN`` in its own
    transaction, which commits; the table is dropped afterwards."""
    from profiling.models import Measurement

    table = Measurement._meta.db_table
    cols = mi._db_columns()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY (SELECT {cols} FROM {table} WHERE import_batch_id = %s ORDER BY id) TO STDOUT",
                         [batch_id]) as copy:
            for data in copy:
                buffer.write(data)
        cursor.execute("DROP TABLE IF EXISTS bench_plain_copy")
        cursor.execute(f"CREATE TABLE bench_plain_copy AS SELECT {cols} FROM {table} WITH NO DATA")
    data = buffer.getbuffer()
    server0, cpu0, t0 = _backend_cpu(connection), _cpu(), time.perf_counter()
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.copy("COPY bench_plain_copy FROM STDIN") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start:start + (1 << 20)])
    wall, cpu, server1 = time.perf_counter() - t0, _cpu() - cpu0, _backend_cpu(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_plain_copy")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_plain_copy")
    del data
    return {"wall": wall, "cpu": cpu, "rows": copied, "mb": buffer.getbuffer().nbytes / 1e6,
            "server_cpu": None if server0 is None or server1 is None else server1 - server0}


def timed_import(mi, path: Path) -> dict:
    """``import_measurements`` end to end, with the time its streaming parse spent writing chunks.

    The import reads, validates and writes chunk by chunk inside ``_parse``: ``write`` is the time in
    the writer (the batch row and each chunk's COPY), ``parse`` the rest of ``_parse`` (reading, hashing,
    parsing, validating), ``commit`` from the end of ``_parse`` to the call's return (the batch's final
    update, the COMMIT with any deferred foreign-key checks, the summary queries)."""
    marks: dict = {"parse": 0.0, "write": 0.0}
    originals = {"_parse": mi._parse}
    writer_methods = {name: getattr(mi._Writer, name) for name in ("frame", "row_lists")}

    def timed_parse(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return originals["_parse"](*args, **kwargs)
        finally:
            marks["parse_end"] = time.perf_counter()
            marks["parse"] += marks["parse_end"] - t0

    def timed_write(method):
        def wrapper(self, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                marks["write"] += time.perf_counter() - t0
        return wrapper

    from django.db import connection

    mi._parse = timed_parse
    for name, method in writer_methods.items():
        setattr(mi._Writer, name, timed_write(method))
    try:
        server0 = _backend_cpu(connection) if connection.vendor == "postgresql" else None
        cpu0, t0 = _cpu(), time.perf_counter()
        summary = mi.import_measurements(path, enqueue_refits=False)
        t_end, cpu = time.perf_counter(), _cpu() - cpu0
        server1 = _backend_cpu(connection) if server0 is not None else None
    finally:
        mi._parse = originals["_parse"]
        for name, method in writer_methods.items():
            setattr(mi._Writer, name, method)
    return {"rows": summary.rows, "batch": summary.batch_id, "total": t_end - t0, "cpu": cpu,
            "server_cpu": None if server0 is None or server1 is None else server1 - server0,
            "parse": marks["parse"] - marks["write"], "write": marks["write"], "commit": t_end - marks["parse_end"]}


if __name__ == "__main__":
    main()
