"""Claim, renew, progress, finish, fail, cancel: the one job service.

Every write a worker makes is conditional on the row still being ``running``
and still holding the worker's claim token (``lease_owner``). A worker that was
presumed dead and whose job was taken over therefore cannot overwrite the new
owner's work: its next write finds no row and it stops (``JobLost``). A
cancelled job is noticed the same way at the next progress report
(``JobCancelled``). So a job is run by at most one worker at a time, whatever
the broker redelivers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
    transaction,
)
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.models import job_kind

log = logging.getLogger(__name__)


class JobInterrupted(Exception):
    """The job must stop now; subclasses say why."""


class JobCancelled(JobInterrupted):
    """The row says the job was cancelled."""


class JobLost(JobInterrupted):
    """Another worker took the job over (our lease had expired), or the row is gone."""


class JobDeleted(JobLost):
    """The job's row was deleted while a worker ran it (a user deleted the plan or workload)."""


def lease_seconds() -> float:
    return float(settings.JOB_LEASE_S)


def max_attempts() -> int:
    return int(settings.JOB_MAX_ATTEMPTS)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class JobHandle:
    """The claim a worker holds on one job row."""

    model: type
    pk: int
    token: str
    attempt: int
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    noted: dict = field(default_factory=dict, repr=False)  # progress for the lease keeper to publish
    lost: bool = False  # the lease keeper found the job cancelled or taken over

    def _mine(self):
        return self.model.objects.filter(pk=self.pk, status=JobStatus.RUNNING, lease_owner=self.token)

    def _lease(self):
        return timezone.now() + timedelta(seconds=lease_seconds())

    def _interrupted(self) -> JobInterrupted:
        row = self.model.objects.filter(pk=self.pk).values("status").first()
        if row is None:
            return JobDeleted(f"{self.model.__name__} {self.pk} was deleted")
        if row["status"] == JobStatus.CANCELLED:
            return JobCancelled(f"{self.model.__name__} {self.pk} was cancelled")
        return JobLost(f"{self.model.__name__} {self.pk} is no longer ours")

    def renew(self) -> bool:
        """Push the lease forward, with any progress ``note()`` left; False when the job is no longer ours."""
        # The lock guards only the hand-over of the notes, never the write: a body inside a transaction
        # that holds SQLite's one write lock must not wait in note() for a keeper that waits for that lock.
        with self.lock:
            noted = dict(self.noted)
            self.noted.clear()
        try:
            ours = self._mine().update(**noted, lease_expires=self._lease()) == 1
        except BaseException:
            with self.lock:  # not published: keep them, under any newer note of the same field
                self.noted = {**noted, **self.noted}
            raise
        if not ours:
            self.lost = True
        return ours

    def note(self, done: int | None = None, **fields) -> None:
        """Progress that the lease keeper's thread publishes within a second, on its own connection.

        For a body inside one long transaction (an import): its own ``progress()`` would stay invisible
        until the commit and would lock the job row against the keeper's renewals. Raises when the keeper
        has found the job cancelled or taken over (the body's transaction then rolls back)."""
        if self.lost:
            raise self._interrupted()
        if done is not None:
            fields["steps_done"] = done
        with self.lock:
            self.noted.update(fields)

    def progress(self, done: int | None = None, total: int | None = None, **fields) -> None:
        """Record progress (and renew the lease); raise when cancelled or taken over."""
        values = dict(fields, lease_expires=self._lease())
        if done is not None:
            values["steps_done"] = done
        if total is not None:
            values["steps_total"] = total
        with self.lock:
            if self._mine().update(**values) != 1:
                raise self._interrupted()

    def check(self) -> None:
        """Raise when the job was cancelled or taken over; cheap enough to call per unit of work."""
        self.progress()

    def finish(self, **fields) -> bool:
        """Mark the job succeeded with ``fields``; False when it was cancelled or lost meanwhile."""
        with self.lock:
            fields = {**self.noted, **fields}  # progress noted but not yet published goes with it
            self.noted.clear()
            return self._mine().update(status=JobStatus.SUCCEEDED, finished=timezone.now(), lease_owner="",
                                       lease_expires=None, error="", **fields) == 1

    def fail(self, message: str, **fields) -> bool:
        with self.lock:
            fields = {**self.noted, **fields}
            self.noted.clear()
            return self._mine().update(status=JobStatus.FAILED, finished=timezone.now(), lease_owner="",
                                       lease_expires=None, error=message[:10000], **fields) == 1

    def release(self) -> bool:
        """Hand the job back (transient error, worker shutting down): pending, not counted as an attempt."""
        with self.lock:
            return self._mine().update(status=JobStatus.PENDING, lease_owner="", lease_expires=None,
                                       attempts=Greatest(F("attempts") - 1, 0)) == 1


def claim(model, pk: int, worker: str | None = None) -> JobHandle | None:
    """Take a pending job, or a running one whose lease has expired; None when there is nothing to take.

    Taking over an expired job counts as a new attempt; past ``JOB_MAX_ATTEMPTS`` the job fails
    with the reason instead. A job that cannot resume restarts its progress from zero.
    """
    now = timezone.now()
    limit = max_attempts()
    if model.objects.filter(pk=pk, status=JobStatus.RUNNING, lease_expires__lt=now,
                            attempts__gte=limit).update(
            status=JobStatus.FAILED, finished=now, lease_owner="", lease_expires=None,
            error=f"Its worker was lost {limit} times (killed or unreachable); giving up."):
        abandoned(model, [pk])
        return None
    token = uuid.uuid4().hex
    values = dict(status=JobStatus.RUNNING, lease_owner=token, lease_expires=now + timedelta(seconds=lease_seconds()),
                  attempts=F("attempts") + 1, started=Coalesce(F("started"), now), worker=(worker or worker_name())[:200],
                  error="")
    if not model.job_resumable:
        values["steps_done"] = 0
    claimable = Q(status=JobStatus.PENDING) | Q(status=JobStatus.RUNNING, lease_expires__lt=now,
                                                 attempts__lt=limit)
    with transaction.atomic():
        # A job that needs a resource to itself (one profiling run per hardware) locks it,
        # claims, then checks for a live holder; the claim is undone if there is one.
        # The job stays pending and is woken when the holder ends (wake_next).
        lock = getattr(model, "job_lock", None)
        if lock is not None:
            lock(pk)
        if model.objects.filter(claimable, pk=pk).update(**values) != 1:
            return None
        conflicts = getattr(model, "job_conflicts", None)
        if conflicts is not None and conflicts(pk):
            transaction.set_rollback(True)
            return None
    attempt = model.objects.filter(pk=pk).values_list("attempts", flat=True).first() or 1
    return JobHandle(model=model, pk=pk, token=token, attempt=attempt)


def release_workers(names: list[str]) -> int:
    """Hand back every running job held by these worker processes (``host:pid``), e.g. after a
    supervisor stopped them: the jobs go back to pending at once instead of waiting for their
    leases to expire, and the next recovery pass sends their wake-ups."""
    from django.apps import apps

    job_models = [m for m in apps.get_models() if "job_kind" in m.__dict__]  # the registered kinds

    # After a PostgreSQL restart this process's connection is dead and the first query fails; the
    # hand-back then runs again on a fresh connection (each update is idempotent), else the jobs
    # would wait for their leases. Three tries over about two seconds: a shutdown cannot wait long.
    for attempt in range(3):
        try:
            released = 0
            for model in job_models:
                reset = {"status": JobStatus.PENDING, "lease_owner": "", "lease_expires": None, "enqueued_at": None}
                if not model.job_resumable:
                    reset["steps_done"] = 0
                released += model.objects.filter(status=JobStatus.RUNNING, worker__in=names).update(**reset)
            return released
        except (OperationalError, InterfaceError):
            if attempt == 2:
                raise
            log.warning("handing back the jobs of %s failed; retrying on a fresh connection", names)
            connections.close_all()
            time.sleep(0.5 * (attempt + 1))
    return 0


def cancel(job) -> bool:
    """Cancel a pending or running job; a running one stops at its next progress report."""
    done = type(job).objects.filter(pk=job.pk, status__in=JobStatus.active()).update(
        status=JobStatus.CANCELLED, finished=timezone.now(), lease_owner="", lease_expires=None) == 1
    if done:
        transaction.on_commit(lambda: wake_next(type(job), job))
    return done


def abandoned(model, pks) -> None:
    """Let a job model clean up after jobs failed without a worker (``job_abandoned``: an
    import's stored upload); only the rows that are failed now, whoever failed them."""
    hook = getattr(model, "job_abandoned", None)
    if hook is not None:
        hook(model.objects.filter(pk__in=list(pks), status=JobStatus.FAILED).values_list("pk", flat=True))


def submit(job) -> None:
    """Send the job's wake-up message once the surrounding transaction commits.

    A job model nobody registered is refused here (UnregisteredJobKind), before any row is stamped."""
    from energyweb.queue import enqueue_on_commit

    task_name = job_kind(type(job)).task_name
    type(job).objects.filter(pk=job.pk).update(enqueued_at=timezone.now())
    enqueue_on_commit(task_name, args=[job.pk], queue=job.job_queue())


def send_wakeup(job) -> bool:
    """Send a wake-up now (recovery, the next job in line); the row is stamped only if it went out."""
    from energyweb.queue import send_now

    sent = send_now(job_kind(type(job)).task_name, args=[job.pk], queue=job.job_queue())
    if sent:
        type(job).objects.filter(pk=job.pk).update(enqueued_at=timezone.now())
    return sent


def wake_next(model, job) -> None:
    """Give the next job waiting for the same resource its wake-up (see ``Job.job_waits_for``)."""
    waits = getattr(model, "job_next_in_line", None)
    if waits is None:
        return
    nxt = waits(job)
    if nxt is not None:
        send_wakeup(nxt)


class LeaseKeeper:
    """Renews a claim's lease from a daemon thread while the job body runs.

    Renewal every third of the lease leaves two chances before it expires. The
    thread only renews: whether the job should stop is decided by the body at its
    next ``progress()`` call, so a long solver step is never interrupted midway.
    """

    def __init__(self, handle: JobHandle, interval: float | None = None):
        self.handle = handle
        # The body's connection (this is the body's thread): see _body_holds_sqlite_writer.
        self._body_connection = connections[DEFAULT_DB_ALIAS]
        self.interval = interval if interval is not None else max(lease_seconds() / 3.0, 0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{handle.pk}", daemon=True)
        self.lost = False

    def _run(self):
        # Wake every second at most: a noted progress is published within a second, the lease every interval.
        tick, last = min(self.interval, 1.0), time.monotonic()
        while not self._stop.wait(tick):
            if time.monotonic() - last < self.interval and not getattr(self.handle, "noted", None):
                continue
            if self._body_holds_sqlite_writer():
                continue  # published within a second of the commit; see below
            last = time.monotonic()
            try:
                if not self.handle.renew():
                    self.lost = True
                    return
            except Exception:  # a database blip: try again at the next tick
                log.warning("lease renewal for %s %s failed", self.handle.model.__name__, self.handle.pk,
                            exc_info=True)
            finally:
                close_old_connections()

    def _body_holds_sqlite_writer(self) -> bool:
        """SQLite has one writer: while the body is inside a transaction (BEGIN IMMEDIATE takes the write
        lock at once) a keeper's write would only wait out the 30 s busy timeout and fail. So on SQLite
        the keeper waits for the commit: progress noted inside a transaction shows when it commits (on
        PostgreSQL, within a second), and the lease is renewed then. No other writer, recovery included,
        can take the job over meanwhile (it needs the same lock); a body's own ``progress()`` inside the
        transaction renews the lease as of its commit, and a takeover right after a commit that outlived
        the lease is refused to this worker by the claim token, as any takeover is."""
        conn = self._body_connection
        return conn.vendor == "sqlite" and conn.in_atomic_block

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False


def fault_delay() -> None:
    """Fault injection for the crash tests: ``ENERGYWEB_FAULT_STEP_DELAY_S`` slows every step
    so that a test can kill a worker in the middle of a job. Never set in production."""
    delay = float(os.environ.get("ENERGYWEB_FAULT_STEP_DELAY_S") or 0)
    if delay > 0:
        threading.Event().wait(delay)


def run_claimed(model, pk: int, body: Callable[[object, JobHandle], None], *,
                transient: tuple[type[BaseException], ...] = ()) -> str:
    """Claim job ``pk`` of ``model``, run ``body(job, handle)`` under a lease, record the outcome.

    ``body`` reports progress through the handle and ends the job with ``handle.finish``;
    if it returns without doing so the job is marked succeeded. Errors in ``transient``
    hand the job back and are re-raised (for the task's autoretry); any other error fails
    the job with its message, so a bug never leaves it running.
    """
    handle = claim(model, pk)
    if handle is None:
        return "skipped"
    job = model.objects.filter(pk=pk).first()
    if job is None:
        return "gone"
    try:
        with LeaseKeeper(handle):
            body(job, handle)
    except JobCancelled:
        log.info("%s %s cancelled", model.__name__, pk)
        return "cancelled"
    except JobDeleted:
        log.info("%s %s was deleted while it ran; stopping", model.__name__, pk)
        return "deleted"
    except JobLost:
        log.warning("%s %s was taken over by another worker; stopping", model.__name__, pk)
        return "lost"
    except transient:
        handle.release()
        raise
    except Exception as exc:
        log.exception("%s %s failed", model.__name__, pk)
        handle.fail(f"{exc}" if not _is_bug(exc) else f"Internal error ({type(exc).__name__}): {exc}")
        wake_next(model, job)
        return "failed"
    # A body that did not end the job itself succeeded.
    handle.finish()
    wake_next(model, job)
    return "done"


def _is_bug(exc: BaseException) -> bool:
    from django.core.exceptions import ValidationError

    return not isinstance(exc, (ValueError, OSError, ValidationError))


# Only a lost database connection is worth retrying; anything else the job records itself.
TRANSIENT = (OperationalError, InterfaceError)
