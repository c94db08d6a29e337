from django.apps import AppConfig


class EnergywebConfig(AppConfig):
    name = "energyweb"
    verbose_name = "energyweb"

    def ready(self):
        # Drops cached API tokens at once when a token or its user changes (token_cache.py).
        from energyweb.api import token_cache

        # Registers the worker_ready hook that starts job recovery in every worker.
        from energyweb.jobs import worker  # noqa: F401

        token_cache.connect_signals()
