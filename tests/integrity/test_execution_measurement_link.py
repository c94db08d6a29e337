"""An executed query's Measurement is linked from scheduling (ExecutedMeasurement), so profiling's
models and migrations do not depend on scheduling (issue 17); links survive the migration both ways
and a batch's measurements still go with it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from profiling.models import Measurement
from scheduling.models import ExecutedBatch, ExecutedMeasurement, Execution
from tests.integrity.conftest import executed_plan

BEFORE = [("scheduling", "0008_protect_history_from_inventory_deletes"), ("profiling", "0016_hardware_backends")]


def _links():
    return sorted(ExecutedMeasurement.objects.values_list("batch_id", "iteration", "measurement_id"))


@pytest.mark.django_db
def test_deleting_an_execution_deletes_its_measurements_as_before(media):
    _, llm, _, ex = executed_plan()
    linked = list(ExecutedMeasurement.objects.values_list("measurement_id", flat=True))
    assert len(linked) == 2 and Measurement.objects.filter(pk__in=linked).count() == 2
    other = Measurement.objects.create(llm=llm, hardware=ex.jobs.get().hardware, input_tokens=1, output_tokens=1,
                                       runtime_s=0.1, total_energy_j=1.0)
    Execution.objects.filter(pk=ex.pk).delete()
    assert not Measurement.objects.filter(pk__in=linked).exists()
    assert not ExecutedMeasurement.objects.exists()
    assert Measurement.objects.filter(pk=other.pk).exists()  # rows of no execution stay


@pytest.mark.django_db
def test_profiling_names_no_scheduling_model_and_its_new_migrations_no_scheduling_migration():
    for field in Measurement._meta.get_fields():
        model = getattr(field, "related_model", None)
        if model is not None and field.concrete:
            assert model._meta.app_label != "scheduling", field
    loader = MigrationLoader(connection)
    for (app, name), migration in loader.disk_migrations.items():
        if app == "profiling" and name >= "0017":
            assert all(dep[0] != "scheduling" for dep in migration.dependencies), name


@pytest.mark.django_db(transaction=True)
def test_links_survive_migrating_back_and_forward(media):
    _, llm, _, ex = executed_plan()
    batch = ExecutedBatch.objects.get(execution=ex)
    before = _links()
    assert len(before) == 2
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        OldMeasurement = old.get_model("profiling", "Measurement")
        # Migrated back: the foreign key on Measurement holds the links again.
        assert sorted(OldMeasurement.objects.filter(execution_batch__isnull=False)
                      .values_list("execution_batch_id", "iteration", "pk")) == before
        # A row linked the old way, then forward: it is linked the new way.
        extra = OldMeasurement.objects.create(llm_id=llm.pk, hardware_id=batch.job.hardware_id,
                                              execution_batch_id=batch.pk, iteration=2, input_tokens=3,
                                              output_tokens=4, runtime_s=0.2, total_energy_j=2.0)
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
    finally:
        MigrationExecutor(connection).migrate(leaves)
    assert _links() == sorted([*before, (batch.pk, 2, extra.pk)])
    assert sorted(Measurement.objects.filter(executed_link__batch=batch).values_list("pk", flat=True)) == \
        sorted(m for _, _, m in _links())
