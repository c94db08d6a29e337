#!/usr/bin/env python3
"""One prepared check for a lent GPU host (torch + nvidia-ml-py, no Django).

Profiles a randomly initialised Llama-2-7B-shaped model (bf16) over a 3x3 grid and
meters every trial three ways over the same window: the NVML energy counter, NVML
power integration (sampling thread) and, when installed, Zeus's ZeusMonitor (an
independent meter). Prints the differences, the meters' start/stop overhead and
the runtime overhead of metering, as a table; writes JSON to $OUT/gpu_check.json
when OUT is set.

    python scripts/gpu_check.py [--model llama-2-7b] [--inputs 64,256,1024] [--outputs 16,64,128] [--trials 2]
                                [--csv measurements.csv] [--hardware-name NAME] [--holdout 20]
    python scripts/gpu_check.py --cpu-dry-run      # the same protocol on this CPU, tiny model, no GPU

Every trial and held-out query runs in the app's one metering window (profiling/meters/window.py)
with the warm protocol: each KV-cache length a window touches has run once, unmetered, in this
process before (on the H200 in docs/gpu/ a never-seen length cost 41.6 ms), the idle baseline is
recorded, the device is synced at both ends. After the grid, ``--holdout N`` (default 20) fits it
and meters N random held-out queries: energy and runtime MAPE (target <= 8%) and the total's bias
(target within +-5%) are printed and written with the JSON.

``--csv`` writes every trial (warm-ups marked) in the measurement import format as it is made, so
``manage.py import_measurements`` and ``fit_models`` can fit this GPU's models; a cut-off run keeps
the trials already written.

Exits 2 with a message when there is no NVIDIA GPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from profiling.meters import Meter, MeterUnavailable, WindowTooShort  # noqa: E402
from profiling.sweeps import grid, parse_counts  # noqa: E402

MAPE_TARGET_PCT = 8.0  # issue 15: energy and runtime MAPE of the held-out queries
TOTAL_BIAS_TARGET_PCT = 5.0  # and the bias of their total


def fail(message: str) -> None:
    print(f"gpu_check: {message}", file=sys.stderr)
    raise SystemExit(2)


def pct(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b:
        return "-"
    return f"{100.0 * (a - b) / b:+.1f}%"


def table(rows: list[dict]) -> str:
    head = ("cell", "tin", "tout", "reps", "runtime s", "counter J", "power-int J", "zeus J", "pi vs ctr", "zeus vs ctr")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        zeus = r.get("zeus_j")
        lines.append(" | ".join([
            str(r["cell"]), str(r["tin"]), str(r["tout"]), str(r["repeats"]), f"{r['runtime_s']:.3f}",
            f"{r['counter_j']:.1f}", f"{r['power_j']:.1f}", "-" if zeus is None else f"{zeus:.1f}",
            pct(r["power_j"], r["counter_j"]), pct(zeus, r["counter_j"])]))
    return "\n".join(lines)


def summary(rows: list[dict]) -> dict:
    def rel(key):
        values = [(r[key] - r["counter_j"]) / r["counter_j"] for r in rows if r.get(key) is not None and r["counter_j"]]
        return {"median": statistics.median(values), "max_abs": max(abs(v) for v in values)} if values else None

    return {"power_vs_counter": rel("power_j"), "zeus_vs_counter": rel("zeus_j")}


def zeus_monitor(gpu_indices):
    try:
        from zeus.monitor import ZeusMonitor
    except ImportError:
        return None, "zeus not installed (pip install zeus): independent comparison skipped"
    try:
        return ZeusMonitor(gpu_indices=gpu_indices), "ok"
    except Exception as exc:  # Zeus raises its own types for missing permissions or GPUs
        return None, f"ZeusMonitor failed: {exc}"


class CheckMeter(Meter):
    """The counter, power integration and Zeus over one window; the counter's reading leads."""

    name = "gpu-check"
    components = ("gpu",)

    def __init__(self, counter, sampler, zeus):
        super().__init__()
        self.counter, self.sampler, self.zeus = counter, sampler, zeus
        self.min_window_s = max(counter.min_window_s, sampler.min_window_s)

    def _begin(self):
        if self.zeus is not None:
            self.zeus.begin_window("trial")
        self.sampler.start()
        self.counter.start()

    def _end(self, duration_s):
        try:
            reading = self.counter.stop()
        finally:  # close the other windows even when the counter did not step
            try:
                power = self.sampler.stop()
            except WindowTooShort:
                power = None
            zeus = self.zeus.end_window("trial") if self.zeus is not None else None
        reading.device_state["power_integration_j"] = power.energy_j["gpu"] if power else None
        reading.device_state["sampler_cpu_s"] = power.device_state.get("sampler_cpu_s") if power else None
        reading.device_state["zeus_j"] = sum(zeus.gpu_energy.values()) if zeus is not None else None
        return reading


def overhead(meter, n=200) -> float:
    """Mean seconds for one start() + stop() pair with no work in between."""
    t0 = time.perf_counter()
    for _ in range(n):
        meter.start()
        try:
            meter.stop()
        except WindowTooShort:
            pass  # an empty window: expected, only the time matters here
    return (time.perf_counter() - t0) / n


def holdout(args, backend, counter, idle, design, rows) -> dict:
    """Fit the grid's measured trials (the app's forms and selection), then meter ``args.holdout`` queries
    drawn log-uniformly inside the grid's range and compare each with its prediction."""
    import random

    import numpy as np

    from profiling.fitting import regression, terms
    from profiling.sweeps import Cell, Trial, run_trial

    tin = np.array([r["tin"] for r in rows], float)
    tout = np.array([r["tout"] for r in rows], float)
    fits = {}
    for target, key in (("energy", "counter_j"), ("runtime", "runtime_s")):
        results, selected = regression.fit_all(tin, tout, np.array([r[key] for r in rows], float), target=target)
        if selected is None:
            # Every form carries a flag (a tiny grid, a noisy CPU): the app would plan with none of
            # them. The check still compares, with the lowest-CV-MAPE form, and says so.
            selected = min(results, key=lambda k: (not np.isfinite(results[k].cv_mape or np.nan),
                                                   results[k].cv_mape or np.inf))
            print(f"fit {target}: no form passes the app's checks; comparing with {selected} (flagged)",
                  flush=True)
        fits[target] = (selected, results[selected])
        print(f"fit {target}: {selected}, CV MAPE {results[selected].cv_mape:.1f}% "
              f"({', '.join(f'{k}={v:.4g}' for k, v in results[selected].coefficients.items())})", flush=True)
    rng = random.Random(1)
    lo_in, hi_in = min(c.input_tokens for c in design.cells), max(c.input_tokens for c in design.cells)
    lo_out, hi_out = min(c.output_tokens for c in design.cells), max(c.output_tokens for c in design.cells)
    queries = []
    for i in range(args.holdout):
        q = (round(math.exp(rng.uniform(math.log(lo_in), math.log(hi_in)))),
             round(math.exp(rng.uniform(math.log(lo_out), math.log(hi_out)))))
        result = run_trial(backend, counter, Trial(Cell(1000 + i, *q), 0, False), idle=idle)
        queries.append({"tin": q[0], "tout": q[1], "energy_j": result.total_energy_j, "runtime_s": result.runtime_s,
                        "repeats": result.repeats, "warmed_lengths": result.record.get("warmup", {}).get("new_lengths")})
    out = {"queries": queries, "targets": {"mape_pct": MAPE_TARGET_PCT, "total_bias_pct": TOTAL_BIAS_TARGET_PCT}}
    qin = np.array([q["tin"] for q in queries], float)
    qout = np.array([q["tout"] for q in queries], float)
    for target, key in (("energy", "energy_j"), ("runtime", "runtime_s")):
        form, fit = fits[target]
        predicted = terms.predict(fit.coefficients, qin, qout)
        measured = np.array([q[key] for q in queries], float)
        rel = (predicted - measured) / measured
        out[target] = {"form": form, "cv_mape_pct": fit.cv_mape, "coefficients": fit.coefficients,
                       "mape_pct": float(100 * np.mean(np.abs(rel))), "bias_pct": float(100 * np.median(rel)),
                       "total_error_pct": float(100 * (predicted.sum() - measured.sum()) / measured.sum()),
                       "predicted_total": float(predicted.sum()), "measured_total": float(measured.sum())}
        out[target]["met"] = bool(out[target]["mape_pct"] <= MAPE_TARGET_PCT
                                  and abs(out[target]["total_error_pct"]) <= TOTAL_BIAS_TARGET_PCT)
        print(f"holdout {target}: {len(queries)} queries, MAPE {out[target]['mape_pct']:.1f}%, median bias "
              f"{out[target]['bias_pct']:+.1f}%, total {out[target]['predicted_total']:.1f} predicted against "
              f"{out[target]['measured_total']:.1f} measured ({out[target]['total_error_pct']:+.1f}%): targets MAPE <= "
              f"{MAPE_TARGET_PCT:g}%, total within +-{TOTAL_BIAS_TARGET_PCT:g}%: "
              f"{'met' if out[target]['met'] else 'MISSED'}", flush=True)
    return out


def dry_run(args) -> int:
    """The grid and hold-out protocol on this CPU: tiny-random-llama, random init, the best CPU meter
    (RAPL, else the TDP estimate, labelled estimated). It checks the script, not a GPU's figures."""
    from profiling.backends import LLMSpec, architecture, load_backend
    from profiling.meters import auto_meter
    from profiling.sweeps import StoppingRule, run_trial

    model = "tiny-random-llama" if args.model == "llama-2-7b" else args.model
    backend = load_backend("hf", LLMSpec(name=model, architecture=architecture(model), dtype="float32",
                                         device="cpu", use_cache=not args.no_cache))
    meter = auto_meter()
    design = grid(parse_counts(args.inputs), parse_counts(args.outputs), warmup=1, seed=0,
                  warmup_tolerance=args.warmup_tolerance, stopping=StoppingRule.fixed(args.trials), name="gpu-check")
    rows, done, repeats = [], {}, {}
    while (trial := design.next_trial(done)) is not None:
        result = run_trial(backend, meter, trial, repeats=repeats.get(trial.cell.index, 1))
        repeats[trial.cell.index] = result.repeats
        done[trial.key] = result.runtime_s
        if not trial.is_warmup:
            rows.append({"cell": trial.cell.index, "tin": trial.cell.input_tokens, "tout": trial.cell.output_tokens,
                         "repeats": result.repeats, "runtime_s": result.runtime_s, "counter_j": result.total_energy_j,
                         "estimated": result.is_estimated})
    report = {"dry_run": True, "device": "cpu", "model": model, "meter": meter.name,
              "estimated": any(r["estimated"] for r in rows), "rows": rows}
    print(f"dry run: {model} on the CPU, meter {meter.name}"
          f"{' (estimated energy)' if report['estimated'] else ''}, {len(rows)} measured trials", flush=True)
    if args.holdout:
        report["holdout"] = holdout(args, backend, meter, None, design, rows)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check_dry_run.json").write_text(json.dumps(report, indent=2))
    backend.close()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama-2-7b")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--inputs", default="64,256,1024")
    ap.add_argument("--outputs", default="16,64,128")
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--no-cache", action="store_true", help="disable the KV cache, as the paper did")
    ap.add_argument("--csv", help="write the trials here in the measurement import format")
    ap.add_argument("--hardware-name", default=None, help="the hardware column of --csv (default: the GPU's name)")
    ap.add_argument("--idle-s", type=float, default=5.0, help="seconds of idle power measured before the sweep")
    ap.add_argument("--warmup-tolerance", type=float, default=0.1,
                    help="warm up until two successive warm-ups agree within this fraction (0: one warm-up)")
    ap.add_argument("--holdout", type=int, default=20,
                    help="after the grid, fit it and meter this many random queries inside its range: "
                         "predicted against measured, as an execution reports it (0: none)")
    ap.add_argument("--cpu-dry-run", action="store_true",
                    help="no GPU: the same protocol on this CPU with tiny-random-llama and the CPU meter "
                         "(estimated energy), to check the script before a device is lent")
    args = ap.parse_args(argv)
    if args.trials < 1 or args.holdout < 0 or not 0 <= args.warmup_tolerance < 1:
        ap.error("--trials must be at least 1, --holdout at least 0, --warmup-tolerance from 0 to below 1")
    try:
        parse_counts(args.inputs), parse_counts(args.outputs)
    except ValueError as exc:
        ap.error(f"--inputs/--outputs: {exc}")
    if args.cpu_dry_run:
        return dry_run(args)

    # NVML first: it answers in milliseconds where torch takes seconds to import.
    from profiling.meters.nvml import NvmlMeter

    try:
        counter = NvmlMeter()
    except MeterUnavailable as exc:
        fail(f"no usable NVIDIA GPU: {exc}")
    if counter.source != "nvml-counter":
        fail("this GPU has no NVML energy counter (before Volta): nothing to compare power integration with")
    try:
        import torch
    except ImportError:
        fail("torch is not installed")
    if not torch.cuda.is_available():
        fail("NVML sees a GPU but torch.cuda.is_available() is false (a CPU build of torch?)")

    from profiling.backends import LLMSpec, architecture, load_backend
    from profiling.sweeps import StoppingRule, run_trial

    print(f"calibrating the NVML counter step: {counter.calibrate_update_period() * 1000:.1f} ms", flush=True)
    sampler = NvmlMeter(force_sampling=True, hz=20)
    zeus, zeus_status = zeus_monitor([i for i, _ in counter.devices])
    print(f"zeus: {zeus_status}", flush=True)
    both = CheckMeter(counter, sampler, zeus)

    t0 = time.perf_counter()
    backend = load_backend("hf", LLMSpec(name=args.model, architecture=architecture(args.model), dtype=args.dtype,
                                         device="cuda", use_cache=not args.no_cache))
    print(f"loaded {args.model} ({backend.info['parameters'] / 1e9:.2f} B parameters, random init) "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)

    from profiling.meters import measure_idle

    idle = measure_idle(counter, duration_s=args.idle_s)
    print(f"idle GPU power: {idle.power_w.get('gpu', 0.0):.1f} W over {args.idle_s:.0f} s", flush=True)
    writer, csv_file = None, None
    if args.csv:
        csv_file = open(args.csv, "w", newline="")  # noqa: SIM115 -- closed at the end; rows flushed one by one
        writer = csv.writer(csv_file)
        writer.writerow(["llm", "hardware", "input_tokens", "output_tokens", "batch_size", "runtime_s",
                         "gpu_energy_j", "gpu_energy_source", "iteration", "is_warmup", "measured_at"])
    hardware_name = args.hardware_name or torch.cuda.get_device_name(0)

    design = grid(parse_counts(args.inputs), parse_counts(args.outputs), warmup=1, seed=0,
                  warmup_tolerance=args.warmup_tolerance,
                  stopping=StoppingRule.fixed(args.trials), name="gpu-check")
    rows, done, repeats = [], {}, {}
    while (trial := design.next_trial(done)) is not None:
        result = run_trial(backend, both, trial, idle=idle, repeats=repeats.get(trial.cell.index, 1))
        state = result.device_state  # whole-window figures: divide by the repetitions
        zeus_j = state["zeus_j"] / result.repeats if state["zeus_j"] is not None else None
        power_j = state["power_integration_j"] / result.repeats if state["power_integration_j"] is not None else None
        repeats[trial.cell.index] = result.repeats
        done[trial.key] = result.runtime_s
        if writer is not None:
            writer.writerow([args.model, hardware_name, trial.cell.input_tokens, trial.cell.output_tokens, 1,
                             f"{result.runtime_s:.6f}", f"{result.energy_j['gpu']:.4f}", result.sources["gpu"],
                             trial.trial_index, str(trial.is_warmup).lower(), result.finished_at.isoformat()])
            csv_file.flush()
        if trial.is_warmup:
            continue
        rows.append({"cell": trial.cell.index, "trial": trial.trial_index, "tin": trial.cell.input_tokens,
                     "tout": trial.cell.output_tokens, "repeats": result.repeats, "runtime_s": result.runtime_s,
                     "counter_j": result.energy_j["gpu"],
                     "dynamic_j": (result.dynamic_energy_j or {}).get("gpu"), "power_j": power_j, "zeus_j": zeus_j,
                     "sampler_cpu_s": state["sampler_cpu_s"], "gpus": state.get("gpus")})
        print(table(rows[-1:]).splitlines()[-1], flush=True)

    cell = design.cells[len(design.cells) // 2]
    bare, metered = [], []
    for _ in range(3):
        t = time.perf_counter()
        backend.generate(cell.input_tokens, cell.output_tokens, 1)
        bare.append(time.perf_counter() - t)
        both.start()
        t = time.perf_counter()
        backend.generate(cell.input_tokens, cell.output_tokens, 1)
        metered.append(time.perf_counter() - t)
        both.stop()
    report = {
        "device": torch.cuda.get_device_name(0), "driver": counter.device_state().get("driver"),
        "model": args.model, "dtype": args.dtype, "use_cache": not args.no_cache,
        "counter_step_s": counter.update_period_s, "idle_power_w": idle.power_w, "zeus": zeus_status, "rows": rows, "summary": summary(rows),
        "overhead_start_stop_s": {"nvml-counter": overhead(counter), "nvml-power-integration": overhead(sampler)},
        "sampler_cpu_share": sum(r["sampler_cpu_s"] or 0 for r in rows)
        / max(sum(r["runtime_s"] * r["repeats"] for r in rows), 1e-9),
        "runtime_overhead": (statistics.median(metered) - statistics.median(bare)) / statistics.median(bare),
    }
    if args.holdout:
        report["holdout"] = holdout(args, backend, counter, idle, design, rows)
    print()
    print(table(rows))
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=2))
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(json.dumps(report, indent=2))
    if csv_file is not None:
        csv_file.close()
    counter.close()
    sampler.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
