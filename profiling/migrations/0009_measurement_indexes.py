"""Drop the single-column indexes of measurement.llm, .profiling_run and .execution_batch.

Each column leads another index: (llm_id, hardware_id, is_warmup), and the partial unique
constraints one_measurement_per_trial (profiling_run_id, ...) and one_measurement_per_executed_query
(execution_batch_id, ...), which serve ``= id`` and the cascades because ``= id`` implies NOT
NULL (EXPLAIN in docs/BENCHMARKS.md, issue 10). Every import paid for the copies: three more
btree insertions per row, two of them a NULL entry per imported row.

Only the indexes are dropped: Django's AlterField would also drop and re-add the foreign keys,
re-checking every row of the table under an exclusive lock. The index names are Django's own
(the same on SQLite), so DROP INDEX IF EXISTS works on both backends.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "llm_id": "profiling_measurement_llm_id_a511a5c5",
    "profiling_run_id": "profiling_measurement_profiling_run_id_bd14a98d",
    "execution_batch_id": "profiling_measurement_execution_batch_id_125f6189",
}


class Migration(migrations.Migration):

    dependencies = [
        ('profiling', '0008_import_jobs'),
        ('scheduling', '0005_executions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  reverse_sql=f'CREATE INDEX "{name}" ON "profiling_measurement" ("{column}")')
                for column, name in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='measurement',
                    name='execution_batch',
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.CASCADE,
                                            related_name='measurements', to='scheduling.executedbatch'),
                ),
                migrations.AlterField(
                    model_name='measurement',
                    name='llm',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='measurements', to='profiling.llm'),
                ),
                migrations.AlterField(
                    model_name='measurement',
                    name='profiling_run',
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.CASCADE,
                                            related_name='measurements', to='profiling.profilingrun'),
                ),
            ],
        ),
    ]
