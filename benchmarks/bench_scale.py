"""Benchmark: how each planning step grows from 100k to 30M queries (issue 11).

    python benchmarks/bench_scale.py                                  # 100k, 1M, 10M, 30M, every step
    python benchmarks/bench_scale.py --sizes 100000,1000000 --steps plan,sweep

Workloads are the Azure LLM inference trace 2023 (conversation) resampled
with seed 0 to each size, written as a CSV with the trace's own token columns
(`ContextTokens,GeneratedTokens`; no timestamp column, as in the issue's 73 MB
10M-query file). Planned over the seven published paper deployments with
shares 0.01-0.5 (min/max).

Every step runs in its own child process so that its peak memory is its own:
- `import` and `schedule`: the management commands (`import_workload FILE`,
  `schedule --json` with its baselines), timed from process start to exit;
  peak = the child's maximum resident set size.
- `job`, `download`, `page`: in a Django process, a zeta-0.5 job through the
  task (`run_schedule_job`: plan, baselines, the stored assignment file), then
  its assignment CSV streamed to the end, then its plan page (second request).
- `plan`, `plan+assignment`, `sweep`, `baselines`: the services
  (`solver.plan`, the same with the per-query assignment read, an 11-point
  `solver.sweep`, `solver.baselines`) from the two token arrays (loading them
  is outside the timing); peak = maximum RSS, and "+MB" = how far the step
  raised it above the process's RSS just before the step.

The last table gives, per step, the growth exponent k between successive
sizes (time ~ n^k: 1 is linear; 0 means the step is dominated by fixed costs).
Uses a throw-away SQLite database in a temporary directory.

Diversity axis (issue 18): the number of distinct (tin, tout) classes at a fixed
number of queries, from the project's default generator (`generate_arrays`,
lognormal tin mu 6.5 sigma 1, tout mu 4.8 sigma 0.8, seed 0):

    python benchmarks/bench_scale.py --diversity 10000,100000,1000000,default,2500000 \
        --sizes 10000000 --steps import,plan,sweep,schedule,job101

`default` is the generator itself (~1.9M classes at 10M queries); a number K draws
a pool of K distinct pairs from the same generator (seed 1) and the queries
uniformly from the pool (seed 0), so about K classes. `job101` is a 101-point
zeta sweep (0, 0.01, ..., 1) through the task (`run_schedule_job`: plans,
baselines, histograms, the stored assignment file). The classes of each
workload are printed with its figures, and a last table gives the growth with
the number of classes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_schedule_common import AZURE_CONV, PUBLISHED, SYSTEM, load_azure, resample  # noqa: E402

STEPS = ("import", "plan", "plan+assignment", "schedule", "sweep", "baselines", "job", "download", "page")
# Steps that run in a Django process on the imported workload (they need "import" or "schedule" first).
DJANGO_STEPS = ("job", "job101", "download", "page")
ZETAS_101 = [round(0.01 * i, 2) for i in range(101)]
GEN_TIN, GEN_TOUT = "lognormal:mu=6.5,sigma=1.0", "lognormal:mu=4.8,sigma=0.8"
SIZES = (100_000, 1_000_000, 10_000_000, 30_000_000)
SHARES = {"min_share": 0.01, "max_share": 0.5}
# The published models predict negative energy for short queries (the planner refuses them since issue 8);
# the scale figures are about speed, so they are planned clamped, knowingly, as the paper did.
CLAMP = True


def _specs():
    from benchmarks.bench_schedule_common import published_deployments

    return published_deployments(**SHARES)


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (a sweep's forked parts, issue 18)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _peak() -> int:
    """Peak RSS in bytes: this process's, or a reaped child's if larger (each is counted alone)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def django_child(step: str, workload: str) -> None:
    """A job through run_job (zeta 0.5), its streamed assignment CSV, or its plan page."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from scheduling.models import ScheduleJob, Workload
    from scheduling.models.deployment_specs import spec_to_json
    from scheduling.services import jobs
    from scheduling.tasks import run_schedule_job

    wl = Workload.objects.get(name=workload)
    before = _rss()
    t0, c0 = time.perf_counter(), _cpu()
    if step in ("job", "job101"):
        raw = {"zeta": 0.5, "allow_clamping": True}
        if step == "job101":
            raw["zetas"] = ZETAS_101
        params = jobs.normalise_parameters("paper-energy-accuracy", raw)
        job = ScheduleJob.objects.create(workload=wl, objective="paper-energy-accuracy", parameters=params,
                                         deployment_specs=[spec_to_json(s) for s in _specs()],
                                         steps_total=len(params["zetas"]) + 1)
        t0, c0 = time.perf_counter(), _cpu()
        run_schedule_job(job.pk)
        job.refresh_from_db()
        statuses = sorted(set(job.solver_stats.get("statuses") or [])) if job.solver_stats else []
        gaps = [g for g in (job.solver_stats or {}).get("gaps", []) if g is not None]
        info = {"status": job.status, "plans": ",".join(statuses), "max_gap": f"{max(gaps):.1e}" if gaps else "-",
                "solve_s": round((job.solver_stats or {}).get("solve_seconds", 0.0), 2)}
    elif step == "download":
        job = ScheduleJob.objects.filter(workload=wl).latest("id")
        size = sum(len(part) for part in jobs.assignment_csv_lines(job))
        info = {"csv": f"{size / 1e6:.0f} MB"}
    else:
        job = ScheduleJob.objects.filter(workload=wl).latest("id")
        user = get_user_model().objects.filter(username="bench").first() or \
            get_user_model().objects.create_superuser("bench", "", "bench-password")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        client.get(f"/plans/{job.pk}/")  # warm: templates, URLconf
        t0, c0 = time.perf_counter(), _cpu()
        resp = client.get(f"/plans/{job.pk}/")
        info = {"http": resp.status_code, "html": f"{len(resp.content) / 1e3:.0f} kB"}
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    peak = _peak()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "grown": max(peak - before, 0), **info}))


def child(step: str, data: str) -> None:
    """Run one service step on the arrays in ``data`` and print its figures as JSON."""
    if step in DJANGO_STEPS:
        django_child(step, data)
        return
    from scheduling.planner import solver

    with np.load(data) as z:
        tin, tout = z["tin"], z["tout"]
    specs = _specs()
    before = _rss()
    t0, c0 = time.perf_counter(), _cpu()
    if step == "plan":
        out = solver.plan(tin, tout, specs, zeta=0.5, allow_clamping=CLAMP)
        info = {"status": out.status, "classes": out.stats["classes"], "gap": f"{out.gap:.1e}",
                "method": out.method}
    elif step == "plan+assignment":
        out = solver.plan(tin, tout, specs, zeta=0.5, allow_clamping=CLAMP)
        info = {"status": out.status, "assigned": int(out.assignment.shape[0])}
    elif step == "sweep":
        out = solver.sweep(tin, tout, specs, allow_clamping=CLAMP)
        info = {"status": ",".join(sorted({r.status for r in out})),
                "max_gap": f"{max(r.gap for r in out):.1e}"}
    elif step == "baselines":
        out = solver.baselines(tin, tout, specs, allow_clamping=CLAMP)
        info = {"status": f"{len(out)} baselines"}
    else:
        raise SystemExit(f"unknown step {step}")
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    peak = _peak()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "grown": max(peak - before, 0), **info}))


def _spawn(cmd, env) -> dict:
    """Run a child to its end; wall time, CPU time and peak RSS from os.wait4's rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak": usage.ru_maxrss * 1024,
                "rc": os.waitstatus_to_exitcode(status), "stdout": out.read().decode(),
                "stderr": err.read().decode()[-3000:]}


def launcher() -> None:
    """Spawn children on request (JSON lines on stdin), from a process that stays small.

    Linux carries a process's peak RSS across exec (and a vfork child's is the
    parent's), so a child spawned by the main process, which has held whole
    workloads, would report the main process's peak as its own.
    """
    for line in sys.stdin:
        req = json.loads(line)
        print(json.dumps(_spawn(req["cmd"], req["env"])), flush=True)


_launcher: subprocess.Popen | None = None


def _start_launcher() -> None:
    """Before the main process allocates anything large (see ``launcher``)."""
    global _launcher
    _launcher = subprocess.Popen([sys.executable, __file__, "--launcher"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, cwd=ROOT)


def _run(cmd, env) -> dict:
    _launcher.stdin.write(json.dumps({"cmd": [str(c) for c in cmd], "env": env}) + "\n")
    _launcher.stdin.flush()
    r = json.loads(_launcher.stdout.readline())
    if r["rc"]:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({r['rc']}):\n{r['stderr']}")
    return r


def write_csv(path: Path, tin: np.ndarray, tout: np.ndarray) -> None:
    import pandas as pd

    pd.DataFrame({"ContextTokens": tin, "GeneratedTokens": tout}).to_csv(path, index=False)


def setup_db(tmp: Path, env: dict) -> Path:
    py = sys.executable
    for cmd in (["migrate", "-v", "0"], ["seed_reference"]):
        subprocess.run([py, "manage.py", *cmd], env=env, cwd=ROOT, check=True, capture_output=True)
    deps = tmp / "deployments.json"
    deps.write_text(json.dumps([{"llm": name, "hardware": SYSTEM, **SHARES} for name in PUBLISHED]))
    return deps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help="also write the figures to this JSON file")
    parser.add_argument("--launcher", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help="run each step this many times, keep the fastest")
    parser.add_argument("--diversity", help="generated workloads instead of the trace: pool sizes of distinct "
                        "classes (comma-separated numbers, or 'default' for the generator itself)")
    args = parser.parse_args()
    if args.launcher:
        launcher()
        return
    if args.child:
        child(args.child, args.data)
        return
    if not AZURE_CONV.exists() and not args.diversity:
        print(f"skipped: the Azure trace is absent ({AZURE_CONV})")
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    steps = [s for s in args.steps.split(",") if s]
    _start_launcher()
    if args.diversity:
        diversity(args, sizes, steps)
        return
    base_tin, base_tout = load_azure()
    py = sys.executable
    results: dict[str, dict[int, dict]] = {s: {} for s in steps}
    with tempfile.TemporaryDirectory(prefix="ew-scale-") as tmp:
        tmp = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
        env.update(ENERGYWEB_VAR_DIR=str(tmp / "var"), ENERGYWEB_MAX_UPLOAD_MB="1024",
                   DJANGO_SETTINGS_MODULE="energyweb.settings", PYTHONPATH=str(ROOT))
        needs_db = {"import", "schedule", *DJANGO_STEPS} & set(steps)
        deps = setup_db(tmp, env) if needs_db else None
        for n in sizes:
            tin, tout = resample(base_tin, base_tout, n, seed=0)
            data = tmp / f"w{n}.npz"
            np.savez(data, tin=tin, tout=tout)
            csv_path = tmp / f"w{n}.csv"
            if needs_db:
                write_csv(csv_path, tin, tout)
            del tin, tout
            if needs_db and "import" not in steps:  # the other steps plan the stored workload
                _run([py, "manage.py", "import_workload", str(csv_path), "--name", f"w{n}"], env)
            for step in steps:
                # Best of --repeat runs by wall time: the other engineers' load comes and goes.
                runs = [_step(step, n, i, py, env, csv_path, data, deps) for i in range(args.repeat)]
                row = min(runs, key=lambda r: r["seconds"])
                row["runs"] = len(runs)
                results[step][n] = row
                row["load"] = os.getloadavg()[0]
                print(f"{step:<16} {n:>11,} {row['seconds']:>8.2f} s (cpu {row['cpu']:>6.2f} s)"
                      f"  peak {row['peak'] / 2**20:>7.0f} MB"
                      + (f"  (+{row['grown'] / 2**20:.0f} MB)" if "grown" in row else "")
                      + f"  {row['info']}  (load {row['load']:.1f})", flush=True)
            csv_path.unlink(missing_ok=True)
            data.unlink(missing_ok=True)
    _growth(results, sizes)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({s: {str(n): r for n, r in v.items()}
                                                   for s, v in results.items()}, indent=1))


def generated(n: int, pool: str) -> tuple[np.ndarray, np.ndarray]:
    """n queries of the default generator, or drawn from a pool of its distinct pairs (see the docstring)."""
    from scheduling.services.generator import generate_arrays

    if pool == "default":
        tin, tout, _ = generate_arrays(n, GEN_TIN, GEN_TOUT, 0, max_context=131072)
        return tin, tout
    k = int(pool)
    # Draw more than k pairs (the generator repeats some), keep k distinct ones.
    tin, tout, _ = generate_arrays(min(4 * k + 1000, 10_000_000), GEN_TIN, GEN_TOUT, 1, max_context=131072)
    pairs = np.unique(tin.astype(np.int64) << 32 | tout.astype(np.int64))
    if pairs.size < k:  # the generator's support is finite: widen it with a second draw
        more, more_out, _ = generate_arrays(10_000_000, "lognormal:mu=6.5,sigma=1.6",
                                            "lognormal:mu=4.8,sigma=1.3", 2, max_context=131072)
        pairs = np.unique(np.concatenate([pairs, more.astype(np.int64) << 32 | more_out.astype(np.int64)]))
    pairs = np.random.default_rng(1).permutation(pairs)[:k]
    pick = pairs[np.random.default_rng(0).integers(0, pairs.size, n)]
    return (pick >> 32).astype(np.int32), (pick & 0xFFFFFFFF).astype(np.int32)


def diversity(args, sizes, steps) -> None:
    py = sys.executable
    pools = [p.strip() for p in args.diversity.split(",") if p.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ew-diversity-") as tmp:
        tmp = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
        env.update(ENERGYWEB_VAR_DIR=str(tmp / "var"), ENERGYWEB_MAX_UPLOAD_MB="1024",
                   DJANGO_SETTINGS_MODULE="energyweb.settings", PYTHONPATH=str(ROOT))
        needs_db = {"import", "schedule", *DJANGO_STEPS} & set(steps)
        deps = setup_db(tmp, env) if needs_db else None
        for n in sizes:
            for pool in pools:
                tin, tout = generated(n, pool)
                classes = int(np.unique(tin.astype(np.int64) << 32 | tout.astype(np.int64)).size)
                data = tmp / f"w{n}.npz"
                np.savez(data, tin=tin, tout=tout)
                csv_path = tmp / f"w{n}.csv"
                if needs_db:
                    write_csv(csv_path, tin, tout)
                del tin, tout
                label = f"{n:,} q, {classes:,} classes ({pool})"
                print(f"# {label}", flush=True)
                key = f"{n}-{pool}"  # workload w{key}: one per pool in the one database
                if needs_db and "import" not in steps:
                    _run([py, "manage.py", "import_workload", str(csv_path), "--name", f"w{key}"], env)
                for step in steps:
                    runs = [_step(step, key, i, py, env, csv_path, data, deps) for i in range(args.repeat)]
                    row = min(runs, key=lambda r: r["seconds"])
                    row.update(step=step, n=n, classes=classes, pool=pool, load=os.getloadavg()[0])
                    rows.append(row)
                    print(f"{step:<10} {classes:>10,} cl {row['seconds']:>8.2f} s (cpu {row['cpu']:>6.2f} s)"
                          f"  peak {row['peak'] / 2**20:>7.0f} MB  {row['info']}  (load {row['load']:.1f})",
                          flush=True)
                csv_path.unlink(missing_ok=True)
                data.unlink(missing_ok=True)
    print("\n# growth with classes: wall s (CPU s) / peak MB")
    by_step: dict[str, list] = {}
    for r in rows:
        by_step.setdefault(r["step"], []).append(r)
    for step, rs in by_step.items():
        cells = "  ".join(f"{r['classes']:,}: {r['seconds']:.2f} ({r['cpu']:.2f}) / {r['peak'] / 2**20:.0f}"
                          for r in rs)
        print(f"{step:<10} {cells}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1))


def _step(step, n, i, py, env, csv_path, data, deps) -> dict:
    if step == "import":
        name = f"w{n}" if i == 0 else f"w{n}-{i}"  # the other steps plan w{n}
        r = _run([py, "manage.py", "import_workload", str(csv_path), "--name", name], env)
        return {"seconds": r["wall"], "cpu": r["cpu"], "peak": r["peak"],
                "info": f"{csv_path.stat().st_size / 1e6:.0f} MB CSV"}
    if step == "schedule":
        r = _run([py, "manage.py", "schedule", "--workload", f"w{n}", "--deployments", str(deps), "--json", "--allow-clamping"], env)
        return {"seconds": r["wall"], "cpu": r["cpu"], "peak": r["peak"], "info": json.loads(r["stdout"])["status"]}
    target = f"w{n}" if step in DJANGO_STEPS else str(data)

    r = _run([py, __file__, "--child", step, "--data", target], env)
    out = json.loads(r["stdout"].strip().splitlines()[-1])
    return {"seconds": out["seconds"], "cpu": out["cpu"], "peak": out["peak"], "grown": out["grown"],
            "info": ", ".join(f"{k} {v}" for k, v in out.items() if k not in ("seconds", "cpu", "peak", "grown"))}


def _growth(results, sizes) -> None:
    print("\n# growth exponent k (time ~ n^k) between successive sizes; ns per query at the largest")
    pairs = list(zip(sizes, sizes[1:], strict=False))
    print(f"{'step':<16} " + " ".join(f"{a // 1000:>6}k->{b // 1000}k" for a, b in pairs) + "  ns/query")
    for step, by_n in results.items():
        ks = []
        for a, b in pairs:
            if a in by_n and b in by_n:
                ks.append(f"{math.log(by_n[b]['seconds'] / by_n[a]['seconds']) / math.log(b / a):>13.2f}")
            else:
                ks.append(f"{'-':>13}")
        big = max(by_n) if by_n else None
        ns = f"{by_n[big]['seconds'] / big * 1e9:.0f}" if big else "-"
        print(f"{step:<16} " + " ".join(ks) + f"  {ns}")


if __name__ == "__main__":
    main()
