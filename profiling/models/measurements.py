from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from energyweb.jobs.metered import MeteredJob
from profiling.choices import Dtype, EnergySource, InferenceBackend, SweepDesign
from profiling.meters.base import ENERGY_FIELDS, SOURCE_FIELDS
from profiling.models.indexes import BrinOnPostgresIndex, OffPostgresIndex
from profiling.models.inventory import LLM, Hardware


class ProfilingRun(MeteredJob):
    """One characterisation run of an LLM on a hardware system: a designed sweep of trials.

    On the shared job lifecycle (energyweb.jobs). Its unit of work is a trial, stored as a
    Measurement with the natural key (run, cell, trial), so a run whose worker was lost
    resumes at its first missing trial and never runs one twice. ``steps_done`` /
    ``steps_total`` count trials (the planned total shrinks as the stopping rule ends
    cells early). It is a MeteredJob: one metered job (run or execution) per hardware at a
    time, since two would corrupt each other's energy readings.
    """

    job_resumable = True
    job_label = "profiling run"

    # PROTECT: deleting an LLM or hardware must not erase its runs and measurements (energyweb/deletion.py).
    llm = models.ForeignKey(LLM, on_delete=models.PROTECT, related_name="profiling_runs")
    hardware = models.ForeignKey(Hardware, on_delete=models.PROTECT, related_name="profiling_runs")
    backend = models.CharField(max_length=16, choices=InferenceBackend.choices, default=InferenceBackend.HF)
    design = models.CharField(max_length=32, choices=SweepDesign.choices, default=SweepDesign.GRID_SMALL)
    grid = models.JSONField(default=dict, blank=True,
                            help_text="The design's cells: input and output token counts, in run order.")
    batch_size = models.PositiveIntegerField(default=1)
    min_trials = models.PositiveSmallIntegerField(default=3, help_text="Trials per cell before the stopping rule.")
    max_trials = models.PositiveSmallIntegerField(default=3, help_text="Most trials per cell (paper: 25).")
    ci_tolerance_s = models.FloatField(
        default=0.5, verbose_name="CI tolerance (s)",
        help_text="A cell stops once the 95% confidence half-width of its runtime is below this (paper: 0.5 s).")
    warmup_trials = models.PositiveSmallIntegerField(
        default=1, help_text="Trials run (and stored, marked) before the design after each model load.")
    seed = models.PositiveIntegerField(default=0, help_text="Seeds the run order of the cells.")
    dtype = models.CharField(max_length=16, choices=Dtype.choices, default=Dtype.AUTO)
    use_cache = models.BooleanField(default=True, help_text="KV cache on (the paper turned it off).")
    cells_total = models.PositiveIntegerField(default=0)
    cells_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True,
                               help_text="Energy sources, idle power, device and backend information.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.llm} @ {self.hardware} ({self.status})"

    def status_fields(self) -> dict:
        return {"cells_done": self.cells_done, "cells_total": self.cells_total, "worker": self.worker}

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("profiling:run-detail", args=[self.pk])

    @property
    def trials_done(self) -> int:
        return self.steps_done

    @property
    def trials_planned(self) -> int:
        return self.steps_total


class ImportBatch(models.Model):
    """One imported measurement file. The content hash makes re-imports a no-op."""

    filename = models.CharField(max_length=255)
    # Duplicates are found by content (profiling/services/row_hashes.py): the canonical rows' hash is
    # unique among batches imported without "import anyway"; the file's bytes hash refuses an identical
    # file before it is parsed; the sorted row hashes catch a file that holds an earlier batch plus more.
    content_hash = models.CharField(
        max_length=80, help_text="SHA-256 of the canonical rows (the file's bytes for batches before 0012).")
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True, help_text="SHA-256 of the file's bytes.")
    row_hashes = models.BinaryField(null=True, blank=True, editable=False,
                                    help_text="Sorted 64-bit hashes of the rows (8 bytes a row).")
    pairs = models.JSONField(default=list, blank=True, help_text="[llm_id, hardware_id] pairs of the rows.")
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     help_text="Imported again on purpose (allow_duplicate) over this batch.")
    row_count = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0, help_text="Rows that were not inference phases.")
    # Counted at import time, like row_count: counting them per page scanned the measurement table
    # (0.7 s of the measurement page at a million rows).
    warmup_rows = models.PositiveIntegerField(default=0, help_text="Imported rows flagged as warm-ups.")
    estimated_rows = models.PositiveIntegerField(default=0, help_text="Imported rows with estimated energy.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "import batches"
        constraints = [models.UniqueConstraint(fields=["content_hash"], condition=models.Q(duplicate_of__isnull=True),
                                               name="one_batch_per_content_unless_allowed")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.row_count} rows)"


class Measurement(models.Model):
    """One trial: a query of given token counts run once, with its runtime and energy.

    Energy is in joules and runtime in seconds. Each component records where it
    came from; a component with no source was not measured. Total energy is the
    sum of the measured components.
    """

    # No index of their own for hardware and profiling_run: each is the first column of
    # another index (Meta.indexes; the partial unique constraint, which serves "= id" and the
    # cascades since "= id" implies NOT NULL), so a second copy only slowed every import (the
    # nullable two also held a NULL entry per imported row). docs/BENCHMARKS.md, issues 10 and 18.
    # llm and hardware are both served by the BRIN index on (hardware, llm) (Meta.indexes; BRIN
    # answers each column alone): the fits' pair filter, the PROTECT checks and holders() counts.
    # Ids come one at a time from the sequence: a per-session cache (tried in issue 18, t3) would
    # break coverage.share_after's reading of id order as storage order across sessions.
    llm = models.ForeignKey(LLM, on_delete=models.PROTECT, related_name="measurements", db_index=False)
    hardware = models.ForeignKey(Hardware, on_delete=models.PROTECT, related_name="measurements", db_index=False)
    profiling_run = models.ForeignKey(
        ProfilingRun, null=True, blank=True, on_delete=models.CASCADE, related_name="measurements",
        db_index=False,
    )
    # Indexed by BRIN on PostgreSQL (Meta.indexes): a batch's rows are COPYed contiguously.
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.CASCADE, related_name="measurements",
        db_index=False,
    )
    # A row from an executed plan is linked from scheduling (ExecutedMeasurement), never from here:
    # profiling does not depend on scheduling.
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
    # The natural key of a profiling trial: (run, cell, trial); warm-ups come first in a
    # cell's trial numbering. run_attempt records which claim of the run measured it.
    cell_index = models.PositiveIntegerField(null=True, blank=True)
    trial_index = models.PositiveIntegerField(null=True, blank=True)
    run_attempt = models.PositiveSmallIntegerField(null=True, blank=True)
    # Nullable: the bulk importer writes rows with COPY and names only the columns it has.
    meter = models.JSONField(null=True, blank=True,
                             help_text="A profiling trial's meter details: repeats, samples, device state.")

    class Meta:
        ordering = ["llm_id", "hardware_id", "input_tokens", "output_tokens", "iteration", "id"]
        indexes = [
            # BRIN, not a b-tree: a b-tree of (hardware, llm, is_warmup) cost the import 1.1-1.3 s of
            # server CPU per million rows (docs/BENCHMARKS.md, issue 18, t3). One BRIN index for the
            # pair and the batch, not one each: the import pays per BRIN index per row (models/indexes.py),
            # and a BRIN index answers each of its columns alone. Off PostgreSQL, a b-tree of the three
            # and one of the batch.
            BrinOnPostgresIndex(fields=["hardware", "llm", "import_batch"], name="measurement_brin"),
            OffPostgresIndex(fields=["import_batch"], name="measurement_import_batch"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["profiling_run", "cell_index", "trial_index"],
                condition=models.Q(profiling_run__isnull=False),
                name="one_measurement_per_trial",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.llm} @ {self.hardware}: tin={self.input_tokens} tout={self.output_tokens}"

    COMPONENTS = tuple(zip(ENERGY_FIELDS, SOURCE_FIELDS, strict=True))  # (value field, source field)

    def clean(self):
        from energyweb.validation import measurement_problems

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
