"""Workload CSV import: accepted variants, and every bad file refused by row and column with nothing written."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from scheduling.models import Workload
from scheduling.services.workloads import (
    WorkloadFileError,
    import_workload,
    load_workload_arrays,
    parse_workload,
)
from tests.scheduling.conftest import small_csv
from tests.uploads import files_in

pytestmark = pytest.mark.django_db




@pytest.mark.parametrize("header, sep", [
    ("input_tokens,output_tokens", ","),
    ("Number of Input Tokens,Number of Output Tokens", ","),
    ("prompt_tokens,completion_tokens", ","),
    ("ContextTokens,GeneratedTokens", ","),
    ("input_tokens;output_tokens", ";"),
    ("input_tokens\toutput_tokens", "\t"),
    ("input_tokens|output_tokens", "|"),
])
def test_accepted_column_names_and_delimiters(header, sep, media):
    data = f"{header}\n10{sep}20\n30{sep}40\n".encode()
    wl = import_workload(data, f"w {header}")
    arrays = wl.load_arrays()
    assert arrays.tin.tolist() == [10, 30]
    assert arrays.tout.tolist() == [20, 40]
    assert wl.stats["total_tokens"] == 100


def test_bom_gzip_ids_timestamps_and_prompt(media):
    body = ("\ufeffid,timestamp,prompt,input_tokens,output_tokens\n"
            "q1,2024-01-01 10:00:00,\"hello, world\",5,7\n"
            "q2,2024-01-01 10:00:01,bye,6,8\n").encode()
    wl = import_workload(gzip.compress(body), "bom+gzip", filename="x.csv.gz")
    arrays = load_workload_arrays(wl, with_meta=True)
    assert arrays.tin.tolist() == [5, 6]
    assert arrays.ids.tolist() == ["q1", "q2"]
    assert arrays.timestamps[1] - arrays.timestamps[0] == np.timedelta64(1, "s")
    assert wl.has_ids and wl.has_timestamps
    assert wl.columns["tin"] == "input_tokens"


def test_azure_trace_imports_as_it_is(azure_trace, media):
    wl = import_workload(azure_trace, "azure conv")
    assert wl.n_queries == 19366
    assert wl.columns == {"tin": "ContextTokens", "tout": "GeneratedTokens", "timestamp": "TIMESTAMP"}
    assert wl.stats["tin"]["max"] == 14050
    assert sum(wl.histograms["tin"]["counts"]) == 19366
    assert sum(wl.histograms["tout"]["counts"]) == 19366
    # Log-spaced bins: each edge ratio is the same.
    edges = np.array(wl.histograms["tout"]["edges"])
    ratios = edges[1:] / edges[:-1]
    assert np.allclose(ratios, ratios[0], rtol=0.01)


def test_summary_statistics_are_right(media):
    rng = np.random.default_rng(3)
    tin, tout = rng.integers(1, 5000, 1000), rng.integers(1, 800, 1000)
    data = ("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in zip(tin, tout, strict=True))).encode()
    wl = import_workload(data, "stats")
    s = wl.stats
    assert s["n"] == 1000
    assert s["tin"]["mean"] == pytest.approx(tin.mean())
    assert s["tout"]["p90"] == pytest.approx(np.percentile(tout, 90))
    assert s["tin"]["p99"] == pytest.approx(np.percentile(tin, 99))
    assert s["tin"]["max"] == tin.max() and s["tout"]["median"] == pytest.approx(np.median(tout))
    assert s["total_tokens"] == int(tin.sum() + tout.sum())


BAD_FILES = {
    "missing column": (b"input_tokens,answer_tokens\n1,2\n", 1, None, "no output tokens column"),
    "text": (b"input_tokens,output_tokens\n1,2\n3,lots\n", 3, "output_tokens", "not a number: 'lots'"),
    "zero tokens": (b"input_tokens,output_tokens\n0,2\n", 2, "input_tokens", "positive integer, got 0"),
    "negative tokens": (b"input_tokens,output_tokens\n5,2\n5,-4\n", 3, "output_tokens", "positive integer, got -4"),
    "fractional tokens": (b"input_tokens,output_tokens\n5,2.5\n", 2, "output_tokens", "whole number"),
    "missing value": (b"input_tokens,output_tokens\n5,\n", 2, "output_tokens", "missing value"),
    "too long context": (b"input_tokens,output_tokens\n1,1\n131000,100\n", 3, "input_tokens+output_tokens",
                         "exceeds the maximum context of 131072"),
    "extra field": (b"input_tokens,output_tokens\n1,1\n1,2,3\n", 3, None, "Expected 2 fields"),
    "wrong delimiter": (b"input_tokens output_tokens\n1 2\n", 1, None, "no input tokens column"),
    "empty file": (b"", 1, None, "empty"),
    "header only": (b"input_tokens,output_tokens\n", 2, None, "no data rows"),
    "bad timestamp": (b"timestamp,input_tokens,output_tokens\nyesterday-ish,1,2\n", 2, "timestamp",
                      "not a date and time"),
    "not utf-8": (b"input_tokens,output_tokens\n1,2\n\xff\xfe,3\n", 3, None, "invalid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_names_row_and_column_and_writes_nothing(case, media):
    data, row, column, text = BAD_FILES[case]
    with pytest.raises(WorkloadFileError) as err:
        import_workload(data, "bad")
    first = err.value.errors[0]
    assert first["row"] == row
    assert first["column"] == column
    assert text in first["message"] or text in str(err.value)
    assert Workload.objects.count() == 0
    assert files_in(media) == []


def test_more_than_50_errors_are_truncated_with_a_count(media):
    data = b"input_tokens,output_tokens\n" + b"".join(b"%d,0\n" % (i + 1) for i in range(120))
    with pytest.raises(WorkloadFileError) as err:
        import_workload(data, "many")
    exc = err.value
    assert len(exc.errors) == 50
    assert exc.total == 120 and exc.more == 70
    assert [e["row"] for e in exc.errors] == list(range(2, 52))
    assert exc.messages()[-1] == "... and 70 more errors not shown."
    assert files_in(media) == []


def test_oversize_upload_is_refused_with_the_limit(settings, media):
    settings.MAX_UPLOAD_MB = 1
    data = b"input_tokens,output_tokens\n" + b"1000,1000\n" * 120_000
    with pytest.raises(WorkloadFileError, match="larger than the upload limit of 1 MB"):
        import_workload(data, "big")
    assert Workload.objects.count() == 0 and files_in(media) == []


def test_duplicate_name_is_refused_before_reading(media):
    import_workload(small_csv(), "same")
    with pytest.raises(WorkloadFileError) as err:
        import_workload(small_csv(), "same")
    assert err.value.field == "name"
    assert Workload.objects.count() == 1


def test_parse_is_shared_by_paths(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes(small_csv())
    assert parse_workload(path).n == 6


def test_import_workload_command(tmp_path, media):
    path = tmp_path / "w.csv.gz"
    path.write_bytes(gzip.compress(small_csv()))
    call_command("import_workload", str(path), "--name", "cmd")
    assert Workload.objects.get(name="cmd").n_queries == 6
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"input_tokens,output_tokens\n1,x\n")
    with pytest.raises(CommandError, match=r"Row 2, column 'output_tokens': not a number"):
        call_command("import_workload", str(bad), "--name", "cmd2")
    assert not Workload.objects.filter(name="cmd2").exists()


def test_deleting_a_workload_removes_its_file(media):
    wl = import_workload(small_csv(), "gone")
    assert len(files_in(media)) == 1
    wl.delete()
    assert files_in(media) == []


def test_excel_style_crlf_quoted_semicolon_file(media):
    data = '\ufeff"Number of Input Tokens";"Number of Output Tokens"\r\n"12";"30"\r\n7;9\r\n'.encode()
    wl = import_workload(data, "excel")
    assert wl.load_arrays().tin.tolist() == [12, 7]
