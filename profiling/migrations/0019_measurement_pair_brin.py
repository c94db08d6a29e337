"""Issue 18 (t3): the (hardware, llm, is_warmup) b-tree becomes a BRIN index on (hardware, llm) on
PostgreSQL (a b-tree of (hardware, llm) elsewhere): the b-tree cost the import 1.1-1.3 s of server
CPU per million COPYed rows, the BRIN index 0.1-0.4 s (docs/BENCHMARKS.md, "Issue 18 (t3)")."""

from django.db import migrations

import profiling.models.indexes


class Migration(migrations.Migration):

    dependencies = [
        ('profiling', '0018_measurement_indexes_for_import'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='measurement',
            name='measurement_hw_llm_warmup',
        ),
        migrations.AddIndex(
            model_name='measurement',
            index=profiling.models.indexes.BrinOnPostgresIndex(fields=['hardware', 'llm'], name='measurement_hw_llm_brin'),
        ),
    ]
