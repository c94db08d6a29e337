"""An index that is BRIN on PostgreSQL and a plain b-tree elsewhere (SQLite has no BRIN), and
one that exists only off PostgreSQL (where a multi-column BRIN index already answers its column).

For columns whose values arrive in long runs in insertion order, such as
``Measurement.import_batch`` and ``(hardware, llm)``: the importer COPYs a batch's rows
contiguously (and a profiling run writes one pair), so a block-range
summary (min/max of the column per 128 pages) finds a batch's pages nearly exactly, at a fraction
of a b-tree's cost to maintain (issue 18: 0.1 s against 0.7 s of server CPU per million rows
appended to new pages; into pages a deleted batch freed, whose ranges are summarised, a BRIN
index checks and may widen the summary for every row, 0.3-0.4 s; docs/BENCHMARKS.md). The model state holds one index on every backend; only its access
method depends on the database, so migrations stay the same everywhere.

A multi-column BRIN index serves a condition on any one of its columns (each is summarised on
its own), unlike a b-tree, which needs the leading one; and the importer pays per BRIN index, not
per column, for every row it COPYs (PostgreSQL 15 reads the index's metapage and range map for
each row). So ``Measurement`` has one BRIN index on (hardware, llm, import_batch) on PostgreSQL,
and ``OffPostgresIndex`` gives the other databases the b-tree that a lookup by import batch needs
there.
"""

from __future__ import annotations

from django.db import models
from django.db.backends.ddl_references import Statement


class BrinOnPostgresIndex(models.Index):
    """``models.Index`` created ``USING brin`` with ``autosummarize = on`` on PostgreSQL."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        # Page ranges written after the last summary match every lookup (their pages are rechecked:
        # ~57 ms per 300k rows here) until summarised; autosummarize has autovacuum summarise each
        # range as it fills, rather than at the next VACUUM. docs/BENCHMARKS.md, issue 18.
        statement = super().create_sql(model, schema_editor, using=" USING brin", **kwargs)
        statement.parts["extra"] = " WITH (autosummarize = on)" + statement.parts["extra"]
        return statement



class OffPostgresIndex(models.Index):
    """``models.Index`` everywhere but PostgreSQL, where nothing is created (nor dropped): there a
    multi-column BRIN index of the model holds its columns (``Measurement``: import_batch)."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return _nothing(self.name)
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    def remove_sql(self, model, schema_editor, **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return _nothing(self.name)
        return super().remove_sql(model, schema_editor, **kwargs)


def _nothing(name: str) -> Statement:
    # A schema editor executes (or, for sqlmigrate, prints) whatever an index returns: a no-op
    # that says why.
    return Statement("SELECT 1 /* %(name)s: none on PostgreSQL, a BRIN index holds its columns */", name=name)
