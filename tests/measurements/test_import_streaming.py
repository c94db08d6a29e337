"""The measurement import streams (energyweb/tabular.py): gzip bombs and huge fields are refused
early with nothing written, and a file read in many chunks imports exactly as in one."""

import gzip
import io

import pytest

from profiling.models import ImportBatch, Measurement
from profiling.services import measurement_import as mi
from profiling.services.measurement_import import ImportFailed, import_measurements
from tests.conftest import gzip_bomb
from tests.measurements.conftest import OWN_HEADER, own_csv

GOOD = "Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,1"
FIELDS = ["input_tokens", "output_tokens", "batch_size", "runtime_s", "gpu_energy_j", "cpu_energy_j",
          "dram_energy_j", "total_energy_j", "gpu_energy_source", "is_estimated", "is_warmup", "iteration",
          "llm_id", "hardware_id"]


def failing(data, **kw):
    with pytest.raises(ImportFailed) as info:
        import_measurements(data, enqueue_refits=False, **kw)
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0
    return info.value


def stored(batch_id):
    return list(Measurement.objects.filter(import_batch_id=batch_id).order_by("id").values_list(*FIELDS))


class Stream(io.RawIOBase):
    """A pipe-like upload: readable once, not seekable, so the hash is known only at the end."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        chunk = self._data.read(len(b))
        b[:len(chunk)] = chunk
        return len(chunk)


def test_a_gzip_bomb_is_refused_by_its_ratio_and_nothing_is_written(pair):
    bomb = gzip_bomb(own_csv().replace(b"\n", b"\n"), (GOOD + "\n").encode(), 40)
    assert len(bomb) < 200_000  # 40 MB of rows
    exc = failing(bomb)
    assert "likely gzip bomb" in exc.errors[0].message and "ENERGYWEB_IMPORT_MAX_GZIP_RATIO" in exc.errors[0].message


def test_the_ratio_cap_is_a_setting(pair, settings):
    settings.IMPORT_MAX_GZIP_RATIO = 100_000
    # A small size cap: the rows under it are validated and written before the cap fires (195 s for
    # 20 MB on SQLite with the box loaded); 2 MB shows the same rule.
    settings.MAX_IMPORT_UNCOMPRESSED_MB = 2
    exc = failing(gzip_bomb(own_csv(), (GOOD + "\n").encode(), 4))
    assert "exceeds the limit of 2 MB (ENERGYWEB_MAX_IMPORT_UNCOMPRESSED_MB)" in exc.errors[0].message


def test_a_field_past_the_cap_names_row_line_and_column(pair, settings):
    settings.IMPORT_MAX_FIELD_KB = 1
    settings.IMPORT_CHUNK_ROWS = 4
    rows = [GOOD] * 6 + ["Tiny LM (1B),Test Box,32,64,1,1.5," + "9" * 2000 + ",10.0,1"] + [GOOD] * 3
    err = failing(own_csv(*rows)).errors[0]
    assert (err.row, err.line, err.column) == (7, 8, "gpu_energy_j")
    assert "field limit of 1,024 characters" in err.message


def test_an_error_in_a_later_chunk_names_its_row_and_line_and_writes_nothing(pair, settings):
    settings.IMPORT_CHUNK_ROWS = 10
    rows = [GOOD] * 16 + ["", "Tiny LM (1B),Test Box,32,64,1,1.5,abc,10.0,1"] + [GOOD] * 20
    err = failing(own_csv(*rows)).errors[0]
    # Header line 1, 16 rows on lines 2-17, a blank line 18, the bad row 17 on line 19.
    assert (err.row, err.line, err.column) == (17, 19, "gpu_energy_j")


def test_errors_across_chunks_keep_the_first_fifty_and_the_count(pair, settings):
    settings.IMPORT_CHUNK_ROWS = 7
    rows = [f"Tiny LM (1B),Test Box,x{i},64,1,1.5,100,10,1" if i % 2 else GOOD for i in range(240)]
    exc = failing(own_csv(*rows))
    assert exc.error_count == 120 and len(exc.errors) == 50
    assert [e.row for e in exc.errors] == list(range(2, 101, 2))


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 21, 100_000])
def test_chunked_imports_store_the_same_rows(pair, settings, chunk_rows):
    """21 lines (a header and 20 rows) in chunks of 7 lines: the file ends exactly at a chunk's end.
    Some rows take the row path (a negative CPU reading, a measured_at-free estimate source)."""
    rows = []
    for i in range(20):
        cpu = "-2" if i in (4, 15) else f"{i}.5"
        rows.append(f"Tiny LM (1B),Test Box,{i + 1},{2 * i + 1},{1 + i % 3},{0.5 + i},{100 + i},{cpu},{i % 4}")
    data = own_csv(*rows)
    assert data.count(b"\n") == 21
    settings.IMPORT_CHUNK_ROWS = chunk_rows
    seen = []
    summary = import_measurements(data, enqueue_refits=False, progress=seen.append)
    got = stored(summary.batch_id)
    assert len(got) == 20 and summary.rows == 20 and summary.warning_count == 2
    assert [(w["row"], w["line"]) for w in summary.warnings] == [(5, 6), (16, 17)]
    assert seen[-1] == 20 and seen == sorted(seen)
    # Progress once per chunk: equal chunks without the read-ahead thread, from a small first one
    # doubling with it (the default).
    assert len(seen) == len(list(mi._reader(data).chunks()))
    assert (len(seen) == 1) == (chunk_rows >= 21 * (mi.FIRST_CHUNK_SHARE if settings.IMPORT_READ_AHEAD else 1))
    Measurement.objects.all().delete()
    ImportBatch.objects.all().delete()
    settings.IMPORT_CHUNK_ROWS = 100_000
    assert stored(import_measurements(data, enqueue_refits=False).batch_id) == got


def test_gzip_and_a_stream_import_like_the_plain_file(pair, settings):
    settings.IMPORT_CHUNK_ROWS = 5
    data = own_csv(*[GOOD.replace(",32,", f",{i + 1},") for i in range(23)])
    plain = import_measurements(data, enqueue_refits=False)
    rows = stored(plain.batch_id)
    ImportBatch.objects.all().delete()
    assert stored(import_measurements(gzip.compress(data), enqueue_refits=False).batch_id) == rows
    ImportBatch.objects.all().delete()
    assert stored(import_measurements(Stream(data), enqueue_refits=False).batch_id) == rows


def test_a_duplicate_stream_is_refused_at_its_end_and_adds_nothing(pair, settings):
    settings.IMPORT_CHUNK_ROWS = 5
    data = own_csv(*[GOOD] * 23)
    first = import_measurements(Stream(data), enqueue_refits=False)
    with pytest.raises(ImportFailed) as info:
        import_measurements(Stream(data), enqueue_refits=False)
    assert info.value.duplicate_of.pk == first.batch_id
    assert ImportBatch.objects.count() == 1 and Measurement.objects.count() == 23


def test_created_names_across_chunks_are_created_once(pair, settings):
    settings.IMPORT_CHUNK_ROWS = 4
    rows = [GOOD.replace("Test Box", "New Cluster" if i % 2 else "new-cluster") for i in range(15)]
    summary = import_measurements(own_csv(*rows, header=OWN_HEADER), create_missing=True, enqueue_refits=False)
    assert summary.created_hardware == ["new-cluster"] and summary.rows == 15 and len(summary.pairs) == 1


def test_an_unknown_name_in_a_later_chunk_writes_nothing(pair, settings):
    settings.IMPORT_CHUNK_ROWS = 4
    rows = [GOOD] * 9 + [GOOD.replace("Test Box", "Elsewhere")] + [GOOD] * 5
    err = failing(own_csv(*rows)).errors[0]
    assert "Unknown hardware name(s): 'Elsewhere' (first on row 10)" in err.message
