"""The contract of every background import (energyweb/jobs/uploads.py), run against each registered
upload kind: measurement imports and workload imports.

A large upload leaves the request path (202, stored 0600, queued after commit), is imported by a job
once and never half-written, reports the same status shape on the page and in the API, and its stored
file goes when the job ends. What only one importer does (a duplicate file's 409, a workload's name and
quota checks, its arrays files) stays in that importer's own test file.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from energyweb.jobs import recovery, registry, uploads
from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from energyweb.jobs.service import JobLost
from profiling.models import ImportBatch, Measurement, MeasurementImportJob
from scheduling.models import Workload, WorkloadImportJob
from tests.conftest import wait_for
from tests.measurements.conftest import own_csv, pair  # noqa: F401  (the measurement kind needs its LLM and hardware)
from tests.scheduling.conftest import small_csv
from tests.uploads import stored, upload

MEASUREMENT_ROWS = ["Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1", "Tiny LM (1B),Test Box,32,64,1,1.4,99.0,10.0,0"]


@dataclass(frozen=True)
class Kind:
    """What the contract needs to know of one upload kind."""

    model: type
    api_url: str              # POST the upload here
    page_url: str             # the upload page
    status_api: str           # "{pk}" -> the API status GET
    progress_page: str        # "{pk}" -> the progress page (its status.json beside it)
    good: bytes               # a valid file of ``rows`` rows
    rows: int
    bad: bytes                # a file with one row/column error
    bad_cell: tuple           # (row, column) of that error
    needs: str                # the fixture that makes the file importable
    fields: dict              # other form fields of an upload
    made: str                 # the result's key naming what the import made (a restart reports the same)

    def written(self) -> int:
        """What the importer wrote (rows of its own tables)."""
        if self.model is MeasurementImportJob:
            return Measurement.objects.count() + ImportBatch.objects.count()
        return Workload.objects.count()

    def post(self, client, data: bytes, name: str = "big.csv", **extra):
        return client.post(self.api_url, {**self.fields, **extra, "file": upload(data, name)}, format="multipart")


KINDS = {
    "measurements": Kind(
        model=MeasurementImportJob, api_url="/api/v1/measurements/import", page_url="/measurements/import/",
        status_api="/api/v1/measurements/import/jobs/{pk}", progress_page="/measurements/import/jobs/{pk}/",
        good=own_csv(*MEASUREMENT_ROWS), rows=2, bad=own_csv(MEASUREMENT_ROWS[0], "Tiny LM (1B),Test Box,-4,64,1,1.5,100,10,1"),
        bad_cell=(2, "input_tokens"), needs="pair", fields={}, made="batch_id"),
    "workloads": Kind(
        model=WorkloadImportJob, api_url="/api/v1/workloads/", page_url="/workloads/upload/",
        status_api="/api/v1/workload-import-jobs/{pk}", progress_page="/workloads/import-jobs/{pk}/",
        good=small_csv(), rows=6, bad=b"input_tokens,output_tokens\n10,20\n30,-1\n",
        bad_cell=(3, "output_tokens"), needs="db", fields={"name": "wl big", "description": "d"}, made="workload"),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request) -> Kind:
    k = KINDS[request.param]
    request.getfixturevalue(k.needs)
    return k


@pytest.fixture
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def queued(kind: Kind, client, data: bytes | None = None):
    r = kind.post(client, kind.good if data is None else data)
    assert r.status_code == 202, r.content
    return kind.model.objects.get(pk=r.json()["id"])


def run_here(job) -> str:
    """The kind's own Celery task, called in this process (as a worker runs it)."""
    return registry.task(type(job)._meta.label)(job.pk)


def test_both_upload_kinds_are_under_contract():
    assert {k.model._meta.label for k in KINDS.values()} == {
        k.model_label for k in registry.kinds() if k.upload is not None}


def test_small_upload_stays_in_the_request(kind, staff_api, private_media):
    r = kind.post(staff_api, kind.good)
    assert r.status_code == 201, r.content
    assert kind.model.objects.count() == 0 and kind.written() > 0


def test_large_upload_answers_202_stored_private_and_queued(kind, staff_api, private_media, background,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as wakeups:
        r = kind.post(staff_api, kind.good)
    assert r.status_code == 202, r.content
    body = r.json()
    job = kind.model.objects.get(pk=body["id"])
    assert body["status"] == "pending" and r["Location"] == body["status_url"]
    assert body["status_url"] == kind.status_api.format(pk=job.pk) + "/"
    assert body["url"] == kind.progress_page.format(pk=job.pk)
    assert len(wakeups) == 1  # the wake-up goes out after commit
    assert stat.S_IMODE(stored(job).stat().st_mode) == 0o600 and stored(job).read_bytes() == kind.good
    assert kind.written() == 0  # nothing imported in the request
    assert staff_api.get(body["status_url"]).json()["status"] == "pending"


def test_the_status_is_one_shape_for_the_page_and_the_api(kind, staff_api, client, staff_user, private_media,
                                                          background):
    job = queued(kind, staff_api)
    client.force_login(staff_user)
    page = client.get(kind.progress_page.format(pk=job.pk) + "status.json").json()
    api = staff_api.get(kind.status_api.format(pk=job.pk)).json()
    assert page == api == job.status_payload()
    shared = {"id", "status", "steps_done", "steps_total", "percent", "eta_seconds", "attempts", "error", "created",
              "started", "finished", "filename", "size_bytes", "result", "url", "status_url"}
    assert shared <= set(api) and api["size_bytes"] == len(kind.good) and api["filename"] == "big.csv"


def test_job_imports_once_reports_and_removes_the_upload(kind, staff_api, private_media, background):
    job = queued(kind, staff_api)
    assert run_here(job) == "done"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress_percent == 100 and job.result
    assert kind.written() > 0 and not stored(job).exists()
    body = staff_api.get(kind.status_api.format(pk=job.pk)).json()
    assert body["status"] == "succeeded" and body["result"] == job.result
    assert run_here(job) == "skipped"  # a re-delivered message finds the job done


def test_bad_file_fails_with_row_column_errors_and_writes_nothing(kind, staff_api, private_media, background):
    job = queued(kind, staff_api, kind.bad)
    run_here(job)  # the body records the failure itself
    body = staff_api.get(kind.status_api.format(pk=job.pk)).json()
    assert body["status"] == "failed" and body["error"] and body["result"]["error_count"] == 1
    first = body["result"]["errors"][0]
    assert (first["row"], first["column"]) == kind.bad_cell
    assert kind.written() == 0 and not stored(job).exists()


def test_a_worker_that_lost_its_claim_commits_nothing_and_keeps_the_upload(kind, staff_api, private_media,
                                                                           background):
    job = queued(kind, staff_api)
    handle = job_service.claim(kind.model, job.pk)
    # Recovery gave the job to another worker while this one was importing.
    kind.model.objects.filter(pk=job.pk).update(lease_owner="someone-else")
    with pytest.raises(JobLost):
        uploads.run(kind.model.objects.get(pk=job.pk), handle)
    assert kind.written() == 0
    assert stored(job).exists()  # the worker that holds the job now still needs it


def test_restart_after_commit_reports_the_result_and_never_imports_twice(kind, staff_api, private_media,
                                                                         background):
    job = queued(kind, staff_api)
    assert run_here(job) == "done"
    written, result = kind.written(), kind.model.objects.get(pk=job.pk).result
    # As if the worker died between the import's commit and finishing the job: recovery re-queues it.
    kind.model.objects.filter(pk=job.pk).update(status="pending", lease_owner="", result={})
    assert run_here(job) == "done"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2 and job.result[kind.made] == result[kind.made]
    assert kind.written() == written


def test_recovery_giving_up_fails_the_job_and_removes_the_upload(kind, staff_api, private_media, background,
                                                                 settings):
    job = queued(kind, staff_api)
    job_service.claim(kind.model, job.pk)
    kind.model.objects.filter(pk=job.pk).update(attempts=settings.JOB_MAX_ATTEMPTS,
                                                lease_expires=timezone.now() - timedelta(seconds=1))
    assert recovery.recover()[kind.model._meta.label]["failed"] == 1
    assert kind.model.objects.get(pk=job.pk).status == "failed" and not stored(job).exists()
    assert kind.written() == 0


def test_cancel_of_a_queued_import_is_the_shared_use_case(kind, staff_api, private_media, background,
                                                          django_capture_on_commit_callbacks):
    job = queued(kind, staff_api)
    cancel_url = kind.status_api.format(pk=job.pk) + "/cancel/"
    with django_capture_on_commit_callbacks(execute=True):
        r = staff_api.post(cancel_url)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert not stored(job).exists()  # a pending import has no worker: its upload goes at once
    again = staff_api.post(cancel_url)
    assert again.status_code == 400 and again.json() == {"status": ["The import has already cancelled."]}
    assert run_here(job) == "skipped" and kind.written() == 0


def test_page_redirects_to_the_progress_page_and_its_status_json(kind, client, staff_user, private_media,
                                                                 background):
    client.force_login(staff_user)
    r = client.post(kind.page_url, {**kind.fields, "file": upload(kind.good)})
    job = kind.model.objects.get()
    assert r.status_code == 302 and r["Location"] == kind.progress_page.format(pk=job.pk)
    page = client.get(r["Location"])
    assert page.status_code == 200 and b"imports.js" in page.content
    status_json = r["Location"] + "status.json"
    assert client.get(status_json).json()["status"] == "pending"
    run_here(job)
    page = client.get(r["Location"]).content.decode()
    assert 'id="import-result"' in page
    assert client.get(status_json).json()["percent"] == 100


def test_a_real_worker_imports_a_queued_upload_by_its_registered_task(kind, celery_worker_process, staff_api,
                                                                      background):
    name = {"name": f"worker {time.time_ns()}"} if "name" in kind.fields else {}
    r = kind.post(staff_api, kind.good, **name)
    assert r.status_code == 202
    job = wait_for(lambda: kind.model.objects.exclude(status__in=JobStatus.active()).filter(pk=r.json()["id"]).first(),
                   90, "the import to end")
    assert job.status == "succeeded", job.error
    assert kind.written() > 0 and not Path(stored(job)).exists()
