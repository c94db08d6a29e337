"""Uploads imported in the background: one skeleton for every importer (measurements, workloads).

A large upload leaves the request path: the request streams it to MEDIA_ROOT/imports (0600,
O_EXCL, hashed on the way), creates an ``UploadJob`` row and answers at once; a worker claims
the job and runs the importer on the stored file. What each importer declares is small (the
hooks named when it is registered, ``registry.register_upload``); storing, queuing, running, reporting and removing the stored file
live here, once.

Never twice, never half-written: an importer writes its result inside one transaction and
records it on the job row in that same transaction with a write conditional on the claim
(``handle.progress``), so a worker that lost its claim rolls back; a restarted job first asks
the ``committed`` hook and only reports what an earlier attempt committed. The stored upload
is removed once the row is final (succeeded, failed, cancelled, or failed by recovery), never
while another attempt may still need it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse

from energyweb.diskfull import write_new
from energyweb.jobs import registry
from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from energyweb.jobs.fair import FairShareJob

log = logging.getLogger(__name__)

UPLOAD_DIR = "imports"
# Database blips hand the job back for the task's autoretry instead of failing it.
class UploadRefused(Exception):
    """The importer refused the file: ``message`` for the job's error, ``result`` (the row/column
    errors, first 50 and a count) for the page and the API."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


class UploadJob(FairShareJob):
    """A stored upload waiting for, or going through, its all-or-nothing importer.

    An import is one transaction, so it cannot resume: a lost worker's job restarts.
    A concrete job declares its two routes and ``status_fields()``; its importer's hooks are
    named where the kind is registered (``registry.register_upload``), not relayed by the model.
    """

    filename = models.CharField(max_length=255)
    stored_file = models.CharField(max_length=300, help_text="Path of the upload under MEDIA_ROOT (0600).")
    content_hash = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the upload.")
    size_bytes = models.BigIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True,
                              help_text="The import summary, or the row/column errors (first 50 and a count).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    job_resumable = False
    # Route names: the progress page (a browser URL) and the status GET of the API.
    page_route: str = ""
    status_route: str = ""

    class Meta:
        abstract = True
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.filename}"

    def get_absolute_url(self) -> str:
        return reverse(self.page_route, args=[self.pk])

    @property
    def stored_path(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.stored_file

    # --- what a concrete upload job declares ---------------------------------------------

    def status_fields(self) -> dict:
        """What every upload job adds to ``status_payload()``; an importer adds its own progress
        fields with ``{**super().status_fields(), ...}``."""
        return {
            "filename": self.filename, "size_bytes": self.size_bytes, "result": self.result or {},
            "url": self.get_absolute_url(), "status_url": reverse(self.status_route, args=[self.pk]),
        }

    @classmethod
    def job_abandoned(cls, pks) -> None:
        """Recovery failed these jobs without a worker (too many lost attempts): clean up."""
        for job in cls.objects.filter(pk__in=list(pks)):
            end(job)


# --- the request side ---------------------------------------------------------------------


def runs_in_background(upload) -> bool:
    """Uploads above ENERGYWEB_IMPORT_SYNC_MAX_KB leave the request path."""
    return (getattr(upload, "size", 0) or 0) > settings.IMPORT_SYNC_MAX_BYTES


@dataclass
class Submitted:
    """What a ``submit_*`` upload use case did: imported in the request (``result``) or queued (``job``)."""

    job: UploadJob | None = None
    result: object = None

    @property
    def queued(self) -> bool:
        return self.job is not None


def import_now_or_queue(upload, *, now, queue) -> Submitted:
    """The one place that decides "import now or in the background" for every importer: ``now()``
    imports in the request and returns the result, ``queue()`` stores the upload and returns the job.
    Either may raise the importer's field-keyed errors; nothing is written then."""
    if runs_in_background(upload):
        return Submitted(job=queue())
    return Submitted(result=now())


@dataclass
class StoredUpload:
    relative: str  # under MEDIA_ROOT
    content_hash: str
    size: int
    filename: str

    @property
    def path(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.relative

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def store(upload) -> StoredUpload:
    """Stream ``upload`` to MEDIA_ROOT/imports, hashing it on the way."""
    directory = Path(settings.MEDIA_ROOT) / UPLOAD_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    relative = f"{UPLOAD_DIR}/{uuid.uuid4().hex}.upload"
    digest = hashlib.sha256()
    size = 0
    def write(out):
        nonlocal size
        for chunk in upload.chunks():
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)

    # O_EXCL and 0600 from the first byte: an upload is private data (issue 10, secrets at rest).
    # A full disk removes the partial file and raises DiskFull (507).
    write_new(Path(settings.MEDIA_ROOT) / relative, write)
    name = Path(str(getattr(upload, "name", "") or "upload.csv")).name[:255]
    return StoredUpload(relative=relative, content_hash=digest.hexdigest(), size=size, filename=name)


def submit(model: type[UploadJob], stored: StoredUpload, *, user=None, steps_total: int, **fields) -> UploadJob:
    """Create the job row for a stored upload and send its wake-up once the row commits."""
    try:
        with transaction.atomic():
            job = model.objects.create(
                filename=stored.filename, stored_file=stored.relative, content_hash=stored.content_hash,
                size_bytes=stored.size, steps_total=steps_total,
                created_by=user if (user is not None and user.is_authenticated) else None, **fields)
            job_service.submit(job)
    except BaseException:
        stored.discard()
        raise
    return job


def cancel(job: UploadJob) -> bool:
    """Cancel a pending or running import. A running one stops at its next progress note and its
    transaction rolls back (nothing written); its worker then removes the stored upload. A pending
    one has no worker: the upload goes now. False when the import had already ended."""
    was_pending = job.status == JobStatus.PENDING
    if not job_service.cancel(job):
        return False
    job.refresh_from_db()
    if was_pending or not job.lease_owner:
        # A worker that claimed it meanwhile finds it cancelled at its first note; the file it needs is
        # gone then, which it reports as such (run() checks the path first).
        transaction.on_commit(lambda: end(job))
    return True


# --- the worker side ----------------------------------------------------------------------


def run(job: UploadJob, handle) -> None:
    """The job body (``run_claimed``): import the stored file once, record the outcome."""
    kind = registry.kind(type(job))
    try:
        committed = kind.call("committed", job)
        if committed is not None:
            # A worker died after the import committed and before it finished the job: report it.
            handle.finish(steps_done=job.steps_total, result=committed)
            return
        path = job.stored_path
        if not path.exists():
            handle.fail("The stored upload is gone; upload the file again.")
            return
        kind.call("leftovers", job)
        try:
            result = kind.call("import_file", job, path, handle)
        except UploadRefused as exc:
            handle.fail(str(exc), result=exc.result)
            return
        handle.finish(steps_done=job.steps_total, result=result)
    finally:
        # Only once the row is final: a job taken over (JobLost) or handed back (a transient
        # error) still needs its file for the next attempt.
        if type(job).objects.filter(pk=job.pk, status__in=JobStatus.final()).exists():
            end(job)


def end(job: UploadJob) -> None:
    """Remove the stored upload and any leftovers of a job that has ended."""
    job.stored_path.unlink(missing_ok=True)
    try:
        registry.kind(type(job)).call("leftovers", job)
    except OSError:
        log.warning("could not remove the leftovers of %s %s", type(job).__name__, job.pk, exc_info=True)
