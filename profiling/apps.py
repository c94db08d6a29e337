from django.apps import AppConfig


class ProfilingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "profiling"

    def ready(self):
        # Registers the heartbeat task and the worker_ready hook that starts it.
        from profiling import signals, worker  # noqa: F401
        from profiling.services import predict_cache

        # The predict cache forgets its answers when fits or the inventory change.
        predict_cache.connect_signals()
