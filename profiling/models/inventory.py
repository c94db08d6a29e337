from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from energyweb import names
from profiling.choices import Dtype, FitForm, FitSource, FitTarget

# Bounds of what one host or one model can have. Without them SQLite stores any 64-bit integer that
# PostgreSQL's smallint refuses, so the two databases would answer one request differently (#16).
MAX_GPUS_PER_HOST = 1024
MAX_CPU_SOCKETS = 64
MAX_CPU_CORES = 1_000_000


def name_clash(instance) -> str | None:
    """Why ``instance``'s name cannot be stored beside the other rows of its table, or None.

    Two names with one slug ("Llama 2 7B" beside "Llama-2 (7B)") failed on the slug's unique
    index as a 500; two that only look alike (a Cyrillic "а", a zero-width space) became
    rows that display identically. Both are refused naming the row already there.
    """
    model = type(instance)
    slug = instance.slug or slugify(instance.name)[:120]
    rows = list(model.objects.exclude(pk=instance.pk).values_list("name", "slug"))
    label = model._meta.verbose_name
    for name, other_slug in rows:
        if slug and other_slug == slug:
            return f"{label} {name!r} already exists with the slug {slug!r}: use it, or choose another name."
    other = names.look_alike(instance.name, (name for name, _ in rows))
    if other is not None:
        return (f"{instance.name!r} reads the same as the existing {label} {other!r} (names are compared "
                "ignoring case, spacing, punctuation and look-alike letters): use it, or choose another name.")
    return None


class Hardware(models.Model):
    """A system LLMs run on: a reference system from the literature or a registered host."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True, blank=True)
    hostname = models.CharField(
        max_length=255, blank=True, help_text="Set for hosts registered with register_host."
    )
    is_reference = models.BooleanField(
        default=False, help_text="A system from the published reference catalogue."
    )
    cpu_model = models.CharField(max_length=200, blank=True)
    cpu_sockets = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(MAX_CPU_SOCKETS)])
    cpu_cores = models.PositiveIntegerField(null=True, blank=True, help_text="Physical cores in all.",
                                            validators=[MaxValueValidator(MAX_CPU_CORES)])
    dram_gb = models.FloatField(null=True, blank=True, verbose_name="DRAM (GB)")
    gpu_model = models.CharField(max_length=200, blank=True)
    gpu_count = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(MAX_GPUS_PER_HOST)])
    gpu_memory_gb = models.FloatField(
        null=True, blank=True, verbose_name="GPU memory (GB)", help_text="Per GPU."
    )
    gpu_tdp_w = models.FloatField(null=True, blank=True, verbose_name="GPU TDP (W)", help_text="Per GPU.")
    cpu_tdp_w = models.FloatField(
        null=True, blank=True, verbose_name="CPU TDP (W)", help_text="Per socket."
    )
    idle_power_gpu_w = models.FloatField(null=True, blank=True, verbose_name="Idle GPU power (W)")
    idle_power_cpu_w = models.FloatField(null=True, blank=True, verbose_name="Idle CPU power (W)")
    idle_power_dram_w = models.FloatField(null=True, blank=True, verbose_name="Idle DRAM power (W)")
    has_nvml_energy = models.BooleanField(default=False, verbose_name="NVML energy counter")
    has_nvml_power = models.BooleanField(default=False, verbose_name="NVML power")
    rapl_domains = models.JSONField(
        default=list, blank=True, help_text='Readable RAPL domains, e.g. ["package-0", "dram"].'
    )
    backends = models.JSONField(
        default=dict, blank=True,
        help_text='What this host\'s worker can run, as it reported: {"hf": "ok", "vllm": "why not"}; '
                  "empty until a worker or register_host reports.")
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "hardware"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = names.normalise(self.name)
        if not self.slug:
            self.slug = slugify(self.name)[:120]
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        self.name = names.normalise(self.name or "")
        if self.slug == "" and not slugify(self.name):
            errors["name"] = "The name must contain at least one letter or digit."
        elif clash := name_clash(self):
            errors["name"] = clash
        if self.gpu_count and not self.gpu_model:
            errors["gpu_model"] = "Name the GPU model when the GPU count is above zero."
        if self.gpu_model and not self.gpu_count:
            errors["gpu_count"] = "A GPU model is named: the GPU count must be at least 1."
        for field in ("dram_gb", "gpu_memory_gb", "gpu_tdp_w", "cpu_tdp_w",
                      "idle_power_gpu_w", "idle_power_cpu_w", "idle_power_dram_w"):
            value = getattr(self, field)
            if value is not None and value < 0:
                errors[field] = "Must not be negative."
        if not isinstance(self.rapl_domains, list) or not all(
            isinstance(d, str) for d in self.rapl_domains
        ):
            errors["rapl_domains"] = 'A list of domain names, e.g. ["package-0", "dram"].'
        if errors:
            raise ValidationError(errors)

    @property
    def queue_name(self) -> str:
        """The Celery queue a worker on this host consumes."""
        return f"hw.{self.slug}"

    @property
    def is_host(self) -> bool:
        """A machine a worker runs on: registered by register_host (it has a hostname) or heard from.
        A system added by hand in the admin is neither, until a worker registers it."""
        return not self.is_reference and bool(self.hostname or self.last_heartbeat)

    @property
    def kind(self) -> str:
        """What the pages call it: "reference" (published data), "host" (a worker's machine, online or
        offline) or "no worker" (described by hand; plans may use its models, nothing runs there)."""
        if self.is_reference:
            return "reference"
        return "host" if self.is_host else "no worker"

    @property
    def is_online(self) -> bool:
        if self.last_heartbeat is None:
            return False
        limit = timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)
        return timezone.now() - self.last_heartbeat < limit

    def backend_unavailable(self, name: str) -> str | None:
        """Why this host's worker cannot run backend ``name`` (None when it can, or nobody reported)."""
        reason = (self.backends or {}).get(name) if isinstance(self.backends, dict) else None
        return None if reason in (None, "ok") else str(reason)

    @property
    def energy_counters(self) -> list[str]:
        counters = []
        if self.has_nvml_energy:
            counters.append("nvml-counter")
        if self.has_nvml_power:
            counters.append("nvml-power")
        counters += [f"rapl:{d}" for d in self.rapl_domains]
        return counters

    def get_absolute_url(self) -> str:
        return reverse("profiling:hardware-detail", args=[self.slug])


class LLM(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True, blank=True)
    family = models.CharField(max_length=80, blank=True)
    parameters_b = models.FloatField(verbose_name="parameters (B)", help_text="Billions of parameters.")
    active_parameters_b = models.FloatField(
        null=True, blank=True, verbose_name="active parameters (B)",
        help_text="Billions active per token (differs from the total for mixture-of-experts).",
    )
    min_gpus = models.PositiveSmallIntegerField(default=1, verbose_name="minimum GPUs",
                                                validators=[MaxValueValidator(MAX_GPUS_PER_HOST)])
    accuracy = models.FloatField(
        null=True, blank=True, verbose_name="accuracy A_K (%)",
        help_text="Benchmark accuracy in percent, used by the energy-accuracy planner.",
    )
    accuracy_source = models.CharField(max_length=300, blank=True)
    weights = models.CharField(
        max_length=300, blank=True,
        help_text="Hugging Face model id or a local path to the weights.",
    )
    architecture_config = models.JSONField(
        null=True, blank=True,
        help_text="A transformers config (dict) for weight-free random initialisation.",
    )
    dtype = models.CharField(max_length=16, choices=Dtype.choices, default=Dtype.FLOAT16)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "LLM"
        verbose_name_plural = "LLMs"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = names.normalise(self.name)
        if not self.slug:
            self.slug = slugify(self.name)[:120]
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        self.name = names.normalise(self.name or "")
        if not slugify(self.name):
            errors["name"] = "The name must contain at least one letter or digit."
        elif clash := name_clash(self):
            errors["name"] = clash
        if self.parameters_b is not None and self.parameters_b <= 0:
            errors["parameters_b"] = "Must be above zero."
        if self.active_parameters_b is not None:
            if self.active_parameters_b <= 0:
                errors["active_parameters_b"] = "Must be above zero."
            elif self.parameters_b is not None and self.active_parameters_b > self.parameters_b:
                errors["active_parameters_b"] = "Cannot exceed the total parameters."
        if self.accuracy is not None and not 0 <= self.accuracy <= 100:
            errors["accuracy"] = "A percentage between 0 and 100."
        if self.min_gpus is not None and self.min_gpus < 1:
            errors["min_gpus"] = "At least 1."
        if self.architecture_config is not None and not isinstance(self.architecture_config, dict):
            errors["architecture_config"] = "A JSON object (a transformers config)."
        if not self.weights and not self.architecture_config:
            errors["weights"] = (
                "Give a weights location or an architecture config for random initialisation."
            )
        if errors:
            raise ValidationError(errors)

    def get_absolute_url(self) -> str:
        return reverse("profiling:llm-detail", args=[self.slug])


class HardwareAlias(models.Model):
    """Another name a data file uses for a Hardware row (e.g. ``argonne-swing``)."""

    alias = models.CharField(max_length=200, unique=True)
    hardware = models.ForeignKey(Hardware, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "hardware aliases"

    def __str__(self) -> str:
        return f"{self.alias} → {self.hardware}"


class LLMAlias(models.Model):
    """Another name a data file uses for an LLM row."""

    alias = models.CharField(max_length=200, unique=True)
    llm = models.ForeignKey(LLM, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        ordering = ["alias"]
        verbose_name = "LLM alias"
        verbose_name_plural = "LLM aliases"

    def __str__(self) -> str:
        return f"{self.alias} → {self.llm}"


class FitQuerySet(models.QuerySet):
    """The one rule for "the fit to use", shared by the dashboard, the pages, the predict
    API, deployments and the planner."""

    def usable(self):
        """Fits whose coefficients may be offered: identifiable and made from data that still exists."""
        return self.filter(identifiable=True, is_stale=False)

    def selected(self):
        """The fit chosen for planning per (LLM, hardware, target): at most one (a constraint)."""
        return self.usable().filter(is_selected=True)

    def to_use(self, llm, hardware, target):
        """The selected fit of a pair and target, or None; never one carrying a validity flag
        (a row selected before the rule existed is skipped until the pair is refitted)."""
        fit = self.selected().filter(llm=llm, hardware=hardware, target=target).first()
        return fit if fit is not None and not fit.blocking_flag else None

    def published_for(self, llm, hardware, target):
        """The newest published fit of a pair and target, or None: the one rule for "published",
        used by the predict API and planning alike. It may carry flags (the paper form can go
        negative) since it is only used when asked for; ``unusable_reason`` still applies."""
        return (self.filter(llm=llm, hardware=hardware, target=target, source=FitSource.PUBLISHED)
                .order_by("-created", "-id").first())

    def shown(self) -> list:
        """For pages and charts only: see ``shown_fits``."""
        return shown_fits(self.filter(is_stale=False, identifiable=True).order_by("-created", "-id"))


def shown_fits(fits) -> list:
    """One fit per (LLM, hardware, target) to draw: the fit to use, else the newest published
    fit (pages label its source). Planning and prediction never fall back: they use selected()."""
    chosen = {}
    for fit in fits:
        if fit.is_stale or not fit.identifiable:
            continue
        key = (fit.llm_id, fit.hardware_id, fit.target)
        current = chosen.get(key)
        if fit.is_to_use and (current is None or not current.is_to_use):
            chosen[key] = fit
        elif current is None and fit.source == "published":
            chosen[key] = fit
    return list(chosen.values())


class EnergyModelFit(models.Model):
    """A model of energy (J) or runtime (s) of one query as a function of its token counts.

    ``is_selected`` marks the fit to plan with: the form fit_pair chose by cross-validation
    among the physically valid ones. Published fits are never selected (the paper form can
    predict negative energy); they are used only when chosen explicitly.
    """

    objects = FitQuerySet.as_manager()

    # PROTECT: a fit is history (plans and executions were made with it); see energyweb/deletion.py.
    llm = models.ForeignKey(LLM, on_delete=models.PROTECT, related_name="fits")
    hardware = models.ForeignKey(Hardware, on_delete=models.PROTECT, related_name="fits")
    target = models.CharField(max_length=16, choices=FitTarget.choices)
    form = models.CharField(max_length=32, choices=FitForm.choices, default=FitForm.PAPER)
    coefficients = models.JSONField(
        default=dict, help_text='Term name to coefficient, e.g. {"tin": -3.89, "tout": 31.52, "tin_tout": 0.0427}.'
    )
    metrics = models.JSONField(default=dict, blank=True, help_text="Fit metrics (R², RMSE, MAPE, ...).")
    diagnostics = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=FitSource.choices, default=FitSource.FITTED)
    citation = models.CharField(max_length=400, blank=True)
    identifiable = models.BooleanField(
        default=True, help_text="False when the design cannot separate the terms: not for planning."
    )
    is_selected = models.BooleanField(
        default=False, help_text="The form chosen for planning for this (LLM, hardware, target)."
    )
    is_stale = models.BooleanField(
        default=False,
        help_text="Made from measurements that were since deleted: never offered, kept for the record.",
    )
    uses_estimated_energy = models.BooleanField(default=False)
    energy_components = models.CharField(
        max_length=40, blank=True,
        help_text='Energy components the modelled energy sums ("gpu", "gpu+cpu"); empty for runtime.',
    )
    n = models.PositiveIntegerField(default=0, help_text="Measurements used.")
    tin_min = models.PositiveIntegerField(null=True, blank=True)
    tin_max = models.PositiveIntegerField(null=True, blank=True)
    tout_min = models.PositiveIntegerField(null=True, blank=True)
    tout_max = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["llm__name", "hardware__name", "target", "-created"]
        indexes = [models.Index(fields=["llm", "hardware", "target"])]
        constraints = [
            models.UniqueConstraint(fields=["llm", "hardware", "target"], condition=models.Q(is_selected=True),
                                    name="one_selected_fit_per_pair_target"),
        ]

    def __str__(self) -> str:
        return f"{self.llm} @ {self.hardware} [{self.target}, {self.form}, {self.source}]"

    @property
    def is_to_use(self) -> bool:
        """In-memory twin of ``FitQuerySet.to_use()`` for lists already loaded."""
        return self.is_selected and self.identifiable and not self.is_stale and not self.blocking_flag

    def unusable_reason(self) -> str:
        """Why no one may predict or plan with this fit, however it was chosen ("" if nothing bars it):
        the checks the predict API and planning share."""
        if not self.identifiable:
            return "not identifiable"
        if self.is_stale:
            return "stale"
        if not self.coefficients:
            return "no coefficients"
        return ""

    @property
    def blocking_flag(self) -> str:
        """Why this fit may not be planned with ("" if nothing bars it): fitting.blocking_flag."""
        from profiling.fitting.regression import blocking_flag

        return blocking_flag(self.coefficients, self.identifiable, self.diagnostics)

    @property
    def flags(self) -> list[str]:
        """Every warning the fit's page shows (validity, estimated energy, published-model notes)."""
        return list((self.diagnostics or {}).get("warnings") or [])

    def clean(self):
        errors = {}
        if not isinstance(self.coefficients, dict) or not self.coefficients:
            errors["coefficients"] = "A non-empty JSON object of term name to number."
        elif not all(isinstance(v, (int, float)) for v in self.coefficients.values()):
            errors["coefficients"] = "Every coefficient must be a number."
        for low, high in (("tin_min", "tin_max"), ("tout_min", "tout_max")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                errors[high] = f"Must be at least {low.replace('_', ' ')}."
        if errors:
            raise ValidationError(errors)
