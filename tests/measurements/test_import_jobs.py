"""What only the measurement importer's background jobs do (the shared contract of every upload kind,
202 / stored 0600 / once / never half-written / one status shape, is tests/jobs/test_upload_contract.py)."""

from __future__ import annotations

from profiling.models import Measurement, MeasurementImportJob
from tests.measurements.conftest import own_csv
from tests.uploads import stored, upload

URL = "/api/v1/measurements/import"
GOOD = ["Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1", "Tiny LM (1B),Test Box,32,64,1,1.4,99.0,10.0,0"]


def run_here(job) -> str:
    """The job body in this process, as the task runs it in a worker."""
    from profiling.tasks import run_measurement_import

    return run_measurement_import(job.pk)


def test_job_reports_rows_validated_and_written_and_its_batch(staff_api, pair, background):
    job = MeasurementImportJob.objects.get(pk=staff_api.post(
        URL, {"file": upload(own_csv(*GOOD))}, format="multipart").json()["id"])
    assert run_here(job) == "done"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.rows_validated == 2 and job.rows_written == 2
    assert job.result["rows"] == 2 and job.batch_id == job.result["batch_id"]
    assert not stored(job).exists()
    assert Measurement.objects.filter(import_batch=job.batch).count() == 2


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


def test_progress_is_staff_only(client, plain_user, staff_api, pair, background):
    job_id = staff_api.post(URL, {"file": upload(own_csv(*GOOD))}, format="multipart").json()["id"]
    client.force_login(plain_user)
    assert client.get(f"/measurements/import/jobs/{job_id}/status.json").status_code == 403
    assert client.get(f"{URL}/jobs/{job_id}").status_code == 403


