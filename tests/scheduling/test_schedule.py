"""The schedule command and the job service: one code path, real solver, real results."""

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from energyweb.jobs.choices import JobStatus
from scheduling.models import Deployment, ScheduleJob
from scheduling.services import jobs
from scheduling.services.workloads import import_workload
from scheduling.tasks import run_schedule_job
from tests.scheduling.conftest import SWING

pytestmark = pytest.mark.django_db

METRICS = {"status", "objective", "bound", "total_energy_j", "total_runtime_s", "accuracy", "counts",
           "solve_seconds", "warnings"}


def _csv(tmp_path, n=400, seed=0):
    rng = np.random.default_rng(seed)
    tin, tout = rng.integers(8, 2048, n), rng.integers(8, 512, n)
    path = tmp_path / "w.csv"
    path.write_text("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in zip(tin, tout, strict=True)))
    return path, tin, tout


def _run(*args):
    from io import StringIO

    out = StringIO()
    call_command("schedule", *args, stdout=out)
    return json.loads(out.getvalue())


def test_schedule_json_has_every_key_for_plan_and_baselines(tmp_path, deployments_file):
    path, tin, tout = _csv(tmp_path)
    out = _run("--workload", str(path), "--deployments", str(deployments_file), "--zeta", "0.5", "--json")
    assert METRICS <= out.keys()
    assert out["status"] == "optimal" and out["objective"] == "paper-energy-accuracy"
    keys = {f"Llama-2 ({s}) @ {SWING}" for s in ("7B", "13B", "70B")}
    assert set(out["counts"]) == keys and sum(out["counts"].values()) == len(tin)
    assert {"round-robin", "random", "greedy-energy", "accuracy-first"} <= set(out["baselines"])
    assert {f"single:{k}" for k in keys} <= set(out["baselines"])
    for b in out["baselines"].values():
        assert METRICS <= b.keys()
    # Token-weighted accuracy lies between the least and most accurate model.
    assert 50.97 <= out["accuracy"] <= 64.52
    # The optimum at zeta=1 (energy only) cannot use more energy than any feasible baseline.
    e1 = _run("--workload", str(path), "--deployments", str(deployments_file), "--zeta", "1", "--json")
    feasible = [b["total_energy_j"] for b in e1["baselines"].values() if b["status"] == "feasible"]
    assert feasible and e1["total_energy_j"] <= min(feasible) + 1e-6


def test_schedule_on_a_stored_workload_with_accuracy_target(tmp_path, deployments_file, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path, _, _ = _csv(tmp_path)
    import_workload(path, "stored")
    out = _run("--workload", "stored", "--deployments", str(deployments_file), "--objective",
               "min-energy-accuracy-target", "--accuracy-target", "60", "--json")
    assert out["objective"] == "min-energy-accuracy-target"
    assert out["accuracy"] >= 60 - 1e-6


def test_schedule_errors_are_command_errors(tmp_path, deployments_file):
    path, _, _ = _csv(tmp_path)
    with pytest.raises(CommandError, match="No workload named"):
        call_command("schedule", "--workload", "nope", "--deployments", str(deployments_file))
    bad = tmp_path / "d.json"
    bad.write_text('[{"llm": "Llama-2 (7B)", "hardware": "Mars"}]')
    with pytest.raises(CommandError, match="Unknown hardware"):
        call_command("schedule", "--workload", str(path), "--deployments", str(bad))
    with pytest.raises(CommandError, match="needs an accuracy target"):
        call_command("schedule", "--workload", str(path), "--deployments", str(deployments_file),
                     "--objective", "min-energy-accuracy-target")


def test_job_runs_through_the_task_and_records_everything(tmp_path, reference, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path, tin, tout = _csv(tmp_path, n=300)
    wl = import_workload(path, "job wl")
    hw, llms = reference
    deps = [Deployment.objects.create(llm=llm, hardware=hw) for llm in llms.values()]
    job = jobs.create_job(wl, deps, "paper-energy-accuracy", {"sweep": True, "zeta": 0.5})
    assert job.status == JobStatus.PENDING and job.steps_total == 12
    assert len(job.deployment_specs) == 3
    assert run_schedule_job(job.pk) == "done"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.steps_done == job.steps_total
    assert [p["zeta"] for p in job.results["plans"]] == [round(0.1 * i, 1) for i in range(11)]
    # Along the sweep, more weight on energy never raises energy (it is a Pareto frontier).
    energies = [p["total_energy_j"] for p in job.results["plans"]]
    assert all(b <= a * (1 + 1e-9) + 1e-6 for a, b in zip(energies, energies[1:], strict=False))
    # A second delivery of the same message does nothing.
    assert run_schedule_job(job.pk) == "skipped"
    # The assignment CSV matches the workload row by row and the counts of the plan.
    lines = "".join(jobs.assignment_csv_lines(job)).splitlines()
    assert lines[0] == "query,input_tokens,output_tokens,deployment"
    rows = [line.rsplit(",", 1) for line in lines[1:]]
    assert len(rows) == 300
    assert [int(r[0].split(",")[1]) for r in rows] == tin.tolist()
    primary = job.results["plans"][job.results["primary_index"]]
    for key, n in primary["counts"].items():
        assert sum(1 for r in rows if r[1] == key) == n


def test_infeasible_job_fails_with_the_reason(tmp_path, reference, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path, _, _ = _csv(tmp_path, n=50)
    wl = import_workload(path, "tight")
    hw, llms = reference
    deps = [Deployment.objects.create(llm=llm, hardware=hw, max_share=0.2) for llm in llms.values()]
    job = jobs.create_job(wl, deps, "paper-energy-accuracy", {"zeta": 0.5})
    run_schedule_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "share" in job.error.lower()
    assert not ScheduleJob.objects.filter(status=JobStatus.RUNNING).exists()


@pytest.mark.parametrize("objective, params, field", [
    ("paper-energy-accuracy", {"zeta": 1.5}, "zeta"),  # the field given, parsed strictly (issue 16)
    ("paper-energy-accuracy", {"zetas": "0.1, x"}, "zetas"),
    ("max-accuracy-energy-budget", {}, "energy_budget_j"),
    ("paper-energy-accuracy", {"time_limit_s": -1}, "time_limit_s"),
    ("fastest", {}, "objective"),
])
def test_bad_parameters_name_their_field(objective, params, field):
    with pytest.raises(jobs.JobParameterError) as err:
        jobs.normalise_parameters(objective, params)
    assert err.value.field == field


def test_capacity_from_the_deployment_horizon_is_respected(tmp_path, reference, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path, tin, tout = _csv(tmp_path, n=200)
    wl = import_workload(path, "cap")
    hw, llms = reference
    # The fast 7B model gets little GPU time; the planner must spill to the others.
    small = Deployment.objects.create(llm=llms["Llama-2 (7B)"], hardware=hw, instances=1, horizon_s=200)
    others = [Deployment.objects.create(llm=llms[n], hardware=hw) for n in ("Llama-2 (13B)", "Llama-2 (70B)")]
    job = jobs.create_job(wl, [small, *others], "paper-energy-accuracy", {"zeta": 1.0})
    assert job.deployment_specs[0]["capacity_gpu_s"] == 200.0
    run_schedule_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    plan = job.results["plans"][0]
    assert plan["per_deployment"][small.key]["gpu_s"] <= 200.0 + 1e-6
    assert plan["gap"] is not None and plan["gap"] < 0.01


def test_missing_workload_file_fails_the_job_instead_of_hanging(tmp_path, reference, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path, _, _ = _csv(tmp_path, n=20)
    wl = import_workload(path, "lost")
    hw, llms = reference
    job = jobs.create_job(wl, [Deployment.objects.create(llm=llms["Llama-2 (7B)"], hardware=hw)],
                          "paper-energy-accuracy", {})
    (settings.MEDIA_ROOT / wl.data_file.name).unlink()
    run_schedule_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error


def test_results_are_plain_finite_json():
    assert jobs._finite({"a": [float("nan"), 1.5, np.float64("inf")], "b": np.int64(3)}) == {
        "a": [None, 1.5, None], "b": 3}


def test_schedule_refuses_free_queries_and_reports_extrapolation(tmp_path, reference):
    """Published Table 5.2 models go negative on long prompts with short answers: refused by
    default, planned with --allow-clamping and a loud warning; the JSON gives each deployment's
    extrapolated share against its selected fit's measured range."""
    path = tmp_path / "w.csv"
    # Inside 8..2048 both ways, except the 3000-token prompts (outside the fitted range).
    rows = [(100, 50), (3000, 10), (3000, 12), (900, 12), (50, 300)]
    path.write_text("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in rows))
    published = tmp_path / "published.json"
    published.write_text(json.dumps([{"llm": "Llama-2 (7B)", "hardware": SWING, "fit": "published"},
                                     {"llm": "Llama-2 (13B)", "hardware": SWING, "fit": "published"}]))
    with pytest.raises(CommandError, match=r"Llama-2 \(7B\) @ Swing AMD\+A100: its energy model predicts zero or "
                                           r"negative energy for 3 of the 5 queries"):
        _run("--workload", str(path), "--deployments", str(published), "--json")
    clamped = _run("--workload", str(path), "--deployments", str(published), "--json", "--allow-clamping")
    assert any(w.startswith("CLAMPED (allow_clamping): Llama-2 (7B)") for w in clamped["warnings"])
    assert all(any(w.startswith("CLAMPED") for w in b["warnings"]) for b in clamped["baselines"].values())
    selected = tmp_path / "selected.json"
    selected.write_text(json.dumps([{"llm": "Llama-2 (7B)", "hardware": SWING},
                                    {"llm": "Llama-2 (13B)", "hardware": SWING}]))
    out = _run("--workload", str(path), "--deployments", str(selected), "--zeta", "1", "--json")
    assert not any("CLAMPED" in w for w in out["warnings"])
    per = out["per_deployment"]
    assert sum(d["extrapolated_queries"] for d in per.values()) == 2
    for d in per.values():
        assert d["extrapolated_share"] == pytest.approx(d["extrapolated_queries"] / d["queries"] if d["queries"]
                                                        else 0.0)
        assert 0.0 <= d["extrapolated_energy_share"] <= 1.0
    assert any("2 of the 5 queries (40.0%) lie outside its models' measured range" in w for w in out["warnings"])


def test_job_results_do_not_depend_on_deployment_order(reference):
    """The browser and the API listed the same deployments in different orders and got different
    plans; the job path now gives the same plan and baselines, at zeta 1 (ties) as well."""
    from scheduling.models.deployment_specs import spec_from_entry

    specs = [spec_from_entry({"llm": n, "hardware": SWING}) for n in ("Llama-2 (7B)", "Llama-2 (13B)", "Llama-2 (70B)")]
    rng = np.random.default_rng(5)
    tin, tout = rng.integers(8, 2048, 300), rng.integers(8, 512, 300)
    runs = []
    for order in (specs, specs[::-1], [specs[1], specs[2], specs[0]]):
        ex = jobs.execute(tin, tout, order, "paper-energy-accuracy", {"zetas": [0.5, 1.0], "seed": 4})
        keys = ex.results["deployments"]
        per_query = [[keys[i] for i in row] for row in ex.assignments]
        base = {name: (b["counts"], b["total_energy_j"]) for name, b in ex.results["baselines"].items()}
        plans = [(p["counts"], p["total_energy_j"], p["per_deployment"]) for p in ex.results["plans"]]
        runs.append((per_query, base, plans))
    assert runs[0] == runs[1] == runs[2]
