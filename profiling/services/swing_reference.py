"""Read the paper's Swing AMD+A100 measurements (Wilkins et al. 2024) into arrays.

Used by the reference benchmarks and tests (reading ../shared/reference/wilkins2024)
and by the script that builds the shipped fixture (profiling/fixtures/). Plain
csv module: no pandas import on start-up paths.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

GRID_FILES = {
    "Falcon (7B)": "falcon-7b.csv",
    "Llama-2 (7B)": "llama-2-7b.csv",
    "Llama-2 (13B)": "llama-2-13b.csv",
    "Mistral (7B)": "mistral-7b.csv",
    "Mixtral (8x7B)": "mixtral-8x7b.csv",
}
SWEEP_FILES = ("swing-input-sweep.csv", "swing-output-sweep.csv")


def _float(row, key):
    value = row.get(key)
    return float(value) if value not in (None, "") else None


def read_rows(path: Path, *, drop_warmup: bool = True) -> list[dict]:
    """Inference rows of one file: model, tin, tout, runtime, gpu and cpu energy (None if absent).

    Iteration 0 of a sweep setting is its warm-up; grids keep every row (their
    Iteration column counts output tokens, not repetitions).
    """
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if not row["Phase"].startswith("start-inference"):
                continue
            if drop_warmup and row.get("Iteration") == "0":
                continue
            out.append({
                "model": row["Model"], "tin": int(float(row["Number of Input Tokens"])),
                "tout": int(float(row["Number of Output Tokens"])), "runtime": float(row["Runtime (s)"]),
                "gpu": _float(row, "GPU Energy (J)"), "cpu": _float(row, "CPU Energy (J)"),
            })
    return out


def arrays(rows: list[dict]) -> dict[str, np.ndarray]:
    """Columns tin, tout, runtime, gpu (GPU energy J) as float arrays."""
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in ("tin", "tout", "runtime", "gpu")}


def grid(folder: Path, model: str) -> dict[str, np.ndarray]:
    return arrays(read_rows(Path(folder) / "grid" / GRID_FILES[model], drop_warmup=False))


def sweeps(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    """The two Swing sweeps per model (warm-ups dropped), as arrays."""
    by_model = defaultdict(list)
    for name in SWEEP_FILES:
        for r in read_rows(Path(folder) / name):
            by_model[r["model"]].append(r)
    return {m: arrays(rows) for m, rows in sorted(by_model.items())}
