"""Coverage-driven profiling: measure where a workload's queries are and the measurements are not.

The thin ORM side of ``profiling.fitting.support`` and ``profiling.fitting.coverage``: a pair's
Support is built from its Measurement rows (distinct (input, output) cells, warm-ups excluded,
imported and executed rows included: every measured cell counts). A coverage run is an ordinary
ProfilingRun (design ``coverage``, cells chosen here) on the hardware's queue, so it resumes,
cancels and refits like any other; what it was for (the workload, the share before, the
projection) is kept in its summary under ``coverage``, and the share after is computed from the
measurements stored up to the run's last trial.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import transaction

from energyweb.jobs.choices import JobStatus
from profiling.choices import SweepDesign
from profiling.fitting.coverage import design_cover
from profiling.fitting.support import Support
from profiling.models import Measurement, ProfilingRun
from profiling.services.profiling_runs import RunParameterError, create_run

DEFAULT_TARGET = 0.05
DEFAULT_BUDGET_TRIALS = 100  # 33 cells of 3 trials (+ 1 warm-up): a few minutes for the tiny LLMs on a CPU
TRIALS_PER_CELL = 3
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")


class CoverageError(RunParameterError):
    """Bad input for a coverage run; ``field`` names it."""


# Workloads and plans are scheduling's rows. Scheduling registers how to find them
# (SchedulingConfig.ready), so profiling imports no scheduling module: the layers go one way.
# Kinds: "workload" (by id), "workload_named" (by name), "plan" (by id, its workload loaded).
_finders: dict = {}


def register_finder(kind: str, find) -> None:
    _finders[kind] = find


def find(kind: str, key):
    """The row of ``kind`` for ``key``, or None (also when no app registered that kind)."""
    finder = _finders.get(kind)
    return finder(key) if finder is not None and key is not None else None


def context_length(llm) -> int | None:
    """The LLM's maximum input + output tokens from its architecture config, capped by the site's limit."""
    config = llm.architecture_config or {}
    for key in _CONTEXT_KEYS:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 2:
            return min(value, int(settings.MAX_CONTEXT_TOKENS))
    return None


def pair_cells(llm, hardware, *, up_to_pk: int | None = None) -> np.ndarray:
    """Distinct measured (input, output) cells of the pair (warm-ups excluded), optionally only the rows
    stored up to ``up_to_pk`` (the support as it was when a run stored its last trial)."""
    qs = Measurement.objects.filter(llm=llm, hardware=hardware, is_warmup=False)
    if up_to_pk is not None:
        qs = qs.filter(pk__lte=up_to_pk)
    rows = list(qs.order_by().values_list("input_tokens", "output_tokens").distinct())
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def pair_support(llm, hardware, *, up_to_pk: int | None = None) -> Support | None:
    """The pair's measured Support, or None when nothing is measured."""
    cells = pair_cells(llm, hardware, up_to_pk=up_to_pk)
    return Support(cells) if len(cells) else None


def extrapolated_share(support: Support | None, tin, tout) -> float:
    return 1.0 if support is None else support.extrapolated_share(tin, tout)


def _arrays(workload):
    arrays = workload.load_arrays()
    return arrays.tin, arrays.tout


def design_for(llm, hardware, workload, *, target: float = DEFAULT_TARGET,
               budget_trials: int = DEFAULT_BUDGET_TRIALS, warmup_trials: int = 1):
    """The cells a coverage run of ``workload`` would measure for the pair (a CoverDesign)."""
    context = context_length(llm)
    if context is None:
        raise CoverageError(f"{llm} has no known context length (architecture_config.max_position_embeddings): "
                            "without it a coverage run could design cells the model cannot run.", "llm")
    if not 0.0 <= target < 1.0:
        raise CoverageError("target_share: a share from 0 up to (not including) 1, e.g. 0.05.", "target_share")
    max_cells = (budget_trials - warmup_trials) // TRIALS_PER_CELL
    if max_cells < 1:
        raise CoverageError(f"budget_trials: at least {TRIALS_PER_CELL + warmup_trials} trials "
                            f"(one cell of {TRIALS_PER_CELL} plus the warm-up).", "budget_trials")
    if workload.n_queries < 1:
        raise CoverageError(f"Workload {workload} has no queries.", "cover_workload")
    tin, tout = _arrays(workload)
    support = pair_support(llm, hardware)
    return design_cover(tin, tout, context=context, support=support, target=target,
                        max_cells=min(max_cells, _max_cells()))


def _max_cells() -> int:
    from profiling.services.profiling_runs import MAX_CELLS

    return MAX_CELLS


def start_coverage_run(llm, hardware, workload, *, target: float = DEFAULT_TARGET,
                       budget_trials: int = DEFAULT_BUDGET_TRIALS, backend: str = "hf", dtype: str = "auto",
                       use_cache: bool = True, seed: int = 0, plan_id: int | None = None,
                       user=None) -> ProfilingRun:
    """Design and queue a coverage run; raises CoverageError (field-keyed) when there is nothing to do."""
    queued = (ProfilingRun.objects.filter(llm=llm, hardware=hardware, design=SweepDesign.COVERAGE,
                                          status__in=JobStatus.active(), summary__coverage__workload=workload.pk)
              .values_list("pk", flat=True).first())
    if queued:
        # It would design the same cells: the pair's measurements have not changed yet.
        raise CoverageError(f"Coverage run #{queued} of {workload} for {llm} on {hardware} is already queued or "
                            "running; its shares will show here when it ends.", "cover_workload")
    design = design_for(llm, hardware, workload, target=target, budget_trials=budget_trials)
    if not design.cells:
        if design.share_before <= target:
            why = f"already at or below the target {target:.0%}: nothing to measure"
        elif design.unreachable_share > 0 and design.share_before - design.unreachable_share <= target:
            why = "the rest is longer than the model's context"
        else:
            why = "no cell within the model's context covers the rest"
        raise CoverageError(f"{design.share_before:.1%} of {workload}'s queries are extrapolated for {llm} on "
                            f"{hardware}; {why}.", "cover_workload")
    meta = {"workload": workload.pk, "workload_name": workload.name, "target_share": target,
            "budget_trials": budget_trials, "plan": plan_id, **design.as_dict()}
    with transaction.atomic():
        # One transaction: the wake-up goes out on commit, after the summary holds what the run is for.
        run = create_run(llm, hardware, backend=backend, design=SweepDesign.COVERAGE, dtype=dtype,
                         use_cache=use_cache, user=user,
                         params={"cells": [list(c) for c in design.cells], "seed": seed,
                                 "min_trials": TRIALS_PER_CELL, "max_trials": TRIALS_PER_CELL})
        run.summary = {**(run.summary or {}), "coverage": meta}
        ProfilingRun.objects.filter(pk=run.pk).update(summary=run.summary)
    return run


def coverage_summary(run: ProfilingRun) -> dict | None:
    """Before / projected / after shares of a coverage run's workload (after: once it succeeded)."""
    meta = (run.summary or {}).get("coverage")
    if not meta:
        return None
    out = {"workload": meta.get("workload"), "workload_name": meta.get("workload_name"),
           "target_share": meta.get("target_share"), "cells": meta.get("cells", []),
           "extrapolated_share_before": meta.get("share_before"),
           "projected_share": meta.get("projected_share"), "extrapolated_share_after": None,
           "plan": meta.get("plan")}
    if run.status == JobStatus.SUCCEEDED:
        out["extrapolated_share_after"] = share_after(run, meta)
    return out


def summary(run: ProfilingRun) -> dict:
    """``profile --json`` and the API's summary, plus the coverage fields when the run is a coverage run."""
    from profiling.services.profiling_runs import summary as run_summary

    out = run_summary(run)
    cov = coverage_summary(run)
    if cov is not None:
        out.update(workload=cov["workload_name"], cells=cov["cells"], target_share=cov["target_share"],
                   extrapolated_share_before=cov["extrapolated_share_before"],
                   projected_share=cov["projected_share"],
                   extrapolated_share_after=cov["extrapolated_share_after"])
    return out


def share_after(run: ProfilingRun, meta: dict | None = None) -> float | None:
    """The workload's extrapolated share against the pair's measurements up to the run's last trial."""
    meta = meta or (run.summary or {}).get("coverage") or {}
    workload = find("workload", meta.get("workload"))
    if workload is None:
        return None  # deleted since: the share before stays in the summary
    last = Measurement.objects.filter(profiling_run=run).order_by("-pk").values_list("pk", flat=True).first()
    tin, tout = _arrays(workload)
    return extrapolated_share(pair_support(run.llm, run.hardware, up_to_pk=last), tin, tout)


def runs_for_plan(plan_id: int):
    """Coverage runs started from a plan's page, newest first."""
    return (ProfilingRun.objects.filter(design=SweepDesign.COVERAGE, summary__coverage__plan=plan_id)
            .select_related("llm", "hardware").order_by("-created", "-id"))


def runs_for_workload(workload_id: int):
    return (ProfilingRun.objects.filter(design=SweepDesign.COVERAGE, summary__coverage__workload=workload_id)
            .select_related("llm", "hardware").order_by("-created", "-id"))
