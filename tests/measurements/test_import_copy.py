"""The PostgreSQL write side of the measurement import: binary COPY and key checks once per key.

``copy_frame`` encodes the frame in PostgreSQL's binary COPY format from numpy columns and, where
the role may, checks foreign keys once per distinct key under ``session_replication_role =
replica`` (profiling/services/copy_keys.py). These tests pin that it writes exactly what the text
row writer wrote, that a failure leaves nothing behind and the role as it was, that a role
without the privilege gets the per-row checks, and that a concurrent delete of a referenced LLM
either waits for the import and then fails, or makes the import fail.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from profiling.models import LLM, Hardware, ImportBatch, Measurement
from profiling.services import measurement_fast as mf
from profiling.services import measurement_import as mi

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY and roles")

FIELDS = ["id", "llm_id", "hardware_id", "input_tokens", "output_tokens", "batch_size", "runtime_s",
          "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "total_energy_j", "gpu_energy_source",
          "cpu_energy_source", "dram_energy_source", "is_estimated", "is_warmup", "iteration", "measured_at"]


def make_frame(n: int, llm_ids: list[int], hw_ids: list[int], seed: int = 3) -> pd.DataFrame:
    """Rows of many shapes: energies measured or not (NaN), sources named, empty or imported."""
    rng = np.random.default_rng(seed)
    gpu = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0, 1e4, n))
    cpu = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0, 1e3, n))
    dram = np.where(np.isnan(gpu) & np.isnan(cpu), rng.uniform(0, 10, n), np.nan)
    sources = []
    for values in (gpu, cpu, dram):
        named = rng.choice(np.array(["imported", "nvml", "estimate-tdp", "rapl"], dtype=object), n)
        sources.append(np.where(np.isnan(values), "", named).astype(object))
    estimated = np.logical_or.reduce([s == "estimate-tdp" for s in sources])
    frame = pd.DataFrame({
        "llm_id": rng.choice(llm_ids, n).astype(np.int64), "hardware_id": rng.choice(hw_ids, n).astype(np.int64),
        "input_tokens": rng.integers(1, 4096, n), "output_tokens": rng.integers(1, 4096, n),
        "batch_size": rng.integers(1, 64, n), "runtime_s": rng.uniform(0.01, 100, n),
        "gpu_energy_j": gpu, "cpu_energy_j": cpu, "dram_energy_j": dram,
        "total_energy_j": np.nan_to_num(gpu) + np.nan_to_num(cpu) + np.nan_to_num(dram),
        "gpu_energy_source": sources[0], "cpu_energy_source": sources[1], "dram_energy_source": sources[2],
        "is_estimated": estimated, "is_warmup": rng.random(n) < 0.1, "iteration": rng.integers(0, 10, n),
        "measured_at": None,
    }, columns=list(mf.FRAME_COLUMNS))
    return frame


@pytest.fixture
def parents(db):
    llms = [LLM.objects.create(name=f"Copy LM {i}", parameters_b=1, weights=f"t/{i}").pk for i in range(2)]
    hws = [Hardware.objects.create(name=f"Copy Box {i}").pk for i in range(2)]
    return llms, hws


def copied(frame, writer) -> list[tuple]:
    """The rows ``writer`` stores for ``frame``, ids made relative to the first one."""
    batch = ImportBatch.objects.create(filename="f.csv", content_hash=f"{id(writer)}-{time.time()}", row_count=0)
    with connection.cursor() as cursor:
        writer(cursor, Measurement._meta.db_table, mi._db_columns(), frame, batch.pk)
    rows = list(Measurement.objects.filter(import_batch=batch).order_by("id").values_list(*FIELDS))
    return [(r[0] - rows[0][0], *r[1:]) for r in rows]


def spy(monkeypatch) -> dict:
    """Which path each copy_frame call took: binary encoding, and key checks once per key."""
    seen = {"binary": 0, "once": []}
    original_rows, original_keys = mf._binary_rows, mf.keys_checked_once

    def binary_rows(*args):
        seen["binary"] += 1
        return original_rows(*args)

    def keys(*args):
        cm = original_keys(*args)

        class Recorder:
            def __enter__(self):
                seen["once"].append(cm.__enter__())
                return seen["once"][-1]

            def __exit__(self, *exc):
                return cm.__exit__(*exc)
        return Recorder()

    monkeypatch.setattr(mf, "_binary_rows", binary_rows)
    monkeypatch.setattr(mf, "keys_checked_once", keys)
    return seen


def role() -> str:
    with connection.cursor() as c:
        c.execute("SHOW session_replication_role")
        return c.fetchone()[0]


def test_binary_copy_writes_what_the_row_writer_wrote(parents, monkeypatch):
    frame = make_frame(45_000, *parents)  # several 20,000-row blocks, each of many row shapes
    before = copied(frame, mf.copy_frame_rows)
    seen = spy(monkeypatch)
    after = copied(frame, mf.copy_frame)
    assert seen["binary"] == 3 and seen["once"] == [True]
    assert after == before and len(after) == 45_000
    # Every shape is there: NULL and measured energies, each kind of source, both flags.
    assert {r[7] is None for r in after} == {True, False} and {r[11] for r in after} >= {"", "nvml", "imported"}
    assert {r[14] for r in after} == {True, False} and {r[15] for r in after} == {True, False}
    assert role() == "origin"


def test_one_shape_and_repeated_calls_in_one_transaction(parents, monkeypatch):
    """A streaming reader calls copy_frame once per chunk inside one transaction."""
    frame = make_frame(3_000, *parents)
    frame["gpu_energy_j"] = frame["gpu_energy_j"].fillna(1.5)
    frame["gpu_energy_source"] = "imported"
    frame["cpu_energy_j"], frame["dram_energy_j"] = np.nan, np.nan
    frame["cpu_energy_source"], frame["dram_energy_source"] = "", ""
    before = copied(frame, mf.copy_frame_rows)
    seen = spy(monkeypatch)

    def in_chunks(cursor, table, cols, frame, batch_id):
        for start in range(0, len(frame), 1_000):
            mf.copy_frame(cursor, table, cols, frame.iloc[start:start + 1_000], batch_id)
            assert role() == "origin"

    assert copied(frame, in_chunks) == before
    assert seen["once"] == [True, True, True]


def test_unusual_frames_take_the_row_writer(parents, monkeypatch):
    frame = make_frame(50, *parents)
    seen = spy(monkeypatch)
    frame.loc[3, "measured_at"] = "2024-05-01 12:00:00+00:00"  # only the row path fills it; still written
    rows = copied(frame, mf.copy_frame)
    assert seen["binary"] == 0 and len(rows) == 50 and rows[3][17] is not None
    frame = make_frame(5, *parents)
    frame.loc[2, "input_tokens"] = 2**31  # out of int4: PostgreSQL words the error, as before
    with pytest.raises(Exception, match="out of range"), transaction.atomic():
        copied(frame, mf.copy_frame)
    assert seen["binary"] == 0


@pytest.mark.parametrize("where", ["server", "client"])
def test_a_failure_mid_copy_writes_nothing_and_restores_the_role(parents, monkeypatch, where):
    frame = make_frame(60_000, *parents)
    if where == "server":
        frame.loc[55_000, "batch_size"] = -1  # the CHECK constraint refuses it in the third block
    else:
        calls = []
        original = mf._binary_rows

        def failing(*args):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("the encoder failed mid-COPY")
            return original(*args)
        monkeypatch.setattr(mf, "_binary_rows", failing)
    with pytest.raises((IntegrityError, psycopg.errors.IntegrityError, RuntimeError)):
        with transaction.atomic():
            mi._Writer("half.csv", "digest-half", None).frame(frame)  # the importer's write of one chunk
    assert not Measurement.objects.exists() and not ImportBatch.objects.filter(content_hash="digest-half").exists()
    assert role() == "origin"


def test_the_role_is_restored_when_the_import_fails_after_the_copy(parents):
    frame = make_frame(100, *parents)
    with pytest.raises(RuntimeError), transaction.atomic():
        mi._Writer("late.csv", "digest-late", None).frame(frame)
        assert role() == "origin"  # already back right after the COPY
        raise RuntimeError("on_written refused")
    assert role() == "origin" and not Measurement.objects.exists()


@pytest.fixture
def plain_role(parents):
    """A login-less role that is no superuser, with the rights an application role has."""
    with connection.cursor() as c:
        c.execute("CREATE ROLE ew_test_importer NOSUPERUSER")
        c.execute("GRANT USAGE ON SCHEMA public TO ew_test_importer")
        c.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO ew_test_importer")
        c.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ew_test_importer")
        c.execute("SET LOCAL ROLE ew_test_importer")
    yield "ew_test_importer"
    with connection.cursor() as c:
        c.execute("RESET ROLE")  # the test's transaction rolls the role back


def test_a_role_without_the_privilege_gets_the_per_row_checks(plain_role, parents, monkeypatch):
    llms, hws = parents
    frame = make_frame(500, llms, hws)
    seen = spy(monkeypatch)
    rows = copied(frame, mf.copy_frame)
    assert seen["once"] == [False] and seen["binary"] == 1 and len(rows) == 500
    assert role() == "origin"
    # And the per-row checks do their work: an unknown LLM fails at the constraint check.
    frame.loc[7, "llm_id"] = max(llms) + 1000
    with pytest.raises(IntegrityError, match="llm"), transaction.atomic():
        copied(frame, mf.copy_frame)
        with connection.cursor() as c:
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_parameter_grant_enables_the_checks_once(plain_role, parents, monkeypatch):
    with connection.cursor() as c:
        c.execute("RESET ROLE")
        c.execute(f"GRANT SET ON PARAMETER session_replication_role TO {plain_role}")
        c.execute(f"SET LOCAL ROLE {plain_role}")
    seen = spy(monkeypatch)
    assert len(copied(make_frame(500, *parents), mf.copy_frame)) == 500
    assert seen["once"] == [True] and role() == "origin"


def test_a_missing_parent_takes_the_per_row_checks_and_fails(parents, monkeypatch):
    llms, hws = parents
    frame = make_frame(500, llms, hws)
    frame.loc[9, "hardware_id"] = max(hws) + 1000
    seen = spy(monkeypatch)
    with pytest.raises(IntegrityError, match="hardware"), transaction.atomic():
        copied(frame, mf.copy_frame)
        with connection.cursor() as c:
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert seen["once"] == [False] and role() == "origin"


def test_the_row_path_checks_keys_once_too(parents, monkeypatch):
    llm = LLM.objects.get(pk=parents[0][0])
    hw = Hardware.objects.get(pk=parents[1][0])
    data = "llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,measured_at\n" \
           f"{llm.name},{hw.name},8,8,1.5,10,2024-05-01T12:00:00Z\n".encode()
    calls = []
    original = mi.keys_checked_once

    class Recorded:
        def __init__(self, *args):
            self.cm = original(*args)

        def __enter__(self):
            calls.append(self.cm.__enter__())

        def __exit__(self, *exc):
            return self.cm.__exit__(*exc)
    monkeypatch.setattr(mi, "keys_checked_once", Recorded)
    summary = mi.import_measurements(data, enqueue_refits=False)
    assert summary.rows == 1 and calls == [True] and role() == "origin"
    assert Measurement.objects.get().measured_at is not None


# --- a concurrent delete of a referenced LLM, on two real connections ---------------------------

def other_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None,
                           user=settings["USER"], password=settings["PASSWORD"] or None,
                           dbname=settings["NAME"])


def waits_on_a_lock(pid: int, timeout: float = 10) -> bool:
    with other_connection() as watcher:
        watcher.autocommit = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            if state and state[0] == "Lock":
                return True
            time.sleep(0.05)
    return False


def orphans() -> int:
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM profiling_measurement m LEFT JOIN profiling_llm l ON l.id = m.llm_id "
                  "WHERE l.id IS NULL")
        return c.fetchone()[0]


def small_file(llm: LLM, hw: Hardware, rows: int = 300) -> bytes:
    return (mi_header() + "".join(f"{llm.name},{hw.name},{i + 1},8,1.5,{i + 10},{i % 3}\n"
                                  for i in range(rows))).encode()


def mi_header() -> str:
    return "llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,iteration\n"


@pytest.mark.django_db(transaction=True)
def test_a_delete_during_the_import_waits_and_then_fails(monkeypatch):
    llm = LLM.objects.create(name="Raced LM", parameters_b=1, weights="t/raced")
    hw = Hardware.objects.create(name="Raced Box")
    seen = spy(monkeypatch)
    outcome = {}

    def delete_llm():
        with other_connection() as other:
            outcome["pid"] = other.info.backend_pid
            try:
                with other.transaction():
                    other.execute("DELETE FROM profiling_llm WHERE id = %s", [llm.pk])
                outcome["result"] = "deleted"
            except psycopg.errors.ForeignKeyViolation as exc:
                outcome["result"] = f"refused: {exc}"

    def on_written(batch):
        # The rows are copied, not yet committed: a delete of their LLM must wait for us.
        deleter = threading.Thread(target=delete_llm)
        deleter.start()
        while "pid" not in outcome:
            time.sleep(0.01)
        outcome["waited"] = waits_on_a_lock(outcome["pid"])
        outcome["thread"] = deleter

    summary = mi.import_measurements(small_file(llm, hw), enqueue_refits=False, on_written=on_written)
    outcome["thread"].join(10)
    assert seen["once"] == [True] and summary.rows == 300
    assert outcome["waited"] and outcome["result"].startswith("refused")
    assert LLM.objects.filter(pk=llm.pk).exists() and Measurement.objects.count() == 300 and orphans() == 0


@pytest.mark.django_db(transaction=True)
def test_an_import_behind_a_delete_fails_cleanly(monkeypatch):
    llm = LLM.objects.create(name="Doomed LM", parameters_b=1, weights="t/doomed")
    hw = Hardware.objects.create(name="Doomed Box")
    data = small_file(llm, hw)
    seen = spy(monkeypatch)
    deleted, release = threading.Event(), threading.Event()
    state = {}

    def delete_llm():
        with other_connection() as other, other.transaction():
            other.execute("DELETE FROM profiling_llm WHERE id = %s", [llm.pk])
            deleted.set()
            release.wait(20)  # commits when the importer is seen waiting on our row lock

    deleter = threading.Thread(target=delete_llm)
    deleter.start()
    assert deleted.wait(10)
    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        state["pid"] = c.fetchone()[0]
    watcher = threading.Thread(target=lambda: (state.update(waited=waits_on_a_lock(state["pid"])), release.set()))
    watcher.start()
    with pytest.raises(IntegrityError, match="llm"):
        mi.import_measurements(data, enqueue_refits=False)
    watcher.join(20)
    deleter.join(20)
    assert state["waited"] and seen["once"] == [False]  # the lock found the LLM gone: per-row checks
    assert not LLM.objects.filter(pk=llm.pk).exists()
    assert not Measurement.objects.exists() and not ImportBatch.objects.exists() and orphans() == 0
    assert role() == "origin"
