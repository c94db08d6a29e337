"""REST API: read measurements with filters, import (staff only), delete batches."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling.models import ImportBatch, Measurement
from profiling.services.measurement_import import import_measurements
from tests.measurements.conftest import own_csv

URL = "/api/v1/measurements/import"
GOOD = "Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1"


def upload(data, name="runs.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_staff_import_returns_201_summary(staff_api, pair):
    data = own_csv(GOOD, "Tiny LM (1B),Test Box,32,64,1,1.4,99.0,10.0,0")
    r = staff_api.post(URL, {"file": upload(data)}, format="multipart")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["rows"] == 2 and body["warmups"] == 1
    assert body["pairs"][0]["llm"] == "Tiny LM (1B)"
    batch = ImportBatch.objects.get(pk=body["batch_id"])
    assert batch.created_by.username == "operator"


def test_errors_are_row_and_column_keyed_and_nothing_written(staff_api, pair):
    data = own_csv(GOOD, "Tiny LM (1B),Test Box,-4,64,1,1.5,100,10,1")
    r = staff_api.post(URL, {"file": upload(data)}, format="multipart")
    assert r.status_code == 400
    body = r.json()
    assert body["error_count"] == 1
    assert body["errors"][0] == {"row": 2, "line": 3, "column": "input_tokens",
                                 "message": "-4 is negative: must be at least 1."}
    assert Measurement.objects.count() == 0


def test_duplicate_is_409_naming_the_batch(staff_api, pair):
    data = own_csv(GOOD)
    first = staff_api.post(URL, {"file": upload(data)}, format="multipart").json()
    r = staff_api.post(URL, {"file": upload(data, "again.csv")}, format="multipart")
    assert r.status_code == 409
    assert r.json()["duplicate_of"] == first["batch_id"]
    assert f"#{first['batch_id']}" in r.json()["errors"][0]["message"]
    assert Measurement.objects.count() == 1


def test_missing_file_is_field_keyed(staff_api, pair):
    r = staff_api.post(URL, {"llm": "x"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()


def test_forced_pair_and_create_missing_options(staff_api, pair):
    data = own_csv("32,64,1.5,100", header="input_tokens,output_tokens,runtime_s,gpu_energy_j")
    r = staff_api.post(URL, {"file": upload(data), "llm": "Tiny LM (1B)", "hardware": "test-box"},
                       format="multipart")
    assert r.status_code == 201, r.content
    data = own_csv("New LM (2B),New Box,32,64,1,1.5,100,10,1")
    r = staff_api.post(URL, {"file": upload(data), "create_missing": "true"}, format="multipart")
    assert r.status_code == 201, r.content
    assert r.json()["created_llms"] == ["New LM (2B)"]


def test_plain_user_forbidden(user_api, pair):
    r = user_api.post(URL, {"file": upload(own_csv(GOOD))}, format="multipart")
    assert r.status_code == 403
    assert Measurement.objects.count() == 0


def test_anonymous_refused(api_client, pair):
    r = api_client.post(URL, {"file": upload(own_csv(GOOD))}, format="multipart")
    assert r.status_code in (401, 403)
    assert api_client.get("/api/v1/measurements/").status_code in (401, 403)


@pytest.fixture
def imported(pair):
    header = "llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,gpu_energy_source,iteration"
    data = own_csv(*(f"Tiny LM (1B),Test Box,{tin},{tout},1.0,{tin + tout},"
                     f"{'estimate-tdp' if tin == 8 else 'nvml-counter'},{it}"
                     for tin in (8, 64, 512) for tout in (16, 128) for it in (0, 1)), header=header)
    return import_measurements(data, enqueue_refits=False)


def test_list_filters_and_energy_estimated_label(user_api, imported):
    r = user_api.get("/api/v1/measurements/", {"limit": 100})
    assert r.status_code == 200
    assert r.json()["count"] == 12
    row = r.json()["results"][0]
    assert row["input_tokens"] == 8 and row["energy_estimated"] is True and row["llm_name"] == "Tiny LM (1B)"

    def count(**params):
        return user_api.get("/api/v1/measurements/", params).json()["count"]

    assert count(is_estimated="true") == 4
    assert count(is_warmup="false") == 6
    assert count(input_tokens_min=64, output_tokens_max=16) == 4  # tin 64 and 512, two iterations each
    assert count(input_tokens_max=63) == 4
    assert count(import_batch=imported.batch_id, llm=imported.pairs[0]["llm_id"]) == 12
    assert user_api.get("/api/v1/measurements/", {"hardware": 99999}).status_code == 400


def test_measurements_are_read_only(staff_api, imported):
    m = Measurement.objects.first()
    assert staff_api.delete(f"/api/v1/measurements/{m.pk}/").status_code == 405
    assert staff_api.post("/api/v1/measurements/", {}).status_code == 405


def test_batches_read_and_staff_delete(plain_user, staff_user, imported):
    from rest_framework.test import APIClient

    # Two clients: the shared api_client fixture would be one client re-authenticated.
    user_api, staff_api = APIClient(), APIClient()
    user_api.force_authenticate(plain_user)
    staff_api.force_authenticate(staff_user)
    r = user_api.get("/api/v1/import-batches/")
    assert r.status_code == 200
    batch = r.json()["results"][0]
    assert batch["row_count"] == 12 and batch["warmups"] == 6 and batch["estimated"] == 4
    url = f"/api/v1/import-batches/{imported.batch_id}/"
    assert user_api.delete(url).status_code == 403
    assert Measurement.objects.count() == 12
    assert staff_api.delete(url).status_code == 204
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_openapi_schema_lists_the_endpoints(user_api):
    r = user_api.get("/api/v1/schema/")
    if r.status_code == 404:
        pytest.skip("schema endpoint not mounted at /api/v1/schema/")
    text = r.content.decode()
    assert "/api/v1/measurements/import" in text and "/api/v1/import-batches/" in text


def test_upload_over_the_limit_is_refused(staff_api, pair, settings):
    settings.MAX_UPLOAD_MB = 1
    big = own_csv(*[GOOD] * 30000)
    assert len(big) > 1024 * 1024
    r = staff_api.post(URL, {"file": upload(big)}, format="multipart")
    assert r.status_code == 400 and "limit is 1 MB" in r.json()["file"][0]
    assert Measurement.objects.count() == 0


def test_batch_counts_are_stored_at_import_and_no_longer_counted_per_request(staff_api, imported,
                                                                           django_assert_max_num_queries):
    """The batch list read warm-up and estimated counts by scanning the measurement table on every request."""
    from profiling.models import ImportBatch

    batch = ImportBatch.objects.get()
    assert (batch.row_count, batch.warmup_rows, batch.estimated_rows) == (12, 6, 4)
    assert batch.warmup_rows == batch.measurements.filter(is_warmup=True).count()
    assert batch.estimated_rows == batch.measurements.filter(is_estimated=True).count()
    with django_assert_max_num_queries(6) as ctx:
        body = staff_api.get("/api/v1/import-batches/").json()
    assert body["results"][0]["warmups"] == 6 and body["results"][0]["estimated"] == 4
    assert not any("profiling_measurement" in q["sql"] for q in ctx.captured_queries)


def test_migration_fills_the_counts_of_batches_imported_before_it(imported):
    import importlib

    from django.apps import apps

    from profiling.models import ImportBatch

    ImportBatch.objects.update(warmup_rows=0, estimated_rows=0)  # as the AddField leaves older batches
    migration = importlib.import_module("profiling.migrations.0010_import_batch_counts")
    migration.count_existing(apps, None)
    batch = ImportBatch.objects.get()
    assert (batch.warmup_rows, batch.estimated_rows) == (6, 4)
