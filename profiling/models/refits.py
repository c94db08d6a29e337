"""A refit owed to one (LLM, hardware) pair, as a job on the shared lifecycle (energyweb/jobs).

It used to be a bare Celery message ("profiling.refit_pair", spelled in five places): a database
error lost it for good and nothing recorded that the pair was owed a refit. A row per owed refit is
claimed, leased, retried on transient errors and recovered like any job; while one is pending for a
pair, further requests join it instead of queueing more work.
"""

from __future__ import annotations

from django.db import models

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.models import Job
from profiling.models.inventory import LLM, Hardware


class RefitJob(Job):
    job_resumable = False
    job_label = "refit"

    llm = models.ForeignKey(LLM, on_delete=models.PROTECT, related_name="refit_jobs")
    hardware = models.ForeignKey(Hardware, on_delete=models.PROTECT, related_name="refit_jobs")
    include_estimated = models.BooleanField(default=False, help_text="Fit estimated energy too (and say so).")
    reason = models.CharField(max_length=80, blank=True, help_text="What asked for it: import, run, execution...")
    result = models.JSONField(default=dict, blank=True, help_text="Per target: the selected form and fit ids, or why skipped.")

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["llm", "hardware"], condition=models.Q(status=JobStatus.PENDING),
                                               name="one_owed_refit_per_pair")]

    def __str__(self) -> str:
        return f"Refit #{self.pk} of {self.llm_id}@{self.hardware_id} ({self.status})"
