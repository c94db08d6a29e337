"""Worker heartbeat: a Celery worker on a host tells the inventory it is alive.

When ``ENERGYWEB_HARDWARE_SLUG`` is set (``runstack`` and the docker worker
set it), a daemon thread started on ``worker_ready`` stamps the Hardware row's
``last_heartbeat`` every ``HEARTBEAT_INTERVAL_S`` seconds. A thread rather than
Celery beat keeps a host's liveness tied to its own worker process, with no
scheduler to run. The ``profiling.heartbeat`` task lets anyone probe a host
through its queue (a reply proves the queue is consumed).
"""

from __future__ import annotations

import logging
import os
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown

log = logging.getLogger(__name__)

_stop = threading.Event()
_thread: threading.Thread | None = None


@shared_task(name="profiling.heartbeat", ignore_result=False)
def heartbeat(hardware_slug: str) -> bool:
    """Stamp ``last_heartbeat`` on one Hardware row; False if it does not exist."""
    from profiling.services.host import beat

    return beat(hardware_slug)


def _beat_forever(slug: str, interval: float) -> None:
    from django.db import close_old_connections

    from profiling.backends import probe_backends
    from profiling.services.host import beat

    # What this worker's environment can run, reported with every beat: the hardware page shows
    # it and a run for a missing backend is refused at submission.
    backends = probe_backends()
    while not _stop.is_set():
        try:
            if not beat(slug, backends):
                log.warning("heartbeat: no Hardware row with slug %r (run register_host)", slug)
        except Exception:  # a database blip must not kill the thread
            log.exception("heartbeat for %s failed", slug)
        finally:
            close_old_connections()
        _stop.wait(interval)


def start_heartbeat(slug: str, interval: float | None = None) -> threading.Thread:
    global _thread
    from django.conf import settings

    if interval is None:
        interval = settings.HEARTBEAT_INTERVAL_S
    _stop.clear()
    _thread = threading.Thread(target=_beat_forever, args=(slug, interval), name="energyweb-heartbeat",
                               daemon=True)
    _thread.start()
    log.info("heartbeat for hardware %r every %ss", slug, interval)
    return _thread


def stop_heartbeat() -> None:
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=5)


@worker_ready.connect(dispatch_uid="energyweb-heartbeat-start")
def _on_worker_ready(sender=None, **kwargs):
    slug = os.environ.get("ENERGYWEB_HARDWARE_SLUG", "").strip()
    if slug:
        start_heartbeat(slug)


@worker_shutdown.connect(dispatch_uid="energyweb-heartbeat-stop")
def _on_worker_shutdown(sender=None, **kwargs):
    stop_heartbeat()
