from django.apps import AppConfig


class EnergywebConfig(AppConfig):
    name = "energyweb"
    verbose_name = "energyweb"

    def ready(self):
        # Registers the worker_ready hook that starts job recovery in every worker.
        from energyweb.jobs import worker  # noqa: F401
