"""Routing policy pages: the list (with a form to make one), a page per policy, downloads.

Thin: every action calls the same service as the API (scheduling.services.routing).
"""

from __future__ import annotations

import csv
import io
import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from energyweb.csvsafe import safe_cell
from energyweb.validation import FieldError
from scheduling.models import Deployment, RoutingPolicy, Workload
from scheduling.models.deployment_specs import DeploymentResolutionError, spec_for_deployment
from scheduling.planner.types import PlanningError
from scheduling.routing.buckets import label
from scheduling.services import routing
from scheduling.services.plan_checks import check_deployments


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    workload = forms.ModelChoiceField(queryset=Workload.objects.order_by("name"), label="Training workload")
    deployments = forms.ModelMultipleChoiceField(
        queryset=Deployment.objects.select_related("llm", "hardware"), widget=forms.CheckboxSelectMultiple)
    zeta = forms.FloatField(initial=0.5, min_value=0.0, max_value=1.0, label="ζ (energy weight)")


class ReplayForm(forms.Form):
    workload = forms.ModelChoiceField(queryset=Workload.objects.order_by("name"), label="Replay workload")
    seed = forms.IntegerField(initial=0, min_value=0)


@login_required
def policy_list(request):
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        params = {"zeta": d["zeta"]}
        try:
            deployments = list(d["deployments"])
            check_deployments(deployments, params)
            row = routing.make_policy(d["workload"], [spec_for_deployment(x) for x in deployments],
                                      params=params, user=request.user, name=d["name"], deployments=deployments)
        except DeploymentResolutionError as exc:
            form.add_error("deployments", str(exc))
        except FieldError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except PlanningError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Routing policy #{row.pk} made.")
            return redirect(row)
    policies = RoutingPolicy.objects.select_related("training_workload")[:200]
    return render(request, "scheduling/routing_list.html", {"policies": policies, "form": form},
                  status=400 if form.errors else 200)


def _buckets(row) -> list[dict]:
    pol = row.policy
    return [{"bucket": label(pol["edges"], b), "low": pol["edges"][b], "training_queries": pol["counts"][b],
             "routed_like": label(pol["edges"], pol["fallback"][b]),
             **{key: pol["shares"][b][j] for j, key in enumerate(pol["keys"])}}
            for b in range(len(pol["edges"]))]


@login_required
def policy_detail(request, pk):
    row = get_object_or_404(RoutingPolicy.objects.select_related("training_workload"), pk=pk)
    form = ReplayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            routing.replay_policy(row, form.cleaned_data["workload"], seed=form.cleaned_data["seed"])
        except PlanningError as exc:
            form.add_error("workload", str(exc))
        else:
            messages.success(request, f"Replayed {form.cleaned_data['workload'].name}.")
            return redirect(row)
    chart = {"keys": row.policy["keys"], "buckets": _buckets(row)}
    return render(request, "scheduling/routing_detail.html", {
        "row": row, "summary": routing.summary(row), "form": form, "chart": chart, "replays": row.replays},
        status=400 if form.errors else 200)


@login_required
@require_POST
def policy_feedback(request, pk):
    row = get_object_or_404(RoutingPolicy, pk=pk)
    if not (request.user.is_staff or row.created_by_id == request.user.pk):
        messages.error(request, "Only staff or the policy's creator may feed executions into it.")
        return redirect(row)
    try:
        result = routing.apply_feedback(row)
    except FieldError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Folded in {result['readings']} executed queries; policy version {result['version']}.")
    return redirect(row)


@login_required
def policy_download(request, pk, fmt):
    row = get_object_or_404(RoutingPolicy, pk=pk)
    rows = _buckets(row)
    name = f"routing-policy-{row.pk}-shares"
    if fmt == "json":
        body = json.dumps({"policy": routing.summary(row), "buckets": rows}, indent=2)
        response = HttpResponse(body, content_type="application/json")
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        cols = list(rows[0])
        writer.writerow([safe_cell(c) for c in cols])  # deployment names head the share columns
        writer.writerows([safe_cell(r[c]) for c in cols] for r in rows)
        response = HttpResponse(out.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


urlpatterns = [
    path("routing/", policy_list, name="routing-policy-list"),
    path("routing/<int:pk>/", policy_detail, name="routing-policy-detail"),
    path("routing/<int:pk>/feedback/", policy_feedback, name="routing-policy-feedback"),
    path("routing/<int:pk>/shares.<str:fmt>", policy_download, name="routing-policy-download"),
]
