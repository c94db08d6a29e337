"""Large measurement uploads: stored to disk, imported by a background job on the job lifecycle.

The request streams the upload to MEDIA_ROOT/imports (0600, hashed on the way) and answers
at once; the worker runs the same all-or-nothing importer. Never twice: the job records its
batch inside the import's transaction under its claim (a worker that lost the claim rolls
back), a restarted job that finds its batch only reports it, and the batch's unique content
hash refuses a second import of the same file from another job.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from profiling.models import ImportBatch, MeasurementImportJob
from profiling.services.measurement_import import ImportFailed, _duplicate, import_measurements

UPLOAD_DIR = "imports"


def runs_in_background(upload) -> bool:
    """Uploads above ENERGYWEB_IMPORT_SYNC_MAX_KB leave the request path."""
    return (getattr(upload, "size", 0) or 0) > settings.IMPORT_SYNC_MAX_BYTES


def submit_upload(upload, *, llm=None, hardware=None, create_missing=False, negative_energy="drop",
                  user=None) -> MeasurementImportJob:
    """Store ``upload`` and queue its import; an upload already imported raises ImportFailed (duplicate).

    The same file already being imported returns that job rather than a second one."""
    directory = Path(settings.MEDIA_ROOT) / UPLOAD_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    relative = f"{UPLOAD_DIR}/{uuid.uuid4().hex}.upload"
    path = Path(settings.MEDIA_ROOT) / relative
    digest = hashlib.sha256()
    size = 0
    # O_EXCL and 0600 from the first byte: an upload is private data (issue 10, secrets at rest).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    content_hash = digest.hexdigest()
    earlier = ImportBatch.objects.filter(content_hash=content_hash).first()
    if earlier is not None:
        path.unlink(missing_ok=True)
        raise _duplicate(earlier)
    running = MeasurementImportJob.objects.filter(content_hash=content_hash,
                                                  status__in=JobStatus.active()).first()
    if running is not None:
        path.unlink(missing_ok=True)
        return running
    name = Path(str(getattr(upload, "name", "") or "upload.csv")).name[:255]
    with transaction.atomic():
        job = MeasurementImportJob.objects.create(
            filename=name, stored_file=relative, content_hash=content_hash, size_bytes=size, steps_total=2,
            options={"llm": llm, "hardware": hardware, "create_missing": bool(create_missing),
                     "negative_energy": negative_energy},
            created_by=user)
        job_service.submit(job)
    return job


def run_job(job: MeasurementImportJob, handle) -> None:
    """The job body (run_claimed): import the stored file, record the outcome, remove the file."""
    path = Path(settings.MEDIA_ROOT) / job.stored_file
    if job.batch_id is not None:
        # A worker died after the import committed and before it finished the job: report that batch.
        batch = job.batch
        handle.finish(steps_done=2, result={"batch_id": job.batch_id, "filename": job.filename,
                                            "rows": batch.row_count if batch else job.rows_written,
                                            "skipped_phases": batch.skipped_rows if batch else 0})
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        handle.fail("The stored upload is gone; upload the file again.")
        return
    opts = job.options or {}

    def validated(rows: int) -> None:
        handle.progress(done=1, rows_validated=rows)

    def written(batch) -> None:
        # Inside the import's transaction and conditional on our claim: lost claim, no commit.
        handle.progress(done=2, batch=batch, rows_written=batch.row_count)

    try:
        summary = import_measurements(
            path, filename=job.filename, llm=opts.get("llm"), hardware=opts.get("hardware"),
            create_missing=bool(opts.get("create_missing")),
            negative_energy=opts.get("negative_energy") or "drop", user=job.created_by,
            progress=validated, on_written=written)
    except ImportFailed as exc:
        handle.fail(exc.summary(), result=exc.as_dict())
        path.unlink(missing_ok=True)
        return
    handle.finish(steps_done=2, result=summary.as_dict())
    path.unlink(missing_ok=True)


def status(job: MeasurementImportJob) -> dict:
    """What the progress page and the API show; the same shape for both."""
    return {
        "id": job.pk, "status": job.status, "filename": job.filename, "size_bytes": job.size_bytes,
        "rows_validated": job.rows_validated, "rows_written": job.rows_written,
        "percent": job.progress_percent, "attempts": job.attempts, "error": job.error,
        "result": job.result or {}, "batch": job.batch_id,
        "created": job.created.isoformat() if job.created else None,
        "finished": job.finished.isoformat() if job.finished else None,
        "url": reverse("profiling:import-job", args=[job.pk]),
        "status_url": reverse("measurement-import-job", args=[job.pk]),
    }
