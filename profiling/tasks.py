"""Thin Celery tasks of the profiling app: load rows by id, call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from energyweb.jobs.registry import task

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


# The job kinds' tasks are created by the registry (ProfilingConfig.ready(), energyweb/jobs/registry.py),
# named from the model label; these names are for callers that run one in this process (tests).
run_refit = task("profiling.RefitJob")
run_profiling = task("profiling.ProfilingRun")
run_measurement_import = task("profiling.MeasurementImportJob")
