"""Pages for the inventory: hardware and LLM lists and details (thin views)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404, render
from django.urls import path

from profiling.choices import FitTarget
from profiling.fitting import terms
from profiling.models import LLM, EnergyModelFit, Hardware
from profiling.models.inventory import shown_fits

# Token counts at which pages evaluate energy models for charts (the paper's sweep grid).
CHART_TOKENS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]


def coefficient_text(coefficients: dict) -> str:
    return ", ".join(f"{name}: {value:.4g}" for name, value in coefficients.items())


def fit_rows(fits) -> list[dict]:
    """Fits as plain rows for tables (coefficients formatted, warnings pulled out)."""
    rows = []
    for fit in fits:
        warnings = (fit.diagnostics or {}).get("warnings", []) if isinstance(fit.diagnostics, dict) else []
        rows.append({"fit": fit, "coefficients": coefficient_text(fit.coefficients), "warnings": warnings})
    return rows


def energy_curves(fits, label) -> list[dict]:
    """Rows of predicted energy per query along the output-token axis (input fixed at 128)."""
    rows = []
    for fit in fits:
        try:
            values = terms.predict(fit.coefficients, [128] * len(CHART_TOKENS), CHART_TOKENS)
        except KeyError:  # a form with terms this page does not know
            continue
        for tout, energy in zip(CHART_TOKENS, values, strict=True):
            rows.append({"series": label(fit), "input_tokens": 128, "output_tokens": tout,
                         "energy_j": round(float(energy), 3), "source": fit.source,
                         "estimated": fit.uses_estimated_energy})
    return rows


@login_required
def hardware_list(request):
    hardware = Hardware.objects.annotate(
        # distinct: joined with the aliases, each fit would count once per alias.
        fit_count=Count("fits", distinct=True), alias_count=Count("aliases", distinct=True)
    ).order_by("-is_reference", "name")
    return render(request, "profiling/hardware_list.html", {"hardware": hardware})


@login_required
def hardware_detail(request, slug):
    hw = get_object_or_404(Hardware.objects.prefetch_related("aliases"), slug=slug)
    fits = hw.fits.select_related("llm").order_by("llm__name", "target", "-created", "-id")
    selected = [f for f in shown_fits(fits) if f.target == FitTarget.ENERGY]
    return render(request, "profiling/hardware_detail.html", {
        "hw": hw,
        "fits": fit_rows(fits),
        "curves": energy_curves(selected, lambda f: f.llm.name),
        "runs": hw.profiling_runs.select_related("llm").order_by("-created", "-id")[:20],
    })


@login_required
def llm_list(request):
    llms = LLM.objects.annotate(
        fit_count=Count("fits", distinct=True),
        hardware_count=Count("fits__hardware", distinct=True,
                             filter=Q(fits__is_selected=True, fits__is_stale=False)),
    ).order_by("name")
    return render(request, "profiling/llm_list.html", {"llms": llms})


@login_required
def llm_detail(request, slug):
    llm = get_object_or_404(LLM.objects.prefetch_related("aliases"), slug=slug)
    fits = llm.fits.select_related("hardware").order_by("hardware__name", "target", "-created", "-id")
    selected = [f for f in shown_fits(fits) if f.target == FitTarget.ENERGY]
    return render(request, "profiling/llm_detail.html", {
        "llm": llm,
        "fits": fit_rows(fits),
        "curves": energy_curves(selected, lambda f: f.hardware.name),
    })


def latest_fits(pairs: int = 10) -> list:
    """The ``pairs`` LLM and hardware pairs fitted most recently, each with its fit to use per target
    (else its newest): one fitting round makes about ten candidate fits of one pair, which would
    otherwise fill the dashboard with a single LLM."""
    recent = (EnergyModelFit.objects.values("llm_id", "hardware_id").annotate(last=Max("created"))
              .order_by("-last", "llm_id", "hardware_id")[:pairs])
    order = {(r["llm_id"], r["hardware_id"]): i for i, r in enumerate(recent)}
    if not order:
        return []
    pair_filter = Q()
    for llm_id, hardware_id in order:
        pair_filter |= Q(llm_id=llm_id, hardware_id=hardware_id)
    chosen: dict = {}
    for fit in (EnergyModelFit.objects.filter(pair_filter).select_related("llm", "hardware")
                .order_by("-created", "-id")):
        key = (fit.llm_id, fit.hardware_id, fit.target)
        if key not in chosen or (fit.is_to_use and not chosen[key].is_to_use):
            chosen[key] = fit
    return sorted(chosen.values(), key=lambda f: (order[(f.llm_id, f.hardware_id)], f.target))


urlpatterns = [
    path("hardware/", hardware_list, name="hardware-list"),
    path("hardware/<slug:slug>/", hardware_detail, name="hardware-detail"),
    path("llms/", llm_list, name="llm-list"),
    path("llms/<slug:slug>/", llm_detail, name="llm-detail"),
]
