"""Large measurement uploads leave the request path: stored 0600, imported by a job, never twice."""

from __future__ import annotations

import stat
import time

import pytest

from energyweb.jobs import service as job_service
from energyweb.jobs import uploads
from energyweb.jobs.service import JobLost
from profiling.models import ImportBatch, Measurement, MeasurementImportJob
from tests.measurements.conftest import own_csv
from tests.uploads import stored, upload

URL = "/api/v1/measurements/import"
GOOD = ["Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1", "Tiny LM (1B),Test Box,32,64,1,1.4,99.0,10.0,0"]
BAD = "Tiny LM (1B),Test Box,-4,64,1,1.5,100,10,1"




def run_here(job) -> str:
    """The job body in this process, as the task runs it in a worker."""
    from profiling.tasks import run_measurement_import

    return run_measurement_import(job.pk)


def test_small_upload_stays_in_the_request(staff_api, pair):
    r = staff_api.post(URL, {"file": upload(own_csv(*GOOD))}, format="multipart")
    assert r.status_code == 201
    assert MeasurementImportJob.objects.count() == 0


def test_large_upload_answers_202_stored_private_and_queued(staff_api, pair, background,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as wakeups:
        r = staff_api.post(URL, {"file": upload(own_csv(*GOOD))}, format="multipart")
    assert r.status_code == 202, r.content
    body = r.json()
    job = MeasurementImportJob.objects.get(pk=body["id"])
    assert body["status"] == "pending" and r["Location"] == body["status_url"]
    assert len(wakeups) == 1  # the wake-up goes out after commit
    assert stat.S_IMODE(stored(job).stat().st_mode) == 0o600
    assert Measurement.objects.count() == 0  # nothing imported in the request
    assert staff_api.get(body["status_url"]).json()["status"] == "pending"


def test_job_imports_and_reports_summary_then_removes_the_upload(staff_api, pair, background):
    job = MeasurementImportJob.objects.get(pk=staff_api.post(
        URL, {"file": upload(own_csv(*GOOD))}, format="multipart").json()["id"])
    assert run_here(job) == "done"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.rows_validated == 2 and job.rows_written == 2
    assert job.result["rows"] == 2 and job.batch_id == job.result["batch_id"]
    assert not stored(job).exists()
    assert Measurement.objects.filter(import_batch=job.batch).count() == 2


def test_bad_file_fails_with_row_column_errors_and_writes_nothing(staff_api, pair, background):
    job = MeasurementImportJob.objects.get(pk=staff_api.post(
        URL, {"file": upload(own_csv(GOOD[0], BAD))}, format="multipart").json()["id"])
    run_here(job)  # the body records the failure itself; run_claimed then reports "done"
    body = staff_api.get(f"{URL}/jobs/{job.pk}").json()
    assert body["status"] == "failed" and body["result"]["error_count"] == 1
    assert body["result"]["errors"][0]["row"] == 2 and body["result"]["errors"][0]["column"] == "input_tokens"
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_a_worker_that_lost_its_claim_commits_nothing(staff_api, pair, background):
    job = MeasurementImportJob.objects.get(pk=staff_api.post(
        URL, {"file": upload(own_csv(*GOOD))}, format="multipart").json()["id"])
    handle = job_service.claim(MeasurementImportJob, job.pk)
    # Recovery gave the job to another worker while this one was importing.
    MeasurementImportJob.objects.filter(pk=job.pk).update(lease_owner="someone-else")
    with pytest.raises(JobLost):
        uploads.run(MeasurementImportJob.objects.get(pk=job.pk), handle)
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_restart_after_commit_reports_the_batch_and_never_imports_twice(staff_api, pair, background):
    job = MeasurementImportJob.objects.get(pk=staff_api.post(
        URL, {"file": upload(own_csv(*GOOD))}, format="multipart").json()["id"])
    assert run_here(job) == "done"
    # As if the worker died between the import's commit and finishing the job: recovery re-queues it.
    MeasurementImportJob.objects.filter(pk=job.pk).update(status="pending", lease_owner="", result={})
    assert run_here(job) == "done"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result["batch_id"] == job.batch_id
    assert ImportBatch.objects.count() == 1 and Measurement.objects.count() == 2


def test_same_file_twice_is_one_job_then_409(staff_api, pair, background):
    data = own_csv(*GOOD)
    first = staff_api.post(URL, {"file": upload(data)}, format="multipart").json()
    again = staff_api.post(URL, {"file": upload(data)}, format="multipart")
    assert again.status_code == 202 and again.json()["id"] == first["id"]
    assert MeasurementImportJob.objects.count() == 1
    run_here(MeasurementImportJob.objects.get(pk=first["id"]))
    late = staff_api.post(URL, {"file": upload(data)}, format="multipart")
    assert late.status_code == 409
    assert late.json()["duplicate_of"] == MeasurementImportJob.objects.get(pk=first["id"]).batch_id


def test_page_redirects_to_progress_page_with_status_json(client, staff_user, pair, background):
    client.force_login(staff_user)
    r = client.post("/measurements/import/", {"file": upload(own_csv(*GOOD))})
    job = MeasurementImportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/measurements/import/jobs/{job.pk}/"
    page = client.get(r["Location"])
    assert page.status_code == 200 and b"imports.js" in page.content
    assert client.get(f"/measurements/import/jobs/{job.pk}/status.json").json()["status"] == "pending"
    run_here(job)
    page = client.get(r["Location"]).content.decode()
    assert 'id="import-result"' in page and 'id="imported-rows">2<' in page


def test_progress_is_staff_only(client, plain_user, staff_api, pair, background):
    job_id = staff_api.post(URL, {"file": upload(own_csv(*GOOD))}, format="multipart").json()["id"]
    client.force_login(plain_user)
    assert client.get(f"/measurements/import/jobs/{job_id}/status.json").status_code == 403
    assert client.get(f"{URL}/jobs/{job_id}").status_code == 403


def wait_for(job_id, states=("succeeded", "failed"), timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = MeasurementImportJob.objects.get(pk=job_id)
        if job.status in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} still {job.status} after {timeout} s")


def test_a_real_worker_imports_a_queued_upload(celery_worker_process, staff_api, pair, background):
    r = staff_api.post(URL, {"file": upload(own_csv(*GOOD))}, format="multipart")
    assert r.status_code == 202
    job = wait_for(r.json()["id"])
    assert job.status == "succeeded", job.error
    assert Measurement.objects.count() == 2 and job.rows_written == 2
    bad = staff_api.post(URL, {"file": upload(own_csv(GOOD[0], BAD), "bad.csv")}, format="multipart")
    failed = wait_for(bad.json()["id"])
    assert failed.status == "failed" and failed.result["errors"][0]["column"] == "input_tokens"
    assert Measurement.objects.count() == 2
