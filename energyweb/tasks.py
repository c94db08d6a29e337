from celery import shared_task
from django.db import connection


@shared_task(name="energyweb.ping", bind=True)
def ping(self, payload=None):
    """Round trip check: proves a worker consumed the broker and reached the database."""
    from profiling.models import Hardware

    return {
        "payload": payload,
        "worker": self.request.hostname,
        "database_vendor": connection.vendor,
        "hardware_count": Hardware.objects.count(),
    }


@shared_task(name="energyweb.sweep_media", ignore_result=True)
def sweep_media(max_age_s: float | None = None) -> int:
    """Remove orphan files older than a day from MEDIA_ROOT (energyweb/media_sweep.py); on the default queue,
    whose workers share the media folder with the web server."""
    from energyweb.media_sweep import DEFAULT_MAX_AGE_S, sweep

    return len(sweep(DEFAULT_MAX_AGE_S if max_age_s is None else max_age_s))
