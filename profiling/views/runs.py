"""Pages for profiling runs: start one, follow it live, cancel it (thin views over the service)."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from energyweb.csvsafe import safe_cell
from energyweb.jobs.usecases import JobEnded, cancel_job
from energyweb.permissions import require_staff
from profiling.choices import Dtype, InferenceBackend, SweepDesign
from profiling.models import LLM, Hardware, Measurement, ProfilingRun
from profiling.services import profiling_runs
from profiling.services.coverage import coverage_summary


class RunForm(forms.Form):
    llm = forms.ModelChoiceField(LLM.objects.order_by("name"), label="LLM")
    hardware = forms.ModelChoiceField(Hardware.objects.filter(is_reference=False).order_by("name"),
                                      help_text="A registered host; its worker consumes hw.<slug>.")
    backend = forms.ChoiceField(choices=InferenceBackend.choices, initial=InferenceBackend.HF)
    # A coverage run is designed from a workload (its page or a plan's), never from cell lists typed here.
    design = forms.ChoiceField(choices=[c for c in SweepDesign.choices if c[0] != SweepDesign.COVERAGE],
                               initial=SweepDesign.GRID_SMALL)
    input_tokens = forms.CharField(required=False, help_text="Custom design: e.g. 8,32,128")
    output_tokens = forms.CharField(required=False, help_text="Custom design: e.g. 8,32,128")
    min_trials = forms.IntegerField(required=False, min_value=1, max_value=profiling_runs.MAX_TRIALS_PER_CELL,
                                    help_text="Default: the design's (grid-small 3, paper designs 3)")
    max_trials = forms.IntegerField(required=False, min_value=1, max_value=profiling_runs.MAX_TRIALS_PER_CELL,
                                    help_text="Default: the design's (grid-small 3, paper designs 25)")
    ci_tolerance_s = forms.FloatField(required=False, min_value=0, max_value=3600, label="CI tolerance (s)",
                                      help_text="Stop a cell once the 95% CI half-width of runtime is below this")
    warmup_trials = forms.IntegerField(required=False, min_value=0, max_value=10)
    batch_size = forms.IntegerField(required=False, min_value=1, max_value=1024)
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    dtype = forms.ChoiceField(choices=Dtype.choices, initial=Dtype.AUTO)
    use_cache = forms.BooleanField(required=False, initial=True, label="KV cache")

    PARAMS = ("batch_size", "min_trials", "max_trials", "ci_tolerance_s", "warmup_trials", "seed",
              "input_tokens", "output_tokens")

    def params(self) -> dict:
        return {k: self.cleaned_data[k] for k in self.PARAMS if self.cleaned_data.get(k) not in (None, "")}


@login_required
def run_list(request):
    runs = ProfilingRun.objects.select_related("llm", "hardware").order_by("-created", "-id")[:200]
    return render(request, "profiling/run_list.html", {"runs": runs})


@login_required
def run_new(request):
    require_staff(request, "Only staff may start profiling runs (they occupy the hardware).")
    initial = {k: request.GET[k] for k in ("llm", "hardware") if request.GET.get(k, "").isdigit()}
    # Ready to go on a CPU host: the weight-free tiny model profiles here in under a minute.
    initial.setdefault("llm", LLM.objects.filter(name="tiny-random-llama").values_list("pk", flat=True).first())
    form = RunForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            run = profiling_runs.create_run(d["llm"], d["hardware"], backend=d["backend"], design=d["design"],
                                            params=form.params(), dtype=d["dtype"], use_cache=d["use_cache"],
                                            user=request.user)
        except profiling_runs.RunParameterError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Profiling run #{run.pk} queued on {run.job_queue()}.")
            return redirect(run)
    status = 400 if request.method == "POST" else 200
    return render(request, "profiling/run_new.html", {"form": form}, status=status)


@login_required
def run_detail(request, pk):
    run = get_object_or_404(ProfilingRun.objects.select_related("llm", "hardware"), pk=pk)
    return render(request, "profiling/run_detail.html", {
        "run": run, "status": run.status_payload(), "estimated": (run.summary or {}).get("estimated"),
        "hardware_online": run.hardware.is_online, "coverage": coverage_summary(run),
    })


@login_required
def run_status(request, pk):
    return JsonResponse(get_object_or_404(ProfilingRun, pk=pk).status_payload())


def _rows(run):
    return Measurement.objects.filter(profiling_run=run).order_by("id").values(
        "id", "cell_index", "trial_index", "is_warmup", "input_tokens", "output_tokens", "batch_size",
        "runtime_s", "total_energy_j", "gpu_energy_source", "cpu_energy_source", "is_estimated")


@login_required
def run_measurements(request, pk):
    """The run's trials so far (the live chart polls this), or a CSV download with ?format=csv."""
    run = get_object_or_404(ProfilingRun, pk=pk)
    rows = list(_rows(run))
    if request.GET.get("format") == "csv":
        resp = HttpResponse(content_type="text/csv")
        resp["Content-Disposition"] = f'attachment; filename="profiling-run-{run.pk}.csv"'
        fields = list(rows[0]) if rows else ["id"]
        writer = csv.DictWriter(resp, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)  # one escaper for every CSV
        return resp
    return JsonResponse({"run": run.status_payload(), "measurements": rows})


@login_required
@require_POST
def run_cancel(request, pk):
    run = get_object_or_404(ProfilingRun, pk=pk)
    try:
        cancel_job(run, request.user, noun="run")
    except JobEnded as exc:
        messages.warning(request, str(exc))
    else:
        messages.info(request, f"Profiling run #{run.pk} cancelled; it stops after its current trial.")
    return redirect(run)


urlpatterns = [
    path("profiling/", run_list, name="run-list"),
    path("profiling/new/", run_new, name="run-new"),
    path("profiling/<int:pk>/", run_detail, name="run-detail"),
    path("profiling/<int:pk>/status.json", run_status, name="run-status"),
    path("profiling/<int:pk>/measurements.json", run_measurements, name="run-measurements"),
    path("profiling/<int:pk>/cancel/", run_cancel, name="run-cancel"),
]
