"""An index that is BRIN on PostgreSQL and a plain b-tree elsewhere (SQLite has no BRIN).

For columns whose values arrive in long runs in insertion order, such as
``Measurement.import_batch`` and ``(hardware, llm)``: the importer COPYs a batch's rows
contiguously (and a profiling run writes one pair), so a block-range
summary (min/max of the column per 128 pages) finds a batch's pages nearly exactly, at a fraction
of a b-tree's cost to maintain (issue 18: 0.1 s against 0.7 s of server CPU per million imported
rows; docs/BENCHMARKS.md). The model state holds one index on every backend; only its access
method depends on the database, so migrations stay the same everywhere.
"""

from __future__ import annotations

from django.db import models


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

