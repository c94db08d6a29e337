"""Meter overhead, sampling-thread CPU use, and a CPU profiling run of tiny-random-llama over grid-small.

Targets (issue 7): start/stop under 1 ms; the sampling thread under 1% of one core.
No Django and no Celery: the meters and the sweep alone, as a GPU host runs them.

    .venv/bin/python benchmarks/bench_meters.py [--pairs 2000] [--sampler-s 5] [--skip-run]

NVML and RAPL are absent on CPU-only VMs: their rows then use a fake NVML (patched
pynvml functions that return at once, so the figure is our Python's cost) and a
fake powercap tree of real files in a temp folder, and say so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profiling.meters import WindowTooShort, auto_meter, get_meter, measure_idle  # noqa: E402
from profiling.meters.sampler import PowerSampler  # noqa: E402


def pair_times(meter, pairs: int) -> tuple[float, float]:
    """Median and 99th percentile seconds of one start() + stop() with no work between."""
    times = []
    for _ in range(pairs):
        t0 = time.perf_counter()
        meter.start()
        try:
            meter.stop()
        except WindowTooShort:
            pass  # an empty window on a counter meter: only the time matters here
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def fake_powercap(base: Path) -> Path:
    root = base / "powercap"
    for zone, name in (("intel-rapl:0", "package-0"), ("intel-rapl:0:0", "core"), ("intel-rapl:0:1", "dram"),
                       ("intel-rapl:1", "package-1"), ("intel-rapl:1:0", "dram")):
        z = root / zone
        z.mkdir(parents=True)
        (z / "name").write_text(name)
        (z / "energy_uj").write_text("1000")
        (z / "max_energy_range_uj").write_text("262143328850")
    return root


def fake_nvml_meter(sampling: bool, saved: dict):
    """An NVML meter on patched pynvml functions; ``saved`` keeps the originals for restore_nvml()."""
    import pynvml

    class Handle:
        pass

    h, state = Handle(), {"mj": 0}

    def energy(_):
        state["mj"] += 1  # moves on every read, so an empty window is not "too short"
        return state["mj"]

    for name, fn in {"nvmlInit": lambda: None, "nvmlShutdown": lambda: None, "nvmlDeviceGetCount": lambda: 1,
                     "nvmlDeviceGetHandleByIndex": lambda i: h, "nvmlDeviceGetUUID": lambda _: "GPU-0",
                     "nvmlDeviceGetTotalEnergyConsumption": energy,
                     "nvmlDeviceGetPowerUsage": lambda _: 100_000}.items():
        saved.setdefault(name, getattr(pynvml, name))
        setattr(pynvml, name, fn)
    from profiling.meters.nvml import NvmlMeter

    return NvmlMeter(force_sampling=sampling, capture_state=False)


def restore_nvml(saved: dict) -> None:
    import pynvml

    for name, fn in saved.items():
        setattr(pynvml, name, fn)


def sampler_cpu(hz: float, seconds: float) -> tuple[float, int]:
    sampler = PowerSampler(lambda: [250.0, 250.0, 250.0, 250.0], hz=hz)
    sampler.start()
    time.sleep(seconds)
    sampler.stop()
    return sampler.cpu_s / seconds, sampler.samples


def tiny_run() -> dict:
    from profiling.backends import LLMSpec, architecture, load_backend
    from profiling.sweeps import grid_small, run_sweep

    t0 = time.perf_counter()
    import torch  # noqa: F401  (imports are a one-off cost a worker pays once; timed apart)
    import transformers  # noqa: F401

    import_s = time.perf_counter() - t0
    def load():
        t0 = time.perf_counter()
        spec = LLMSpec(name="tiny-random-llama", architecture=architecture("tiny-random-llama"), dtype="float32",
                       device="cpu")
        return load_backend("hf", spec), time.perf_counter() - t0

    _, first_load_s = load()  # pays transformers' lazy imports of the Llama and generation modules
    backend, load_s = load()
    reasons: dict[str, str] = {}
    meter = auto_meter(reasons=reasons)
    t0 = time.perf_counter()
    idle = measure_idle(meter, duration_s=1.0)
    idle_s = time.perf_counter() - t0
    design = grid_small(seed=0)
    rows = []
    t0 = time.perf_counter()
    done = run_sweep(design, backend, meter, on_trial=rows.append, idle=idle)
    sweep_s = time.perf_counter() - t0
    measured = [r for r in rows if not r.is_warmup]
    return {"import_s": import_s, "first_load_s": first_load_s, "load_s": load_s, "idle_s": idle_s, "sweep_s": sweep_s, "trials": len(done),
            "warmups": len(rows) - len(measured), "meter": meter.name, "sources": sorted({s for r in rows for s in
                                                                                        r.sources.values()}),
            "estimated": all(r.is_estimated for r in rows), "threads": backend.info.get("threads"),
            "median_runtime_s": statistics.median(r.runtime_s for r in measured),
            "max_runtime_s": max(r.runtime_s for r in measured),
            "energy_j": sum(r.total_energy_j for r in measured), "repeats": max(r.repeats for r in rows),
            "unavailable": reasons}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--sampler-s", type=float, default=5.0)
    ap.add_argument("--skip-run", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    print("\n| meter | start+stop median | p99 | median < 1 ms |\n| --- | ---: | ---: | --- |")
    saved: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        meters = [("estimate-tdp (real)", get_meter("estimate")),
                  ("rapl (fake powercap files, 2 sockets)", get_meter("rapl", root=fake_powercap(Path(tmp)))),
                  ("nvml-counter (fake pynvml)", fake_nvml_meter(False, saved)),
                  ("nvml-power-integration (fake pynvml, thread start/join)", fake_nvml_meter(True, saved))]
        for label, meter in meters:
            pairs = args.pairs if "integration" not in label else max(args.pairs // 10, 50)
            median, p99 = pair_times(meter, pairs)
            print(f"| {label} | {median * 1e3:.3f} ms | {p99 * 1e3:.3f} ms | {'yes' if median < 1e-3 else 'NO'} |")
            meter.close()
    restore_nvml(saved)

    print("\n| sampling thread | samples | CPU share of one core | target < 1% |\n| --- | ---: | ---: | --- |")
    for hz in (10, 20, 100):
        share, samples = sampler_cpu(hz, args.sampler_s)
        print(f"| {hz} Hz, 4 devices, {args.sampler_s:g} s | {samples} | {share * 100:.3f}% | "
              f"{'yes' if share < 0.01 else 'NO'} |")

    if not all(importlib.util.find_spec(m) for m in ("torch", "transformers")):  # not imported: timed below
        args.skip_run = True
        print("\ntiny-random-llama run skipped: torch/transformers not installed (pip install -r requirements-worker.txt)")
    if not args.skip_run:
        r = tiny_run()
        print(f"\ntiny-random-llama over grid-small on CPU (meter {r['meter']}, sources {r['sources']}, "
              f"estimated: {r['estimated']}, torch threads {r['threads']})")
        print("| step | seconds |\n| --- | ---: |")
        labels = {"import_s": "import torch + transformers", "first_load_s": "first load (lazy model imports)",
                  "load_s": "load (random init)", "idle_s": "idle baseline", "sweep_s": "sweep (49 trials)"}
        for key, label in labels.items():
            print(f"| {label} | {r[key]:.2f} |")
        print(f"trials {r['trials']} ({r['warmups']} warm-up), median query {r['median_runtime_s'] * 1e3:.0f} ms, "
              f"slowest {r['max_runtime_s'] * 1e3:.0f} ms, max repeats {r['repeats']}, "
              f"energy of measured trials {r['energy_j']:.1f} J")
        for name, why in r["unavailable"].items():
            print(f"  {name}: {why}")


if __name__ == "__main__":
    main()
