"""Large workload uploads: stored to disk, imported by a background job on the job lifecycle.

Storing, queuing, running and reporting are shared with every background import
(energyweb/jobs/uploads.py); this module holds what is particular to workloads. Never twice,
never half-written: the Workload row is created, and recorded on the job, in one transaction
conditional on the job's claim (a worker that lost it rolls back and removes its arrays file);
a restarted job that finds its workload only reports it; arrays files are named after the job
and attempt, so one left by a worker killed before its commit is removed by the next attempt or
when the job ends.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage

from energyweb.jobs import service as job_service
from energyweb.jobs import uploads
from energyweb.jobs.choices import JobStatus
from scheduling.models import Workload, WorkloadImportJob
from scheduling.services.plan_checks import check_job_quota
from scheduling.services.workloads import WorkloadFileError, import_workload, parse_workload, store_workload

ARRAYS_DIR = "workloads"
PARSING, WRITING, DONE = 1, 2, 3  # steps_done: WorkloadImportJob.STEPS


def submit_upload(upload, name: str, *, description: str = "", user=None) -> WorkloadImportJob:
    """Check what can be checked at once (name, size, the user's active imports), store the upload
    and queue its import. Raises WorkloadFileError (field-keyed) or QuotaExceeded."""
    name = (name or "").strip()
    if not name:
        raise WorkloadFileError("Give the workload a name.", field="name")
    if Workload.objects.filter(name=name).exists():
        raise WorkloadFileError(f"A workload named {name!r} exists already; choose another name.", field="name")
    busy = WorkloadImportJob.objects.filter(name=name, status__in=JobStatus.active()).first()
    if busy is not None:
        raise WorkloadFileError(f"A workload named {name!r} is being imported (import #{busy.pk}); "
                                "choose another name.", field="name")
    limit_mb = int(settings.MAX_UPLOAD_MB)
    if (getattr(upload, "size", 0) or 0) > limit_mb * 1024 * 1024:
        raise WorkloadFileError(f"The file is larger than the upload limit of {limit_mb:g} MB "
                                "(ENERGYWEB_MAX_UPLOAD_MB); split it or compress it with gzip.")
    check_job_quota(user, WorkloadImportJob, "workload imports")
    stored = uploads.store(upload)
    return uploads.submit(WorkloadImportJob, stored, user=user, steps_total=DONE, name=name,
                          description=description or "")


def submit_workload(upload, name: str, *, description: str = "", user=None) -> uploads.Submitted:
    """The workload upload use case (page and API): a small file is imported in the request
    (``result``: the Workload), a large one stored and queued (``job``). Raises WorkloadFileError
    (field-keyed, with the row/column errors) or QuotaExceeded; nothing is written then."""
    return uploads.import_now_or_queue(
        upload,
        now=lambda: import_workload(upload, name, description=description, user=user, filename=upload.name),
        queue=lambda: submit_upload(upload, name, description=description, user=user))


def summary(workload: Workload) -> dict:
    return {"workload": workload.pk, "name": workload.name, "n_queries": workload.n_queries,
            "total_tokens": workload.total_tokens, "url": workload.get_absolute_url()}


def committed(job: WorkloadImportJob) -> dict | None:
    return summary(job.workload) if job.workload_id else None


def import_stored(job: WorkloadImportJob, path, handle) -> dict:
    """Parse and validate the stored file, then write the workload under the claim."""
    handle.progress(done=PARSING)

    def written(workload: Workload) -> None:
        # The crash tests kill the worker here: arrays file written, row not committed.
        job_service.fault_delay()
        # Inside the workload's transaction and conditional on our claim: lost claim, no commit.
        handle.progress(done=DONE, workload=workload)

    try:
        parsed = parse_workload(path, filename=job.filename, progress=lambda rows: handle.progress(rows_read=rows))
        handle.progress(done=WRITING, rows_read=parsed.n)
        workload = store_workload(parsed, job.name, description=job.description, user=job.created_by,
                                  data_name=f"{ARRAYS_DIR}/import-{job.pk}-{handle.attempt}.npz",
                                  on_written=written)
    except WorkloadFileError as exc:
        raise uploads.UploadRefused(str(exc), exc.as_dict()) from exc
    return summary(workload)


def remove_leftovers(job: WorkloadImportJob) -> None:
    """Delete this job's arrays files that no workload row references (an attempt that died
    between writing its file and committing its row)."""
    prefix = f"import-{job.pk}-"
    try:
        _, files = default_storage.listdir(ARRAYS_DIR)
    except FileNotFoundError:
        return
    names = [f"{ARRAYS_DIR}/{f}" for f in files if f.startswith(prefix)]
    if not names:
        return
    kept = set(Workload.objects.filter(data_file__in=names).values_list("data_file", flat=True))
    for name in names:
        if name not in kept:
            default_storage.delete(name)
