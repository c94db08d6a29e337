"""Workloads, deployments and schedule jobs.

Storage of a workload's queries: the Workload row holds metadata, summary
statistics and histograms; the token columns live in one numpy ``.npz`` file
(uncompressed: 8 bytes a query, written and read at disk speed) under
MEDIA_ROOT/workloads/ named by its content hash. Why not a
WorkloadQuery table: the planner never queries single rows, it needs the whole
columns as arrays. Loading 1,000,000 queries from an .npz takes milliseconds,
writing it a fraction of a second on SQLite and PostgreSQL alike, whereas
inserting 1,000,000 rows costs tens of seconds on SQLite and bloats the
database by ~100 bytes per query for data that is never filtered in SQL.
"""

from __future__ import annotations

import math

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import models
from django.urls import reverse

from energyweb.jobs.fair import FairShareJob
from profiling.choices import FitTarget
from profiling.models import LLM, EnergyModelFit, Hardware
from scheduling.choices import FitChoice
from scheduling.planner import objective_registry
from scheduling.planner.types import WorkloadArrays


class Workload(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    source_filename = models.CharField(max_length=300, blank=True)
    is_synthetic = models.BooleanField(
        default=False, help_text="Generated from named distributions, not recorded from real traffic."
    )
    generator = models.JSONField(
        default=dict, blank=True, help_text="The generator's distributions, parameters and seed."
    )
    n_queries = models.PositiveIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    content_sha256 = models.CharField(max_length=64, db_index=True)
    data_file = models.FileField(upload_to="workloads/", max_length=300)
    columns = models.JSONField(default=dict, blank=True, help_text="Source column used for each field.")
    has_ids = models.BooleanField(default=False)
    has_timestamps = models.BooleanField(default=False)
    stats = models.JSONField(default=dict, blank=True)
    histograms = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("scheduling:workload-detail", args=[self.pk])

    def load_arrays(self, with_meta: bool = False) -> WorkloadArrays:
        """The stored query columns (int64 token counts; ids and timestamps with ``with_meta``).

        Read here, not in services/workloads.py, so the model does not import the service that
        creates it (an import circle)."""
        with default_storage.open(self.data_file.name, "rb") as fh, np.load(fh) as data:
            tin = data["tin"].astype(np.int64)
            tout = data["tout"].astype(np.int64)
            ids = data["ids"] if with_meta and "ids" in data.files else None
            ts = data["timestamps"].astype("datetime64[ns]") if with_meta and "timestamps" in data.files else None
        return WorkloadArrays(tin=tin, tout=tout, ids=ids, timestamps=ts)


# Bounds of a deployment's capacity fields, far beyond any real cluster: past them the product
# instances x GPUs x horizon overflowed to infinity (and gpus_per_instance past PostgreSQL's
# smallint). Checked in clean(), so the admin, the API and the page forms share them.
MAX_INSTANCES = 100_000
MAX_GPUS_PER_INSTANCE = 1024
MAX_HORIZON_S = 1e9


class Deployment(models.Model):
    """An LLM on a hardware system with the energy and runtime models to plan with.

    A specific fit is SET_NULL on delete rather than PROTECTed so that refits and batch
    deletes in the profiling app never fail because of a deployment; the deployment then
    reports "a specific fit was chosen but none given" until it is edited.
    """

    # PROTECT: a plan's deployment list refers to these rows (energyweb/deletion.py).
    llm = models.ForeignKey(LLM, on_delete=models.PROTECT, related_name="deployments")
    hardware = models.ForeignKey(Hardware, on_delete=models.PROTECT, related_name="deployments")
    energy_fit_choice = models.CharField(max_length=16, choices=FitChoice.choices, default=FitChoice.SELECTED)
    energy_fit = models.ForeignKey(
        EnergyModelFit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Only when the choice is a specific fit.",
    )
    runtime_fit_choice = models.CharField(max_length=16, choices=FitChoice.choices, default=FitChoice.SELECTED)
    runtime_fit = models.ForeignKey(
        EnergyModelFit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Only when the choice is a specific fit.",
    )
    min_share = models.FloatField(default=0.0, help_text="Smallest fraction of the queries (0..1).")
    max_share = models.FloatField(default=1.0, help_text="Largest fraction of the queries (0..1).")
    instances = models.PositiveIntegerField(default=1)
    gpus_per_instance = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Defaults to the LLM's minimum GPUs."
    )
    horizon_s = models.FloatField(
        null=True, blank=True, verbose_name="time horizon (s)",
        help_text="With it, capacity = instances x GPUs x horizon GPU-seconds; without it, no capacity limit.",
    )
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["llm__name", "hardware__name", "id"]

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        return f"{self.llm.name} @ {self.hardware.name}"

    @property
    def gpus(self) -> int:
        return self.gpus_per_instance or self.llm.min_gpus or 1

    @property
    def capacity_gpu_s(self) -> float | None:
        if self.horizon_s is None:
            return None
        capacity = float(self.instances * self.gpus * self.horizon_s)
        # A row stored before clean() bounded these fields may multiply to infinity, which
        # JSON cannot carry: every list holding it answered 500. Shown as no limit instead.
        return capacity if math.isfinite(capacity) else None

    def clean(self):
        errors = {}
        for field in ("min_share", "max_share"):
            value = getattr(self, field)
            if value is None or not 0.0 <= value <= 1.0:
                errors[field] = "A fraction between 0 and 1."
        if not errors and self.min_share > self.max_share:
            errors["max_share"] = "Must be at least the minimum share."
        if self.horizon_s is not None and not (0 < self.horizon_s <= MAX_HORIZON_S):
            errors["horizon_s"] = (f"Seconds above zero and at most {MAX_HORIZON_S:g} (about 30 years), "
                                   "or empty for no capacity limit.")
        if self.instances is not None and not 1 <= self.instances <= MAX_INSTANCES:
            errors["instances"] = f"From 1 to {MAX_INSTANCES:,}."
        if self.gpus_per_instance is not None and not 1 <= self.gpus_per_instance <= MAX_GPUS_PER_INSTANCE:
            errors["gpus_per_instance"] = f"From 1 to {MAX_GPUS_PER_INSTANCE} (or empty for the LLM's minimum)."
        if (self.llm_id and self.gpus_per_instance is not None and "gpus_per_instance" not in errors
                and self.gpus_per_instance < self.llm.min_gpus):
            errors["gpus_per_instance"] = f"{self.llm} needs at least {self.llm.min_gpus} GPUs."
        if self.llm_id and self.llm.accuracy is None:
            errors["llm"] = f"{self.llm} has no accuracy A_K; set it on the LLM before planning with it."
        for prefix, target in (("energy", FitTarget.ENERGY), ("runtime", FitTarget.RUNTIME)):
            choice = getattr(self, f"{prefix}_fit_choice")
            fit = getattr(self, f"{prefix}_fit")
            field = f"{prefix}_fit"
            if choice == FitChoice.SPECIFIC:
                if fit is None:
                    errors[field] = "Pick the fit to use, or choose published/selected."
                elif fit.target != target:
                    errors[field] = f"This fit models {fit.target}, not {target}."
                elif self.llm_id and self.hardware_id and (
                    fit.llm_id != self.llm_id or fit.hardware_id != self.hardware_id
                ):
                    errors[field] = "This fit belongs to another LLM or hardware."
                elif not fit.identifiable:
                    errors[field] = "This fit is not identifiable: it cannot be used for planning."
            elif fit is not None:
                errors[field] = "Leave empty unless the choice is a specific fit."
        if not errors and self.llm_id and self.hardware_id:
            from scheduling.models.deployment_specs import DeploymentResolutionError, spec_for_deployment

            try:
                spec_for_deployment(self)
            except DeploymentResolutionError as exc:
                errors[exc.field or "__all__"] = str(exc)
        if errors:
            raise ValidationError(errors)


class ScheduleJob(FairShareJob):
    """One planning run: a zeta (or a sweep) over a workload and deployments, plus baselines.

    On the shared job lifecycle (energyweb.jobs): a plan cannot resume midway, so a
    job whose worker was lost restarts from its first zeta.
    """

    job_resumable = False
    job_label = "plan"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="jobs")
    deployments = models.ManyToManyField(Deployment, blank=True, related_name="jobs")
    deployment_specs = models.JSONField(
        default=list, help_text="Snapshot of the deployment specs (coefficients, shares) planned with."
    )
    # Choices read from the objective registry when asked (a callable): a new objective is one
    # declaration there, with no migration of this field.
    objective = models.CharField(max_length=40, choices=objective_registry.choices,
                                 default=objective_registry.PAPER_ENERGY_ACCURACY.name)
    parameters = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=dict, blank=True)
    solver_stats = models.JSONField(default=dict, blank=True)
    assignment_file = models.FileField(upload_to="assignments/", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Plan #{self.pk} on {self.workload}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:plan-detail", args=[self.pk])

    def clean(self):
        errors = {}
        if self.objective not in objective_registry.names():
            errors["objective"] = f"One of {', '.join(objective_registry.names())}."
        if not isinstance(self.parameters, dict):
            errors["parameters"] = "A JSON object."
        if errors:
            raise ValidationError(errors)


def _delete_files(sender, instance, **kwargs):
    """Files go with their rows (also on queryset deletes, which skip Model.delete)."""
    from django.core.files.storage import default_storage

    for name in ("data_file", "assignment_file"):
        f = getattr(instance, name, None)
        if f and f.name:
            # storage.save() gave each row its own file name, so this never removes a file another row uses.
            default_storage.delete(f.name)


models.signals.post_delete.connect(_delete_files, sender=Workload, dispatch_uid="workload-file")
models.signals.post_delete.connect(_delete_files, sender=ScheduleJob, dispatch_uid="job-file")
