"""What only the workload importer's background jobs do: the workload's name, size and quota checks, its
arrays file (named after the job, removed when an attempt dies), its step, its uploader's rights. The shared
contract of every upload kind is tests/jobs/test_upload_contract.py."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db.models.signals import post_save
from django.utils import timezone

from energyweb.jobs import recovery
from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from energyweb.jobs.service import JobLost
from scheduling.models import Workload, WorkloadImportJob
from scheduling.services.workloads import gzip_bytes
from tests.conftest import FAST_RECOVERY, start_worker, wait_for
from tests.scheduling.conftest import small_csv
from tests.uploads import stored, upload

URL = "/api/v1/workloads/"
BAD = b"input_tokens,output_tokens\n10,20\n-4,20\n30,x\n"




def arrays_files(job) -> list[str]:
    folder = Path(django_settings.MEDIA_ROOT) / "workloads"
    return sorted(p.name for p in folder.glob(f"import-{job.pk}-*")) if folder.exists() else []


def post(api, data, name="wl big", filename="big.csv"):
    return api.post(URL, {"name": name, "description": "d", "file": upload(data, filename)}, format="multipart")


def queued(api, data=None, name="wl big") -> WorkloadImportJob:
    r = post(api, small_csv() if data is None else data, name)
    assert r.status_code == 202, r.content
    return WorkloadImportJob.objects.get(pk=r.json()["id"])


def run_here(job) -> str:
    """The job body in this process, as the task runs it in a worker."""
    from scheduling.tasks import run_workload_import

    return run_workload_import(job.pk)


@pytest.mark.django_db
def test_a_small_bad_upload_answers_400_with_its_row_errors_in_the_request(staff_api, media):
    bad = post(staff_api, BAD, name="bad")
    assert bad.status_code == 400 and bad.json()["error_count"] == 2 and bad.json()["file"]
    assert WorkloadImportJob.objects.count() == 0 and Workload.objects.count() == 0


@pytest.mark.django_db
def test_job_imports_the_workload_reports_it_and_removes_the_upload(staff_api, media, background):
    job = queued(staff_api, gzip_bytes(small_csv()))
    assert run_here(job) == "done"
    job.refresh_from_db()
    wl = Workload.objects.get()
    assert job.status == "succeeded" and job.step == "done" and job.progress_percent == 100
    assert job.workload == wl and job.rows_read == 6
    assert wl.name == "wl big" and wl.description == "d" and wl.n_queries == 6 and wl.source_filename == "big.csv"
    assert wl.load_arrays().tin.tolist() == [100, 250, 40, 900, 12, 512]
    assert not stored(job).exists()
    body = staff_api.get(f"/api/v1/workload-import-jobs/{job.pk}").json()
    assert body["result"]["workload"] == wl.pk and body["result"]["n_queries"] == 6
    assert body["workload_url"] == f"/workloads/{wl.pk}/"
    assert arrays_files(job) == [f"import-{job.pk}-1.npz"]  # the workload's own file


@pytest.mark.django_db
def test_bad_file_fails_with_row_column_errors_and_writes_nothing(staff_api, media, background):
    rows = "".join(f"{i + 1},-1\n" for i in range(60))
    job = queued(staff_api, f"input_tokens,output_tokens\n{rows}".encode())
    run_here(job)
    body = staff_api.get(f"/api/v1/workload-import-jobs/{job.pk}").json()
    assert body["status"] == "failed" and "nothing was imported" in body["error"]
    assert body["result"]["error_count"] == 60 and len(body["result"]["errors"]) == 50
    assert body["result"]["errors_not_shown"] == 10
    first = body["result"]["errors"][0]
    assert (first["row"], first["column"]) == (2, "output_tokens")
    assert Workload.objects.count() == 0 and not stored(job).exists() and arrays_files(job) == []


@pytest.mark.django_db
def test_a_worker_that_lost_its_claim_commits_nothing_and_leaves_no_file(staff_api, media, background):
    from energyweb.jobs import uploads

    job = queued(staff_api)
    handle = job_service.claim(WorkloadImportJob, job.pk)

    def taken_over(sender, instance, created, **kwargs):
        # Recovery gives the job to another worker just as this one has written its workload
        # row and arrays file, before the commit.
        WorkloadImportJob.objects.filter(pk=job.pk).update(lease_owner="someone-else")

    post_save.connect(taken_over, sender=Workload, dispatch_uid="test-taken-over")
    try:
        with pytest.raises(JobLost):
            uploads.run(WorkloadImportJob.objects.get(pk=job.pk), handle)
    finally:
        post_save.disconnect(dispatch_uid="test-taken-over", sender=Workload)
    assert WorkloadImportJob.objects.get(pk=job.pk).rows_read == 6  # it got as far as writing
    assert Workload.objects.count() == 0 and arrays_files(job) == []
    assert stored(job).exists()  # the worker that holds the job now still needs it


@pytest.mark.django_db
def test_a_killed_workers_job_is_recovered_and_its_half_written_file_removed(staff_api, media, background):
    job = queued(staff_api)
    assert job_service.claim(WorkloadImportJob, job.pk) is not None
    # The worker was SIGKILLed after writing its arrays file and before committing the row.
    leftover = Path(django_settings.MEDIA_ROOT) / "workloads" / f"import-{job.pk}-1.npz"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half written")
    WorkloadImportJob.objects.filter(pk=job.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
    report = recovery.recover()
    assert report["scheduling.WorkloadImportJob"]["requeued"] == 1
    assert run_here(job) == "done"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2
    assert not leftover.exists() and arrays_files(job) == [f"import-{job.pk}-2.npz"]
    assert Workload.objects.get().data_file.name == f"workloads/import-{job.pk}-2.npz"


@pytest.mark.django_db
def test_recovery_giving_up_removes_the_upload_and_leftovers(staff_api, media, background, settings):
    job = queued(staff_api)
    job_service.claim(WorkloadImportJob, job.pk)
    leftover = Path(django_settings.MEDIA_ROOT) / "workloads" / f"import-{job.pk}-1.npz"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half written")
    WorkloadImportJob.objects.filter(pk=job.pk).update(
        attempts=settings.JOB_MAX_ATTEMPTS, lease_expires=timezone.now() - timedelta(seconds=1))
    assert recovery.recover()["scheduling.WorkloadImportJob"]["failed"] == 1
    assert WorkloadImportJob.objects.get(pk=job.pk).status == "failed"
    assert not stored(job).exists() and not leftover.exists()


@pytest.mark.django_db
def test_name_size_and_quota_are_checked_in_the_request(staff_api, staff_user, client, media, background,
                                                        settings):
    Workload.objects.create(name="taken", content_sha256="0" * 64, data_file="workloads/x.npz")
    r = post(staff_api, small_csv(), name="taken")
    assert r.status_code == 400 and "exists already" in r.json()["name"][0]
    first = queued(staff_api, name="twin")
    r = post(staff_api, small_csv(), name="twin")
    assert r.status_code == 400 and f"import #{first.pk}" in r.json()["name"][0]
    settings.MAX_UPLOAD_MB = 0
    assert post(staff_api, small_csv(), name="huge").status_code == 400
    settings.MAX_UPLOAD_MB = 200
    settings.MAX_ACTIVE_JOBS_PER_USER = 2
    queued(staff_api, name="second")
    r = post(staff_api, small_csv(), name="third")
    assert r.status_code == 429 and "workload imports" in r.json()["detail"]
    client.force_login(staff_user)
    page = client.post("/workloads/upload/", {"name": "third", "description": "", "file": upload(small_csv())})
    assert page.status_code == 429 and b"ENERGYWEB_MAX_ACTIVE_JOBS_PER_USER" in page.content
    assert WorkloadImportJob.objects.filter(created_by=staff_user).count() == 2
    # Only the two queued uploads are on disk: refused ones are never stored or are removed.
    assert len(list((Path(django_settings.MEDIA_ROOT) / "imports").iterdir())) == 2


@pytest.mark.django_db
def test_permissions(api_client, user_api, staff_api, client, plain_user, staff_user, media, background,
                     django_user_model):
    assert api_client.post(URL, {"name": "a", "file": upload(small_csv())}, format="multipart").status_code == 401
    assert post(user_api, small_csv()).status_code == 403
    assert WorkloadImportJob.objects.count() == 0
    job = queued(staff_api)
    status_api = f"/api/v1/workload-import-jobs/{job.pk}"
    assert api_client.get(status_api).status_code == 401
    assert user_api.get(status_api).status_code == 403
    assert staff_api.get(status_api).status_code == 200
    assert staff_api.get("/api/v1/workload-import-jobs/999999").status_code == 404
    # The uploader may follow the import even after losing staff rights.
    staff_user.is_staff = staff_user.is_superuser = False
    staff_user.save()
    assert staff_api.get(status_api).status_code == 200
    client.force_login(plain_user)
    assert client.get(f"/workloads/import-jobs/{job.pk}/").status_code == 403
    assert client.get(f"/workloads/import-jobs/{job.pk}/status.json").status_code == 403
    client.logout()
    assert client.get(f"/workloads/import-jobs/{job.pk}/status.json").status_code == 302


@pytest.mark.django_db
def test_page_redirects_to_progress_page_with_status_json(client, staff_user, media, background):
    client.force_login(staff_user)
    r = client.post("/workloads/upload/", {"name": "paged", "description": "", "file": upload(small_csv())})
    job = WorkloadImportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/workloads/import-jobs/{job.pk}/"
    page = client.get(r["Location"])
    assert page.status_code == 200 and b"imports.js" in page.content and b'id="job-progress"' in page.content
    status = client.get(f"/workloads/import-jobs/{job.pk}/status.json").json()
    assert status["status"] == "pending" and status["step"] == "stored" and status["percent"] == 0
    assert status["rows_read"] == 0 and status["workload"] is None and status["name"] == "paged"
    run_here(job)
    wl = Workload.objects.get(name="paged")
    page = client.get(r["Location"]).content.decode()
    assert 'id="import-result"' in page and f'href="/workloads/{wl.pk}/"' in page
    assert 'id="imported-queries">6<' in page
    assert client.get(f"/workloads/import-jobs/{job.pk}/status.json").json()["percent"] == 100


@pytest.mark.django_db
def test_page_shows_the_row_column_errors_of_a_failed_job(client, staff_user, media, background):
    client.force_login(staff_user)
    r = client.post("/workloads/upload/", {"name": "bad", "description": "", "file": upload(BAD)})
    job = WorkloadImportJob.objects.get()
    run_here(job)
    page = client.get(r["Location"]).content.decode()
    assert 'id="file-errors"' in page and "Row 3, column “input_tokens”" in page
    assert "column “output_tokens”" in page and Workload.objects.count() == 0


def finished(job_id, timeout=90.0) -> WorkloadImportJob:
    return wait_for(lambda: WorkloadImportJob.objects.exclude(status__in=JobStatus.active()).filter(pk=job_id).first(),
                    timeout, f"workload import {job_id} to end")


@pytest.mark.worker
@pytest.mark.slow
def test_kill_9_mid_write_is_recovered_without_a_second_workload_or_a_stray_file(
        transactional_db, staff_api, background, broker_url, tmp_path):
    slow = start_worker(broker_url, tmp_path, env=FAST_RECOVERY | {"ENERGYWEB_FAULT_STEP_DELAY_S": "30"},
                        name="slow-worker")
    try:
        started = time.time() - 1
        job = queued(staff_api, name=f"killed wl {time.time_ns()}")
        first = Path(django_settings.MEDIA_ROOT) / "workloads" / f"import-{job.pk}-1.npz"
        # The worker has written the arrays file and waits inside the row's transaction. (A file of that
        # name can be left in a shared MEDIA_ROOT by an earlier test run whose test database gave out the
        # same primary keys: only one written since this job was queued counts.)
        wait_for(lambda: first.exists() and first.stat().st_mtime >= started, 60, "the first attempt's arrays file")
    finally:
        slow.kill()
    job.refresh_from_db()
    assert job.status == "running" and Workload.objects.count() == 0
    worker = start_worker(broker_url, tmp_path, env=FAST_RECOVERY, purge=False, name="second-worker")
    try:
        done = finished(job.pk, 120)
    finally:
        worker.stop()
    assert done.status == "succeeded", done.error
    assert done.attempts == 2 and Workload.objects.count() == 1
    assert not first.exists() and arrays_files(done) == [f"import-{job.pk}-2.npz"]
    assert done.workload.data_file.name == f"workloads/import-{job.pk}-2.npz" and not stored(done).exists()
