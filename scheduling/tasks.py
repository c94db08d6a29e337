"""Thin Celery tasks: the job service claims the row by id and runs the planning service."""

from __future__ import annotations

import logging

from django.conf import settings

from energyweb.jobs import service as job_service
from energyweb.jobs import uploads

log = logging.getLogger(__name__)


# Thin tasks (energyweb/jobs/service.register_job_task): each claims its row by id and runs the service.
# A plan's solver limits itself (time_limit_s, at most an hour); the task limits only stop a runaway.
run_schedule_job = job_service.register_job_task(
    "scheduling.run_schedule_job", "scheduling.ScheduleJob", "scheduling.services.jobs:run_job",
    soft_time_limit=settings.PLAN_SOFT_TIME_LIMIT_S, grace_s=120)
# One deployment's share of an executed plan, on its hardware's queue.
run_execution_job = job_service.register_job_task(
    "scheduling.run_execution_job", "scheduling.ExecutionJob", "scheduling.services.execution:run_body",
    soft_time_limit=settings.LONG_JOB_SOFT_TIME_LIMIT_S, grace_s=300)

# Import one stored workload upload (services/workload_jobs.py, energyweb/jobs/uploads.py).
run_workload_import = uploads.register_task("scheduling.run_workload_import", "scheduling.WorkloadImportJob")
