"""One place that builds what an execution needs on this host: fitted tiny LLMs and a finished plan.

Kept in one module so that a change of the fitting or planning rules is adapted here only. The
tiny models are profiled in this process with a small custom design (the real sweep, the real
meter of this VM: a TDP estimate, labelled estimated), fitted with ``fit_pair`` and planned with
their selected fits through ``create_job``; the benchmark uses the same helpers.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus

DESIGN = {"input_tokens": [2, 6, 12], "output_tokens": [1, 3, 6], "min_trials": 2, "max_trials": 2,
          "warmup_trials": 1}
TINY_NAMES = ("tiny-random-llama", "tiny-random-llama-2x")


def this_host(slug: str = "test-host", online: bool = True):
    from django.utils import timezone

    from profiling.models import Hardware

    hw, _ = Hardware.objects.get_or_create(slug=slug, defaults={
        "name": slug.replace("-", " ").title(), "hostname": slug, "cpu_cores": 2, "cpu_model": "test CPU"})
    if online:
        Hardware.objects.filter(pk=hw.pk).update(last_heartbeat=timezone.now())
        hw.refresh_from_db()
    return hw


def profile_and_fit(llm, hardware, design: dict | None = None) -> None:
    """Profile ``llm`` here in the foreground (as ``manage.py profile`` does) and fit energy and runtime."""
    from profiling.models import ProfilingRun
    from profiling.services import profiling_runs
    from profiling.services.fitting import fit_pair

    p = profiling_runs.normalise("custom", dict(design or DESIGN), 4096)
    cells = p.pop("cells")
    run = ProfilingRun.objects.create(llm=llm, hardware=hardware, design="custom", grid={"cells": cells},
                                      cells_total=len(cells), steps_total=len(cells) * p["max_trials"], **p)
    handle = job_service.claim(ProfilingRun, run.pk, "execution-test-setup")
    profiling_runs.run_body(run, handle, refit=False)
    for target in ("energy", "runtime"):
        fit_pair(llm, hardware, target, include_estimated=True)


def tiny_deployments(hardware, min_share: float = 0.3, design: dict | None = None) -> list:
    """The two tiny LLMs on ``hardware`` with their selected (estimated-energy) fits; each gets at
    least ``min_share`` of the queries so that a plan uses both."""
    from profiling.models import LLM
    from profiling.services.tiny_llms import seed_tiny_llms
    from scheduling.models import Deployment

    seed_tiny_llms()
    deps = []
    for name in TINY_NAMES:
        llm = LLM.objects.get(name=name)
        profile_and_fit(llm, hardware, design)
        dep = Deployment(llm=llm, hardware=hardware, energy_fit_choice="selected", runtime_fit_choice="selected",
                         min_share=min_share, max_share=1.0)
        dep.full_clean()
        dep.save()
        deps.append(dep)
    return deps


def finished_plan(deployments, n: int = 24, seed: int = 0, tin=(2, 12), tout=(1, 6), timeout: float = 120):
    """A plan over ``deployments`` for ``n`` random small queries, solved here (or by a worker that
    took its wake-up first), returned once it has succeeded."""
    from scheduling.models import ScheduleJob
    from scheduling.services import jobs
    from scheduling.services.workloads import import_workload

    rng = np.random.default_rng(seed)
    a, b = rng.integers(tin[0], tin[1] + 1, n), rng.integers(tout[0], tout[1] + 1, n)
    path = Path(tempfile.mkdtemp(prefix="ew-exec-")) / "w.csv"
    path.write_text("input_tokens,output_tokens\n" + "".join(f"{x},{y}\n" for x, y in zip(a, b, strict=True)))
    workload = import_workload(path, f"execution {seed} {n} {time.time_ns()}")
    job = jobs.create_job(workload, deployments, "paper-energy-accuracy", {"zeta": 0.5})
    job_service.run_claimed(ScheduleJob, job.pk, jobs.run_job)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in JobStatus.active():
            break
        time.sleep(0.2)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job
