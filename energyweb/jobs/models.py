"""The abstract job row that every long job inherits.

A concrete job is registered as a job kind (energyweb/jobs/registry.py, from its app's
``AppConfig.ready()``), which names its body and creates its Celery task; the task name comes
from the model label (``job_task``). The model declares where it is woken up (``job_queue()``)
and whether a lost attempt can be resumed (``job_resumable``): a profiling run
resumes at its first missing trial, a plan restarts from scratch. It may also
declare ``job_abandoned(pks)``, called after recovery failed jobs that no worker
ran to the end (a background import removes its stored upload there).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from energyweb.jobs.choices import JobStatus


def job_task_name(model_label: str) -> str:
    """The Celery task of a job model, from its label: "profiling.RefitJob" -> "profiling.refitjob.run"."""
    app_label, model_name = model_label.split(".")
    return f"{app_label}.{model_name.lower()}.run"


class UnregisteredJobKind(LookupError):
    """A job model without ``registry.register(...)`` in its app's ``AppConfig.ready()``."""


def job_kind(model):
    """The registered kind of a job model (set by energyweb/jobs/registry.py on the class, so the
    lifecycle can ask without importing the registry); refused clearly when there is none."""
    kind = model.__dict__.get("job_kind")  # own attribute only: a subclass is a kind of its own
    if kind is None:
        label = model._meta.label
        raise UnregisteredJobKind(
            f"{label} is not a registered job kind: call energyweb.jobs.registry.register({label!r}, body=...) "
            f"from its app's AppConfig.ready()")
    return kind


class TaskFromLabel:
    """``Job.job_task``: the task name comes from the model label, never a string typed in two places
    (the model and the registry's task both derive it; NetBox's JobRunner does the same)."""

    def __get__(self, obj, owner) -> str:
        return job_task_name(owner._meta.label)


class Job(models.Model):
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING,
                              db_index=True)
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker has claimed this job.")
    lease_owner = models.CharField(max_length=64, blank=True,
                                   help_text="Token of the claim that holds the job (empty when none).")
    lease_expires = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="Until when the worker holding the job is presumed alive; it renews this while it works.")
    worker = models.CharField(max_length=200, blank=True, help_text="The worker that last claimed the job.")
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last wake-up message was sent to the broker.")

    # Derived, never declared: "app_label.modelname.run" (the registry's task has the same name).
    job_task = TaskFromLabel()
    # What a concrete job declares.
    job_resumable: bool = False
    job_label: str = "job"

    class Meta:
        abstract = True

    def job_queue(self) -> str:
        return "default"

    @property
    def is_active(self) -> bool:
        return self.status in JobStatus.active()

    @property
    def progress_percent(self) -> int:
        if not self.steps_total:
            return 0
        return int(round(100 * min(self.steps_done, self.steps_total) / self.steps_total))

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the average pace of this attempt so far (None before the first step)."""
        if self.status != JobStatus.RUNNING or not self.started or not self.steps_total or not self.steps_done:
            return None
        elapsed = (timezone.now() - self.started).total_seconds()
        left = max(self.steps_total - self.steps_done, 0)
        return elapsed / self.steps_done * left

    def status_payload(self) -> dict:
        """The one status JSON of every job, for the page's polling and the API alike; a kind adds
        its own fields in ``status_fields()``."""
        return {
            "id": self.pk, "status": self.status, "steps_done": self.steps_done, "steps_total": self.steps_total,
            "percent": self.progress_percent, "eta_seconds": self.eta_seconds, "attempts": self.attempts,
            "error": self.error,
            "created": self.created.isoformat() if self.created else None,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            **self.status_fields(),
        }

    def status_fields(self) -> dict:
        """What this kind adds to ``status_payload()`` (cells of a run, the file of an import...)."""
        return {}

    @property
    def duration_seconds(self) -> float | None:
        if not self.started:
            return None
        end = self.finished or timezone.now()
        return max((end - self.started).total_seconds(), 0.0)
