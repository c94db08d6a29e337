"""Issue 18: one BRIN index on (hardware, llm, import_batch) on PostgreSQL instead of one on
(hardware, llm) and one on import_batch. PostgreSQL 15 reads a BRIN index's metapage and range map
for every row COPYed into the table, per index: the two cost a 1M-row import 0.6-0.8 s of server
CPU (docs/BENCHMARKS.md), and a BRIN index answers a condition on any one of its columns, so one
serves the fits' pair filter and the batch lookups alike. Elsewhere (SQLite) the b-trees are
(hardware, llm, import_batch) and (import_batch)."""

from django.db import migrations

import profiling.models.indexes


class Migration(migrations.Migration):

    dependencies = [
        ('profiling', '0019_measurement_pair_brin'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='measurement',
            name='measurement_hw_llm_brin',
        ),
        migrations.RemoveIndex(
            model_name='measurement',
            name='measurement_import_batch',
        ),
        migrations.AddIndex(
            model_name='measurement',
            index=profiling.models.indexes.BrinOnPostgresIndex(fields=['hardware', 'llm', 'import_batch'], name='measurement_brin'),
        ),
        migrations.AddIndex(
            model_name='measurement',
            index=profiling.models.indexes.OffPostgresIndex(fields=['import_batch'], name='measurement_import_batch'),
        ),
    ]
