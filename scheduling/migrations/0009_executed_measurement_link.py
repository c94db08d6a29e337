"""The execution -> measurement link moves to scheduling (issue 17): profiling's models and new
migrations no longer depend on scheduling. Existing links are copied, both ways; profiling 0017 drops
the old foreign key only after this copy (``run_before``), without profiling naming scheduling."""

import django.db.models.deletion
from django.db import migrations, models

CHUNK = 10_000


def copy_links(apps, schema_editor):
    Measurement = apps.get_model("profiling", "Measurement")
    ExecutedMeasurement = apps.get_model("scheduling", "ExecutedMeasurement")
    rows = (Measurement.objects.filter(execution_batch__isnull=False).order_by("pk")
            .values_list("pk", "execution_batch_id", "iteration"))
    batch = []
    for pk, batch_id, iteration in rows.iterator(chunk_size=CHUNK):
        batch.append(ExecutedMeasurement(batch_id=batch_id, iteration=iteration, measurement_id=pk))
        if len(batch) >= CHUNK:
            ExecutedMeasurement.objects.bulk_create(batch)
            batch = []
    ExecutedMeasurement.objects.bulk_create(batch)


def copy_links_back(apps, schema_editor):
    Measurement = apps.get_model("profiling", "Measurement")
    ExecutedMeasurement = apps.get_model("scheduling", "ExecutedMeasurement")
    links = ExecutedMeasurement.objects.order_by("pk").values_list("measurement_id", "batch_id", "iteration")
    for measurement_id, batch_id, iteration in links.iterator(chunk_size=CHUNK):
        Measurement.objects.filter(pk=measurement_id).update(execution_batch_id=batch_id, iteration=iteration)


class Migration(migrations.Migration):

    dependencies = [
        ('profiling', '0016_hardware_backends'),
        ('scheduling', '0008_protect_history_from_inventory_deletes'),
    ]
    run_before = [
        ('profiling', '0017_measurement_execution_link_moves_to_scheduling'),
    ]

    operations = [
        migrations.CreateModel(
            name='ExecutedMeasurement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('iteration', models.PositiveIntegerField(help_text='Position of the query in its batch.')),
                ('batch', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='measurement_links', to='scheduling.executedbatch')),
                ('measurement', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='executed_link', to='profiling.measurement')),
            ],
            options={
                'ordering': ['batch_id', 'iteration'],
                'constraints': [models.UniqueConstraint(fields=('batch', 'iteration'), name='one_link_per_executed_query')],
            },
        ),
        migrations.RunPython(copy_links, copy_links_back),
    ]
