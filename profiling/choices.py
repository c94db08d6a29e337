from django.db import models

# The job lifecycle lives in energyweb.jobs; re-exported here for existing imports.
from energyweb.jobs.choices import JobStatus  # noqa: F401


class Dtype(models.TextChoices):
    FLOAT16 = "float16", "float16"
    BFLOAT16 = "bfloat16", "bfloat16"
    FLOAT32 = "float32", "float32"
    AUTO = "auto", "auto"


class FitTarget(models.TextChoices):
    ENERGY = "energy", "Energy (J)"
    RUNTIME = "runtime", "Runtime (s)"


class FitSource(models.TextChoices):
    PUBLISHED = "published", "Published"
    FITTED = "fitted", "Fitted"


class FitForm(models.TextChoices):
    # e = a0*tin + a1*tout + a2*tin*tout, no intercept (Wilkins et al. 2024, eq. 3.2)
    PAPER = "paper", "Paper (a0·tin + a1·tout + a2·tin·tout)"
    NNLS = "nnls", "Non-negative with intercept"
    EXTENDED = "extended", "Extended transformer-cost form"


class EnergySource(models.TextChoices):
    NVML_COUNTER = "nvml-counter", "NVML energy counter"
    NVML_POWER = "nvml-power-integration", "NVML power integration"
    RAPL = "rapl", "RAPL"
    ESTIMATE_TDP = "estimate-tdp", "Estimate (TDP x time)"
    IMPORTED = "imported", "Imported"

    @classmethod
    def estimated(cls) -> set[str]:
        return {cls.ESTIMATE_TDP}

