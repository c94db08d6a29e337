from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from energyweb.permissions import is_staff, require_staff, staff_required
from scheduling.forms import DeploymentForm
from scheduling.models import Deployment
from scheduling.models.deployment_specs import (
    DeploymentResolutionError,
    spec_for_deployment,
)
from scheduling.services.reference_deployments import ensure_reference_deployments


@login_required
def deployment_list(request):
    form = None
    if request.method == "POST":
        require_staff(request)
    if is_staff(request.user):
        form = DeploymentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            dep = form.save()
            messages.success(request, f"Added deployment {dep}.")
            return redirect(reverse("scheduling:deployment-list"))
    rows = []
    for dep in Deployment.objects.select_related("llm", "hardware", "energy_fit", "runtime_fit"):
        try:
            spec, problem = spec_for_deployment(dep), ""
        except DeploymentResolutionError as exc:
            spec, problem = None, str(exc)
        rows.append({"dep": dep, "spec": spec, "problem": problem})
    status = 400 if request.method == "POST" else 200
    return render(request, "scheduling/deployment_list.html", {"rows": rows, "form": form}, status=status)


@require_POST
@staff_required
def deployment_add_reference(request):
    rows = ensure_reference_deployments()
    messages.success(request, f"{len(rows)} reference deployments are available.")
    return redirect(reverse("scheduling:deployment-list"))


@login_required
def deployment_edit(request, pk):
    dep = get_object_or_404(Deployment, pk=pk)
    require_staff(request)
    form = DeploymentForm(request.POST or None, instance=dep)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved deployment {dep}.")
        return redirect(reverse("scheduling:deployment-list"))
    status = 400 if request.method == "POST" else 200
    return render(request, "scheduling/deployment_edit.html", {"dep": dep, "form": form}, status=status)


@login_required
@require_POST
def deployment_delete(request, pk):
    dep = get_object_or_404(Deployment, pk=pk)
    require_staff(request)
    name = str(dep)
    dep.delete()  # plans keep their own snapshot of the specs they were made with
    messages.success(request, f"Deleted deployment {name}.")
    return redirect(reverse("scheduling:deployment-list"))


urlpatterns = [
    path("deployments/", deployment_list, name="deployment-list"),
    path("deployments/<int:pk>/edit/", deployment_edit, name="deployment-edit"),
    path("deployments/<int:pk>/delete/", deployment_delete, name="deployment-delete"),
    path("deployments/reference/", deployment_add_reference, name="deployment-add-reference"),
]
