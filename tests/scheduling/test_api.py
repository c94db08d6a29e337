"""API: workloads, deployments and schedule jobs with the house permissions."""

import gzip

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from energyweb.jobs.choices import JobStatus
from scheduling.models import Deployment, ScheduleJob, Workload
from scheduling.tasks import run_schedule_job
from tests.scheduling.conftest import small_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(media):
    return media


def upload(client, name="api wl", data=None, filename="w.csv"):
    f = SimpleUploadedFile(filename, small_csv() if data is None else data, content_type="text/csv")
    return client.post("/api/v1/workloads", {"name": name, "file": f}, format="multipart")


def test_anonymous_is_refused(api_client):
    assert api_client.get("/api/v1/workloads").status_code in (401, 403)
    assert upload(api_client).status_code in (401, 403)


def test_staff_uploads_and_everyone_reads(staff_client, user_client):
    r = upload(staff_client, data=gzip.compress(small_csv()), filename="w.csv.gz")
    assert r.status_code == 201, r.content
    wl_id = r.json()["id"]
    assert r.json()["n_queries"] == 6
    listing = user_client.get("/api/v1/workloads/").json()
    assert [w["id"] for w in listing["results"]] == [wl_id]
    stats = user_client.get(f"/api/v1/workloads/{wl_id}/stats/").json()
    assert stats["stats"]["n"] == 6 and len(stats["histogram_rows"]) > 0


def test_plain_user_cannot_upload_or_delete(staff_client, user_client):
    assert upload(user_client).status_code == 403
    wl_id = upload(staff_client).json()["id"]
    assert user_client.delete(f"/api/v1/workloads/{wl_id}/").status_code == 403
    assert staff_client.delete(f"/api/v1/workloads/{wl_id}/").status_code == 204
    assert not Workload.objects.exists()


def test_bad_upload_is_400_with_row_and_column(staff_client):
    r = upload(staff_client, data=b"input_tokens,output_tokens\n1,2\n0,5\n")
    assert r.status_code == 400
    body = r.json()
    assert body["errors"][0] == {"row": 3, "column": "input_tokens", "message": "must be a positive integer, got 0"}
    assert body["error_count"] == 1 and "file" in body
    assert not Workload.objects.exists()


def test_oversize_upload_is_400_not_500(staff_client, settings):
    settings.MAX_UPLOAD_MB = 1
    r = upload(staff_client, data=b"input_tokens,output_tokens\n" + b"1000,1000\n" * 120_000)
    assert r.status_code == 400
    assert "upload limit of 1 MB" in r.json()["detail"]


def test_deployment_crud_staff_only_with_clean_rules(staff_client, user_client, reference):
    hw, llms = reference
    body = {"llm": llms["Llama-2 (7B)"].pk, "hardware": hw.pk, "min_share": 0.1, "max_share": 0.9}
    assert user_client.post("/api/v1/deployments/", body, format="json").status_code == 403
    r = staff_client.post("/api/v1/deployments/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["key"] == "Llama-2 (7B) @ Swing AMD+A100"
    bad = staff_client.post("/api/v1/deployments/", body | {"min_share": 0.95}, format="json")
    assert bad.status_code == 400 and "max_share" in bad.json()
    dep_id = r.json()["id"]
    assert staff_client.patch(f"/api/v1/deployments/{dep_id}/", {"max_share": 0.5}, format="json").status_code == 200
    assert user_client.get(f"/api/v1/deployments/{dep_id}/").json()["max_share"] == 0.5


def test_any_signed_in_user_creates_a_job_and_reads_its_results(staff_client, user_client, reference):
    wl_id = upload(staff_client).json()["id"]
    hw, llms = reference
    deps = [Deployment.objects.create(llm=llm, hardware=hw).pk for llm in llms.values()]
    r = user_client.post("/api/v1/schedule-jobs/", {"workload": wl_id, "deployments": deps,
                                                 "parameters": {"zeta": 0.3}}, format="json")
    assert r.status_code == 201, r.content
    job_id = r.json()["id"]
    assert r.json()["status"] == JobStatus.PENDING
    pending = user_client.get(f"/api/v1/schedule-jobs/{job_id}/results/").json()
    assert pending["results"] is None
    run_schedule_job(job_id)
    res = user_client.get(f"/api/v1/schedule-jobs/{job_id}/results/").json()
    assert res["status"] == "succeeded"
    assert res["summary"]["zeta"] == 0.3 and sum(res["summary"]["counts"].values()) == 6
    csv = user_client.get(f"/api/v1/schedule-jobs/{job_id}/assignment/")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert len(lines) == 7 and lines[1].startswith("1,100,20,")
    assert user_client.delete(f"/api/v1/schedule-jobs/{job_id}/").status_code == 403
    assert staff_client.delete(f"/api/v1/schedule-jobs/{job_id}/").status_code == 204


def test_job_with_bad_parameters_is_field_keyed(staff_client, reference):
    wl_id = upload(staff_client).json()["id"]
    hw, llms = reference
    dep = Deployment.objects.create(llm=llms["Llama-2 (7B)"], hardware=hw).pk
    r = staff_client.post("/api/v1/schedule-jobs/", {"workload": wl_id, "deployments": [dep],
                                                  "parameters": {"zeta": 2}}, format="json")
    assert r.status_code == 400 and "parameters" in r.json()
    r = staff_client.post("/api/v1/schedule-jobs/", {"workload": wl_id, "deployments": []}, format="json")
    assert r.status_code == 400 and "deployments" in r.json()
    assert not ScheduleJob.objects.exists()


def test_openapi_schema_lists_scheduling_endpoints(staff_client):
    r = staff_client.get("/api/v1/schema/", {"format": "json"})
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert any(p.startswith("/api/v1/workloads") for p in paths)
    assert any("schedule-jobs" in p and "assignment" in p for p in paths)


def test_cancel_permissions_and_effect(staff_client, user_client, reference, django_user_model):
    from rest_framework.test import APIClient

    from energyweb.jobs import service as job_service
    from scheduling.services import jobs

    wl_id = upload(staff_client).json()["id"]
    hw, llms = reference
    dep = Deployment.objects.create(llm=llms["Llama-2 (7B)"], hardware=hw).pk
    job_id = user_client.post("/api/v1/schedule-jobs/", {"workload": wl_id, "deployments": [dep]},
                              format="json").json()["id"]
    other = APIClient()
    other.force_authenticate(django_user_model.objects.create_user("other", password="other-pass-123"))
    assert other.post(f"/api/v1/schedule-jobs/{job_id}/cancel/").status_code == 403
    r = user_client.post(f"/api/v1/schedule-jobs/{job_id}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    # A cancelled job is never claimed by a worker.
    assert run_schedule_job(job_id) == "skipped"
    again = user_client.post(f"/api/v1/schedule-jobs/{job_id}/cancel/")
    assert again.status_code == 400 and "already cancelled" in again.json()["status"][0]
    # Cancelled while running: the job stops at its next step and keeps no results.
    job2 = ScheduleJob.objects.create(workload_id=wl_id, deployment_specs=ScheduleJob.objects.get(
        pk=job_id).deployment_specs, parameters=jobs.normalise_parameters("paper-energy-accuracy", {}))
    handle = job_service.claim(ScheduleJob, job2.pk)
    assert handle is not None
    assert jobs.cancel(job2)
    with pytest.raises(job_service.JobCancelled):
        jobs.run_job(ScheduleJob.objects.get(pk=job2.pk), handle)
    job2.refresh_from_db()
    assert job2.status == "cancelled" and job2.results == {} and not job2.assignment_file


def test_generate_synthetic_workload_via_api(staff_client, user_client):
    body = {"name": "api synth", "n": 200, "tin": "uniform:low=5,high=50", "seed": 9}
    assert user_client.post("/api/v1/workloads/generate/", body, format="json").status_code == 403
    r = staff_client.post("/api/v1/workloads/generate/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["is_synthetic"] and r.json()["generator"]["seed"] == 9
    assert r.json()["stats"]["tin"]["max"] <= 50
    bad = staff_client.post("/api/v1/workloads/generate/", body | {"name": "x", "tout": "gamma"}, format="json")
    assert bad.status_code == 400 and "Unknown distribution" in bad.json()["tout"][0]
