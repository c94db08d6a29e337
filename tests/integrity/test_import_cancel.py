"""Background imports can be cancelled (page button and API), like every other job: a pending one loses
its stored upload at once, a running one rolls back at its next progress report and writes nothing."""

from __future__ import annotations

import pytest

from energyweb.jobs import service as job_service
from energyweb.jobs import uploads
from energyweb.jobs.choices import JobStatus
from profiling.models import Measurement, MeasurementImportJob
from scheduling.models import Workload, WorkloadImportJob
from tests.measurements.conftest import own_csv
from tests.uploads import stored, upload

pytestmark = pytest.mark.django_db
ROWS = ["Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1", "Tiny LM (1B),Test Box,32,64,1,1.4,99.0,10.0,0"]


def _queued(api) -> MeasurementImportJob:
    r = api.post("/api/v1/measurements/import", {"file": upload(own_csv(*ROWS))}, format="multipart")
    assert r.status_code == 202, r.content
    return MeasurementImportJob.objects.get(pk=r.json()["id"])


def test_api_cancels_a_pending_import_and_removes_its_upload(staff_api, pair, media, background,
                                                             django_capture_on_commit_callbacks):
    job = _queued(staff_api)
    assert stored(job).exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = staff_api.post(f"/api/v1/measurements/import/jobs/{job.pk}/cancel")
    assert r.status_code == 200 and r.json()["status"] == JobStatus.CANCELLED
    assert not stored(job).exists()
    # A wake-up that arrives later finds nothing to claim.
    assert job_service.run_claimed(MeasurementImportJob, job.pk, uploads.run) == "skipped"
    again = staff_api.post(f"/api/v1/measurements/import/jobs/{job.pk}/cancel")
    assert again.status_code == 400 and "status" in again.json()


def test_a_running_import_cancelled_rolls_back_and_removes_its_upload(staff_api, pair, media, background):
    job = _queued(staff_api)
    handle = job_service.claim(MeasurementImportJob, job.pk, "w1")
    assert uploads.cancel(MeasurementImportJob.objects.get(pk=job.pk))  # while the worker holds it
    with pytest.raises(job_service.JobCancelled):
        uploads.run(MeasurementImportJob.objects.get(pk=job.pk), handle)
    assert Measurement.objects.count() == 0 and not stored(job).exists()
    assert MeasurementImportJob.objects.get(pk=job.pk).status == JobStatus.CANCELLED


def test_workload_import_page_button_cancels_for_its_uploader(staff_api, staff_user, client, media, background,
                                                              django_capture_on_commit_callbacks):
    r = staff_api.post("/api/v1/workloads/", {"name": "big", "file": upload(b"input_tokens,output_tokens\n10,20\n")},
                      format="multipart")
    assert r.status_code == 202, r.content
    job = WorkloadImportJob.objects.get(pk=r.json()["id"])
    client.force_login(staff_user)
    page = client.get(f"/workloads/import-jobs/{job.pk}/")
    assert b'id="cancel-button"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/workloads/import-jobs/{job.pk}/cancel/")
    assert r.status_code == 302
    assert WorkloadImportJob.objects.get(pk=job.pk).status == JobStatus.CANCELLED
    assert not stored(job).exists() and Workload.objects.count() == 0
    assert b'id="cancel-button"' not in client.get(f"/workloads/import-jobs/{job.pk}/").content


def test_another_user_may_not_cancel(user_api, staff_api, media, background):
    r = staff_api.post("/api/v1/workloads/", {"name": "big", "file": upload(b"input_tokens,output_tokens\n10,20\n")},
                      format="multipart")
    assert user_api.post(f"/api/v1/workload-import-jobs/{r.json()['id']}/cancel/").status_code == 403
