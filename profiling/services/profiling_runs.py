"""Profiling runs: create one (validated), run it on a worker (resumable), summarise it.

The worker side (``run_body``) loads the backend and the meter once per attempt,
measures the idle power, warms up, then walks the design's cells in their seeded
order. Each trial is written as a Measurement the moment it completes, inside
the same transaction as the job's progress update, which is conditional on the
worker still holding the job: a trial is stored exactly once, by the worker that
holds the run, and a resumed run starts at the first trial that is missing.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.db import IntegrityError, transaction

from energyweb.jobs import service as job_service
from energyweb.validation import FieldError, number_field, whole_field
from profiling import sweeps
from profiling.choices import EnergySource, InferenceBackend, SweepDesign
from profiling.models import LLM, Hardware, Measurement, ProfilingRun

log = logging.getLogger(__name__)

MAX_CELLS = 400
MAX_TRIALS_PER_CELL = 100


class RunParameterError(FieldError):
    """Bad input; ``field`` names it."""


def _int(params: dict, key: str, default: int, lo: int, hi: int) -> int:
    return whole_field(params.get(key, default), key, lo, hi, default=default, error=RunParameterError)


def _float(params: dict, key: str, default: float, lo: float, hi: float) -> float:
    return number_field(params.get(key, default), key, lo, hi, default=default, error=RunParameterError)


def _token_list(value, key: str, max_context: int) -> list[int]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").replace(" ", ",").split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise RunParameterError(f"{key}: a list of token counts, e.g. 8,32,128.", key)
    out = []
    for v in value:
        if isinstance(v, bool):
            raise RunParameterError(f"{key}: token counts are whole numbers.", key)
        try:
            n = int(str(v).strip())
        except ValueError as exc:
            raise RunParameterError(f"{key}: {v!r} is not a whole number.", key) from exc
        if not 1 <= n <= max_context:
            raise RunParameterError(f"{key}: token counts must be from 1 to {max_context}.", key)
        out.append(n)
    return sorted(set(out))


def _cell_list(value, max_context: int) -> list[tuple[int, int]]:
    """A coverage run's (input, output) cells; they are designed from a workload, never typed."""
    if not isinstance(value, (list, tuple)) or not value:
        raise RunParameterError("A coverage run is designed from a workload: give cover_workload.", "cover_workload")
    out = []
    for pair in value:
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= max_context for v in pair)):
            raise RunParameterError(f"cells: {pair!r} is not an (input, output) pair of token counts.", "cells")
        out.append((int(pair[0]), int(pair[1])))
    return list(dict.fromkeys(out))


def _design_cells(design: str, custom: dict) -> tuple[list[tuple[int, int]], object]:
    """The design's (input, output) cells and its default Design (stopping rule, warm-up, batch)."""
    if design == SweepDesign.CUSTOM:
        d = sweeps.make_design("grid", inputs=custom["input_tokens"], outputs=custom["output_tokens"])
    elif design == SweepDesign.COVERAGE:
        d = sweeps.cells_design(custom["cells"])
    elif design == SweepDesign.PAPER_CROSS:
        # The two paper sweeps as one run (18 cells): the cheap design that physics-structured
        # forms can still identify (see docs/FITTING.md).
        d = sweeps.paper_input_sweep()
        extra = [c for c in sweeps.paper_output_sweep().cells
                 if (c.input_tokens, c.output_tokens) not in {(x.input_tokens, x.output_tokens) for x in d.cells}]
        d = sweeps.grid([c.input_tokens for c in d.cells], [d.cells[0].output_tokens], (d.cells[0].batch_size,),
                        name="paper-cross")
        d.cells += [sweeps.Cell(len(d.cells) + i, c.input_tokens, c.output_tokens, c.batch_size)
                    for i, c in enumerate(extra)]
    else:
        d = sweeps.make_design(design)
    return [(c.input_tokens, c.output_tokens) for c in d.cells], d


GPU_WARMUP_TOLERANCE = 0.1


def normalise(design: str, params: dict | None, max_context: int) -> dict:
    """Checked run parameters with the design's defaults; raises RunParameterError naming the field."""
    params = dict(params or {})
    if design not in SweepDesign.values:
        raise RunParameterError(f"Unknown design {design!r}: one of {', '.join(SweepDesign.values)}.", "design")
    custom = {}
    if design == SweepDesign.CUSTOM:
        custom["input_tokens"] = _token_list(params.get("input_tokens"), "input_tokens", max_context)
        custom["output_tokens"] = _token_list(params.get("output_tokens"), "output_tokens", max_context)
    if design == SweepDesign.COVERAGE:
        custom["cells"] = _cell_list(params.get("cells"), max_context)
    cells, default = _design_cells(design, custom)
    rule = default.stopping
    tolerance = rule.tolerance_s if math.isfinite(rule.tolerance_s) else 0.0  # 0: never stop early
    out = {
        "batch_size": _int(params, "batch_size", default.cells[0].batch_size, 1, 1024),
        "min_trials": _int(params, "min_trials", rule.min_trials, 1, MAX_TRIALS_PER_CELL),
        "max_trials": _int(params, "max_trials", rule.max_trials, 1, MAX_TRIALS_PER_CELL),
        "ci_tolerance_s": _float(params, "ci_tolerance_s", tolerance, 0.0, 3600.0),
        "warmup_trials": _int(params, "warmup_trials", default.warmup, 0, 10),
        "seed": _int(params, "seed", 0, 0, 2**31 - 1),
    }
    if out["min_trials"] > out["max_trials"]:
        raise RunParameterError("min_trials must not exceed max_trials.", "min_trials")
    if len(cells) > MAX_CELLS:
        raise RunParameterError(f"At most {MAX_CELLS} cells per run (this design has {len(cells)}).",
                                "input_tokens" if custom else "design")
    too_long = [c for c in cells if c[0] + c[1] > max_context]
    if too_long:
        raise RunParameterError(f"{len(too_long)} cells exceed the maximum context of {max_context} tokens.",
                                "output_tokens" if custom else "design")
    out["cells"] = [list(c) for c in cells]
    return out


def build_design(run: ProfilingRun):
    """The run's Design, rebuilt from its row (the same on every attempt, so keys are stable)."""
    cells = [sweeps.Cell(i, int(tin), int(tout), run.batch_size) for i, (tin, tout) in enumerate(run.grid["cells"])]
    rule = sweeps.StoppingRule(tolerance_s=run.ci_tolerance_s, max_trials=run.max_trials,
                               min_trials=run.min_trials)
    return sweeps.Design(run.design, cells, stopping=rule, warmup=run.warmup_trials, seed=run.seed,
                         warmup_tolerance=float(run.grid.get("warmup_tolerance", 0.0)))


def create_run(llm: LLM, hardware: Hardware, *, backend: str = InferenceBackend.HF,
               design: str = SweepDesign.GRID_SMALL, params: dict | None = None, dtype: str = "auto",
               use_cache: bool = True, user=None) -> ProfilingRun:
    """Validate and save a pending run, and wake the hardware's worker after commit."""
    if backend not in InferenceBackend.values:
        raise RunParameterError(f"Unknown backend {backend!r}: one of {', '.join(InferenceBackend.values)}.",
                                "backend")
    if hardware.is_reference:
        raise RunParameterError(f"{hardware} is a reference system from the literature; no worker runs there.",
                                "hardware")
    if backend == InferenceBackend.VLLM and not hardware.gpu_count:
        raise RunParameterError("vLLM needs a CUDA GPU and this hardware has none; use Hugging Face.", "backend")
    missing = hardware.backend_unavailable(backend)
    if missing:
        raise RunParameterError(f"{hardware}'s worker cannot run this backend: {missing}.", "backend")
    p = normalise(design, params, settings.MAX_CONTEXT_TOKENS)
    cells = p.pop("cells")
    # On a GPU host, warm up until two successive warm-ups agree within 10% (see sweeps.Design); kept in the
    # run's grid so that every attempt rebuilds the same design.
    tolerance = GPU_WARMUP_TOLERANCE if hardware.gpu_count and p["warmup_trials"] else 0.0
    warmups = max(p["warmup_trials"], 2) if tolerance else p["warmup_trials"]
    with transaction.atomic():
        run = ProfilingRun.objects.create(
            llm=llm, hardware=hardware, backend=backend, design=design,
            grid={"cells": cells, "warmup_tolerance": tolerance},
            dtype=dtype, use_cache=use_cache, cells_total=len(cells),
            steps_total=len(cells) * p["min_trials"] + warmups,
            created_by=user if (user is not None and getattr(user, "is_authenticated", False)) else None, **p)
        job_service.submit(run)
    return run


def cancel(run) -> bool:
    return job_service.cancel(run)


# --- the worker side ---------------------------------------------------------------


def llm_spec(run: ProfilingRun):
    from profiling.backends import spec_for_llm

    return spec_for_llm(run.llm, dtype=run.dtype, use_cache=run.use_cache, seed=run.seed)


def _done(run) -> dict[tuple[int, int], float]:
    """Runtimes of the trials already stored, keyed (cell, trial): what a resumed run skips."""
    rows = Measurement.objects.filter(profiling_run=run).values_list("cell_index", "trial_index", "runtime_s")
    return {(c, t): r for c, t, r in rows}


def _measurement(run, design, trial) -> Measurement:
    """A Measurement from one TrialResult (per query: the window's figures divided by its repeats);
    the columns come from the one constructor, ``profiling.meters.window.measurement_fields``."""
    cell, index = trial.key
    fields = trial.measurement_fields()
    # iteration counts measured trials of the cell (0, 1, ...); warm-ups keep their own index.
    fields["iteration"] = index if trial.is_warmup else index - design.warmups(design.cells[cell])
    return Measurement(llm=run.llm, hardware=run.hardware, profiling_run=run, cell_index=cell, trial_index=index,
                       **fields)


def meter_for(hardware):
    """The best meter this host can read, with its TDP for the estimate; and why others could not run."""
    from profiling.meters import auto_meter

    reasons: dict[str, str] = {}
    options = {"estimate": {"tdp_w": hardware.cpu_tdp_w, "cores": hardware.cpu_cores}}
    return auto_meter(options=options, reasons=reasons), reasons


def idle_baseline(meter):
    """Idle power per component before metered work, for profiling runs and executions alike; None
    for a CPU-time estimate, which has no idle part to subtract."""
    from profiling.meters import measure_idle

    if all(s in EnergySource.estimated() for s in _meter_sources(meter)):
        return None
    return measure_idle(meter, duration_s=float(settings.PROFILING_IDLE_S))


def run_body(run: ProfilingRun, handle: job_service.JobHandle, *, refit: bool = True,
             refit_inline: bool = False) -> None:
    """Run or resume ``run`` under ``handle``: every trial stored at once, fenced by the claim."""
    from profiling.backends import load_backend

    design = build_design(run)
    done = _done(run)
    handle.progress(**_progress(design, done))
    meter, reasons = meter_for(run.hardware)
    started = time.perf_counter()
    backend = load_backend(run.backend, llm_spec(run))
    finished = False
    try:
        summary = dict(run.summary or {})
        summary.update(meter=getattr(meter, "name", type(meter).__name__), meter_unavailable=reasons,
                       backend={k: str(v) for k, v in (backend.info or {}).items()},
                       load_seconds=round(time.perf_counter() - started, 3))
        idle = idle_baseline(meter)
        if idle is not None:
            summary["idle_power_w"] = {k: round(v, 3) for k, v in idle.power_w.items()}
        handle.progress(summary=summary)
        nxt = design.next_trial(done)
        if done and nxt is not None:
            # Resuming on a freshly loaded model: one unstored call so that the first stored
            # trial does not carry the allocation and compilation of a cold start.
            backend.generate(nxt.cell.input_tokens, nxt.cell.output_tokens, nxt.cell.batch_size)

        def store(trial) -> None:
            after = {**done, trial.key: trial.runtime_s}
            m = _measurement(run, design, trial)
            m.run_attempt = handle.attempt
            try:
                with transaction.atomic():
                    # Fenced: raises, and stores nothing, if the run was cancelled or taken over.
                    handle.progress(**_progress(design, after))
                    m.save()
            except IntegrityError:
                # Already stored: cannot happen while claims are fenced, and never stored twice.
                log.warning("trial %s of run %s exists; skipping", trial.key, run.pk)
            done[trial.key] = trial.runtime_s
            job_service.fault_delay()

        sweeps.run_sweep(design, backend, meter, done=dict(done), on_trial=store, idle=idle)
        summary.update(_source_summary(run))
        p = _progress(design, done)
        finished = handle.finish(summary=summary, steps_done=p["done"], steps_total=p["done"],
                                 cells_done=p["cells_done"])
    finally:
        backend.close()
    if finished and refit:
        _request_refit(run, inline=refit_inline)


def _meter_sources(meter) -> set[str]:
    parts = getattr(meter, "meters", None) or [meter]
    return {getattr(m, "source", "") or getattr(m, "name", "") for m in parts}


def _progress(design, done) -> dict:
    p = design.progress(done)
    return {"done": p["trials_done"], "total": p["trials_planned"], "cells_done": p["cells_done"],
            "cells_total": p["cells_total"]}


def _source_summary(run) -> dict:
    qs = Measurement.objects.filter(profiling_run=run, is_warmup=False)
    sources = set()
    for row in qs.values("gpu_energy_source", "cpu_energy_source", "dram_energy_source").distinct():
        sources.update(v for v in row.values() if v)
    return {"energy_sources": sorted(sources),
            "estimated": any(s in EnergySource.estimated() for s in sources),
            "measurements": qs.count()}


def _request_refit(run, inline: bool = False) -> None:
    """Refit the pair on the default queue (or here, for the foreground command).

    Estimated energy is fitted only when the run had nothing better, and the fit
    then carries the estimated label.
    """
    estimated = _source_summary(run)["estimated"]
    if inline:
        from profiling.services.refits import refit_now

        refit_now(run.llm, run.hardware, include_estimated=estimated)
        return
    from profiling.services.refits import request_refit

    request_refit(run.llm_id, run.hardware_id, include_estimated=estimated, reason=f"profiling run #{run.pk}")


def summary(run: ProfilingRun) -> dict:
    """The JSON of ``profile --json`` and of the API's summary."""
    run.refresh_from_db()
    sources = _source_summary(run)
    return {
        "id": run.pk, "status": run.status, "llm": run.llm.name, "hardware": run.hardware.name,
        "backend": run.backend, "design": run.design, "cells_total": run.cells_total,
        "cells_done": run.cells_done, "trials_planned": run.steps_total, "trials_done": run.steps_done,
        "measurements": sources["measurements"], "energy_sources": sources["energy_sources"],
        "estimated": sources["estimated"], "attempts": run.attempts, "error": run.error,
        "duration_s": run.duration_seconds, "idle_power_w": (run.summary or {}).get("idle_power_w"),
    }
