from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'scheduling'

    def ready(self):
        from django.conf import settings

        from energyweb.jobs import registry

        # Job kinds (energyweb/jobs/registry.py): the task of each is named from its label.
        # A plan's solver limits itself (time_limit_s, at most an hour); the task limits only stop a runaway.
        registry.register("scheduling.ScheduleJob", body="scheduling.services.jobs:run_job",
                          soft_time_limit=settings.PLAN_SOFT_TIME_LIMIT_S, grace_s=120)
        # One deployment's share of an executed plan, on its hardware's queue.
        registry.register("scheduling.ExecutionJob", body="scheduling.services.execution:run_body",
                          soft_time_limit=settings.LONG_JOB_SOFT_TIME_LIMIT_S, grace_s=300)
        # Import one stored workload upload (services/workload_jobs.py, energyweb/jobs/uploads.py).
        registry.register_upload("scheduling.WorkloadImportJob",
                                 committed="scheduling.services.workload_jobs:committed",
                                 import_file="scheduling.services.workload_jobs:import_stored",
                                 leftovers="scheduling.services.workload_jobs:remove_leftovers")

        # Coverage runs (profiling) are designed from a workload or a plan; profiling cannot import
        # scheduling (the layers go one way), so scheduling tells it how to find them.
        from profiling.services import coverage
        from scheduling.models import ScheduleJob, Workload

        coverage.register_finder("workload", lambda pk: Workload.objects.filter(pk=pk).first())
        coverage.register_finder("workload_named", lambda name: Workload.objects.filter(name=name).first())
        coverage.register_finder("plan", lambda pk: ScheduleJob.objects.select_related("workload")
                                 .filter(pk=pk).first())
