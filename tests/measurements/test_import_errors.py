"""Bad files: each error names row, line and column, and nothing is written."""

import pytest

from profiling.models import LLM, Hardware, ImportBatch, Measurement
from profiling.services.measurement_import import ImportFailed, import_measurements
from tests.measurements.conftest import own_csv

GOOD = "Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1"


def failing(data, **kw):
    with pytest.raises(ImportFailed) as info:
        import_measurements(data, enqueue_refits=False, **kw)
    assert Measurement.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    return info.value


def test_missing_column_names_it_and_lists_found(pair):
    exc = failing(own_csv("Tiny LM (1B),Test Box,32,1,1.5,100,10,1",
                          header="llm,hardware,input_tokens,batch_size,runtime_s,gpu_energy_j,cpu_energy_j,iteration"))
    assert exc.error_count == 1
    err = exc.errors[0]
    assert err.column == "output_tokens"
    assert "Missing required column 'output_tokens'" in err.message
    assert "'runtime_s'" in err.message and "'input_tokens'" in err.message  # the columns found


def test_text_in_a_number(pair):
    exc = failing(own_csv(GOOD, GOOD, "Tiny LM (1B),Test Box,32,sixty-four,1,1.5,100.0,10.0,1"))
    assert exc.error_count == 1
    err = exc.errors[0]
    assert (err.row, err.line, err.column) == (3, 4, "output_tokens")
    assert "'sixty-four' is not a whole number" in err.message


def test_text_in_energy_uses_the_files_column_name(pair):
    data = (b"Phase,Runtime (s),CPU Energy (J),GPU Energy (J),Number of Output Tokens,Number of Input Tokens,"
            b"Iteration,Model,Batch Size,System\n"
            b"tokenizer,0.4,0.8,11.5,32,0,0,Tiny LM (1B),32,Test Box\n"
            b"start-inference-8-0,1.0,5.0,n/a,32,8,0,Tiny LM (1B),32,Test Box\n")
    err = failing(data).errors[0]
    assert (err.row, err.line, err.column) == (2, 3, "GPU Energy (J)")
    assert "'n/a' is not a number" in err.message


@pytest.mark.parametrize("value, word", [("-5", "negative"), ("0", "too small")])
def test_negative_or_zero_tokens(pair, value, word):
    exc = failing(own_csv(GOOD, f"Tiny LM (1B),Test Box,{value},64,1,1.5,100.0,10.0,1"))
    err = exc.errors[0]
    assert (err.row, err.line, err.column) == (2, 3, "input_tokens")
    assert word in err.message


def test_negative_runtime(pair):
    err = failing(own_csv("Tiny LM (1B),Test Box,32,64,1,-1.5,100.0,10.0,1")).errors[0]
    assert (err.row, err.column) == (1, "runtime_s")


@pytest.mark.parametrize("data", [b"", b"   \n\n", "\ufeff".encode()])
def test_empty_file(pair, data):
    exc = failing(data)
    assert "empty" in exc.errors[0].message


def test_header_only(pair):
    exc = failing(own_csv())
    assert "no data rows" in exc.errors[0].message


def test_wrong_delimiter_says_one_column(pair):
    data = own_csv(GOOD.replace(",", " "), header=own_csv().decode().strip().replace(",", " "))
    exc = failing(data)
    assert "Only one column was detected" in exc.errors[0].message
    assert "commas, semicolons, tabs or pipes" in exc.errors[0].message


def test_duplicate_upload_names_the_earlier_batch_and_adds_nothing(pair):
    data = own_csv(GOOD)
    first = import_measurements(data, filename="run1.csv", enqueue_refits=False)
    with pytest.raises(ImportFailed) as info:
        import_measurements(data, filename="copy.csv", enqueue_refits=False)
    exc = info.value
    assert exc.duplicate_of.pk == first.batch_id
    assert f"batch #{first.batch_id}" in exc.errors[0].message and "run1.csv" in exc.errors[0].message
    assert Measurement.objects.count() == 1 and ImportBatch.objects.count() == 1


def test_unknown_names_listed_in_one_error(pair):
    exc = failing(own_csv(GOOD, "Mystery (3B),Test Box,32,64,1,1.5,100,10,1",
                          "Other (5B),Nowhere Rack,32,64,1,1.5,100,10,1"))
    by_column = {e.column: e.message for e in exc.errors}
    assert "'Mystery (3B)' (first on row 2)" in by_column["llm"] and "'Other (5B)'" in by_column["llm"]
    assert "'Nowhere Rack' (first on row 3)" in by_column["hardware"]
    assert LLM.objects.count() == 1 and Hardware.objects.count() == 1


def test_unknown_energy_source(pair):
    header = "llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,gpu_energy_source"
    err = failing(own_csv("Tiny LM (1B),Test Box,32,64,1.5,100,guessed", header=header)).errors[0]
    assert (err.row, err.column) == (1, "gpu_energy_source")
    assert "Unknown energy source 'guessed'" in err.message


def test_errors_are_capped_at_fifty_with_a_count(pair):
    rows = [f"Tiny LM (1B),Test Box,x{i},64,1,1.5,100,10,1" for i in range(120)]
    exc = failing(own_csv(*rows))
    assert len(exc.errors) == 50
    assert exc.error_count == 120
    assert exc.more == 70
    assert "and 70 more" in exc.summary()


def test_a_late_bad_row_writes_nothing(pair):
    rows = [GOOD] * 999 + ["Tiny LM (1B),Test Box,32,64,1,1.5,100,10,-1"]  # negative iteration
    err = failing(own_csv(*rows)).errors[0]
    assert (err.row, err.line, err.column) == (1000, 1001, "iteration")


def test_row_without_any_energy(pair):
    err = failing(own_csv("Tiny LM (1B),Test Box,32,64,1,1.5,,,1")).errors[0]
    assert err.row == 1 and "No energy value" in err.message


def test_no_energy_column(pair):
    err = failing(own_csv("Tiny LM (1B),Test Box,32,64,1.5",
                          header="llm,hardware,input_tokens,output_tokens,runtime_s")).errors[0]
    assert "No energy column" in err.message


def test_unknown_forced_pair(pair):
    err = failing(own_csv("32,64,1.5,100", header="input_tokens,output_tokens,runtime_s,gpu_energy_j"),
                  llm="nope", hardware="Test Box").errors[0]
    assert err.column == "llm" and "Unknown LLM 'nope'" in err.message


def test_not_utf8(pair):
    data = own_csv("Tiny LM (1B),Test B\xf6x,32,64,1,1.5,100,10,1").decode().encode("latin-1")
    assert "not UTF-8" in failing(data).errors[0].message


def test_bad_gzip(pair):
    assert "gzip" in failing(b"\x1f\x8b\x08\x00garbage").errors[0].message


def test_gzip_expanding_past_the_limit(pair, settings):
    import gzip

    settings.MAX_IMPORT_UNCOMPRESSED_MB = 1
    data = gzip.compress(own_csv(*[GOOD] * 30000))
    assert "exceeds the limit of 1 MB (ENERGYWEB_MAX_IMPORT_UNCOMPRESSED_MB)" in failing(data).errors[0].message


def test_line_numbers_count_blank_lines_and_crlf(pair):
    text = "\r\n" + own_csv(GOOD, "", "Tiny LM (1B),Test Box,32,64,1,1.5,abc,10,1").decode().replace("\n", "\r\n")
    err = failing(text.encode()).errors[0]
    # Line 1 is blank, the header is line 2, GOOD line 3, a blank line 4, the bad row line 5.
    assert (err.row, err.line, err.column) == (2, 5, "gpu_energy_j")


def test_create_missing_refuses_a_name_without_letters(pair):
    err = failing(own_csv("Tiny LM (1B),+++,32,64,1,1.5,100,10,1"), create_missing=True).errors[0]
    assert (err.row, err.line, err.column) == (1, 2, "hardware") and "letter or digit" in err.message
