"""Benchmark: peak memory of the two importers on hostile and large files.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_scratch python benchmarks/bench_import_memory.py
    python benchmarks/bench_import_memory.py --root /tmp/old-checkout     # the same cases on older code

Each import runs in a fresh child process (python -c, the project's code from --root) that
reports its own peak resident set (ru_maxrss; Linux starts a forked child's peak at its parent's
resident size, so this script writes its files a row at a time and stays at ~20 MB) and the peak after Django and pandas are loaded
but before the import (the floor every import pays). The upload cap is ENERGYWEB_MAX_UPLOAD_MB
(--cap-mb); the figure to reach is a peak under twice that cap. Files are generated once in a
temporary directory; gzip bombs are built from one compressed block repeated (Z_FULL_FLUSH
makes each block's deflate output identical), so a 2.5 GB bomb takes seconds to make.

Cases (``--cases`` picks some): bomb (a few MB of gzip expanding to GBs), field (one field of
--field-mb MB), id5000 (a 1.2 MB workload with one 5,000-character id, the issue's case),
tiny (a file at the cap of the shortest valid rows), rows1m (one million ordinary rows),
ids200 (one million workload rows with short ids and one of 200 characters, not in the default),
wideids (a workload at the cap whose ids all have 200 characters, the longest allowed).
The measurement "tiny" case validates without writing (``--tiny-write`` writes its ~26M
rows too, which takes many minutes); every other case runs the whole import, database included.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEASUREMENT_HEADER = b"llm,hardware,input_tokens,output_tokens,batch_size,runtime_s,gpu_energy_j,cpu_energy_j,iteration\n"
MEASUREMENT_ROW = b"bench-llm,bench-hw,32,64,1,1.5,100.0,10.0,1\n"
WORKLOAD_HEADER = b"input_tokens,output_tokens\n"

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
import django
django.setup()
import numpy, pandas  # noqa: F401  loaded by any import: part of the floor
from profiling.models import LLM, Hardware, ImportBatch
LLM.objects.get_or_create(name="bench-llm", defaults={"parameters_b": 7, "weights": "bench"})
Hardware.objects.get_or_create(name="bench-hw")
kind, path, mode = sys.argv[2], sys.argv[3], sys.argv[4]
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
out = {}
try:
    if kind == "workload":
        from scheduling.models import Workload
        from scheduling.services.workloads import import_workload
        wl = import_workload(path, f"mem-bench-{os.getpid()}")
        out["result"] = f"imported {wl.n_queries:,} queries"
        Workload.objects.filter(pk=wl.pk).delete()
    elif mode == "validate":
        from profiling.services import measurement_import as mi
        if hasattr(mi, "_Writer"):
            p = mi._parse(path, llm=None, hardware=None, create_missing=False, negative_energy="drop",
                          writer=mi._Writer(None, None, keep=False))
        else:  # code from before the streaming reader (--root of an older checkout)
            p = mi._parse(mi.decode(mi.read_source(path)[0]), llm=None, hardware=None,
                          create_missing=False, negative_energy="drop")
        out["result"] = f"validated {p['count']:,} rows (not written)"
    else:
        from profiling.services.measurement_import import import_measurements
        s = import_measurements(path, enqueue_refits=False)
        out["result"] = f"imported {s.rows:,} rows"
        ImportBatch.objects.filter(pk=s.batch_id).delete()
except Exception as exc:  # a refusal is the expected outcome of the hostile cases
    msgs = getattr(exc, "errors", None)
    text = str(msgs[0]) if msgs else str(exc)
    if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict):
        text = str(exc) + " " + str(msgs[0].get("message", ""))
    out["result"] = "refused: " + " ".join(text.split())[:110]
out["seconds"] = round(time.perf_counter() - t0, 1)
out["floor_mb"] = round(floor)
out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print("RESULT " + json.dumps(out))
"""


def bomb(path: Path, head: bytes, row: bytes, expanded: int) -> None:
    """A single-member gzip of head + row repeated to ``expanded`` bytes."""
    block = row * ((1 << 20) // len(row))
    n = max(1, (expanded - len(head)) // len(block))
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    one = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert one == again  # after a full flush each identical block compresses to identical bytes
    crc = zlib.crc32(head)
    for _ in range(n):
        crc = zlib.crc32(block, crc)
    with open(path, "wb") as fh:
        fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first)
        for _ in range(n):  # each block's bytes stand alone after a full flush
            fh.write(one)
        fh.write(c.flush())
        fh.write(struct.pack("<II", crc & 0xFFFFFFFF, (len(head) + n * len(block)) & 0xFFFFFFFF))


def write_rows(path: Path, head: bytes, row: bytes, size: int) -> None:
    block = row * ((1 << 20) // len(row))
    with open(path, "wb") as fh:
        fh.write(head)
        written = len(head)
        while written + len(block) <= size:
            fh.write(block)
            written += len(block)
        fh.write(row * ((size - written) // len(row)))


def measurement_rows(path: Path, rows: int, seed: int = 1) -> None:
    """The rows of benchmarks/bench_import.py (one million: ~70 MB)."""
    rng = random.Random(seed)
    tins = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    with open(path, "w", newline="") as fh:
        fh.write(MEASUREMENT_HEADER.decode())
        for i in range(rows):
            tin, tout = rng.choice(tins), rng.choice(tins)
            e = 3.9 * tin + 31.5 * tout + 0.0427 * tin * tout
            fh.write(f"bench-llm,bench-hw,{tin},{tout},32,{0.0835 * tout + 0.0001 * tin * tout + 0.2:.6f},"
                     f"{e * rng.uniform(0.95, 1.05):.3f},{0.05 * e:.3f},{i % 10}\n")


def workload_rows(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="") as fh:
        fh.write("id,input_tokens,output_tokens\n")
        for i in range(rows):
            fh.write(f"q{i},{rng.randint(1, 4000)},{rng.randint(1, 1000)}\n")


def make_files(tmp: Path, cases: list[str], cap: int, field_mb: int, bomb_gb: float) -> list[tuple]:
    """(case, importer, path, mode) for each run."""
    runs = []
    if "bomb" in cases:
        for kind, head, row in (("workload", WORKLOAD_HEADER, b"100,20\n"),
                                ("measurement", MEASUREMENT_HEADER, MEASUREMENT_ROW)):
            p = tmp / f"bomb-{kind}.csv.gz"
            bomb(p, head, row, int(bomb_gb * (1 << 30)))
            runs.append((f"gzip bomb ({bomb_gb:g} GB)", kind, p, "import"))
    if "field" in cases:
        p = tmp / "field-workload.csv"
        with open(p, "wb") as fh:
            fh.write(b"id,input_tokens,output_tokens\n" + b"q0,5,6\n" * 1000 + b"q")
            for _ in range(field_mb):
                fh.write(b"x" * (1 << 20))
            fh.write(b",5,6\n")
        runs.append((f"one {field_mb} MB field", "workload", p, "import"))
        p = tmp / "field-measurement.csv"
        with open(p, "wb") as fh:
            fh.write(MEASUREMENT_HEADER + MEASUREMENT_ROW * 1000 + b"bench-")
            for _ in range(field_mb):
                fh.write(b"x" * (1 << 20))
            fh.write(MEASUREMENT_ROW[9:])
        runs.append((f"one {field_mb} MB field", "measurement", p, "import"))
    if "id5000" in cases:
        p = tmp / "id5000.csv"
        with open(p, "wb") as fh:
            fh.write(b"id,input_tokens,output_tokens\n")
            for i in range(80_000):
                fh.write(b"q%07d,%d,%d\n" % (i, 1 + i % 4000, 1 + i % 900))
            fh.write(b"q" + b"y" * 5000 + b",5,6\n")
        runs.append(("1.2 MB, one 5,000-char id", "workload", p, "import"))
    if "ids200" in cases:  # a legal file: one long id used to widen every id (chunks hold their own width)
        p = tmp / "ids200.csv"
        with open(p, "wb") as fh:
            fh.write(b"id,input_tokens,output_tokens\n")
            for i in range(1_000_000):
                fh.write(b"q%d,%d,%d\n" % (i, 1 + i % 4000, 1 + i % 900))
            fh.write(b"q" + b"z" * 199 + b",5,6\n")
        runs.append(("1M rows, one 200-char id", "workload", p, "import"))
    if "wideids" in cases:  # the worst legal workload for memory: at the cap, every id 200 characters
        p = tmp / "wideids.csv"
        with open(p, "wb") as fh:
            fh.write(b"id,input_tokens,output_tokens\n")
            size, i = 0, 0
            while size < cap - 300:
                line = b"%0200d,%d,%d\n" % (i, 1 + i % 4000, 1 + i % 900)
                fh.write(line)
                size, i = size + len(line), i + 1
        runs.append(("at the cap, every id 200 chars", "workload", p, "import"))
    if "tiny" in cases:
        p = tmp / "tiny-workload.csv"
        write_rows(p, WORKLOAD_HEADER, b"1,1\n", cap)
        runs.append(("at the cap, tiny rows", "workload", p, "import"))
        p = tmp / "tiny-measurement.csv"
        write_rows(p, b"llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j\n",
                   b"bench-llm,bench-hw,1,1,1,1\n", cap)
        runs.append(("at the cap, tiny rows", "measurement", p, "write" if "--tiny-write" in sys.argv else "validate"))
    if "rows1m" in cases:
        p = tmp / "rows1m-workload.csv"
        workload_rows(p, 1_000_000)
        runs.append(("1M rows", "workload", p, "import"))
        p = tmp / "rows1m-measurement.csv"
        measurement_rows(p, 1_000_000)
        runs.append(("1M rows", "measurement", p, "import"))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose importers run")
    parser.add_argument("--cap-mb", type=int, default=200, help="ENERGYWEB_MAX_UPLOAD_MB for the children")
    parser.add_argument("--field-mb", type=int, default=100)
    parser.add_argument("--bomb-gb", type=float, default=2.5)
    parser.add_argument("--cases", default="bomb,field,id5000,wideids,tiny,rows1m")
    parser.add_argument("--tiny-write", action="store_true")
    args = parser.parse_args()
    cap = args.cap_mb << 20
    env = dict(os.environ, ENERGYWEB_MAX_UPLOAD_MB=str(args.cap_mb))
    env.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, kind, path, mode in make_files(Path(tmp), args.cases.split(","), cap, args.field_mb,
                                                 args.bomb_gb):
            load = os.getloadavg()[0]
            proc = subprocess.run([sys.executable, "-c", CHILD, args.root, kind, str(path), mode],
                                  env=env, capture_output=True, text=True, cwd=args.root)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                out = {"result": f"child failed (rc {proc.returncode}): {proc.stderr.strip()[-200:]}",
                       "peak_mb": float("nan"), "floor_mb": float("nan"), "seconds": float("nan")}
            else:
                out = json.loads(line[7:])
            rows.append((case, kind, path.stat().st_size / 1e6, out, load))
            print(f"# {case} / {kind}: {out}", file=sys.stderr, flush=True)
    print(f"cap (ENERGYWEB_MAX_UPLOAD_MB) = {args.cap_mb} MB, so the target is a peak under "
          f"{2 * args.cap_mb} MB; code from {args.root}")
    print("| file | importer | file MB | outcome | s | floor MB | peak RSS MB | < 2x cap | load (1 min) |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |")
    for case, kind, size, out, load in rows:
        ok = "yes" if out["peak_mb"] < 2 * args.cap_mb else "**no**"
        print(f"| {case} | {kind} | {size:,.1f} | {out['result']} | {out['seconds']} | {out['floor_mb']} | "
              f"{out['peak_mb']} | {ok} | {load:.2f} |")


if __name__ == "__main__":
    main()
