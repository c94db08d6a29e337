"""Profiling runs in this process: the real tiny model on the CPU, the real (estimate) meter of this VM.

This VM has no NVML and no readable RAPL, so energy is the CPU-time x TDP estimate,
labelled estimate-tdp on every row; the meters' own tests cover NVML and RAPL.
"""

from __future__ import annotations

import pytest

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from profiling.models import Measurement, ProfilingRun
from profiling.services import profiling_runs
from tests.runs.conftest import SMALL

pytestmark = pytest.mark.django_db


def _run(run):
    handle = job_service.claim(ProfilingRun, run.pk, "test")
    assert handle is not None
    profiling_runs.run_body(ProfilingRun.objects.get(pk=run.pk), handle, refit=False)
    run.refresh_from_db()
    return run


@pytest.mark.parametrize("design, cells, trials", [
    ("grid-small", 16, (3, 3)), ("paper-input-sweep", 9, (3, 25)), ("paper-output-sweep", 10, (3, 25)),
    ("paper-cross", 18, (3, 25)), ("paper-grid", 81, (3, 25)),
])
def test_designs_have_their_cells_and_stopping_rules(design, cells, trials):
    p = profiling_runs.normalise(design, {}, 131072)
    assert len(p["cells"]) == cells and (p["min_trials"], p["max_trials"]) == trials
    assert len({tuple(c) for c in p["cells"]}) == cells


@pytest.mark.parametrize("params, field", [
    ({"max_trials": 0}, "max_trials"), ({"min_trials": 5, "max_trials": 2}, "min_trials"),
    ({"seed": -1}, "seed"), ({"batch_size": True}, "batch_size"), ({"ci_tolerance_s": float("nan")}, "ci_tolerance_s"),
    ({"input_tokens": "8,x", "output_tokens": "8"}, "input_tokens"),
    ({"input_tokens": "8", "output_tokens": "200000"}, "output_tokens"),
])
def test_bad_parameters_are_refused_naming_the_field(host, tiny, params, field):
    design = "custom" if "input_tokens" in params else "grid-small"
    with pytest.raises(profiling_runs.RunParameterError) as err:
        profiling_runs.create_run(tiny, host, design=design, params=params)
    assert err.value.field == field
    assert not ProfilingRun.objects.exists()


def test_reference_systems_cannot_be_profiled(tiny):
    from profiling.models import Hardware

    swing = Hardware.objects.create(name="Swing", slug="swing", is_reference=True)
    with pytest.raises(profiling_runs.RunParameterError) as err:
        profiling_runs.create_run(tiny, swing)
    assert err.value.field == "hardware"


def test_a_run_stores_each_planned_trial_once_labelled_estimated(host, tiny, torch):
    run = _run(profiling_runs.create_run(tiny, host, design="custom", params=SMALL))
    assert run.status == JobStatus.SUCCEEDED, run.error
    rows = Measurement.objects.filter(profiling_run=run)
    # 4 cells x 2 trials, plus one warm-up before the first cell.
    assert rows.filter(is_warmup=False).count() == 8 and rows.filter(is_warmup=True).count() == 1
    assert run.steps_done == run.steps_total == 9 and run.cells_done == run.cells_total == 4
    assert sorted(rows.values_list("cell_index", "trial_index").distinct()) == sorted(
        rows.values_list("cell_index", "trial_index"))
    for m in rows:
        assert m.is_estimated and m.cpu_energy_source == "estimate-tdp" and m.total_energy_j > 0
        assert m.runtime_s > 0 and m.meter["repeats"] >= 1
    assert run.summary["estimated"] and run.summary["energy_sources"] == ["estimate-tdp"]
    assert profiling_runs.summary(run)["measurements"] == 8  # warm-ups are not measurements to fit


def test_a_resumed_run_measures_only_the_missing_trials(host, tiny, torch):
    run = _run(profiling_runs.create_run(tiny, host, design="custom", params=SMALL))
    keep = set(Measurement.objects.filter(profiling_run=run).values_list("pk", flat=True))
    # As if the worker had died after five trials: drop the last four and hand the run back.
    last = list(Measurement.objects.filter(profiling_run=run).order_by("-id").values_list("pk", flat=True)[:4])
    Measurement.objects.filter(pk__in=last).delete()
    ProfilingRun.objects.filter(pk=run.pk).update(status=JobStatus.PENDING, finished=None)
    run = _run(run)
    assert run.status == JobStatus.SUCCEEDED and run.attempts == 2
    rows = Measurement.objects.filter(profiling_run=run)
    assert rows.count() == 9
    assert set(rows.values_list("pk", flat=True)) >= keep - set(last)
    assert set(rows.filter(run_attempt=2).values_list("cell_index", "trial_index")) == set(
        rows.exclude(pk__in=keep).values_list("cell_index", "trial_index"))


def test_a_cancelled_run_stops_at_its_next_trial(host, tiny):
    run = profiling_runs.create_run(tiny, host, design="custom", params=SMALL)
    handle = job_service.claim(ProfilingRun, run.pk, "test")
    assert profiling_runs.cancel(run)
    with pytest.raises(job_service.JobCancelled):
        profiling_runs.run_body(ProfilingRun.objects.get(pk=run.pk), handle, refit=False)
    assert not Measurement.objects.filter(profiling_run=run).exists()


def test_a_second_run_on_the_same_hardware_waits(host, tiny):
    first = profiling_runs.create_run(tiny, host, design="custom", params=SMALL)
    second = profiling_runs.create_run(tiny, host, design="custom", params=SMALL)
    assert job_service.claim(ProfilingRun, first.pk, "a") is not None
    assert job_service.claim(ProfilingRun, second.pk, "b") is None
    second.refresh_from_db()
    assert second.status == JobStatus.PENDING and second.attempts == 0
    assert ProfilingRun.job_is_waiting(second)
    assert ProfilingRun.job_next_in_line(first) == second


def test_profile_command_prints_the_summary_as_json(host, tiny, torch):
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("profile", "--llm", tiny.slug, "--hardware", host.slug, "--design", "custom",
                 "--input-tokens", "4,8", "--output-tokens", "2", "--max-trials", "2", "--min-trials", "2",
                 "--no-refit", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["status"] == "succeeded" and body["trials_planned"] == body["trials_done"] == 5
    assert body["measurements"] == 4 and body["energy_sources"] == ["estimate-tdp"] and body["estimated"]


def test_api_refuses_bad_runs_with_field_keyed_errors_and_non_staff(host, tiny, staff_api, user_api):
    body = {"llm": tiny.slug, "hardware": host.slug, "design": "custom", "input_tokens": [8],
            "output_tokens": [200000]}
    r = staff_api.post("/api/v1/profiling-runs/", body, format="json")
    assert r.status_code == 400 and "output_tokens" in r.json()
    r = staff_api.post("/api/v1/profiling-runs/", {"llm": "nope", "hardware": host.slug}, format="json")
    assert r.status_code == 400 and "llm" in r.json()
    r = user_api.post("/api/v1/profiling-runs/", {"llm": tiny.slug, "hardware": host.slug}, format="json")
    assert r.status_code == 403
    assert not ProfilingRun.objects.exists()
    assert user_api.get("/api/v1/profiling-runs/").status_code == 200


def test_a_gpu_host_warms_up_until_two_warmups_agree_and_a_cpu_host_once(host, tiny, torch):
    """The hardware row says GPU (this VM has none: the tiny model still runs on the CPU, which is all this
    test needs): its runs keep warming up until two successive warm-ups agree within 10%."""
    from profiling.models import Hardware

    gpu_host = Hardware.objects.create(name="Stand-in GPU host", slug="standin-gpu-host", hostname="standin-gpu",
                                       cpu_cores=2, cpu_model="test CPU", gpu_count=1, gpu_model="stand-in (no GPU)")
    cpu_run = profiling_runs.create_run(tiny, host, design="custom", params=SMALL)
    assert cpu_run.grid["warmup_tolerance"] == 0.0 and cpu_run.steps_total == 9
    run = profiling_runs.create_run(tiny, gpu_host, design="custom", params=SMALL)
    assert run.grid["warmup_tolerance"] == profiling_runs.GPU_WARMUP_TOLERANCE and run.steps_total == 10
    run = _run(run)
    assert run.status == JobStatus.SUCCEEDED, run.error
    rows = Measurement.objects.filter(profiling_run=run)
    warm = list(rows.filter(is_warmup=True).order_by("trial_index").values_list("trial_index", "runtime_s"))
    assert 2 <= len(warm) <= 10 and [i for i, _ in warm] == list(range(len(warm)))
    (a, b) = (warm[-2][1], warm[-1][1])
    assert abs(a - b) <= 0.1 * max(a, b) or len(warm) == 10
    measured = rows.filter(is_warmup=False)
    assert measured.count() == 8 and run.steps_done == 8 + len(warm)
    assert sorted(set(measured.values_list("iteration", flat=True))) == [0, 1]  # counted after the warm-ups
