"""Enqueue Celery work by task name once the current transaction commits.

Web requests and imports must not fail, nor lose data, because the broker is
down: the row they wrote is the record of the work, and a job left pending can
be retried. So a failed enqueue is logged and reported, never raised.
"""

from __future__ import annotations

import logging

from django.db import transaction

from energyweb.celery import app

log = logging.getLogger(__name__)


def send_now(task_name: str, args=(), kwargs=None, queue: str = "default") -> bool:
    """Publish one task; False (and a logged warning) when the broker is unreachable."""
    try:
        with app.connection_for_write() as conn:
            # Fail in milliseconds, not after kombu's default retry schedule.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.1, timeout=2)
            # Results live in the database rows the tasks update, not in the backend.
            app.send_task(task_name, args=list(args), kwargs=kwargs or {}, queue=queue,
                          retry=False, ignore_result=True, connection=conn)
    except Exception as exc:  # broker down or misconfigured: keep the caller's data
        log.warning("could not enqueue %s%r on %s: %s", task_name, tuple(args), queue, exc)
        return False
    return True


def enqueue_on_commit(task_name: str, args=(), kwargs=None, queue: str = "default") -> None:
    """Publish after the surrounding transaction commits, so the worker sees the rows."""
    transaction.on_commit(lambda: send_now(task_name, args, kwargs, queue))
