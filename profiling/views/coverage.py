"""Coverage runs from a workload's page and a plan's page (thin: the service designs and queues them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from energyweb.permissions import require_staff
from profiling.models import LLM, Hardware
from profiling.services import coverage
from profiling.services.profiling_runs import RunParameterError

STAFF_ONLY = "Only staff may start profiling runs (they occupy the hardware)."


def _target(request) -> float:
    try:
        value = float(request.POST.get("target_share") or coverage.DEFAULT_TARGET)
    except ValueError:
        raise RunParameterError("target_share: a number such as 0.05.", "target_share") from None
    return value


@login_required
@require_POST
def cover_workload(request, pk):
    """Start a coverage run of the workload for the chosen (LLM, hardware) pair."""
    require_staff(request, STAFF_ONLY)
    workload = coverage.find("workload", pk)
    if workload is None:
        raise Http404("No such workload.")
    llm = LLM.objects.filter(pk=request.POST.get("llm") or 0).first()
    hardware = Hardware.objects.filter(pk=request.POST.get("hardware") or 0, is_reference=False).first()
    try:
        if llm is None:
            raise RunParameterError("llm: choose an LLM.", "llm")
        if hardware is None:
            raise RunParameterError("hardware: choose a registered (non-reference) host.", "hardware")
        run = coverage.start_coverage_run(llm, hardware, workload, target=_target(request), user=request.user)
    except RunParameterError as exc:
        messages.error(request, f"{exc.field}: {exc}" if not str(exc).startswith(f"{exc.field}:") else str(exc))
        return redirect(workload)
    messages.success(request, f"Coverage run #{run.pk} queued on {run.job_queue()}: {run.cells_total} cells.")
    return redirect(run)


@login_required
@require_POST
def cover_plan(request, pk):
    """One coverage run per (LLM, hardware) pair of the plan that a worker can profile."""
    require_staff(request, STAFF_ONLY)
    job = coverage.find("plan", pk)
    if job is None:
        raise Http404("No such plan.")
    pairs = {(d.llm, d.hardware) for d in job.deployments.select_related("llm", "hardware")}
    started = 0
    for llm, hardware in sorted(pairs, key=lambda p: (p[0].name, p[1].name)):
        if hardware.is_reference:
            messages.info(request, f"{llm} on {hardware}: a reference system from the literature, no worker "
                                   "runs there; not measured.")
            continue
        try:
            run = coverage.start_coverage_run(llm, hardware, job.workload, target=_target(request),
                                              plan_id=job.pk, user=request.user)
        except RunParameterError as exc:
            messages.warning(request, f"{llm} on {hardware}: {exc}")
        else:
            started += 1
            messages.success(request, f"Coverage run #{run.pk} for {llm} on {hardware} queued on "
                                      f"{run.job_queue()}: {run.cells_total} cells.")
    if not started and not pairs:
        messages.warning(request, "This plan has no deployments left to measure.")
    return redirect(job)


def card_rows(runs) -> list[dict]:
    """What the coverage card shows per run: the shares before, projected and (once done) after."""
    rows = []
    for run in runs[:10]:
        cov = coverage.coverage_summary(run) or {}
        rows.append({"run": run, **cov})
    return rows


urlpatterns = [
    path("profiling/cover/workload/<int:pk>/", cover_workload, name="cover-workload"),
    path("profiling/cover/plan/<int:pk>/", cover_plan, name="cover-plan"),
]
