"""``profile --cover-workload`` end to end: grid-small profiled on this CPU, then a coverage run of a
2,000-query workload reaching 256/96 tokens through a real Celery worker on the host's queue, then
the refit. The tiny weight-free LLM runs for real; energy is the labelled TDP estimate."""

from __future__ import annotations

import io
import json
import os

import pytest
from django.core.management import call_command

from energyweb.jobs.choices import JobStatus
from profiling.models import EnergyModelFit, Measurement, ProfilingRun
from tests.conftest import start_worker
from tests.coverage.conftest import make_workload

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def _profile(*args) -> dict:
    out = io.StringIO()
    call_command("profile", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_cover_workload_from_the_cli_on_a_real_worker(transactional_db, host, tiny, media, broker_url, tmp_path):
    first = _profile("--llm", tiny.slug, "--hardware", host.slug, "--design", "grid-small", "--no-refit")
    assert first["status"] == "succeeded" and first["measurements"] == 48
    workload = make_workload()
    worker = start_worker(broker_url, tmp_path, queues="default,hw.test-host")
    try:
        out = _profile("--llm", tiny.slug, "--hardware", host.slug, "--cover-workload", workload.name,
                       "--timeout", "600")
    finally:
        worker.stop()
    for key in ("status", "trials_planned", "trials_done", "measurements", "cells", "extrapolated_share_before",
                "extrapolated_share_after"):
        assert key in out, key
    run = ProfilingRun.objects.get(pk=out["id"])
    assert out["status"] == run.status == JobStatus.SUCCEEDED, run.error
    assert out["extrapolated_share_before"] > 0.5 and out["extrapolated_share_after"] <= 0.05
    # Every designed cell ran its 3 trials on the worker (plus one warm-up), each stored once.
    assert out["trials_done"] == out["trials_planned"] == 3 * len(out["cells"]) + 1
    assert out["measurements"] == Measurement.objects.filter(profiling_run=run, is_warmup=False).count() \
        == 3 * len(out["cells"])
    # Run by the worker process, not by this one (a plain `profile` is its own worker).
    assert run.worker and "profile command" not in run.worker and run.worker.split(":")[-1] != str(os.getpid())
    assert out["estimated"] is True and out["energy_sources"] == ["estimate-tdp"]
    # The pair was refitted on the default queue after the run, on its estimated energy.
    assert out["refitted"] is True
    assert EnergyModelFit.objects.filter(llm=tiny, hardware=host, created__gte=run.finished,
                                         is_selected=True).exists()

