"""Duplicates are found by content: the same rows in any encoding, delimiter, column order, compression or
line ending are refused with 409 naming the earlier batch; a file holding an earlier batch plus one more row
is refused too (row hashes per batch); allow_duplicate imports anyway."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling.models import ImportBatch, Measurement
from profiling.services.measurement_fast import FRAME_COLUMNS
from profiling.services.measurement_import import ImportFailed, import_measurements
from profiling.services.row_hashes import ROW_FIELDS, canonical, row_hashes

COLUMNS = ["llm", "hardware", "input_tokens", "output_tokens", "batch_size", "runtime_s", "gpu_energy_j",
           "iteration"]


def _rows(n=50, start=0):
    return [["Tiny LM (1B)", "Test Box", str(8 + i), str(16 + i % 7), "1", f"{0.5 + i / 100:.2f}",
             f"{10 + i * 1.5:g}", str(i % 3)] for i in range(start, start + n)]


def _csv(rows, cols=COLUMNS, sep=",", eol="\n", bom=False, trailing=""):
    order = [COLUMNS.index(c) for c in cols]
    lines = [sep.join(cols)] + [sep.join(r[i] for i in order) for r in rows]
    text = eol.join(lines) + eol + trailing
    return (("\ufeff" if bom else "") + text).encode()


def variants(rows):
    plain = _csv(rows)
    return {
        "gzip": gzip.compress(plain), "gzip -1": gzip.compress(plain, 1), "crlf": _csv(rows, eol="\r\n"),
        "trailing newline": _csv(rows, trailing="\n"), "bom": _csv(rows, bom=True), "semicolon": _csv(rows, sep=";"),
        "reordered": _csv(rows, cols=list(reversed(COLUMNS))),
    }


def test_row_fields_are_the_importers_columns():
    assert tuple(ROW_FIELDS) == tuple(FRAME_COLUMNS)


@pytest.mark.django_db
def test_the_same_rows_in_seven_other_forms_are_refused_naming_the_batch(pair):
    rows = _rows()
    first = import_measurements(_csv(rows), filename="plain.csv", enqueue_refits=False)
    for name, data in variants(rows).items():
        with pytest.raises(ImportFailed) as err:
            import_measurements(data, filename=f"{name}.csv", enqueue_refits=False)
        assert err.value.duplicate_of.pk == first.batch_id, name
        assert f"batch #{first.batch_id}" in err.value.errors[0].message
    assert ImportBatch.objects.count() == 1 and Measurement.objects.count() == 50


@pytest.mark.django_db
def test_an_earlier_batch_plus_one_row_is_refused_and_allow_duplicate_imports_anyway(pair):
    rows = _rows()
    first = import_measurements(_csv(rows), filename="plain.csv", enqueue_refits=False)
    with pytest.raises(ImportFailed) as err:
        import_measurements(_csv(rows + _rows(1, start=50)), filename="plus-one.csv", enqueue_refits=False)
    msg = err.value.errors[0].message
    assert "50 of this file's 51" in msg and f"batch #{first.batch_id}" in msg
    again = import_measurements(gzip.compress(_csv(rows)), filename="again.csv.gz", enqueue_refits=False,
                                allow_duplicate=True)
    assert ImportBatch.objects.get(pk=again.batch_id).duplicate_of_id == first.batch_id
    assert Measurement.objects.count() == 100
    # New rows only: imported.
    import_measurements(_csv(_rows(5, start=100)), filename="new.csv", enqueue_refits=False)
    assert Measurement.objects.count() == 105


@pytest.mark.django_db
def test_api_answers_409_with_the_earlier_batch_and_honours_allow_duplicate(pair, staff_api):
    rows = _rows()
    r = staff_api.post("/api/v1/measurements/import", {"file": SimpleUploadedFile("a.csv", _csv(rows))},
                       format="multipart")
    assert r.status_code == 201, r.content
    r = staff_api.post("/api/v1/measurements/import", {"file": SimpleUploadedFile("b.csv", _csv(rows, sep=";"))},
                       format="multipart")
    assert r.status_code == 409 and r.json()["duplicate_of"] == ImportBatch.objects.get().pk
    r = staff_api.post("/api/v1/measurements/import", {"file": SimpleUploadedFile("b.csv", _csv(rows, sep=";")),
                                                       "allow_duplicate": "true"}, format="multipart")
    assert r.status_code == 201


@pytest.mark.django_db
def test_the_page_checkbox_imports_anyway(pair, staff_user, client):
    client.force_login(staff_user)
    rows = _rows()
    assert client.post("/measurements/import/", {"file": SimpleUploadedFile("a.csv", _csv(rows))}).status_code in (
        200, 302)
    r = client.post("/measurements/import/", {"file": SimpleUploadedFile("a.csv", _csv(rows, eol="\r\n"))})
    assert r.status_code == 409 and b"Import anyway" in r.content
    r = client.post("/measurements/import/", {"file": SimpleUploadedFile("a.csv", _csv(rows, eol="\r\n")),
                                              "allow_duplicate": "on"})
    assert r.status_code in (200, 302) and Measurement.objects.count() == 100


def test_both_parse_paths_hash_alike():
    frame = pd.DataFrame({
        "llm_id": np.array([1, 1], dtype="int64"), "hardware_id": np.array([2, 2], dtype="int64"),
        "input_tokens": [8, 9], "output_tokens": [16, 17], "batch_size": [1, 1], "runtime_s": [0.5, 0.25],
        "gpu_energy_j": [10.0, 11.5], "cpu_energy_j": [np.nan, np.nan], "dram_energy_j": [np.nan, np.nan],
        "total_energy_j": [10.0, 11.5], "gpu_energy_source": ["imported", "imported"],
        "cpu_energy_source": ["", ""], "dram_energy_source": ["", ""], "is_estimated": [False, False],
        "is_warmup": [False, True], "iteration": [0, 1], "measured_at": [None, None]}, columns=list(ROW_FIELDS))
    lists = canonical(frame).astype(object).where(canonical(frame).notna(), None).values.tolist()
    rows = [[1, 2, 8, 16, 1, 0.5, 10.0, None, None, 10.0, "imported", "", "", False, False, 0, None],
            [1, 2, 9, 17, 1, 0.25, 11.5, None, None, 11.5, "imported", "", "", False, True, 1, None]]
    assert list(row_hashes(frame)) == list(row_hashes(rows)) and len(lists) == 2
