"""The workload import streams (energyweb/tabular.py): gzip bombs and huge fields are refused
with nothing stored, and a file read in many chunks parses exactly as in one."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from scheduling.models import Workload
from scheduling.services.workloads import (
    WorkloadFileError,
    content_hash,
    import_workload,
    load_workload_arrays,
    parse_workload,
)
from tests.conftest import gzip_bomb
from tests.uploads import files_in

pytestmark = pytest.mark.django_db




def refused(data, media, **kw) -> WorkloadFileError:
    with pytest.raises(WorkloadFileError) as err:
        import_workload(data, "refused", **kw)
    assert Workload.objects.count() == 0 and files_in(media) == []
    return err.value


def test_a_gzip_bomb_is_refused_with_nothing_stored(media):
    bomb = gzip_bomb(b"input_tokens,output_tokens\n", b"100,20\n", 40)
    assert len(bomb) < 200_000
    assert "likely gzip bomb" in str(refused(bomb, media))


def test_the_decompressed_file_counts_against_the_upload_limit(media, settings):
    settings.MAX_UPLOAD_MB = 5
    settings.IMPORT_MAX_GZIP_RATIO = 100_000
    err = refused(gzip_bomb(b"input_tokens,output_tokens\n", b"100,20\n", 8), media)
    assert "decompressed file exceeds the limit of 5 MB (ENERGYWEB_MAX_UPLOAD_MB)" in str(err)


def test_a_field_past_the_cap_names_row_and_column(media, settings):
    settings.IMPORT_MAX_FIELD_KB = 1
    settings.IMPORT_CHUNK_ROWS = 3
    data = b"id,input_tokens,output_tokens\n" + b"".join(b"q%d,5,6\n" % i for i in range(7)) \
        + b"q7," + b"9" * 5000 + b",6\n" + b"q8,1,1\n"
    err = refused(data, media)
    assert err.errors == [{"row": 9, "column": "input_tokens",
                           "message": "a field longer than the field limit of 1,024 characters "
                                      "(ENERGYWEB_IMPORT_MAX_FIELD_KB)"}]


def test_an_error_in_a_later_chunk_names_its_row(media, settings):
    settings.IMPORT_CHUNK_ROWS = 4
    rows = [b"%d,%d\n" % (i + 1, i + 2) for i in range(30)]
    rows[12] = b"13,x\n"
    rows[25] = b"0,5\n"
    err = refused(b"input_tokens,output_tokens\n" + b"".join(rows), media)
    assert err.total == 2
    assert [(e["row"], e["column"]) for e in err.errors] == [(14, "output_tokens"), (27, "input_tokens")]


@pytest.mark.parametrize("index", [18, 19, 20, 21])
def test_a_malformed_row_in_a_later_chunk_names_its_line(media, settings, index):
    """Whether the long row opens its chunk (pandas warns) or not (pandas errs), it is named."""
    settings.IMPORT_CHUNK_ROWS = 4
    rows = [b"%d,%d\n" % (i + 1, i + 2) for i in range(30)]
    rows[index] = b"1,2,3\n"
    err = refused(b"input_tokens,output_tokens\n" + b"".join(rows), media)
    assert err.errors[0]["row"] == index + 2 and f" {index + 2}" in str(err)


@pytest.mark.parametrize("chunk_rows", [1, 2, 5, 7, 100_000])
def test_chunked_parses_are_identical(settings, chunk_rows):
    """Ids, timestamps (some rows only in the string path's formats), a BOM, CRLF and gzip;
    21 lines: chunks of 7 end exactly at the end of the file."""
    lines = ["\ufeffid,timestamp,input_tokens,output_tokens"]
    for i in range(20):
        stamp = f"2024-01-0{1 + i % 9} 10:00:{i:02d}" if i != 13 else "01/02/2024 10:00"
        lines.append(f"q{i:03d},{stamp},{(i * 37) % 5000 + 1},{(i * 11) % 700 + 1}")
    data = ("\r\n".join(lines) + "\r\n").encode()
    reference = parse_workload(data, max_context=131072)
    settings.IMPORT_CHUNK_ROWS = chunk_rows
    seen = []
    for source in (data, gzip.compress(data)):
        parsed = parse_workload(source, max_context=131072, progress=seen.append)
        assert parsed.tin.dtype == np.uint16 and parsed.n == 20
        for key in ("tin", "tout", "ids", "timestamps"):
            assert np.array_equal(getattr(parsed, key), getattr(reference, key)), key
        assert parsed.columns == reference.columns
    assert seen[-1] == 20 and (len(seen) > 2) == (chunk_rows < 21)


@pytest.mark.parametrize("late", [False, True])
def test_a_column_widens_to_int32_on_its_first_large_count(media, settings, late):
    """uint16 until a count above 65,535 arrives (in the first or a later chunk), then int32 for
    that column only; the stored file and hash are those of int32 columns either way."""
    settings.IMPORT_CHUNK_ROWS = 500
    tin = [i % 60000 + 1 for i in range(5000)]
    tin[4990 if late else 3] = 100_000
    data = b"input_tokens,output_tokens\n" + b"".join(b"%d,%d\n" % (a, i % 5 + 1) for i, a in enumerate(tin))
    parsed = parse_workload(data)
    assert parsed.tin.dtype == np.int32 and parsed.tout.dtype == np.uint16
    assert parsed.tin.tolist() == tin
    expected = content_hash(np.array(tin, np.int32), parsed.tout.astype(np.int32))
    wl = import_workload(data, f"wide {late}")
    assert wl.content_sha256 == content_hash(parsed.tin, parsed.tout) == expected
    arrays = load_workload_arrays(wl)
    assert arrays.tin.tolist() == tin and arrays.tin.dtype == np.int64
