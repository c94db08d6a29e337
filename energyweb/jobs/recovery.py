"""Recovery of lost jobs: expired leases and lost wake-up messages.

Runs in every worker, on start and then every ``JOB_RECOVERY_INTERVAL_S``
seconds, from a daemon thread of the worker's main process (like the heartbeat).
Why a thread and not Celery beat: beat is one more process to run, and exactly
one of it per deployment, or jobs get recovered twice; a thread in each worker
needs nothing extra, and running it in many workers at once is safe because
every step is a conditional UPDATE that only one of them wins.

- A ``running`` job whose lease expired (its worker was killed, lost power or
  network) goes back to ``pending`` and gets a new wake-up; past
  ``JOB_MAX_ATTEMPTS`` claims it fails with the reason instead.
- A ``pending`` job whose last wake-up is older than ``JOB_RESEND_AFTER_S`` is
  sent again (the message may have died with a Redis restart). A duplicate
  message is harmless: only one claim can win.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.registry import job_models
from energyweb.jobs.service import abandoned, max_attempts, send_wakeup

log = logging.getLogger(__name__)

_stop = threading.Event()
_thread: threading.Thread | None = None


def recover(now=None) -> dict:
    """One recovery pass over every registered job kind; returns counts per model for logs and tests."""
    now = now or timezone.now()
    limit = max_attempts()
    resend_after = timedelta(seconds=float(settings.JOB_RESEND_AFTER_S))
    report = {}
    for model in job_models():
        expired = model.objects.filter(status=JobStatus.RUNNING, lease_expires__lt=now)
        given_up = list(expired.filter(attempts__gte=limit).values_list("pk", flat=True))
        failed = model.objects.filter(pk__in=given_up, status=JobStatus.RUNNING, lease_expires__lt=now).update(
            status=JobStatus.FAILED, finished=now, lease_owner="", lease_expires=None,
            error=f"Its worker was lost {limit} times (killed or unreachable); giving up.")
        if failed:
            abandoned(model, given_up)
        # enqueued_at cleared: the wake-up below goes out in this same pass.
        reset = {"status": JobStatus.PENDING, "lease_owner": "", "lease_expires": None, "enqueued_at": None}
        if not model.job_resumable:
            reset["steps_done"] = 0
        requeued_ids = list(expired.filter(attempts__lt=limit).values_list("pk", flat=True))
        requeued = model.objects.filter(pk__in=requeued_ids, status=JobStatus.RUNNING,
                                        lease_expires__lt=now).update(**reset)
        stale = model.objects.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - resend_after),
                                     status=JobStatus.PENDING)
        resent = 0
        for job in stale.order_by("pk")[:500]:
            if getattr(model, "job_is_waiting", None) and model.job_is_waiting(job):
                continue  # waits for another job on the same resource; that one wakes it
            resent += bool(send_wakeup(job))
        if failed or requeued or resent:
            log.warning("job recovery %s: %d failed after %d attempts, %d taken back from lost workers, "
                        "%d wake-ups re-sent", model.__name__, failed, limit, requeued, resent)
        report[model._meta.label] = {"failed": failed, "requeued": requeued, "resent": resent}
    return report


def _loop(interval: float) -> None:
    next_sweep = 0.0
    while True:
        try:
            recover()
            next_sweep = _maybe_sweep(next_sweep)
        except Exception:  # a database or broker blip must not kill the thread
            log.exception("job recovery pass failed")
        finally:
            close_old_connections()
        if _stop.wait(interval):
            return


def _maybe_sweep(due: float) -> float:
    """Send the media sweep to the default queue when due (energyweb/media_sweep.py); the next due time.
    Sent, not run here: this worker may be a GPU host without the web server's media folder."""
    import time

    from energyweb.queue import send_now

    every = float(settings.MEDIA_SWEEP_INTERVAL_S)
    now = time.monotonic()
    if every <= 0 or now < due:
        return due
    send_now("energyweb.sweep_media", queue="default")
    return now + every


def start(interval: float | None = None) -> threading.Thread:
    global _thread
    if interval is None:
        interval = float(settings.JOB_RECOVERY_INTERVAL_S)
    _stop.clear()
    _thread = threading.Thread(target=_loop, args=(interval,), name="energyweb-job-recovery", daemon=True)
    _thread.start()
    log.info("job recovery every %ss (lease %ss, resend after %ss)", interval,
             settings.JOB_LEASE_S, settings.JOB_RESEND_AFTER_S)
    return _thread


def stop() -> None:
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=5)
