"""Start job recovery in every Celery worker (see recovery.py for why a thread, not beat)."""

from __future__ import annotations

from celery.signals import worker_ready, worker_shutdown


@worker_ready.connect(dispatch_uid="energyweb-job-recovery-start")
def _on_worker_ready(sender=None, **kwargs):
    from energyweb.jobs import recovery

    recovery.start()


@worker_shutdown.connect(dispatch_uid="energyweb-job-recovery-stop")
def _on_worker_shutdown(sender=None, **kwargs):
    from energyweb.jobs import recovery

    recovery.stop()
