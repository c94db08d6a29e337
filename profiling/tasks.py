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
    """Refit every form of one (LLM, hardware) pair for energy and runtime.

    Sent after an import or a refit request; the rows may have been deleted
    since, in which case there is nothing to do.
    """
    from profiling.models import LLM, Hardware
    from profiling.services.fitting import FitError, fit_pair

    llm = LLM.objects.filter(pk=llm_id).first()
    hardware = Hardware.objects.filter(pk=hardware_id).first()
    if llm is None or hardware is None:
        return None
    done = {}
    for target in ("energy", "runtime"):
        try:
            out = fit_pair(llm, hardware, target, include_estimated=include_estimated)
        except FitError as exc:  # too few rows for this target: record nothing, say why
            log.info("refit %s on %s (%s) skipped: %s", llm, hardware, target, exc)
            done[target] = {"skipped": str(exc)}
            continue
        done[target] = {"selected": out["selected"], "fit_ids": {f: fit.pk for f, fit in out["fits"].items()}}
    return done


# Run (or resume) one profiling run on its hardware's queue (energyweb/jobs/service.register_job_task).
run_profiling = job_service.register_job_task(
    "profiling.run_profiling", "profiling.ProfilingRun", "profiling.services.profiling_runs:run_body",
    soft_time_limit=settings.LONG_JOB_SOFT_TIME_LIMIT_S, grace_s=300)

# Import one stored upload (services/import_jobs.py, energyweb/jobs/uploads.py).
run_measurement_import = uploads.register_task("profiling.run_measurement_import", "profiling.MeasurementImportJob")
