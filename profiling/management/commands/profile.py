"""Profile an LLM on this host in the foreground: the same sweep a worker runs, for hosts without a queue.

``--json`` prints one JSON object with at least status, trials_planned, trials_done,
measurements and energy_sources (see profiling.services.profiling_runs.summary).
The run is a ProfilingRun row like any other: the pages and the API show it, and
Ctrl-C cancels it (its trials so far are kept).
"""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from profiling.choices import Dtype, InferenceBackend, SweepDesign
from profiling.models import LLM, EnergyModelFit, Hardware, ProfilingRun
from profiling.services import coverage, profiling_runs
from profiling.services.fitting import lookup


class _Bar(job_service.JobHandle):
    """A claim that draws a progress bar on stderr as trials complete."""

    out = sys.stderr

    def progress(self, done=None, total=None, **fields):
        super().progress(done, total, **fields)
        if done is not None and total:
            self.draw(done, total)

    @classmethod
    def draw(cls, done: int, total: int) -> None:
        width = 30
        filled = int(width * min(done, total) / total)
        cls.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} trials")
        cls.out.flush()


class Command(BaseCommand):
    help = "Run a profiling sweep of an LLM on this host in the foreground and store its measurements."

    def add_arguments(self, parser):
        parser.add_argument("--llm", required=True, help="LLM name, slug, alias or id")
        parser.add_argument("--hardware", required=True, help="Hardware name, slug, alias or id (this host)")
        parser.add_argument("--design", default=SweepDesign.GRID_SMALL, choices=SweepDesign.values)
        parser.add_argument("--backend", default=InferenceBackend.HF, choices=InferenceBackend.values)
        parser.add_argument("--dtype", default=Dtype.AUTO, choices=Dtype.values)
        parser.add_argument("--no-cache", action="store_true", help="disable the KV cache (as the paper did)")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--min-trials", type=int)
        parser.add_argument("--max-trials", type=int)
        parser.add_argument("--ci-tolerance", type=float, dest="ci_tolerance_s",
                            help="stop a cell once the 95%% CI half-width of runtime is below this (s)")
        parser.add_argument("--warmup", type=int, dest="warmup_trials")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--input-tokens", help="custom design: e.g. 8,32,128")
        parser.add_argument("--output-tokens", help="custom design: e.g. 8,32,128")
        parser.add_argument("--no-refit", action="store_true", help="do not refit the pair afterwards")
        parser.add_argument("--json", action="store_true", help="print the run's summary as one JSON object")
        cover = parser.add_argument_group("coverage (queued on the hardware's worker, then waited for)")
        cover.add_argument("--cover-workload", metavar="W",
                           help="measure the cells workload W (name or id) needs and the pair's measurements lack")
        cover.add_argument("--target-share", type=float, default=coverage.DEFAULT_TARGET,
                           help="stop designing once at most this share of W is extrapolated (default 0.05)")
        cover.add_argument("--budget-trials", type=int, default=coverage.DEFAULT_BUDGET_TRIALS,
                           help="most trials the run may plan (3 per cell, plus the warm-up)")
        cover.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the run (default 1800)")

    def handle(self, *args, **o):
        llm = lookup(LLM, o["llm"])
        hardware = lookup(Hardware, o["hardware"])
        if llm is None:
            raise CommandError(f"No single LLM is named {o['llm']!r} (name, slug, alias or id).")
        if hardware is None:
            raise CommandError(f"No single hardware is named {o['hardware']!r} (name, slug, alias or id).")
        if o.get("cover_workload"):
            return cover_workload(self, llm, hardware, o)
        params = {k: o[k] for k in ("batch_size", "min_trials", "max_trials", "ci_tolerance_s", "warmup_trials",
                                    "seed", "input_tokens", "output_tokens") if o.get(k) is not None}
        try:
            params_checked = profiling_runs.normalise(o["design"], params, _max_context())
        except profiling_runs.RunParameterError as exc:
            raise CommandError(f"{exc.field}: {exc}") from exc
        cells = params_checked.pop("cells")
        # Created without a wake-up message: this process is the worker.
        run = ProfilingRun.objects.create(
            llm=llm, hardware=hardware, backend=o["backend"], design=o["design"], grid={"cells": cells},
            dtype=o["dtype"], use_cache=not o["no_cache"], cells_total=len(cells),
            steps_total=len(cells) * params_checked["max_trials"], **params_checked)
        handle = job_service.claim(ProfilingRun, run.pk, worker=f"{job_service.worker_name()} (profile command)")
        if handle is None:
            raise CommandError(f"{hardware} is busy with another profiling run; try again when it ends.")
        bar = _Bar(model=ProfilingRun, pk=run.pk, token=handle.token, attempt=handle.attempt)
        if not o["json"]:
            self.stdout.write(f"Profiling run #{run.pk}: {llm} on {hardware}, {len(cells)} cells "
                              f"({o['design']}, {o['backend']})")
        try:
            with job_service.LeaseKeeper(bar):
                profiling_runs.run_body(run, bar, refit=not o["no_refit"], refit_inline=True)
        except KeyboardInterrupt:
            profiling_runs.cancel(run)
            sys.stderr.write("\ninterrupted: run cancelled, its trials so far are kept\n")
        except job_service.JobInterrupted as exc:
            sys.stderr.write(f"\n{exc}\n")
        except Exception as exc:
            bar.fail(str(exc))
            sys.stderr.write("\n")
            raise CommandError(f"profiling failed: {exc}") from exc
        sys.stderr.write("\n")
        out = profiling_runs.summary(run)
        if o["json"]:
            self.stdout.write(json.dumps(out, indent=2))
        else:
            self.stdout.write(f"{out['status']}: {out['trials_done']}/{out['trials_planned']} trials, "
                              f"{out['measurements']} measurements, energy from {', '.join(out['energy_sources'])}"
                              + (" (ESTIMATED, no energy counter on this host)" if out["estimated"] else ""))


def cover_workload(command, llm, hardware, o) -> None:
    """Queue a coverage run on the hardware's worker, wait for it and the refit, print before/after.

    Unlike a plain ``profile`` this process is not the worker: the run is designed against every
    measurement of the pair and runs where the hardware's worker is (``hw.<slug>``), like one
    started from the pages. Ctrl-C cancels it (its trials so far are kept).
    """
    value = str(o["cover_workload"]).strip()
    workload = coverage.find("workload_named", value) or (
        coverage.find("workload", int(value)) if value.isdigit() else None)
    if workload is None:
        raise CommandError(f"cover_workload: no workload is named {value!r} (name or id).")
    try:
        run = coverage.start_coverage_run(llm, hardware, workload, target=o["target_share"],
                                          budget_trials=o["budget_trials"], backend=o["backend"],
                                          dtype=o["dtype"], use_cache=not o["no_cache"], seed=o.get("seed") or 0)
    except profiling_runs.RunParameterError as exc:
        raise CommandError(f"{exc.field}: {exc}") from exc
    if not o["json"]:
        command.stdout.write(f"Coverage run #{run.pk}: {llm} on {hardware}, {run.cells_total} cells for {workload} "
                             f"(queued on {run.job_queue()})")
    deadline = time.monotonic() + o["timeout"]
    try:
        while run.status in JobStatus.active():
            if time.monotonic() > deadline:
                raise CommandError(f"run #{run.pk} still {run.status} after {o['timeout']:.0f} s "
                                   f"(is a worker consuming {run.job_queue()}?); it stays queued")
            time.sleep(1.0)
            seen = (run.steps_done, run.steps_total)
            run.refresh_from_db()
            if run.steps_total and (run.steps_done, run.steps_total) != seen:
                _Bar.draw(run.steps_done, run.steps_total)
    except KeyboardInterrupt:
        profiling_runs.cancel(run)
        sys.stderr.write("\ninterrupted: run cancelled, its trials so far are kept\n")
        run.refresh_from_db()
    sys.stderr.write("\n")
    refitted = False
    if run.status == JobStatus.SUCCEEDED:
        # The refit goes to the default queue when the run succeeds; the shares below do not need it.
        refitted = bool(_wait(lambda: EnergyModelFit.objects.filter(llm=llm, hardware=hardware,
                                                                    created__gte=run.finished).exists(),
                              min(60.0, max(0.0, deadline - time.monotonic()))))
    out = {**coverage.summary(run), "refitted": refitted}
    if o["json"]:
        command.stdout.write(json.dumps(out, indent=2))
    else:
        after = out["extrapolated_share_after"]
        command.stdout.write(f"{out['status']}: {out['trials_done']}/{out['trials_planned']} trials, "
                             f"{out['measurements']} measurements; {workload} extrapolated "
                             f"{out['extrapolated_share_before']:.1%} before, "
                             + (f"{after:.1%} after" if after is not None else "after unknown")
                             + (" (ESTIMATED energy)" if out["estimated"] else ""))
    if run.status != JobStatus.SUCCEEDED:
        raise CommandError(f"coverage run #{run.pk} {run.status}: {run.error}")


def _wait(predicate, timeout: float, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(poll)


def _max_context() -> int:
    from django.conf import settings

    return settings.MAX_CONTEXT_TOKENS
