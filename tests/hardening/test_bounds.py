"""What one signed-in user can ask of the server is bounded: page sizes and active solver jobs."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from energyweb.jobs.choices import JobStatus
from profiling.models import Hardware
from scheduling.models import Deployment, ScheduleJob
from scheduling.services.generator import generate_workload

LIST_ENDPOINTS = ["/api/v1/hardware/", "/api/v1/llms/", "/api/v1/fits/", "/api/v1/measurements/",
                  "/api/v1/import-batches/", "/api/v1/workloads/", "/api/v1/deployments/",
                  "/api/v1/schedule-jobs/"]


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_every_list_caps_the_page_size(user_web, catalogue, settings, url):
    settings.API_MAX_PAGE_SIZE = 2
    for i in range(3):
        Hardware.objects.create(name=f"Box {i}")
    r = user_web.get(url + "?limit=1000000")
    assert r.status_code == 200
    body = r.json()
    assert len(body["results"]) <= 2
    if body["count"] > 2:
        assert "limit=2" in body["next"]


def test_hardware_list_really_pages_at_the_cap(user_web, catalogue, settings):
    settings.API_MAX_PAGE_SIZE = 2
    for i in range(3):
        Hardware.objects.create(name=f"Box {i}")
    body = user_web.get("/api/v1/hardware/?limit=1000000").json()
    assert body["count"] == 4 and len(body["results"]) == 2


def test_an_offset_past_bigint_is_an_empty_page(user_web, catalogue):
    r = user_web.get("/api/v1/hardware/?offset=99999999999999999999999")
    assert r.status_code == 200 and r.json()["results"] == []


@pytest.fixture
def plan_setup(catalogue, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAX_ACTIVE_JOBS_PER_USER = 2
    hw, llm = catalogue
    dep = Deployment.objects.create(llm=llm, hardware=hw)
    wl = generate_workload("w", 10, "constant:value=5", "constant:value=5", 0)
    return wl, dep


def test_active_job_quota_api(user_web, plain_user, plan_setup):
    wl, dep = plan_setup
    body = json.dumps({"workload": wl.pk, "deployments": [dep.pk]})
    for _ in range(2):
        assert user_web.post("/api/v1/schedule-jobs/", body, content_type="application/json").status_code == 201
    r = user_web.post("/api/v1/schedule-jobs/", body, content_type="application/json")
    assert r.status_code == 429
    assert "the limit is 2" in r.json()["detail"]
    assert ScheduleJob.objects.filter(created_by=plain_user).count() == 2
    # Finished jobs do not count; other users have their own allowance.
    ScheduleJob.objects.filter(created_by=plain_user).update(status=JobStatus.SUCCEEDED)
    assert user_web.post("/api/v1/schedule-jobs/", body, content_type="application/json").status_code == 201
    other = get_user_model().objects.create_user("other")
    user_web.force_login(other)
    assert user_web.post("/api/v1/schedule-jobs/", body, content_type="application/json").status_code == 201


def test_active_job_quota_page(user_web, plain_user, plan_setup):
    wl, dep = plan_setup
    form = {"workload": wl.pk, "deployments": [dep.pk], "objective": "paper-energy-accuracy", "zeta": "0.5",
            "time_limit_s": "60", "seed": "0"}
    assert user_web.post("/plans/new/", form).status_code == 302
    assert user_web.post("/plans/new/", form).status_code == 302
    r = user_web.post("/plans/new/", form)
    assert r.status_code == 429
    assert b"ENERGYWEB_MAX_ACTIVE_JOBS_PER_USER" in r.content
    assert ScheduleJob.objects.count() == 2
