import csv
import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from energyweb.csvsafe import safe_cell
from energyweb.jobs.usecases import JobEnded, cancel_job
from energyweb.permissions import IMPORT_FOLLOWERS, may_manage_job, require_staff
from scheduling.forms import WorkloadGenerateForm, WorkloadUploadForm
from scheduling.models import Workload, WorkloadImportJob
from scheduling.services import workload_jobs
from scheduling.services.generator import GeneratorError, generate_workload
from scheduling.services.plan_checks import QuotaExceeded
from scheduling.services.workloads import WorkloadFileError, stats_rows


@login_required
def workload_list(request):
    return render(request, "scheduling/workload_list.html", {"workloads": Workload.objects.all()})


@login_required
def workload_upload(request):
    require_staff(request)
    file_errors = None
    status = 400 if request.method == "POST" else 200
    limit_mb = int(settings.MAX_UPLOAD_MB)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if request.method == "POST" and length > (limit_mb + 1) * 1024 * 1024:
        # Refuse before Django spools a huge body to disk (the form check below needs the file).
        # The form stays unbound (add_error on an unbound form raised, a 500): the message
        # goes under the file field.
        form = WorkloadUploadForm()
        file_errors = WorkloadFileError(
            f"The upload is {length / 1048576:.0f} MB, above the limit of {limit_mb} MB "
            "(ENERGYWEB_MAX_UPLOAD_MB); compress it with gzip or split it.")
        status = 413
    elif request.method == "POST":
        form = WorkloadUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                done = workload_jobs.submit_workload(upload, form.cleaned_data["name"],
                                                     description=form.cleaned_data["description"], user=request.user)
            except QuotaExceeded as exc:
                form.add_error(None, str(exc))
                status = 429
            except WorkloadFileError as exc:
                if exc.field == "name":
                    form.add_error("name", str(exc))
                else:
                    file_errors = exc
                    form.add_error("file", str(exc))
            else:
                if done.queued:
                    messages.info(request, f"{done.job.filename} is being imported in the background "
                                           f"(import #{done.job.pk}).")
                    return redirect(done.job)
                wl = done.result
                messages.success(request, f"Imported {wl.n_queries:,} queries into {wl.name}.")
                return redirect(wl)
    else:
        form = WorkloadUploadForm()
    return render(request, "scheduling/workload_upload.html", {"form": form, "file_errors": file_errors,
                                                            "max_upload_mb": limit_mb,
                                                            "sync_max_kb": settings.IMPORT_SYNC_MAX_BYTES // 1024},
                  status=status)


def _own_import(request, pk) -> WorkloadImportJob:
    job = get_object_or_404(WorkloadImportJob.objects.select_related("workload"), pk=pk)
    if not may_manage_job(request.user, job):
        raise PermissionDenied(IMPORT_FOLLOWERS)
    return job


@login_required
def workload_import_job(request, pk):
    job = _own_import(request, pk)
    result = job.result or {}
    errors = None
    if job.status == "failed" and "errors" in result:
        errors = WorkloadFileError(result.get("detail") or job.error, result["errors"], result.get("error_count"))
    return render(request, "scheduling/workload_import_job.html",
                  {"job": job, "status": job.status_payload(), "errors": errors})


@login_required
@require_POST
def workload_import_job_cancel(request, pk):
    job = _own_import(request, pk)
    try:
        cancel_job(job, request.user, noun="import")
    except JobEnded as exc:
        messages.warning(request, str(exc))
    else:
        messages.info(request, f"Workload import #{job.pk} cancelled; nothing it read is stored.")
    return redirect(job)


@login_required
def workload_import_job_status(request, pk):
    return JsonResponse(_own_import(request, pk).status_payload())


@login_required
def workload_generate(request):
    require_staff(request)
    if request.method == "POST":
        form = WorkloadGenerateForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                wl = generate_workload(d["name"], d["n"], d["tin"], d["tout"], d["seed"], user=request.user)
            except GeneratorError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, f"Generated synthetic workload {wl.name}.")
                return redirect(wl)
    else:
        form = WorkloadGenerateForm()
    return render(request, "scheduling/workload_generate.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
def workload_detail(request, pk):
    from profiling.models import LLM, Hardware
    from profiling.services.coverage import runs_for_workload
    from profiling.views.coverage import card_rows

    wl = get_object_or_404(Workload, pk=pk)
    return render(request, "scheduling/workload_detail.html", {
        "wl": wl, "hist": wl.histograms, "jobs": wl.jobs.all()[:20],
        "coverage_rows": card_rows(runs_for_workload(wl.pk)),
        "coverage_llms": LLM.objects.order_by("name"),
        "coverage_hosts": Hardware.objects.filter(is_reference=False).order_by("name"),
    })


@login_required
@require_POST
def workload_delete(request, pk):
    require_staff(request)
    wl = get_object_or_404(Workload, pk=pk)
    name = wl.name
    wl.delete()
    messages.success(request, f"Deleted workload {name} and its plans.")
    return redirect(reverse("scheduling:workload-list"))


@login_required
def workload_stats(request, pk, fmt):
    if fmt not in ("csv", "json"):
        raise Http404("Statistics come as stats.csv or stats.json.")
    wl = get_object_or_404(Workload, pk=pk)
    if fmt == "json":
        resp = JsonResponse({"name": wl.name, "is_synthetic": wl.is_synthetic, "stats": wl.stats,
                             "histograms": wl.histograms, "content_sha256": wl.content_sha256},
                            json_dumps_params={"indent": 2})
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["column", "bin_low", "bin_high", "count"])
        writer.writeheader()
        writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in stats_rows(wl))
        resp = HttpResponse(buf.getvalue(), content_type="text/csv")
    resp["Content-Disposition"] = f'attachment; filename="workload-{wl.pk}-stats.{fmt}"'
    return resp



urlpatterns = [
    path("workloads/", workload_list, name="workload-list"),
    path("workloads/upload/", workload_upload, name="workload-upload"),
    path("workloads/generate/", workload_generate, name="workload-generate"),
    path("workloads/import-jobs/<int:pk>/", workload_import_job, name="workload-import-job"),
    path("workloads/import-jobs/<int:pk>/cancel/", workload_import_job_cancel, name="workload-import-job-cancel"),
    path("workloads/import-jobs/<int:pk>/status.json", workload_import_job_status,
         name="workload-import-job-status"),
    path("workloads/<int:pk>/", workload_detail, name="workload-detail"),
    path("workloads/<int:pk>/delete/", workload_delete, name="workload-delete"),
    path("workloads/<int:pk>/stats.<str:fmt>", workload_stats, name="workload-stats"),
]
