from django.db import models

from scheduling.planner import objective_registry


class FitChoice(models.TextChoices):
    """Which energy/runtime model a deployment plans with."""

    PUBLISHED = "published", "Published (reference catalogue)"
    SELECTED = "selected", "Selected fit (chosen on the fits page)"
    SPECIFIC = "specific", "A specific fit"


# The objective registry as an enum, for code that names an objective (command defaults, tests).
# The model fields read their choices from the registry itself (a callable), so a new objective
# needs no migration; this enum holds the objectives registered when it is imported.
Objective = models.TextChoices(
    "Objective", [(k.name.upper().replace("-", "_"), (k.name, k.label)) for k in objective_registry.all_kinds()])

