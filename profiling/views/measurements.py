"""Pages for measurements: the filtered list with downloads, import batches, and the upload page."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from energyweb.csvsafe import safe_row
from energyweb.jobs.usecases import JobEnded, cancel_job
from energyweb.permissions import staff_required
from profiling.forms import ImportForm, MeasurementFilter
from profiling.models import ImportBatch, Measurement, MeasurementImportJob
from profiling.services import import_jobs
from profiling.services.measurement_import import (
    OWN_COLUMNS,
    PAPER_COLUMNS,
    ImportFailed,
)

# Download columns: the importer's own columns first, so a download imports back as it is.
EXPORT_FIELDS = [
    ("llm", "llm__name"), ("hardware", "hardware__name"), ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"), ("batch_size", "batch_size"), ("runtime_s", "runtime_s"),
    ("gpu_energy_j", "gpu_energy_j"), ("cpu_energy_j", "cpu_energy_j"), ("dram_energy_j", "dram_energy_j"),
    ("gpu_energy_source", "gpu_energy_source"), ("cpu_energy_source", "cpu_energy_source"),
    ("dram_energy_source", "dram_energy_source"), ("iteration", "iteration"), ("is_warmup", "is_warmup"),
    ("measured_at", "measured_at"), ("total_energy_j", "total_energy_j"),
    ("energy_estimated", "is_estimated"), ("import_batch", "import_batch_id"), ("id", "id"),
]


def _filtered(request):
    # File order (the primary key) pages by index; sorting a million rows by name does not.
    qs = Measurement.objects.select_related("llm", "hardware").order_by("id")
    return MeasurementFilter(request.GET or None, queryset=qs)


@login_required
def measurement_list(request):
    f = _filtered(request)
    page = Paginator(f.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    batches = ImportBatch.objects.select_related("created_by").annotate(warmups=F("warmup_rows"), estimated=F("estimated_rows")).order_by("-created", "-id")[:50]
    return render(request, "profiling/measurement_list.html", {
        "filter": f, "page": page, "query": query.urlencode(), "batches": batches,
        # One COUNT over a large table is enough when no filter narrows it.
        "total": Measurement.objects.count() if f.is_bound else page.paginator.count,
    })


def _json_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


@login_required
def measurement_download(request, fmt):
    if fmt not in ("csv", "json"):
        raise Http404
    f = _filtered(request)
    if f.is_bound and not f.is_valid():
        raise Http404("invalid filter")
    rows = f.qs.values_list(*[src for _, src in EXPORT_FIELDS]).iterator(chunk_size=5000)
    header = [name for name, _ in EXPORT_FIELDS]
    if fmt == "csv":
        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())
        stream = (writer.writerow(safe_row(r)) for r in _with_header(header, rows))
        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json_stream(header, rows), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="measurements.{fmt}"'
    return response


def _with_header(header, rows):
    yield header
    yield from rows


def _json_stream(header, rows):
    """A JSON array streamed row by row, so a large download never sits in memory."""
    yield "["
    first = True
    for r in rows:
        yield ("" if first else ",\n") + json.dumps({k: _json_value(v) for k, v in zip(header, r, strict=True)})
        first = False
    yield "]\n"


@staff_required
@require_http_methods(["GET", "POST"])
def measurement_import(request):
    errors = None
    summary = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            options = dict(llm=data["llm"].name if data["llm"] else None,
                           hardware=data["hardware"].name if data["hardware"] else None,
                           create_missing=data["create_missing"],
                           negative_energy="error" if data["strict_energy"] else "drop", user=request.user,
                           allow_duplicate=data["allow_duplicate"])
            try:
                done = import_jobs.submit_measurements(data["file"], **options)
            except ImportFailed as exc:
                errors = exc
            else:
                if done.queued:
                    messages.info(request, f"{done.job.filename} is being imported in the background "
                                           f"(import #{done.job.pk}).")
                    return redirect(done.job)
                summary = done.result
                messages.success(request, f"Imported {summary.rows} measurement(s) from {summary.filename} "
                                          f"as batch #{summary.batch_id}.")
                form = ImportForm()
    else:
        form = ImportForm()
    status = 400 if errors is not None or (request.method == "POST" and form.errors) else 200
    if errors is not None and errors.duplicate_of is not None:
        status = 409  # as the API: the rows are stored already, by the batch the message names
    paper = {}
    for title, canonical in PAPER_COLUMNS.items():
        paper.setdefault(canonical, title)
    columns = [(name, text, PAPER_TITLES.get(paper.get(name), "")) for name, text in OWN_COLUMNS.items()]
    return render(request, "profiling/measurement_import.html",
                  {"form": form, "errors": errors, "summary": summary, "columns": columns}, status=status)


@staff_required
def import_job(request, pk):
    job = get_object_or_404(MeasurementImportJob, pk=pk)
    result = job.result or {}
    errors = None
    if job.status == "failed" and "errors" in result:
        errors = {**result, "more": result["error_count"] - len(result["errors"])}
    summary = result if job.status == "succeeded" and "pairs" in result else None
    return render(request, "profiling/import_job.html", {
        "job": job, "status": job.status_payload(), "errors": errors, "summary": summary})


@staff_required
def import_job_status(request, pk):
    return JsonResponse(get_object_or_404(MeasurementImportJob, pk=pk).status_payload())


# The paper's headers as its files spell them (PAPER_COLUMNS holds them lower-cased for matching).
PAPER_TITLES = {
    "model": "Model", "system": "System", "number of input tokens": "Number of Input Tokens",
    "number of output tokens": "Number of Output Tokens", "batch size": "Batch Size",
    "runtime (s)": "Runtime (s)", "gpu energy (j)": "GPU Energy (J)", "cpu energy (j)": "CPU Energy (J)",
    "dram energy (j)": "DRAM Energy (J)", "iteration": "Iteration", "phase": "Phase",
}


@staff_required
@require_http_methods(["GET", "POST"])
def batch_delete(request, pk):
    batch = get_object_or_404(ImportBatch, pk=pk)
    if request.method == "POST":
        count = batch.measurements.count()
        name = str(batch)
        batch.delete()
        messages.success(request, f"Deleted batch #{pk} ({name}) and its {count} measurement(s).")
        return redirect(reverse("profiling:measurement-list"))
    return render(request, "profiling/measurement_batch_confirm_delete.html",
                  {"batch": batch, "count": batch.measurements.count()})


@staff_required
@require_POST
def import_job_cancel(request, pk):
    job = get_object_or_404(MeasurementImportJob, pk=pk)
    try:
        cancel_job(job, request.user, noun="import")
    except JobEnded as exc:
        messages.warning(request, str(exc))
    else:
        messages.info(request, f"Import #{job.pk} cancelled; nothing it read is written.")
    return redirect(job)


urlpatterns = [
    path("measurements/", measurement_list, name="measurement-list"),
    path("measurements/import/", measurement_import, name="measurement-import"),
    path("measurements/import/jobs/<int:pk>/", import_job, name="import-job"),
    path("measurements/import/jobs/<int:pk>/status.json", import_job_status, name="import-job-status"),
    path("measurements/import/jobs/<int:pk>/cancel/", import_job_cancel, name="import-job-cancel"),
    path("measurements/download.<str:fmt>", measurement_download, name="measurement-download"),
    path("measurements/batches/<int:pk>/delete/", batch_delete, name="importbatch-delete"),
]
