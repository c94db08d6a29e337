"""Costs of the data-integrity checks of issue 16, printed as a table (pure code: no database, no Django).

- wide header: how fast the tabular reader refuses a header of 300,000 columns (600 KB, the issue's file)
  and an 8 MB header of 4,000,000 columns with no line break;
- row hashes: hashing the canonical rows of one import chunk shape (frame path) per million rows;
- overlap: finding the rows of a 1,000,001-row file in an earlier 1,000,000-row batch's sorted hashes.

Usage: python benchmarks/bench_integrity.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from energyweb.tabular import Reader, TableError  # noqa: E402
from profiling.services.row_hashes import ROW_FIELDS, RowDigest, overlap, pack, row_hashes  # noqa: E402


def _refuse(data: bytes) -> float:
    t0 = time.perf_counter()
    try:
        for _ in Reader(data).chunks():
            pass
    except TableError:
        return time.perf_counter() - t0
    raise SystemExit("not refused")


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "llm_id": np.full(n, 1), "hardware_id": np.full(n, 2), "input_tokens": rng.integers(8, 2048, n),
        "output_tokens": rng.integers(8, 2048, n), "batch_size": np.ones(n, dtype=int),
        "runtime_s": rng.random(n) * 10, "gpu_energy_j": rng.random(n) * 1000, "cpu_energy_j": np.full(n, np.nan),
        "dram_energy_j": np.full(n, np.nan), "total_energy_j": rng.random(n) * 1000,
        "gpu_energy_source": ["imported"] * n, "cpu_energy_source": [""] * n, "dram_energy_source": [""] * n,
        "is_estimated": np.zeros(n, dtype=bool), "is_warmup": np.zeros(n, dtype=bool),
        "iteration": np.arange(n) % 3, "measured_at": [None] * n}, columns=list(ROW_FIELDS))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = []
    rows.append(("refuse 600 KB header, 300,001 columns", _refuse(b"a," * 300_000 + b"b\n1,2\n"), "s"))
    rows.append(("refuse 8 MB one-line header (gzip)", _refuse(gzip.compress(b"a," * 4_000_000, 1)), "s"))
    frame = _frame(args.rows)
    t0 = time.perf_counter()
    digest = RowDigest()
    for start in range(0, args.rows, 100_000):  # the importer's chunks
        digest.update(frame.iloc[start:start + 100_000])
    hashes = digest.hashes()
    rows.append((f"row hashes, {args.rows:,} rows (frame path, 100k chunks)", time.perf_counter() - t0, "s"))
    lists = frame.iloc[:100_000].astype(object).where(frame.iloc[:100_000].notna(), None).values.tolist()
    t0 = time.perf_counter()
    row_hashes(lists)
    rows.append(("row hashes, 100,000 rows (row path, lists)", time.perf_counter() - t0, "s"))
    t0 = time.perf_counter()
    packed = pack(hashes)
    rows.append((f"pack (sort) {args.rows:,} row hashes", time.perf_counter() - t0, "s"))
    plus_one = np.concatenate([hashes, row_hashes(_frame(1, seed=9))])
    t0 = time.perf_counter()
    count, first = overlap(plus_one, packed)
    rows.append((f"overlap of {len(plus_one):,} rows with the batch ({count:,} found)", time.perf_counter() - t0, "s"))
    rows.append(("stored row hashes per batch", len(packed) / 1e6, "MB"))
    width = max(len(r[0]) for r in rows)
    print(f"{'check':<{width}}  {'value':>10}")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>10.3f} {unit}")


if __name__ == "__main__":
    main()
