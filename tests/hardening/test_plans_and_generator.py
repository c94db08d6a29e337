"""Generator parameters and planning requests that used to fail later (or as a 500) are refused
up front with a field-keyed 4xx, and nothing is queued."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from scheduling.models import Deployment, ScheduleJob, Workload
from scheduling.services.generator import generate_workload
from scheduling.services.reference_deployments import ensure_reference_deployments

J = "application/json"


@pytest.mark.parametrize("body, field", [
    ({"seed": -1}, "seed"), ({"seed": 2**70}, "seed"), ({"n": 10**30}, "n"),
    ({"tin": "uniform:low=1,high=1e30"}, "tin"), ({"tin": "lognormal:mu=nan,sigma=1"}, "tin"),
    ({"tin": "constant:value=inf"}, "tin"), ({"tin": "poisson:lam=1e300"}, "tin"), ({"tout": "zipf:a=nan"}, "tout"),
])
def test_generator_api(staff_web, db, body, field):
    r = staff_web.post("/api/v1/workloads/generate/", json.dumps({"name": "g", "n": 10, **body}), content_type=J)
    assert r.status_code == 400, r.content[:300]
    assert field in r.json()
    assert not Workload.objects.exists()


@pytest.mark.parametrize("data, field", [
    ({"seed": "-1"}, b"seed"), ({"seed": "9" * 30}, b"seed"), ({"tin": "uniform:low=1,high=1e30"}, b"tin"),
])
def test_generator_page(staff_web, db, data, field):
    form = {"name": "g", "n": "10", "tin": "constant:value=1", "tout": "constant:value=1", "seed": "0", **data}
    r = staff_web.post("/workloads/generate/", form)
    assert r.status_code == 400
    assert b"errorlist" in r.content
    assert not Workload.objects.exists()


@pytest.fixture
def planning(catalogue):
    deps = ensure_reference_deployments()
    wl = generate_workload("w", 20, "constant:value=5", "constant:value=5", 0)
    return wl, deps


@pytest.mark.parametrize("extra, key, message", [
    ({"parameters": {"seed": -1}}, "parameters", "seed"),
    ({"parameters": {"seed": 2**70}}, "parameters", "seed"),
    ({"parameters": {"time_limit_s": True}}, "parameters", "true/false"),
    ({"parameters": {"zetas": [True]}}, "parameters", "zeta"),
    ({"twice": True}, "deployments", "listed twice"),
])
def test_plan_api_refuses_before_queueing(staff_web, planning, extra, key, message):
    wl, deps = planning
    ids = [deps[0].pk, deps[0].pk] if extra.pop("twice", False) else [deps[0].pk]
    r = staff_web.post("/api/v1/schedule-jobs/", json.dumps({"workload": wl.pk, "deployments": ids, **extra}),
                       content_type=J)
    assert r.status_code == 400, r.content
    assert message in r.json()[key][0]
    assert not ScheduleJob.objects.exists()


def test_minimum_shares_over_one(staff_web, planning):
    wl, deps = planning
    Deployment.objects.filter(pk__in=[deps[0].pk, deps[1].pk]).update(min_share=0.6)
    r = staff_web.post("/api/v1/schedule-jobs/", json.dumps({"workload": wl.pk,
                                                             "deployments": [deps[0].pk, deps[1].pk]}),
                       content_type=J)
    assert r.status_code == 400
    assert "add up to 1.2" in r.json()["deployments"][0]
    form = {"workload": wl.pk, "deployments": [deps[0].pk, deps[1].pk], "objective": "paper-energy-accuracy",
            "zeta": "0.5", "time_limit_s": "60", "seed": "0"}
    r = staff_web.post("/plans/new/", form)
    assert r.status_code == 400 and b"add up to 1.2" in r.content
    assert not ScheduleJob.objects.exists()


def test_plan_page_negative_seed(staff_web, planning):
    wl, deps = planning
    r = staff_web.post("/plans/new/", {"workload": wl.pk, "deployments": [deps[0].pk],
                                       "objective": "paper-energy-accuracy", "zeta": "0.5", "time_limit_s": "60",
                                       "seed": "-1"})
    assert r.status_code == 400
    assert not ScheduleJob.objects.exists()


def test_schedule_command_refuses_a_deployment_listed_twice(planning, tmp_path):
    wl, _ = planning
    entry = {"llm": "Llama-2 (7B)", "hardware": "Swing AMD+A100", "fit": "published"}
    path = tmp_path / "deps.json"
    path.write_text(json.dumps([entry, entry]))
    with pytest.raises(CommandError, match="listed twice"):
        call_command("schedule", "--workload", wl.name, "--deployments", str(path))
    path.write_text(json.dumps([entry]))
    with pytest.raises(CommandError, match="seed"):
        call_command("schedule", "--workload", wl.name, "--deployments", str(path), "--seed", "-3")
