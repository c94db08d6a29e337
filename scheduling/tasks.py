"""Thin Celery tasks: load the row by id, claim it, call the service, record status."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from profiling.choices import JobStatus
from scheduling.services import jobs

log = logging.getLogger(__name__)


@shared_task(
    name="scheduling.run_schedule_job",
    # Only a lost database connection is worth retrying; a planning error is final.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True, retry_jitter=True, max_retries=3,
    ignore_result=True,
)
def run_schedule_job(job_id: int) -> str:
    from scheduling.models import ScheduleJob

    if not jobs.claim(job_id):
        # Gone, already running elsewhere (a re-delivered message) or finished.
        return "skipped"
    job = ScheduleJob.objects.select_related("workload").filter(pk=job_id).first()
    if job is None:
        return "gone"
    try:
        jobs.run_job(job)
    except (OperationalError, InterfaceError):
        # Hand the job back so the automatic retry can claim it again.
        ScheduleJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(status=JobStatus.PENDING)
        raise
    return "done"
