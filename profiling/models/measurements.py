from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from profiling.choices import EnergySource, JobStatus
from profiling.models.inventory import LLM, Hardware


class ProfilingRun(models.Model):
    """A job row for one characterisation run of an LLM on a hardware system."""

    llm = models.ForeignKey(LLM, on_delete=models.CASCADE, related_name="profiling_runs")
    hardware = models.ForeignKey(Hardware, on_delete=models.CASCADE, related_name="profiling_runs")
    backend = models.CharField(max_length=32, default="hf", help_text="Inference backend (hf, vllm).")
    grid = models.JSONField(default=dict, blank=True, help_text="Token grid and repetitions.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    cells_total = models.PositiveIntegerField(default=0)
    cells_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.llm} @ {self.hardware} ({self.status})"


class ImportBatch(models.Model):
    """One imported measurement file. The content hash makes re-imports a no-op."""

    filename = models.CharField(max_length=255)
    content_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the file.")
    row_count = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0, help_text="Rows that were not inference phases.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.filename} ({self.row_count} rows)"


class Measurement(models.Model):
    """One trial: a query of given token counts run once, with its runtime and energy.

    Energy is in joules and runtime in seconds. Each component records where it
    came from; a component with no source was not measured. Total energy is the
    sum of the measured components.
    """

    llm = models.ForeignKey(LLM, on_delete=models.CASCADE, related_name="measurements")
    hardware = models.ForeignKey(Hardware, on_delete=models.CASCADE, related_name="measurements")
    profiling_run = models.ForeignKey(
        ProfilingRun, null=True, blank=True, on_delete=models.CASCADE, related_name="measurements"
    )
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.CASCADE, related_name="measurements"
    )
    input_tokens = models.PositiveIntegerField()
    output_tokens = models.PositiveIntegerField()
    batch_size = models.PositiveIntegerField(default=1)
    runtime_s = models.FloatField()
    gpu_energy_j = models.FloatField(null=True, blank=True)
    cpu_energy_j = models.FloatField(null=True, blank=True)
    dram_energy_j = models.FloatField(null=True, blank=True)
    total_energy_j = models.FloatField()
    gpu_energy_source = models.CharField(max_length=32, choices=EnergySource.choices, blank=True)
    cpu_energy_source = models.CharField(max_length=32, choices=EnergySource.choices, blank=True)
    dram_energy_source = models.CharField(max_length=32, choices=EnergySource.choices, blank=True)
    is_estimated = models.BooleanField(
        default=False, help_text="At least one energy component is an estimate, not a counter reading."
    )
    is_warmup = models.BooleanField(default=False)
    iteration = models.PositiveIntegerField(default=0)
    measured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["llm_id", "hardware_id", "input_tokens", "output_tokens", "iteration", "id"]
        indexes = [models.Index(fields=["llm", "hardware", "is_warmup"])]

    def __str__(self) -> str:
        return f"{self.llm} @ {self.hardware}: tin={self.input_tokens} tout={self.output_tokens}"

    COMPONENTS = (("gpu_energy_j", "gpu_energy_source"), ("cpu_energy_j", "cpu_energy_source"),
                  ("dram_energy_j", "dram_energy_source"))

    def clean(self):
        from energyweb.validation import ENERGY_FIELDS, measurement_problems

        # One set of rules with the importer (energyweb/validation.py).
        values = {f: getattr(self, f) for f in ("input_tokens", "output_tokens", "batch_size", "iteration",
                                                 "runtime_s", *ENERGY_FIELDS)}
        errors = measurement_problems(values)
        measured = 0
        for value_field, source_field in self.COMPONENTS:
            if getattr(self, value_field) is None:
                continue
            measured += 1
            if not getattr(self, source_field):
                errors[source_field] = "Say where this energy figure came from."
        if measured == 0:
            errors["total_energy_j"] = "At least one energy component (GPU, CPU or DRAM) is needed."
        if errors:
            raise ValidationError(errors)

    def compute_total(self) -> float:
        """Total energy: the sum of the components that were measured."""
        return sum(getattr(self, f) for f, _ in self.COMPONENTS if getattr(self, f) is not None)

    def compute_is_estimated(self) -> bool:
        return any(getattr(self, s) in EnergySource.estimated() for _, s in self.COMPONENTS)
