"""Executions of finished plans: the planned queries served and metered on the workers.

Design (one execution spans several hardware queues): an ``Execution`` row is the
operator's request (plan, batch size, drift threshold); it has one ``ExecutionJob``
child per deployment, each a job on the shared lifecycle (energyweb.jobs) woken on
its own hardware's queue ``hw.<slug>``. Why children rather than one job row with a
task per deployment: the lifecycle's claim, lease, fencing token and recovery are per
row, so one row held by several workers at once would fence them against each other,
and a lost worker on one host would restart the others. A child per deployment keeps
every guarantee of the lifecycle unchanged: one holder at a time, resumed at its first
missing batch after a lost worker, cancelled at its next batch. The execution's status,
progress and ETA are derived from its children.

Nothing lost, nothing run twice: each batch is an ``ExecutedBatch`` with the natural
unique key (execution, deployment index, batch index), written in one transaction with
its queries and the fenced progress update of the child that holds the claim.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from energyweb.jobs.choices import JobStatus
from energyweb.jobs.metered import MeteredJob
from profiling.choices import InferenceBackend
from profiling.models import LLM, Hardware


class Execution(models.Model):
    schedule_job = models.ForeignKey("scheduling.ScheduleJob", on_delete=models.CASCADE, related_name="executions")
    plan_index = models.PositiveSmallIntegerField(help_text="Which plan of the job's zeta sweep was executed.")
    batch_size = models.PositiveIntegerField(help_text="Queries metered together in one window.")
    backend = models.CharField(max_length=16, choices=InferenceBackend.choices, default=InferenceBackend.HF)
    drift_threshold_pct = models.FloatField(
        default=25.0, help_text="A deployment whose energy or runtime MAPE exceeds this is flagged as drifted.")
    foreground = models.BooleanField(default=False, help_text="Run by execute_plan on one host, not queued.")
    queries_planned = models.PositiveIntegerField(default=0)
    refit_requested = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Execution #{self.pk} of plan #{self.schedule_job_id}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:execution-detail", args=[self.pk])

    @property
    def status(self) -> str:
        """Derived from the children: final once all are; failed or cancelled if any is; final when there are none."""
        statuses = [j.status for j in self.jobs.all()]
        if not statuses:
            # Children are created with the execution in one transaction, so none means there was nothing
            # to run, or they were removed: never "pending", which no worker would ever end and cancel refuses.
            return JobStatus.SUCCEEDED if not self.queries_planned else JobStatus.FAILED
        if all(s in JobStatus.final() for s in statuses):
            for s in (JobStatus.FAILED, JobStatus.CANCELLED):
                if s in statuses:
                    return s
            return JobStatus.SUCCEEDED
        if all(s == JobStatus.PENDING for s in statuses):
            return JobStatus.PENDING
        return JobStatus.RUNNING

    @property
    def is_active(self) -> bool:
        return self.status in JobStatus.active()


class ExecutionJob(MeteredJob):
    """One deployment's share of an execution, on its hardware's queue; the unit of work is a batch."""

    job_resumable = True
    job_label = "execution"

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="jobs")
    deployment_index = models.PositiveSmallIntegerField(help_text="Index in the plan's deployment list.")
    deployment_key = models.CharField(max_length=300)
    # PROTECT: a cascade here once emptied a finished execution (energyweb/deletion.py).
    llm = models.ForeignKey(LLM, on_delete=models.PROTECT, related_name="+")
    hardware = models.ForeignKey(Hardware, on_delete=models.PROTECT, related_name="+")
    queries_total = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Meter, backend, load and warm-up times.")

    class Meta:
        ordering = ["execution_id", "deployment_index"]
        constraints = [models.UniqueConstraint(fields=["execution", "deployment_index"],
                                               name="one_execution_job_per_deployment")]

    def __str__(self) -> str:
        return f"Execution #{self.execution_id}: {self.deployment_key} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:execution-detail", args=[self.execution_id])


class ExecutedBatch(models.Model):
    """One metered batch: the queries of one deployment served inside one meter window."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="batches")
    job = models.ForeignKey(ExecutionJob, on_delete=models.CASCADE, related_name="batches")
    deployment_index = models.PositiveSmallIntegerField()
    batch_index = models.PositiveIntegerField()
    queries = models.PositiveIntegerField()
    input_tokens = models.PositiveBigIntegerField(help_text="Summed over the batch's queries.")
    output_tokens = models.PositiveBigIntegerField()
    predicted_energy_j = models.FloatField()
    predicted_runtime_s = models.FloatField()
    energy_j = models.FloatField(help_text="Measured (or estimated, see sources) energy of one pass of the batch.")
    runtime_s = models.FloatField(help_text="Summed inference time of the batch's queries (one pass).")
    window_s = models.FloatField(help_text="The meter window, all repeats included.")
    repeats = models.PositiveSmallIntegerField(default=1, help_text="Passes inside the window (short batches).")
    energy_by_component = models.JSONField(default=dict)
    sources = models.JSONField(default=dict, help_text="Energy source per component (provenance).")
    is_estimated = models.BooleanField(default=False)
    meter = models.JSONField(default=dict, blank=True, help_text="Meter name, device state, warnings.")
    attempt = models.PositiveSmallIntegerField(default=1, help_text="Which claim of the job measured it.")
    measured_at = models.DateTimeField()

    class Meta:
        ordering = ["execution_id", "deployment_index", "batch_index"]
        constraints = [models.UniqueConstraint(fields=["execution", "deployment_index", "batch_index"],
                                               name="one_executed_batch_per_key")]

    def __str__(self) -> str:
        return f"Execution #{self.execution_id} deployment {self.deployment_index} batch {self.batch_index}"


class ExecutedQuery(models.Model):
    """One planned query as served: its share of its batch's energy (by runtime) and its runtime."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="queries")
    batch = models.ForeignKey(ExecutedBatch, on_delete=models.CASCADE, related_name="executed_queries")
    query_index = models.PositiveIntegerField(help_text="Position of the query in the workload.")
    deployment_index = models.PositiveSmallIntegerField()
    input_tokens = models.PositiveIntegerField()
    output_tokens = models.PositiveIntegerField()
    predicted_energy_j = models.FloatField()
    predicted_runtime_s = models.FloatField()
    energy_j = models.FloatField()
    runtime_s = models.FloatField()

    class Meta:
        ordering = ["execution_id", "query_index"]
        constraints = [models.UniqueConstraint(fields=["execution", "query_index"],
                                               name="one_executed_query_per_index")]

    def __str__(self) -> str:
        return f"Execution #{self.execution_id} query {self.query_index}"


class ExecutedMeasurement(models.Model):
    """The Measurement an executed query produced, linked from here so that profiling's models and
    migrations never depend on scheduling (the link used to be a foreign key on Measurement).

    ``iteration`` is the query's position in its batch, the natural key that keeps a redelivered batch
    from being stored twice. The measurement goes with its batch (see ``_delete_measurements``).
    """

    # No index of its own for batch: it is the first column of the unique constraint's index.
    batch = models.ForeignKey(ExecutedBatch, on_delete=models.CASCADE, related_name="measurement_links",
                              db_index=False)
    iteration = models.PositiveIntegerField(help_text="Position of the query in its batch.")
    measurement = models.OneToOneField("profiling.Measurement", on_delete=models.CASCADE,
                                       related_name="executed_link")

    class Meta:
        ordering = ["batch_id", "iteration"]
        constraints = [models.UniqueConstraint(fields=["batch", "iteration"], name="one_link_per_executed_query")]

    def __str__(self) -> str:
        return f"{self.batch} query {self.iteration} -> measurement {self.measurement_id}"


def _delete_measurements(sender, instance, **kwargs):
    """A batch's measurements go with it, as they did when Measurement held the foreign key (the
    collector sends this for queryset and cascaded deletes too, e.g. deleting an execution)."""
    from profiling.models import Measurement

    Measurement.objects.filter(executed_link__batch=instance).delete()


models.signals.pre_delete.connect(_delete_measurements, sender=ExecutedBatch, dispatch_uid="executed-batch-measurements")
