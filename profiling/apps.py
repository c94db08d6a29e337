from django.apps import AppConfig


class ProfilingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "profiling"

    def ready(self):
        from django.conf import settings

        from energyweb.jobs import registry

        # Registers the heartbeat task and the worker_ready hook that starts it.
        from profiling import signals, worker  # noqa: F401
        from profiling.services import predict_cache

        # The predict cache forgets its answers when fits or the inventory change.
        predict_cache.connect_signals()

        # Job kinds (energyweb/jobs/registry.py): the task of each is named from its label.
        long = settings.LONG_JOB_SOFT_TIME_LIMIT_S
        # Run (or resume) one profiling run on its hardware's queue.
        registry.register("profiling.ProfilingRun", body="profiling.services.profiling_runs:run_body",
                          soft_time_limit=long, grace_s=300)
        # An owed refit of one pair.
        registry.register("profiling.RefitJob", body="profiling.services.refits:run_body",
                          soft_time_limit=long, grace_s=60)
        # Import one stored measurement upload (services/import_jobs.py, energyweb/jobs/uploads.py).
        registry.register_upload("profiling.MeasurementImportJob",
                                 committed="profiling.services.import_jobs:committed",
                                 import_file="profiling.services.import_jobs:import_stored")
