"""A finished plan with an executed batch over the reference catalogue, built from rows (no GPU, no worker)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from tests.measurements.conftest import pair  # noqa: F401  (one LLM and one hardware row)
from tests.scheduling.conftest import make_reference

ATTACK = '=HYPERLINK("http://evil.example/","click")'


def executed_plan(llm_name: str | None = None, tmp_media=None):
    """(hardware, llm, plan, execution): one deployment planned and one batch of one query executed."""
    from energyweb.jobs.choices import JobStatus
    from profiling.choices import EnergySource
    from profiling.models import LLM, Measurement
    from scheduling.models import (
        Deployment,
        ExecutedBatch,
        ExecutedMeasurement,
        ExecutedQuery,
        Execution,
        ExecutionJob,
    )
    from scheduling.services import jobs
    from scheduling.services.workloads import import_workload
    from scheduling.tasks import run_schedule_job

    hw, llms = make_reference()
    llm = next(iter(llms.values()))
    if llm_name:
        LLM.objects.filter(pk=llm.pk).update(name=llm_name)
        llm.refresh_from_db()
    wl = import_workload(b"id,input_tokens,output_tokens\nq1,10,5\nq2,20,7\n", "two queries")
    dep = Deployment.objects.create(llm=llm, hardware=hw)
    plan = jobs.create_job(wl, [dep], "paper-energy-accuracy", {"zeta": 0.5})
    assert run_schedule_job(plan.pk) == "done"
    now = timezone.now()
    ex = Execution.objects.create(schedule_job=plan, plan_index=0, batch_size=2, queries_planned=2)
    child = ExecutionJob.objects.create(execution=ex, deployment_index=0, deployment_key=dep.key, llm=llm,
                                        hardware=hw, queries_total=2, steps_total=1, steps_done=1,
                                        status=JobStatus.SUCCEEDED, finished=now)
    batch = ExecutedBatch.objects.create(
        execution=ex, job=child, deployment_index=0, batch_index=0, queries=2, input_tokens=30, output_tokens=12,
        predicted_energy_j=3.0, predicted_runtime_s=0.5, energy_j=3.3, runtime_s=0.6, window_s=0.6,
        sources={"gpu": "estimate-tdp"}, is_estimated=True, measured_at=now)
    for q, (tin, tout) in enumerate(((10, 5), (20, 7))):
        ExecutedQuery.objects.create(execution=ex, batch=batch, query_index=q, deployment_index=0,
                                     input_tokens=tin, output_tokens=tout, predicted_energy_j=1.5,
                                     predicted_runtime_s=0.25, energy_j=1.65, runtime_s=0.3)
        m = Measurement.objects.create(llm=llm, hardware=hw, iteration=q, input_tokens=tin,
                                       output_tokens=tout, runtime_s=0.3, gpu_energy_j=1.65,
                                       gpu_energy_source=EnergySource.ESTIMATE_TDP, total_energy_j=1.65,
                                       is_estimated=True)
        ExecutedMeasurement.objects.create(batch=batch, iteration=q, measurement=m)
    return hw, llm, plan, ex


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def staff_web(staff_user):
    client = Client(raise_request_exception=False)  # a 500 comes back as a browser would see it
    client.force_login(staff_user)
    return client
