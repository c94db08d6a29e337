"""Owed refits: request one for a pair (a row, woken on the default queue) and the job body that fits."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus

log = logging.getLogger(__name__)


def request_refit(llm_id: int, hardware_id: int, *, include_estimated: bool = False, reason: str = ""):
    """Record that the pair is owed a refit and wake a worker once the caller's transaction commits.

    A pair already owed one (a pending row) keeps that row: the data it will read is whatever is
    committed when it runs, so one refit serves every request made before it starts."""
    from profiling.models import RefitJob

    pending = {"llm_id": llm_id, "hardware_id": hardware_id, "status": JobStatus.PENDING}
    with transaction.atomic():
        job = RefitJob.objects.select_for_update().filter(**pending).first()
        if job is None:
            try:
                with transaction.atomic():
                    job = RefitJob.objects.create(llm_id=llm_id, hardware_id=hardware_id, steps_total=2,
                                                  include_estimated=include_estimated, reason=reason[:80])
            except IntegrityError:  # another request created it meanwhile
                job = RefitJob.objects.get(**pending)
            else:
                job_service.submit(job)
                return job
        if include_estimated and not job.include_estimated:
            RefitJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(include_estimated=True)
    return job


def refit_now(llm, hardware, include_estimated: bool = False) -> dict:
    """Refit every form of the pair for energy and runtime, here; per target the result or why skipped."""
    from profiling.fitting.regression import FitError
    from profiling.services.fitting import fit_pair

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


def run_body(job, handle) -> None:
    """The job body (energyweb/jobs/service.run_claimed): fit, then record the result under the claim."""
    handle.progress(1)
    result = refit_now(job.llm, job.hardware, include_estimated=job.include_estimated)
    handle.finish(steps_done=2, result=result)


def mark_stale(pairs) -> int:
    """Mark the fitted fits of (llm_id, hardware_id) pairs stale after their data was deleted.

    Unselected too, so the pair has no fit to use until it is refitted; the refit is
    queued (after commit) for pairs that still have measurements.
    """
    from profiling.choices import FitSource
    from profiling.models import EnergyModelFit, Measurement

    marked = 0
    for llm_id, hardware_id in sorted(pairs):
        marked += EnergyModelFit.objects.filter(llm_id=llm_id, hardware_id=hardware_id, source=FitSource.FITTED,
                                                is_stale=False).update(is_stale=True, is_selected=False)
        if Measurement.objects.filter(llm_id=llm_id, hardware_id=hardware_id).exists():
            request_refit(llm_id, hardware_id, reason="measurements deleted")
    return marked
