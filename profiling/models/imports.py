"""A measurement file imported in the background (large uploads; see services/import_jobs.py)."""

from __future__ import annotations

from django.db import models

from energyweb.jobs.uploads import UploadJob
from profiling.models.measurements import ImportBatch


class MeasurementImportJob(UploadJob):
    """One stored measurement upload (energyweb/jobs/uploads.py holds the lifecycle).

    ``batch`` is set in the same transaction as the rows, under the claim, so a restart
    after a commit finds the batch and never imports the file twice.
    """

    job_label = "measurement import"
    page_route = "profiling:import-job"
    status_route = "measurement-import-job"

    options = models.JSONField(default=dict, blank=True,
                               help_text="llm, hardware, create_missing, negative_energy as the form gave them.")
    rows_validated = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def status_fields(self) -> dict:
        return {**super().status_fields(), "rows_validated": self.rows_validated, "rows_written": self.rows_written,
                "batch": self.batch_id}
