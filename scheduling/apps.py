from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'scheduling'

    def ready(self):
        # Coverage runs (profiling) are designed from a workload or a plan; profiling cannot import
        # scheduling (the layers go one way), so scheduling tells it how to find them.
        from profiling.services import coverage
        from scheduling.models import ScheduleJob, Workload

        coverage.register_finder("workload", lambda pk: Workload.objects.filter(pk=pk).first())
        coverage.register_finder("workload_named", lambda name: Workload.objects.filter(name=name).first())
        coverage.register_finder("plan", lambda pk: ScheduleJob.objects.select_related("workload")
                                 .filter(pk=pk).first())
