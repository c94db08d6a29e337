"""Thin Celery tasks of the profiling app: load rows by id, call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from energyweb.jobs import service as job_service
from energyweb.jobs import uploads

log = logging.getLogger(__name__)


@shared_task(name="profiling.refit_pair", ignore_result=True)
def refit_pair(llm_id: int, hardware_id: int, include_estimated: bool = False) -> dict | None:
    """Refit one pair here and now (``fit_models``, the foreground ``profile``; messages sent before
    refits became jobs). Everything else requests a RefitJob (services/refits.py)."""
    from profiling.models import LLM, Hardware
    from profiling.services.refits import refit_now

    llm = LLM.objects.filter(pk=llm_id).first()
    hardware = Hardware.objects.filter(pk=hardware_id).first()
    if llm is None or hardware is None:
        return None
    return refit_now(llm, hardware, include_estimated=include_estimated)


# An owed refit, on the shared job lifecycle: task name from the model label (profiling.refitjob.run).
run_refit = job_service.register_job_task(None, "profiling.RefitJob", "profiling.services.refits:run_body",
                                          soft_time_limit=settings.LONG_JOB_SOFT_TIME_LIMIT_S, grace_s=60)


# Run (or resume) one profiling run on its hardware's queue (energyweb/jobs/service.register_job_task).
run_profiling = job_service.register_job_task(
    "profiling.run_profiling", "profiling.ProfilingRun", "profiling.services.profiling_runs:run_body",
    soft_time_limit=settings.LONG_JOB_SOFT_TIME_LIMIT_S, grace_s=300)

# Import one stored upload (services/import_jobs.py, energyweb/jobs/uploads.py).
run_measurement_import = uploads.register_task("profiling.run_measurement_import", "profiling.MeasurementImportJob")
