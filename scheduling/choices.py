from django.db import models

from scheduling.planner import objective_registry


class FitChoice(models.TextChoices):
    """Which energy/runtime model a deployment plans with."""

    PUBLISHED = "published", "Published (reference catalogue)"
    SELECTED = "selected", "Selected fit (chosen on the fits page)"
    SPECIFIC = "specific", "A specific fit"


# The model field's, the form's and the API's choices, from the objective registry: a new
# objective is declared there once (a changed label or a new one needs a migration of the
# fields' choices, as any TextChoices change does).
Objective = models.TextChoices(
    "Objective", [(k.name.upper().replace("-", "_"), (k.name, k.label)) for k in objective_registry.all_kinds()])

