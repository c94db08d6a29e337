"""profiling_measurement's indexes after issue 18: each query that needs one has one, and uses it.

The import pays for every index on each row it COPYs (docs/BENCHMARKS.md, issue 18), so the table
keeps only: the primary key (ids one at a time from its sequence: no cache, see below); one BRIN
index on (hardware, llm, import_batch) on PostgreSQL, which serves the fits' pair filter, hardware
and LLM filters, both PROTECT checks, batch listings and the batch-delete cascade (a BRIN index
answers each of its columns alone, and the import pays per BRIN index, not per column); elsewhere a
b-tree of those three and one of import_batch; and the partial unique (run, cell, trial) key. The plans are checked with sequential scans disabled, which proves
that the index can answer the predicate (a table this small would be scanned otherwise).
"""

from __future__ import annotations

import pytest
from django.db import connection

from profiling.models import LLM, Hardware, ImportBatch, Measurement

pytestmark = pytest.mark.django_db


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Measurement._meta.db_table)
    return {name: c for name, c in constraints.items() if c["index"]}


def test_the_measurement_table_has_only_the_indexes_its_queries_need():
    indexes = _indexes()
    columns = {tuple(c["columns"]): name for name, c in indexes.items()}
    assert columns[("hardware_id", "llm_id", "import_batch_id")] == "measurement_brin"
    postgres = connection.vendor == "postgresql"
    # The import batch's own b-tree only off PostgreSQL (models/indexes.py, OffPostgresIndex).
    assert (columns.get(("import_batch_id",)) == "measurement_import_batch") != postgres
    assert ("profiling_run_id", "cell_index", "trial_index") in columns
    others = {cols for name, c in indexes.items() if not c["primary_key"] for cols in [tuple(c["columns"])]}
    assert others == {("hardware_id", "llm_id", "import_batch_id"), ("profiling_run_id", "cell_index", "trial_index"),
                      *([] if postgres else [("import_batch_id",)])}
    # Gone: the (hardware, llm) BRIN index (issue 18, t3), now part of the three-column one.
    assert ("hardware_id", "llm_id") not in columns
    # Gone: the hardware_id b-tree, the old (llm, hardware, warmup) and (hardware, llm, warmup) b-trees.
    assert ("hardware_id",) not in columns
    assert ("llm_id", "hardware_id", "is_warmup") not in columns
    assert ("hardware_id", "llm_id", "is_warmup") not in columns
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT c.relname, am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                           "JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = %s::regclass",
                           [Measurement._meta.db_table])
            kinds = dict(cursor.fetchall())
            assert kinds["measurement_brin"] == "brin" and list(kinds.values()).count("brin") == 1
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", ["measurement_brin"])
            assert cursor.fetchone()[0] == ["autosummarize=on"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL sequences")
def test_measurement_ids_come_one_at_a_time_from_the_sequence():
    # No per-session id cache (tried in issue 18, t3; 0.3-0.4 s of server CPU per 1M imported rows):
    # with one, sessions writing at once interleave blocks of ids, and coverage.share_after's
    # "pk <= the run's last trial" would no longer mean "stored before the run ended".
    with connection.cursor() as cursor:
        cursor.execute("SELECT s.seqcache FROM pg_sequence s WHERE s.seqrelid = "
                       "pg_get_serial_sequence(%s, 'id')::regclass", [Measurement._meta.db_table])
        assert cursor.fetchone()[0] == 1
    llm = LLM.objects.create(name="seq-llm", parameters_b=1, weights="w")
    hw = Hardware.objects.create(name="seq-hw")
    made = [Measurement.objects.create(llm=llm, hardware=hw, input_tokens=8, output_tokens=8, runtime_s=1.0,
                                       gpu_energy_j=1.0, total_energy_j=1.0, gpu_energy_source="measured",
                                       iteration=i).pk for i in range(5)]
    assert made == sorted(made) and len(set(made)) == 5


@pytest.fixture
def rows():
    llm = LLM.objects.create(name="ix-llm", parameters_b=1, weights="w")
    other_llm = LLM.objects.create(name="ix-llm-2", parameters_b=1, weights="w")
    hw = Hardware.objects.create(name="ix-hw")
    batch = ImportBatch.objects.create(filename="ix.csv", row_count=200, content_hash="ix")
    Measurement.objects.bulk_create(
        Measurement(llm=llm if i % 2 else other_llm, hardware=hw, import_batch=batch, input_tokens=8,
                    output_tokens=8, runtime_s=1.0, gpu_energy_j=1.0, total_energy_j=1.0,
                    gpu_energy_source="measured", iteration=i)
        for i in range(200))
    return llm, hw, batch


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_each_query_that_needs_an_index_uses_it(rows):
    llm, hw, batch = rows
    M = Measurement.objects.order_by()
    expected = [
        # Fits and coverage: one pair's rows.
        (M.filter(llm=llm, hardware=hw, is_warmup=False), "measurement_brin"),
        # The list filtered by hardware; a Hardware delete's PROTECT check and holders() count.
        (M.filter(hardware=hw), "measurement_brin"),
        # An LLM's, and a batch's: BRIN answers each of its columns alone.
        (M.filter(llm=llm), "measurement_brin"),
        # Batch listing, the delete signal's pairs and the cascade's collection.
        (M.filter(import_batch=batch), "measurement_brin"),
        (M.filter(import_batch__in=[batch.pk]).values_list("llm_id", "hardware_id").distinct(),
         "measurement_brin"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiling_measurement")
    from django.db import transaction

    for qs, index in expected:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = qs.explain()
        assert index in plan, (str(qs.query), plan)
        assert "Seq Scan" not in plan, plan
        assert qs.count() > 0


def test_a_batch_delete_cascades_through_the_batch_index(rows):
    llm, hw, batch = rows
    keep = ImportBatch.objects.create(filename="keep.csv", row_count=1, content_hash="keep")
    Measurement.objects.create(llm=llm, hardware=hw, import_batch=keep, input_tokens=8, output_tokens=8,
                               runtime_s=1.0, gpu_energy_j=1.0, total_energy_j=1.0, gpu_energy_source="measured")
    batch.delete()
    assert not Measurement.objects.filter(import_batch_id=batch.pk).exists()
    assert list(Measurement.objects.values_list("import_batch_id", flat=True)) == [keep.pk]
