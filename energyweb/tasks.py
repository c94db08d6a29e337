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
