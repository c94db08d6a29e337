"""A refit is a job kind on the shared lifecycle: a row per owed refit (requests join a pending one),
retried after a database error, recovered when its message was lost, run by a real worker; its task
name comes from the model label."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from energyweb.jobs import recovery
from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from energyweb.jobs.models import job_task_name
from profiling.choices import FitSource
from profiling.models import EnergyModelFit, RefitJob
from profiling.services import refits
from tests.fitting.conftest import add_grid, hardware, llm  # noqa: F401


def test_the_task_name_comes_from_the_model_label():
    from celery import current_app

    import profiling.tasks  # noqa: F401  (registers the task)

    assert RefitJob.job_task == job_task_name("profiling.RefitJob") == "profiling.refitjob.run"
    assert RefitJob.job_task in current_app.tasks
    assert RefitJob in recovery.job_models()


@pytest.mark.django_db
def test_requests_for_a_pair_join_the_pending_refit(llm, hardware):  # noqa: F811
    first = refits.request_refit(llm.pk, hardware.pk, reason="import")
    again = refits.request_refit(llm.pk, hardware.pk, include_estimated=True, reason="run")
    assert again.pk == first.pk and RefitJob.objects.count() == 1
    assert RefitJob.objects.get().include_estimated  # the wider request wins
    # Once it runs, a new request is owed again (the data may have changed meanwhile).
    job_service.claim(RefitJob, first.pk, "w1")
    assert refits.request_refit(llm.pk, hardware.pk).pk != first.pk


@pytest.mark.django_db
def test_a_database_error_hands_the_refit_back_for_a_retry_then_it_fits(llm, hardware, monkeypatch):  # noqa: F811
    add_grid(llm, hardware, reps=2)
    job = refits.request_refit(llm.pk, hardware.pk)
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    # Fault injection at the fitting boundary: the first attempt meets a lost connection.
    monkeypatch.setattr(refits, "refit_now", flaky)
    with pytest.raises(OperationalError):
        job_service.run_claimed(RefitJob, job.pk, refits.run_body, transient=job_service.TRANSIENT)
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.attempts == 0 and calls == [1]  # owed, not lost
    monkeypatch.undo()
    assert job_service.run_claimed(RefitJob, job.pk, refits.run_body, transient=job_service.TRANSIENT) == "done"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and set(job.result) == {"energy", "runtime"}
    assert EnergyModelFit.objects.filter(llm=llm, hardware=hardware, source=FitSource.FITTED,
                                         is_selected=True).count() == 2


@pytest.mark.worker
def test_an_owed_refit_whose_message_was_lost_is_recovered_and_run_by_a_real_worker(
        celery_worker_process, llm, hardware, settings):  # noqa: F811
    add_grid(llm, hardware, reps=2)
    # Owed, but its wake-up never reached the broker (created without submit: a lost message).
    job = RefitJob.objects.create(llm=llm, hardware=hardware, steps_total=2)
    assert recovery.recover()["profiling.RefitJob"]["resent"] == 1
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and RefitJob.objects.get(pk=job.pk).status != JobStatus.SUCCEEDED:
        time.sleep(0.5)
    assert RefitJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED, \
        celery_worker_process.log.read_text()[-3000:]
    assert EnergyModelFit.objects.filter(llm=llm, hardware=hardware, is_selected=True).count() == 2
