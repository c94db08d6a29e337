"""Thin Celery tasks: the job service claims the row by id and runs the planning service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from energyweb.jobs import service as job_service
from energyweb.jobs import uploads
from scheduling.services import jobs

log = logging.getLogger(__name__)


@shared_task(
    name="scheduling.run_schedule_job",
    # Only a lost database connection is worth retrying; a planning error is final.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True, retry_jitter=True, max_retries=3,
    ignore_result=True,
    # The solver's own limit is at most an hour (time_limit_s); these only stop a runaway.
    soft_time_limit=settings.PLAN_SOFT_TIME_LIMIT_S, time_limit=settings.PLAN_SOFT_TIME_LIMIT_S + 120,
)
def run_schedule_job(job_id: int) -> str:
    from scheduling.models import ScheduleJob

    # "skipped": gone, finished, or held by a live worker (a re-delivered message).
    return job_service.run_claimed(ScheduleJob, job_id, jobs.run_job,
                                   transient=(OperationalError, InterfaceError))


@shared_task(
    name="scheduling.run_execution_job",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True, retry_jitter=True, max_retries=3,
    ignore_result=True,
    soft_time_limit=settings.LONG_JOB_SOFT_TIME_LIMIT_S, time_limit=settings.LONG_JOB_SOFT_TIME_LIMIT_S + 300,
)
def run_execution_job(job_id: int) -> str:
    """Serve (or resume) one deployment's share of an executed plan on this host's queue."""
    from scheduling.models import ExecutionJob
    from scheduling.services.execution import run_body

    return job_service.run_claimed(ExecutionJob, job_id, run_body, transient=(OperationalError, InterfaceError))



# Import one stored workload upload (services/workload_jobs.py, energyweb/jobs/uploads.py).
run_workload_import = uploads.register_task("scheduling.run_workload_import", "scheduling.WorkloadImportJob")
