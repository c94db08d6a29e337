"""Hostile measurement and workload files: row/column errors, a 4xx, nothing stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from profiling.choices import EnergySource
from profiling.models import ImportBatch, Measurement
from scheduling.models import Workload
from tests.hardening.conftest import upload

HEADER = "llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j\n"


def _measurement_file(catalogue, row: str) -> bytes:
    hw, llm = catalogue
    return (HEADER + row.format(llm=llm.name, hw=hw.name) + "\n").encode()


@pytest.mark.parametrize("label, row, column, message", [
    ("int past 64 bits", "{llm},{hw}," + str(2**70) + ",5,1.0,2.0", "input_tokens", "too large"),
    ("tokens past context", "{llm},{hw},1000000000,5,1.0,2.0", "input_tokens", "MAX_CONTEXT_TOKENS"),
    ("sum past context", "{llm},{hw},100000,100000,1.0,2.0", "output_tokens", "maximum context"),
    ("1e300 runtime", "{llm},{hw},5,5,1e300,2.0", "runtime_s", "implausibly large"),
    ("1e300 energy", "{llm},{hw},5,5,1.0,1e300", "gpu_energy_j", "implausibly large"),
    ("inf energy", "{llm},{hw},5,5,1.0,inf", "gpu_energy_j", "not a number"),
    ("NaN runtime", "{llm},{hw},5,5,nan,2.0", "runtime_s", "finite"),
    ("booleans as tokens", "{llm},{hw},True,5,1.0,2.0", "input_tokens", "not a whole number"),
    ("extra field", "{llm},{hw},5,5,1.0,2.0,7", "field 7", "header has 6"),
    # The streaming reader names the column too (ENERGYWEB_IMPORT_MAX_FIELD_KB).
    ("field past csv limit", "{llm},{hw},5,5,1.0," + "1" * 200_000, "gpu_energy_j", "field limit"),
    ("5000-char name", "x" * 5000 + ",{hw},5,5,1.0,2.0", "llm", "at most 200"),
])
def test_measurement_import_api(staff_web, catalogue, label, row, column, message):
    r = staff_web.post("/api/v1/measurements/import", {"file": upload(_measurement_file(catalogue, row)),
                                                        "create_missing": "true"})
    assert r.status_code == 400, (label, r.content[:300])
    error = r.json()["errors"][0]
    assert error["row"] == 1 and error["line"] == 2
    assert error["column"] == column
    assert message in error["message"]
    assert not Measurement.objects.exists() and not ImportBatch.objects.exists()


def test_measurement_import_page_int_past_64_bits(staff_web, catalogue):
    r = staff_web.post("/measurements/import/",
                       {"file": upload(_measurement_file(catalogue, "{llm},{hw}," + str(2**70) + ",5,1.0,2.0"))})
    assert r.status_code == 400
    assert b"too large" in r.content
    assert not Measurement.objects.exists()


def test_created_names_are_never_truncated(staff_web, catalogue):
    row = "y" * 150 + ",{hw},5,5,1.0,2.0"
    r = staff_web.post("/api/v1/measurements/import", {"file": upload(_measurement_file(catalogue, row)),
                                                        "create_missing": "true"})
    assert r.status_code == 400
    assert "at most 120 characters" in r.json()["errors"][0]["message"]


def test_trailing_empty_fields_are_still_accepted(staff_web, catalogue):
    r = staff_web.post("/api/v1/measurements/import",
                       {"file": upload(_measurement_file(catalogue, "{llm},{hw},5,5,1.0,2.0,,"))})
    assert r.status_code == 201, r.content
    assert Measurement.objects.count() == 1


@pytest.mark.parametrize("field, value", [
    ("runtime_s", 1e300), ("runtime_s", float("nan")), ("runtime_s", 0.0), ("gpu_energy_j", 1e300),
    ("gpu_energy_j", float("inf")), ("input_tokens", 10**9), ("batch_size", 2**40),
])
def test_model_clean_shares_the_importer_rules(catalogue, field, value):
    hw, llm = catalogue
    m = Measurement(llm=llm, hardware=hw, input_tokens=5, output_tokens=5, runtime_s=1.0, gpu_energy_j=2.0,
                    gpu_energy_source=EnergySource.IMPORTED, total_energy_j=2.0)
    m.full_clean()
    setattr(m, field, value)
    with pytest.raises(ValidationError) as exc:
        m.full_clean()
    assert field in exc.value.message_dict


def test_ceilings_are_settings(catalogue, settings):
    hw, llm = catalogue
    settings.MAX_MEASURED_ENERGY_J = 10
    m = Measurement(llm=llm, hardware=hw, input_tokens=5, output_tokens=5, runtime_s=1.0, gpu_energy_j=20.0,
                    gpu_energy_source=EnergySource.IMPORTED, total_energy_j=20.0)
    with pytest.raises(ValidationError) as exc:
        m.full_clean()
    assert "gpu_energy_j" in exc.value.message_dict


@pytest.mark.parametrize("data, column, message", [
    (b"input_tokens,output_tokens\n1,2,3\n4,5\n", None, "more fields than the header"),
    (b"input_tokens,output_tokens,id\n1,2," + b"a" * 5000 + b"\n", "id", "longer than 200"),
    (b"input_tokens,output_tokens\n1,99999999999999999999999\n", "input_tokens+output_tokens", "maximum context"),
    (b"input_tokens,output_tokens\nTrue,False\n", "input_tokens", "not a number"),
    (b"input_tokens,output_tokens" + b"x" * 200_000 + b"\n1,2\n", None, ""),
])
def test_workload_upload_api(staff_web, db, data, column, message):
    r = staff_web.post("/api/v1/workloads/", {"name": "hostile", "file": upload(data)})
    assert r.status_code == 400, r.content[:300]
    body = r.json()
    assert "file" in body
    if message:
        assert body["errors"][0]["column"] == column
        assert message in body["errors"][0]["message"]
    assert not Workload.objects.exists()


def test_oversized_upload_on_the_workload_page(staff_web, db, settings):
    settings.MAX_UPLOAD_MB = 1
    r = staff_web.post("/workloads/upload/", {"name": "big", "file": upload(b"input_tokens,output_tokens\n"
                                                                            + b"1,2\n" * 700_000)})
    assert r.status_code == 413
    assert b"above the limit of 1 MB" in r.content
    assert not Workload.objects.exists()


@pytest.mark.parametrize("url", ["/workloads/{pk}/stats.csv%0Ax", "/workloads/{pk}/stats.xlsx"])
def test_download_format_with_a_line_break(staff_web, db, url):
    from scheduling.services.generator import generate_workload

    wl = generate_workload("w", 10, "constant:value=5", "constant:value=5", 0)
    assert staff_web.get(url.format(pk=wl.pk)).status_code == 404
    assert staff_web.get("/measurements/download.csv%0Ax").status_code == 404
    assert staff_web.get(f"/workloads/{wl.pk}/stats.csv").status_code == 200


def test_created_names_must_be_printable(staff_web, catalogue):
    row = "A\x01B,{hw},5,5,1.0,2.0"
    r = staff_web.post("/api/v1/measurements/import", {"file": upload(_measurement_file(catalogue, row)),
                                                        "create_missing": "true"})
    assert r.status_code == 400
    assert "printable" in r.json()["errors"][0]["message"]
