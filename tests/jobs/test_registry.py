"""The job-kind registry (energyweb/jobs/registry.py): every job model is registered from its app's
AppConfig.ready(), its Celery task is named from the model label and known to the worker, and a job
model nobody registered is refused with a message that says what to do."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.test.utils import isolate_apps

from energyweb.celery import app as celery_app
from energyweb.jobs import registry
from energyweb.jobs import service as job_service
from energyweb.jobs.models import Job, UnregisteredJobKind, job_task_name


def concrete_job_models() -> list[type]:
    return [m for m in apps.get_models() if issubclass(m, Job)]


def test_every_job_model_is_a_registered_kind_with_a_task_named_from_its_label():
    found = {m._meta.label for m in concrete_job_models()}
    assert found == {k.model_label for k in registry.kinds()}
    assert found >= {"scheduling.ScheduleJob", "scheduling.ExecutionJob", "scheduling.WorkloadImportJob",
                     "profiling.ProfilingRun", "profiling.RefitJob", "profiling.MeasurementImportJob"}
    for model in concrete_job_models():
        label = model._meta.label
        name = f"{model._meta.app_label}.{model._meta.model_name}.run"
        kind = registry.kind(model)
        # One name, derived in one place: the sender (job_task), the kind and the worker's task agree.
        assert model.job_task == kind.task_name == job_task_name(label) == name
        assert kind.task.name == name and name in celery_app.tasks
        assert registry.kind(label) is kind and registry.task(label) is kind.task
        assert callable(registry.resolve(kind.body)) and callable(registry.resolve(kind.cancel))


def test_upload_kinds_point_at_their_importer_services_not_at_model_methods():
    uploads = {k.model_label: k for k in registry.kinds() if k.upload is not None}
    assert set(uploads) == {"scheduling.WorkloadImportJob", "profiling.MeasurementImportJob"}
    for kind in uploads.values():
        assert kind.body == "energyweb.jobs.uploads:run" and kind.cancel == "energyweb.jobs.uploads:cancel"
        for hook in (kind.upload.committed, kind.upload.import_file, kind.upload.leftovers):
            if hook:
                assert ".services." in hook and callable(registry.resolve(hook))
        model = kind.model
        for relay in ("upload_committed", "upload_import", "upload_leftovers"):
            assert not hasattr(model, relay)


@isolate_apps("scheduling")
def test_a_job_model_without_registration_is_refused_clearly():
    class Orphan(Job):
        class Meta:
            app_label = "scheduling"

    job = Orphan(pk=1)
    assert Orphan.job_task == "scheduling.orphan.run"  # derived, but nothing would consume it
    with pytest.raises(UnregisteredJobKind, match=r"scheduling\.Orphan is not a registered job kind.*"
                                                  r"registry\.register\('scheduling\.Orphan'.*AppConfig\.ready"):
        job_service.submit(job)
    with pytest.raises(UnregisteredJobKind):
        job_service.send_wakeup(job)
    with pytest.raises(UnregisteredJobKind):
        registry.kind(Orphan)


def test_registration_refuses_a_model_that_is_not_a_job_and_a_conflicting_second_registration(settings):
    with pytest.raises(TypeError, match="not a job model"):
        registry.register("scheduling.Workload", body="x:y", soft_time_limit=1, grace_s=1)
    with pytest.raises(ValueError, match="registered twice, differently"):
        registry.register("scheduling.ScheduleJob", body="scheduling.services.other:run", soft_time_limit=1,
                          grace_s=1)
    # ready() may run twice (Django allows it): the same registration again changes nothing.
    kind = registry.kind("scheduling.ScheduleJob")
    assert registry.register("scheduling.ScheduleJob", body=kind.body, soft_time_limit=kind.soft_time_limit,
                             grace_s=kind.grace_s) is kind.task
    with pytest.raises(LookupError):
        registry.register("scheduling.NoSuchJob", body="x:y", soft_time_limit=1, grace_s=1)


@isolate_apps("scheduling")
def test_a_subclass_of_a_registered_kind_is_not_registered_by_inheritance():
    from scheduling.models import ScheduleJob

    class Copy(ScheduleJob):
        class Meta:
            app_label = "scheduling"

    # A kind is its own registration: inheriting the parent's would send its rows to the parent's task.
    assert "job_kind" not in Copy.__dict__
    with pytest.raises(UnregisteredJobKind):
        registry.kind(Copy)

