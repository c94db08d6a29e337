"""A workload file imported in the background (large uploads; see services/workload_jobs.py)."""

from __future__ import annotations

from django.db import models

from energyweb.jobs.uploads import UploadJob


class WorkloadImportJob(UploadJob):
    """One stored workload upload (energyweb/jobs/uploads.py holds the lifecycle).

    Coarse steps for now (``STEPS``: stored, parsing, writing, done). ``workload`` is set in
    the workload row's own transaction, under the claim, so a restart after the commit finds
    it and only reports it; the arrays file is named after the job (``workloads/import-<id>-...``)
    so that a file written by an attempt that died before its commit is found and removed.
    """

    STEPS = ("stored", "parsing", "writing", "done")

    job_label = "workload import"
    page_route = "scheduling:workload-import-job"
    status_route = "workload-import-job"

    name = models.CharField(max_length=200, help_text="Name of the workload to create.")
    description = models.TextField(blank=True)
    rows_read = models.PositiveIntegerField(default=0, help_text="Query rows read so far.")
    workload = models.ForeignKey("scheduling.Workload", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    @property
    def step(self) -> str:
        return self.STEPS[min(self.steps_done, len(self.STEPS) - 1)]

    def status_fields(self) -> dict:
        return {**super().status_fields(), "name": self.name, "step": self.step, "rows_read": self.rows_read,
                "workload": self.workload_id, "workload_url": self.workload.get_absolute_url() if self.workload_id else None}
