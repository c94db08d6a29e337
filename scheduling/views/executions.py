"""Pages for executions of plans: start one from the plan page, follow it, read its report (thin views)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from energyweb.jobs.usecases import JobEnded, cancel_job
from energyweb.permissions import may_manage_job, require_staff
from scheduling.models import Execution, ScheduleJob
from scheduling.services import execution as ex
from scheduling.services import execution_report


class ExecuteForm(forms.Form):
    batch_size = forms.IntegerField(min_value=1, max_value=ex.MAX_BATCH_SIZE, initial=8,
                                    help_text="Queries metered together in one window.")
    drift_threshold_pct = forms.FloatField(min_value=0.01, max_value=1000, required=False,
                                           label="Drift threshold (%)",
                                           help_text="Flag a deployment whose MAPE exceeds this.")


class ThresholdForm(forms.Form):
    drift_threshold_pct = forms.FloatField(min_value=0.01, max_value=1000, label="Drift threshold (%)")


EXECUTORS = "Only staff may execute plans or refit models (they occupy the hosts)."


@login_required
@require_POST
def execution_new(request, pk):
    require_staff(request, EXECUTORS)
    job = get_object_or_404(ScheduleJob, pk=pk)
    form = ExecuteForm(request.POST)
    if form.is_valid():
        try:
            execution = ex.create_execution(job, form.cleaned_data["batch_size"], user=request.user,
                                            drift_threshold_pct=form.cleaned_data.get("drift_threshold_pct"))
        except ex.ExecutionError as exc:
            messages.error(request, f"Not executed: {exc}")
        else:
            messages.success(request, f"Execution #{execution.pk} queued on "
                             + ", ".join(sorted({j.job_queue() for j in execution.jobs.all()})) + ".")
            return redirect(execution)
    else:
        messages.error(request, "Not executed: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect(job)


@login_required
def execution_detail(request, pk):
    execution = get_object_or_404(Execution.objects.select_related("schedule_job__workload"), pk=pk)
    rep = execution_report.report(execution)
    can_cancel = may_manage_job(request.user, execution)
    return render(request, "scheduling/execution_detail.html", {
        "execution": execution, "job": execution.schedule_job, "report": rep, "can_cancel": can_cancel,
        "threshold_form": ThresholdForm(initial={"drift_threshold_pct": execution.drift_threshold_pct}),
    })


@login_required
def execution_report_json(request, pk):
    execution = get_object_or_404(Execution, pk=pk)
    rep = execution_report.report(execution)
    if request.GET.get("download"):
        resp = HttpResponse(json.dumps(rep, indent=2), content_type="application/json")
        resp["Content-Disposition"] = f'attachment; filename="execution-{execution.pk}-report.json"'
        return resp
    return JsonResponse(rep)


@login_required
def execution_report_csv(request, pk):
    execution = get_object_or_404(Execution, pk=pk)
    resp = HttpResponse(execution_report.report_csv(execution_report.report(execution, scatter=False)),
                        content_type="text/csv")
    resp["Content-Disposition"] = f'attachment; filename="execution-{execution.pk}-report.csv"'
    return resp


@login_required
def execution_queries_csv(request, pk):
    execution = get_object_or_404(Execution, pk=pk)
    resp = StreamingHttpResponse(execution_report.queries_csv_lines(execution), content_type="text/csv")
    resp["Content-Disposition"] = f'attachment; filename="execution-{execution.pk}-queries.csv"'
    return resp


@login_required
@require_POST
def execution_cancel(request, pk):
    execution = get_object_or_404(Execution, pk=pk)
    try:
        cancel_job(execution, request.user, noun="execution", cancel=ex.cancel)
    except JobEnded as exc:
        messages.warning(request, str(exc))
    else:
        messages.info(request, f"Execution #{execution.pk} cancelled; each part stops before its next batch.")
    return redirect(execution)


@login_required
@require_POST
def execution_refit(request, pk):
    require_staff(request, EXECUTORS)
    execution = get_object_or_404(Execution, pk=pk)
    pairs = ex.request_refit(execution)
    messages.info(request, f"Refit requested for {len(pairs)} LLM and hardware pair(s) on the default queue.")
    return redirect(execution)


@login_required
@require_POST
def execution_threshold(request, pk):
    require_staff(request, EXECUTORS)
    execution = get_object_or_404(Execution, pk=pk)
    form = ThresholdForm(request.POST)
    if form.is_valid():
        Execution.objects.filter(pk=pk).update(drift_threshold_pct=form.cleaned_data["drift_threshold_pct"])
        messages.info(request, "Drift threshold updated.")
    else:
        messages.error(request, "Drift threshold: " + " ".join(form.errors.get("drift_threshold_pct", [])))
    return redirect(execution)


urlpatterns = [
    path("plans/<int:pk>/execute/", execution_new, name="execution-new"),
    path("executions/<int:pk>/", execution_detail, name="execution-detail"),
    path("executions/<int:pk>/report.json", execution_report_json, name="execution-report"),
    path("executions/<int:pk>/report.csv", execution_report_csv, name="execution-report-csv"),
    path("executions/<int:pk>/queries.csv", execution_queries_csv, name="execution-queries"),
    path("executions/<int:pk>/cancel/", execution_cancel, name="execution-cancel"),
    path("executions/<int:pk>/refit/", execution_refit, name="execution-refit"),
    path("executions/<int:pk>/threshold/", execution_threshold, name="execution-threshold"),
]
