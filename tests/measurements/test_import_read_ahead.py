"""The measurement import reads and parses the next chunk on a thread while it writes this one
(issue 18): what is stored, what is refused and how it is worded are the same as with no thread,
and the thread never outlives the import, whether it succeeds or fails."""

import threading

import numpy as np
import pytest

from energyweb.tabular import _lines_within
from profiling.models import LLM, ImportBatch, Measurement, RefitJob
from profiling.services import measurement_import as mi
from profiling.services.measurement_fast import _has_bool_word
from profiling.services.row_hashes import pack
from tests.measurements.conftest import own_csv

GOOD = "Tiny LM (1B),Test Box,{tin},64,1,1.5,{e},10.0,{it}"
FIELDS = ["llm_id", "hardware_id", "input_tokens", "output_tokens", "batch_size", "runtime_s", "gpu_energy_j",
          "cpu_energy_j", "dram_energy_j", "total_energy_j", "gpu_energy_source", "cpu_energy_source",
          "is_estimated", "is_warmup", "iteration"]


def rows(n, start=0):
    return [GOOD.format(tin=8 + (k % 50), e=100.0 + k, it=k % 4) for k in range(start, start + n)]


def read_ahead_threads():
    return [t for t in threading.enumerate() if t.name == "measurement-import-read-ahead"]


def import_both_ways(data, settings, **kw):
    """(stored rows, batch content hash, summary) with the read-ahead thread and without, the batch
    deleted after each so the second is no duplicate."""
    out = []
    for ahead in (True, False):
        settings.IMPORT_READ_AHEAD = ahead
        summary = mi.import_measurements(data, enqueue_refits=False, **kw)
        assert not read_ahead_threads()
        batch = ImportBatch.objects.get(pk=summary.batch_id)
        stored = list(Measurement.objects.filter(import_batch=batch).order_by("id").values_list(*FIELDS))
        # Ids differ between the two imports (LLMs created on the way get new ones): compare by name.
        names = dict(LLM.objects.values_list("pk", "name"))
        stored = [(names[r[0]], *r[1:]) for r in stored]
        out.append((stored, batch.content_hash, summary.rows, summary.warnings, summary.created_llms))
        ImportBatch.objects.filter(pk=batch.pk).delete()
        # Deleting the batch owes its pairs a refit (a pending RefitJob), which protects a created LLM.
        RefitJob.objects.filter(llm__name__in=summary.created_llms).delete()
        LLM.objects.filter(name__in=summary.created_llms).delete()
    return out


def test_many_chunks_store_the_same_rows_with_and_without_the_thread(pair, settings):
    settings.IMPORT_CHUNK_ROWS = 7
    data = own_csv(*rows(100))
    (with_thread, hash_a, n_a, *_), (without, hash_b, n_b, *_) = import_both_ways(data, settings)
    assert n_a == n_b == 100 and len(with_thread) == 100
    assert with_thread == without and hash_a == hash_b


def test_chunks_mixing_both_parse_paths_and_a_created_name_store_the_same(pair, settings):
    """A row-path chunk (a negative energy reading, a new LLM created on the way) between vectorised
    chunks; the thread may parse a later chunk before the name exists: the row path then takes it."""
    settings.IMPORT_CHUNK_ROWS = 5
    new = [r.replace("Tiny LM (1B)", "Brand New LM (2B)") for r in rows(12, 40)]
    mixed = rows(11) + ["Tiny LM (1B),Test Box,32,64,1,1.5,-3.0,10.0,1"] + new + rows(20, 60)
    # (The content hashes differ: they hold the created LLM's id, new on each import.)
    (a, _, n_a, warn_a, made_a), (b, _, n_b, warn_b, made_b) = import_both_ways(
        own_csv(*mixed), settings, create_missing=True)
    assert a == b and n_a == n_b == 44
    assert warn_a == warn_b and len(warn_a) == 1 and made_a == made_b == ["Brand New LM (2B)"]


@pytest.mark.parametrize("ahead", [True, False])
def test_a_bad_row_in_a_later_chunk_writes_nothing_and_ends_the_thread(pair, settings, ahead):
    settings.IMPORT_READ_AHEAD = ahead
    settings.IMPORT_CHUNK_ROWS = 6
    data = own_csv(*rows(30), "Tiny LM (1B),Test Box,32,64,1,1.5,abc,10.0,1", *rows(30))
    with pytest.raises(mi.ImportFailed) as info:
        mi.import_measurements(data, enqueue_refits=False)
    err = info.value.errors[0]
    assert (err.row, err.line, err.column) == (31, 32, "gpu_energy_j")
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0
    assert not read_ahead_threads()


@pytest.mark.parametrize("ahead", [True, False])
def test_a_reader_error_in_a_later_chunk_arrives_in_its_place(pair, settings, ahead):
    """The reader runs on the thread: its refusal (a field past the cap) reaches the importer after
    the chunks before it, so the row is named as without the thread."""
    settings.IMPORT_READ_AHEAD = ahead
    settings.IMPORT_MAX_FIELD_KB = 1
    settings.IMPORT_CHUNK_ROWS = 4
    data = own_csv(*rows(21), "Tiny LM (1B),Test Box,32,64,1,1.5," + "9" * 2000 + ",10.0,1", *rows(5))
    with pytest.raises(mi.ImportFailed) as info:
        mi.import_measurements(data, enqueue_refits=False)
    err = info.value.errors[0]
    assert (err.row, err.line, err.column) == (22, 23, "gpu_energy_j")
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0
    assert not read_ahead_threads()


def test_an_error_on_the_importing_side_stops_the_thread(pair, settings, monkeypatch):
    """A failure while writing (here: the writer raising on the third chunk) ends the import at
    once; the thread, perhaps blocked handing over the next chunk, is stopped and joined."""
    settings.IMPORT_CHUNK_ROWS = 3
    settings.IMPORT_READ_AHEAD = True
    calls = []
    original = mi._Writer.frame

    def failing_frame(self, frame, hashes=None, encoded=None):
        calls.append(len(frame))
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return original(self, frame, hashes, encoded)

    monkeypatch.setattr(mi._Writer, "frame", failing_frame)
    with pytest.raises(RuntimeError, match="disk on fire"):
        mi.import_measurements(own_csv(*rows(60)), enqueue_refits=False)
    assert len(calls) == 3
    assert Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0
    assert not read_ahead_threads()


def test_pack_is_the_sorted_distinct_hashes():
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 1000):
        hashes = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
        hashes = np.concatenate([hashes, hashes[: n // 3]])  # repeats
        assert pack(hashes) == np.unique(hashes).astype("<u8").tobytes()


def test_the_boolean_word_prefilter_finds_every_case_pandas_reads_as_a_boolean():
    for text in ("a,True,b", "FALSE", "x,tRuE", "\nfalse\n", "untrue", "FaLsE1"):
        assert _has_bool_word(text), text
    for text in ("", "1,2,3", "tru e", "fals", "Tiny LM (1B),Test Box,32"):
        assert not _has_bool_word(text), text


def test_the_long_line_prefilter_agrees_with_splitting_into_lines():
    rng = np.random.default_rng(3)
    for _ in range(3000):
        text = "".join(rng.choice(list("ab\n\r"), size=int(rng.integers(0, 40))))
        limit = int(rng.integers(0, 10))
        assert _lines_within(text, limit) == all(len(line) <= limit for line in text.split("\n")), (text, limit)


def test_the_thread_hands_over_later_chunks_ready_to_send_on_postgresql(pair, settings, monkeypatch):
    """On PostgreSQL the thread also encodes each later vectorised chunk as binary COPY data (the
    caller's thread then only checks keys and sends); the first chunk, written before the batch and
    the column types exist, is encoded by the caller, and so is the second where the thread parsed
    it before the first was written (it may: it starts once the header is read). From the third
    (the thread takes it only once the first is written) every one. Elsewhere nothing is encoded. The reader's
    first chunk is 1/FIRST_CHUNK_SHARE of the others, and they double from there."""
    from django.db import connection

    settings.IMPORT_READ_AHEAD = True
    settings.IMPORT_CHUNK_ROWS = 64
    handed = []
    original = mi._Writer.frame

    def frame(self, frame, hashes=None, encoded=None):
        handed.append((len(frame), encoded is not None, hashes is not None))
        return original(self, frame, hashes, encoded)

    monkeypatch.setattr(mi._Writer, "frame", frame)
    summary = mi.import_measurements(own_csv(*rows(400)), enqueue_refits=False)
    assert summary.rows == 400 and Measurement.objects.count() == 400
    # About 4 lines (the header and 3 rows; the reader cuts by mean line length), then about 8, 16,
    # 32 and 64-line chunks.
    sizes = [n for n, *_ in handed]
    assert sum(sizes) == 400 and 1 <= sizes[0] <= 3
    assert all(limit // 2 < n <= limit for n, limit in zip(sizes[1:-1], [8, 16, 32] + [64] * 10, strict=False))
    postgres = connection.vendor == "postgresql"
    assert handed[0][1:] == (False, False)
    assert all(hashed for *_, hashed in handed[1:])
    assert all(enc == postgres for _, enc, _ in handed[2:]) and (postgres or not handed[1][1])
    assert not read_ahead_threads()
