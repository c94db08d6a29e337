"""A measurement file imported in the background (large uploads; see services/import_jobs.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from energyweb.jobs.models import Job
from profiling.models.measurements import ImportBatch


class MeasurementImportJob(Job):
    """One stored upload waiting for, or going through, the all-or-nothing importer.

    An import cannot resume midway (it is one transaction), so a lost worker's job
    restarts; ``batch`` is set in the same transaction as the rows, under the claim,
    so a restart after a commit finds the batch and never imports the file twice.
    """

    job_task = "profiling.run_measurement_import"
    job_resumable = False
    job_label = "measurement import"

    filename = models.CharField(max_length=255)
    stored_file = models.CharField(max_length=300, help_text="Path of the upload under MEDIA_ROOT (0600).")
    content_hash = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the upload.")
    size_bytes = models.BigIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True,
                               help_text="llm, hardware, create_missing, negative_energy as the form gave them.")
    rows_validated = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True,
                              help_text="The import summary, or the row/column errors (first 50 and a count).")
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.filename}"

    def get_absolute_url(self) -> str:
        return reverse("profiling:import-job", args=[self.pk])
