"""Measurement pages through Django's test client: list, filters, downloads, import form, batch delete."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling.models import ImportBatch, Measurement
from profiling.services.measurement_import import import_measurements
from tests.measurements.conftest import own_csv

HEADER = "llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,gpu_energy_source,cpu_energy_j,iteration"


@pytest.fixture
def imported(pair):
    rows = [f"Tiny LM (1B),Test Box,{tin},{tout},1.0,{tin + tout},"
            f"{'estimate-tdp' if tin == 8 else 'nvml-counter'},5,{it}"
            for tin in (8, 64, 512) for tout in (16, 128) for it in range(10)]
    return import_measurements(own_csv(*rows, header=HEADER), filename="grid.csv", enqueue_refits=False)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_list_paginates_filters_and_labels_estimates(staff_client, imported):
    r = staff_client.get("/measurements/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "60 of 60 measurements" in html and "Page 1 of 2" in html
    assert 'class="badge estimated">estimated' in html and "warm-up" in html
    assert "grid.csv" in html  # the batch list
    r = staff_client.get("/measurements/", {"is_estimated": "true", "is_warmup": "false"})
    assert "18 of 60" in r.content.decode()


def test_plain_user_sees_list_but_not_import(client, plain_user, imported):
    client.force_login(plain_user)
    assert client.get("/measurements/").status_code == 200
    assert "Delete</a>" not in client.get("/measurements/").content.decode()
    assert client.get("/measurements/import/").status_code == 403
    assert client.post(f"/measurements/batches/{imported.batch_id}/delete/").status_code == 403
    assert Measurement.objects.count() == 60


def test_anonymous_redirected_to_login(client, imported):
    for url in ("/measurements/", "/measurements/import/", "/measurements/download.csv"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r["Location"]


def test_csv_download_of_filtered_list_imports_back(staff_client, imported):
    r = staff_client.get("/measurements/download.csv", {"input_tokens_min": 64})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    body = b"".join(r.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 40 and {r["input_tokens"] for r in rows} == {"64", "512"}
    assert rows[0]["energy_estimated"] == "False" and float(rows[0]["total_energy_j"]) == pytest.approx(85.0)
    # The download uses the importer's columns: it imports back (here after deleting the original).
    ImportBatch.objects.all().delete()
    again = import_measurements(body.encode(), enqueue_refits=False)
    assert again.rows == 40


def test_json_download(staff_client, imported):
    r = staff_client.get("/measurements/download.json", {"is_estimated": "true"})
    data = json.loads(b"".join(r.streaming_content))
    assert len(data) == 20 and all(d["energy_estimated"] for d in data)
    assert staff_client.get("/measurements/download.xml").status_code == 404


def test_import_form_success_and_errors(staff_client, pair):
    html = staff_client.get("/measurements/import/").content.decode()
    assert 'id="column-reference"' in html and "<code>Number of Input Tokens</code>" in html
    good = SimpleUploadedFile("ok.csv", own_csv("Tiny LM (1B),Test Box,32,64,1.5,100,rapl,10,0", header=HEADER))
    r = staff_client.post("/measurements/import/", {"file": good})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="imported-rows">1<' in html and "Imported 1 measurement(s) from ok.csv" in html
    bad = SimpleUploadedFile("bad.csv", own_csv("Tiny LM (1B),Test Box,32,-1,1.5,100,rapl,10,0", header=HEADER))
    r = staff_client.post("/measurements/import/", {"file": bad})
    assert r.status_code == 400
    html = r.content.decode()
    assert "Nothing was imported: 1 error" in html and "output_tokens" in html and "-1 is negative" in html
    r = staff_client.post("/measurements/import/", {})
    assert r.status_code == 400 and "This field is required" in r.content.decode()
    assert Measurement.objects.count() == 1


def test_batch_delete_confirms_then_deletes(staff_client, imported):
    url = f"/measurements/batches/{imported.batch_id}/delete/"
    r = staff_client.get(url)
    assert r.status_code == 200 and "deletes <strong>60</strong> measurements" in r.content.decode()
    assert Measurement.objects.count() == 60
    r = staff_client.post(url, follow=True)
    assert "Deleted batch" in r.content.decode()
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_admin_pages_render(staff_client, imported):
    for url in ("/admin/profiling/measurement/", "/admin/profiling/importbatch/",
                "/admin/profiling/profilingrun/", "/admin/profiling/measurement/?is_estimated__exact=1"):
        assert staff_client.get(url).status_code == 200, url
    r = staff_client.post("/admin/profiling/importbatch/", {
        "action": "delete_selected", "_selected_action": [imported.batch_id]})
    assert r.status_code == 200 and "60" in r.content.decode()  # the summarised confirmation
    r = staff_client.post("/admin/profiling/importbatch/", {
        "action": "delete_selected", "_selected_action": [imported.batch_id], "post": "yes"})
    assert r.status_code == 302 and Measurement.objects.count() == 0
