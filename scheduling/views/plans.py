import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from energyweb.jobs.usecases import JobEnded, cancel_job
from energyweb.permissions import is_staff
from scheduling.forms import PlanForm
from scheduling.models import ScheduleJob
from scheduling.services import jobs
from scheduling.services.plan_checks import QuotaExceeded
from scheduling.services.plans import submit_plan
from scheduling.services.reference_deployments import ensure_reference_deployments


@login_required
def plan_list(request):
    qs = ScheduleJob.objects.select_related("workload").prefetch_related("deployments")
    return render(request, "scheduling/plan_list.html", {"jobs": qs[:200]})


@login_required
def plan_new(request):
    # Any signed-in user may plan: a job computes on existing inventory and changes none of it.
    # Adding the reference deployments creates Deployment rows, an inventory write: staff only.
    # Ticked by default: `make run` seeds the reference deployments, so a first plan needs no other step.
    initial = {"add_reference": True}
    if request.GET.get("workload"):
        initial["workload"] = request.GET["workload"]
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        deployments = list(form.cleaned_data["deployments"])
        if form.cleaned_data.get("add_reference"):
            # Everyone may plan on the existing ones; only staff may create missing ones.
            reference = ensure_reference_deployments(create=is_staff(request.user))
            if reference is None:
                form.add_error("add_reference", "Only staff may add the reference deployments; choose existing "
                                                "deployments, or ask staff to add them.")
                return render(request, "scheduling/plan_new.html", {"form": form}, status=403)
            seen = {d.pk for d in deployments}
            deployments += [d for d in reference if d.pk not in seen]
        try:
            if not deployments:
                raise jobs.JobParameterError("No reference deployments with published models exist.",
                                             "deployments")
            job = submit_plan(form.cleaned_data["workload"], deployments, form.cleaned_data["objective"],
                              form.parameters(), user=request.user)
        except QuotaExceeded as exc:
            form.add_error(None, str(exc))
            return render(request, "scheduling/plan_new.html", {"form": form}, status=429)
        except jobs.JobParameterError as exc:
            field = exc.field if exc.field in form.fields else ("zeta" if exc.field == "zetas" else None)
            form.add_error(field, str(exc))
        else:
            messages.success(request, f"Plan #{job.pk} queued.")
            return redirect(job)
    status = 400 if request.method == "POST" else 200
    return render(request, "scheduling/plan_new.html", {"form": form}, status=status)


@login_required
def plan_detail(request, pk):
    job = get_object_or_404(ScheduleJob.objects.select_related("workload"), pk=pk)
    results = job.results or {}
    from profiling.services.coverage import runs_for_plan
    from profiling.views.coverage import card_rows

    ctx = {"job": job, "status": job.status_payload(), "results": results,
           "coverage_rows": card_rows(runs_for_plan(job.pk))}
    if results.get("plans"):
        ctx["summary"] = jobs.summary(results)
        ctx["primary"] = primary = results["plans"][results["primary_index"]]
        minimums = results.get("minimum_counts") or {}
        ctx["at_minimum"] = [key for key, n in primary.get("counts", {}).items()
                             if minimums.get(key) and n == minimums[key]]
        ctx["paper_minimum"] = bool((job.parameters or {}).get("paper_default_shares", True)) and all(
            minimums[key] == 1 for key in ctx["at_minimum"])
    return render(request, "scheduling/plan_detail.html", ctx)


@login_required
@require_POST
def plan_cancel(request, pk):
    job = get_object_or_404(ScheduleJob, pk=pk)
    try:
        cancel_job(job, request.user)
    except JobEnded as exc:
        messages.warning(request, str(exc))
    else:
        messages.info(request, f"Plan #{job.pk} cancelled.")
    return redirect(job)


@login_required
def plan_status(request, pk):
    return JsonResponse(get_object_or_404(ScheduleJob, pk=pk).status_payload())


@login_required
def plan_summary(request, pk):
    job = get_object_or_404(ScheduleJob, pk=pk)
    if not job.results.get("plans"):
        raise Http404("This plan has no results yet.")
    body = {"job": job.status_payload(), "workload": job.workload.name, **jobs.summary(job.results)}
    resp = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
    resp["Content-Disposition"] = f'attachment; filename="plan-{job.pk}-summary.json"'
    return resp


@login_required
def plan_energy_csv(request, pk):
    """The plan's energy by deployment and in total, each with its 95% interval."""
    job = get_object_or_404(ScheduleJob, pk=pk)
    if not job.results.get("plans"):
        raise Http404("This plan has no results yet.")
    resp = HttpResponse(jobs.energy_csv(job.results), content_type="text/csv")
    resp["Content-Disposition"] = f'attachment; filename="plan-{job.pk}-energy.csv"'
    return resp


def assignment_response(job, plan_index=None):
    if not job.assignment_file:
        raise Http404("This plan has no assignment yet.")
    try:
        lines = jobs.assignment_csv_lines(job, plan_index)
        first = next(lines)  # raises IndexError for a plan index out of range, before streaming
    except IndexError as exc:
        raise Http404(str(exc)) from exc

    def stream():
        yield first
        yield from lines

    resp = StreamingHttpResponse(stream(), content_type="text/csv")
    suffix = "" if plan_index is None else f"-plan{plan_index}"
    resp["Content-Disposition"] = f'attachment; filename="plan-{job.pk}-assignment{suffix}.csv"'
    return resp


@login_required
def plan_assignment(request, pk):
    job = get_object_or_404(ScheduleJob.objects.select_related("workload"), pk=pk)
    index = request.GET.get("plan")
    if index is not None and not index.isdigit():
        raise Http404("plan must be a plan index.")
    return assignment_response(job, None if index is None else int(index))


urlpatterns = [
    path("plans/", plan_list, name="plan-list"),
    path("plans/new/", plan_new, name="plan-new"),
    path("plans/<int:pk>/", plan_detail, name="plan-detail"),
    path("plans/<int:pk>/status.json", plan_status, name="plan-status"),
    path("plans/<int:pk>/cancel/", plan_cancel, name="plan-cancel"),
    path("plans/<int:pk>/summary.json", plan_summary, name="plan-summary"),
    path("plans/<int:pk>/assignment.csv", plan_assignment, name="plan-assignment"),
    path("plans/<int:pk>/energy.csv", plan_energy_csv, name="plan-energy-csv"),
]
