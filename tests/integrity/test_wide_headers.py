"""A header with too many columns, or a repeated one, is a row-1 error from the tabular reader, fast."""

from __future__ import annotations

import gzip
import time

import pytest

from energyweb.tabular import Reader, TableError
from profiling.services.measurement_import import ImportFailed, import_measurements
from scheduling.services.workloads import WorkloadFileError, import_workload


def _drain(data: bytes, **kw):
    return [c.text for c in Reader(data, **kw).chunks()]


def test_300k_duplicate_columns_refused_in_well_under_a_second(db):
    data = b"a," * 300_000 + b"b\n1,2\n"  # 600 KB, the file: one block, so counted exactly
    t0 = time.perf_counter()
    with pytest.raises(WorkloadFileError) as err:
        import_workload(data, "wide")
    assert time.perf_counter() - t0 < 0.5
    assert "row 1" in str(err.value) and "300,001" in str(err.value)
    assert err.value.errors[0]["row"] == 1


def test_a_one_line_8mb_header_is_refused_from_its_first_block():
    data = gzip.compress(b"a," * 4_000_000, 1)  # no line break at all
    t0 = time.perf_counter()
    with pytest.raises(TableError) as err:
        _drain(data, max_columns=256)
    assert err.value.kind == "header" and err.value.line == 1 and "or more" in str(err.value)
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.parametrize("header", ["input_tokens,output_tokens,Input_Tokens", "a;b; a "])
def test_a_repeated_column_is_named(header):
    with pytest.raises(TableError) as err:
        _drain((header + "\n1,2,3\n").encode())
    assert err.value.kind == "header" and "repeats the column" in str(err.value)


def test_measurement_import_gives_a_row_1_error(db):
    with pytest.raises(ImportFailed) as err:
        import_measurements(b"model,system,runtime (s),runtime (s)\nx,y,1,2\n")
    assert err.value.errors[0].line == 1 and "repeats" in err.value.errors[0].message


@pytest.mark.parametrize("text", ["10,10\n20,20\n", "input_tokens,output_tokens,,\n1,2,,\n",
                                  ",".join(f"c{i}" for i in range(256)) + "\n"])
def test_numbers_blank_trailing_columns_and_256_columns_pass(text):
    assert "".join(_drain(text.encode())) == text
