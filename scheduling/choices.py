from django.db import models


class FitChoice(models.TextChoices):
    """Which energy/runtime model a deployment plans with."""

    PUBLISHED = "published", "Published (reference catalogue)"
    SELECTED = "selected", "Selected fit (chosen on the fits page)"
    SPECIFIC = "specific", "A specific fit"


class Objective(models.TextChoices):
    PAPER_ENERGY_ACCURACY = "paper-energy-accuracy", "Energy vs accuracy (paper eq. 3.5, zeta weighted)"
    PAPER_ENERGY_RUNTIME = "paper-energy-runtime", "Energy vs runtime (paper eq. 3.1, zeta weighted)"
    MIN_ENERGY_ACCURACY_TARGET = "min-energy-accuracy-target", "Minimum energy for an accuracy target"
    MAX_ACCURACY_ENERGY_BUDGET = "max-accuracy-energy-budget", "Maximum accuracy within an energy budget"
