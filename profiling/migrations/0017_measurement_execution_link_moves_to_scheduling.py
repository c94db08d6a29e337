"""Measurement loses its foreign key to scheduling.ExecutedBatch: the link now lives in scheduling
(ExecutedMeasurement), copied there by scheduling 0009, which runs before this one (its ``run_before``),
so this migration and profiling's models name no scheduling model."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('profiling', '0016_hardware_backends'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='measurement',
            name='one_measurement_per_executed_query',
        ),
        migrations.RemoveField(
            model_name='measurement',
            name='execution_batch',
        ),
    ]
