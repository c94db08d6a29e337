"""Large measurement uploads: stored to disk, imported by a background job on the job lifecycle.

The storing, queuing, running and reporting are shared with every background import
(energyweb/jobs/uploads.py); this module holds what is particular to measurements. Never
twice: the job records its batch inside the import's transaction under its claim (a worker
that lost the claim rolls back), a restarted job that finds its batch only reports it, and
the batch's unique content hash refuses a second import of the same file from another job.
"""

from __future__ import annotations

from energyweb.jobs import uploads
from energyweb.jobs.choices import JobStatus
from profiling.models import ImportBatch, MeasurementImportJob
from profiling.services.measurement_import import ImportFailed, _duplicate, import_measurements


def submit_measurements(upload, **options) -> uploads.Submitted:
    """The measurement upload use case (page and API): a small file is imported in the request
    (``result``: the ImportSummary), a large one stored and queued (``job``; the same file being
    imported already is that job). Raises ImportFailed (row/column errors, or a duplicate)."""
    return uploads.import_now_or_queue(upload, now=lambda: import_measurements(upload, **options),
                                       queue=lambda: submit_upload(upload, **options))


def submit_upload(upload, *, llm=None, hardware=None, create_missing=False, negative_energy="drop",
                  user=None, allow_duplicate=False) -> MeasurementImportJob:
    """Store ``upload`` and queue its import; an upload already imported raises ImportFailed (duplicate).

    The same file already being imported returns that job rather than a second one."""
    stored = uploads.store(upload)
    # The same bytes are refused here; the same rows in another form once the job has read them.
    earlier = None if allow_duplicate else ImportBatch.objects.filter(file_sha256=stored.content_hash).first()
    if earlier is not None:
        stored.discard()
        raise _duplicate(earlier)
    running = MeasurementImportJob.objects.filter(content_hash=stored.content_hash,
                                                  status__in=JobStatus.active()).first()
    if running is not None:
        stored.discard()
        return running
    return uploads.submit(
        MeasurementImportJob, stored, user=user, steps_total=2,
        options={"llm": llm, "hardware": hardware, "create_missing": bool(create_missing),
                 "negative_energy": negative_energy, "allow_duplicate": bool(allow_duplicate)})


def committed(job: MeasurementImportJob) -> dict | None:
    if job.batch_id is None:
        return None
    batch = job.batch
    return {"batch_id": job.batch_id, "filename": job.filename,
            "rows": batch.row_count if batch else job.rows_written,
            "skipped_phases": batch.skipped_rows if batch else 0}


def import_stored(job: MeasurementImportJob, path, handle) -> dict:
    opts = job.options or {}

    def validated(rows: int) -> None:
        # Called inside the import's transaction: the lease keeper publishes it (note), so the page sees it live.
        handle.note(done=1, rows_validated=rows)

    def written(batch) -> None:
        # Inside the import's transaction and conditional on our claim: lost claim, no commit.
        handle.progress(done=2, batch=batch, rows_written=batch.row_count)

    try:
        summary = import_measurements(
            path, filename=job.filename, llm=opts.get("llm"), hardware=opts.get("hardware"),
            create_missing=bool(opts.get("create_missing")),
            negative_energy=opts.get("negative_energy") or "drop", user=job.created_by,
            allow_duplicate=bool(opts.get("allow_duplicate")),
            progress=validated, on_written=written)
    except ImportFailed as exc:
        raise uploads.UploadRefused(exc.summary(), exc.as_dict()) from exc
    return summary.as_dict()
