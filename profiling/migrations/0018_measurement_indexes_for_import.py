"""Issue 18: fewer, cheaper indexes for the measurement import (docs/BENCHMARKS.md, the index cost).

The hardware_id b-tree goes: the composite index is reordered to (hardware, llm, is_warmup), which
serves hardware filters and its PROTECT check; import_batch_id becomes BRIN on PostgreSQL (a batch is
COPYed contiguously), a b-tree elsewhere."""

import django.db.models.deletion
import profiling.models.indexes
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('profiling', '0017_measurement_execution_link_moves_to_scheduling'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='measurement',
            name='profiling_m_llm_id_63f20d_idx',
        ),
        migrations.AlterField(
            model_name='measurement',
            name='hardware',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='measurements', to='profiling.hardware'),
        ),
        migrations.AlterField(
            model_name='measurement',
            name='import_batch',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='measurements', to='profiling.importbatch'),
        ),
        migrations.AddIndex(
            model_name='measurement',
            index=models.Index(fields=['hardware', 'llm', 'is_warmup'], name='measurement_hw_llm_warmup'),
        ),
        migrations.AddIndex(
            model_name='measurement',
            index=profiling.models.indexes.BrinOnPostgresIndex(fields=['import_batch'], name='measurement_import_batch'),
        ),
    ]
