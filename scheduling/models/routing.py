"""Routing policies (issue 19): a plan turned into per-bucket shares for live traffic.

The whole policy (buckets, shares, expected costs, the deployment specs planned with)
is one JSON column read by the router as a unit; per-bucket rows would be read together
on every request anyway. ``version`` goes up whenever feedback re-solves the policy,
so each web process's in-memory router knows its deficits belong to an older policy.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from scheduling.planner import objective_registry


class RoutingPolicy(models.Model):
    name = models.CharField(max_length=200, blank=True)
    training_workload = models.ForeignKey(
        "scheduling.Workload", null=True, blank=True, on_delete=models.SET_NULL, related_name="routing_policies",
        help_text="The workload the shares were solved on; without it feedback cannot re-solve the policy.")
    deployments = models.ManyToManyField("scheduling.Deployment", blank=True, related_name="routing_policies")
    # Choices read from the objective registry when asked (a callable): a new objective is one
    # declaration there, with no migration of this field.
    objective = models.CharField(max_length=40, choices=objective_registry.choices,
                                 default=objective_registry.PAPER_ENERGY_ACCURACY.name)
    zeta = models.FloatField(default=0.5)
    parameters = models.JSONField(default=dict, blank=True)
    predictor = models.CharField(max_length=40, default="empirical", help_text="Output-length predictor.")
    policy = models.JSONField(default=dict, help_text="Buckets, per-bucket shares and expected costs (routing.policy).")
    queues = models.JSONField(default=dict, blank=True, help_text="Celery queue (hw.<slug>) per deployment key.")
    feedback = models.JSONField(default=dict, blank=True,
                                help_text="Summed readings per bucket and deployment (n, measured_j, modelled_j).")
    feedback_executions = models.JSONField(default=list, blank=True, help_text="Executions already folded in.")
    replays = models.JSONField(default=list, blank=True, help_text="The latest replay results, newest first.")
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "routing policies"

    def __str__(self) -> str:
        return self.name or f"Routing policy #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:routing-policy-detail", args=[self.pk])

    def clean(self):
        errors = {}
        if self.objective not in objective_registry.names():
            errors["objective"] = f"One of {', '.join(objective_registry.names())}."
        if self.zeta is None or not 0.0 <= self.zeta <= 1.0:
            errors["zeta"] = "A number between 0 and 1."
        if not isinstance(self.policy, dict) or not self.policy.get("shares"):
            errors["policy"] = "Computed by make_policy; not edited by hand."
        if errors:
            raise ValidationError(errors)
