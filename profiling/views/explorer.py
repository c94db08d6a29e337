"""Explorer pages: measurements and fitted models of each (LLM, hardware) pair, and a comparison.

Views stay thin: the numbers come from profiling.services.fitting and the
stored EnergyModelFit rows; this module only shapes them for the charts.
"""

from __future__ import annotations

import math

import numpy as np
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from energyweb.permissions import staff_required
from profiling.choices import FitSource, FitTarget
from profiling.fitting import regression, terms
from profiling.models import LLM, EnergyModelFit, Hardware, Measurement
from profiling.services import fitting

TARGETS = {"energy": "total_energy_j", "runtime": "runtime_s"}
MAX_POINTS = 4000  # raw points per target sent to the browser; cell means are always complete
MAX_CURVES = 12


def _num(v, digits=6):
    if v is None:
        return None
    v = float(v)
    return round(v, digits) if math.isfinite(v) else None


def _fit_row(fit: EnergyModelFit) -> dict:
    m, d = fit.metrics or {}, fit.diagnostics or {}
    return {
        "id": fit.pk, "form": fit.form, "source": fit.source, "target": fit.target,
        "label": m.get("label") or fit.form, "estimated": fit.uses_estimated_energy,
        "is_selected": fit.is_to_use, "identifiable": fit.identifiable, "n": fit.n,
        "is_stale": fit.is_stale, "energy_components": fit.energy_components,
        "cv_coverage_95": m.get("cv_coverage_95"), "weighting": m.get("weighting"),
        "coefficients": fit.coefficients, "coef_table": m.get("coef_table", {}),
        "r2": m.get("r2"), "r2_uncentered": m.get("r2_uncentered"), "rmse": m.get("rmse"),
        "mape": m.get("mape"), "cv_mape": m.get("cv_mape"), "cv_scheme": m.get("cv_scheme"),
        "cv_mape_se": m.get("cv_mape_se"),
        "f_statistic": m.get("f_statistic"), "f_pvalue": m.get("f_pvalue"),
        "ci_method": m.get("ci_method"), "interval_method": m.get("interval_method"),
        "rank": d.get("rank"), "n_terms": d.get("n_terms"), "condition_number": d.get("condition_number"),
        "distinct": d.get("distinct"), "warnings": d.get("warnings", []), "citation": fit.citation,
        "range": {"tin": [fit.tin_min, fit.tin_max], "tout": [fit.tout_min, fit.tout_max]},
        "created": fit.created.isoformat(),
    }


def pair_fits(llm, hardware) -> dict:
    """Latest fitted row of each form per target, plus published rows."""
    out = {}
    for target in TARGETS:
        rows = []
        seen = set()
        for fit in EnergyModelFit.objects.filter(llm=llm, hardware=hardware, target=target).order_by("-created"):
            key = (fit.source, fit.form)
            if key in seen:
                continue
            seen.add(key)
            rows.append(fit)
        order = {"paper": 0, "nnls": 1, "extended": 2, "cached": 3, "recompute": 4}
        rows.sort(key=lambda f: (f.source != FitSource.FITTED, order.get(f.form, 9)))
        out[target] = rows
    return out


def _plot_fit(fits: list[EnergyModelFit]):
    """The fit the charts draw: the fit to use (FitQuerySet.selected), else the published one (labelled)."""
    for fit in fits:
        if fit.is_to_use:
            return fit
    return next((f for f in fits if f.source == FitSource.PUBLISHED), None)


def pair_data(llm, hardware) -> dict:
    qs = Measurement.objects.filter(llm=llm, hardware=hardware).order_by()
    raw = np.array(list(qs.values_list("input_tokens", "output_tokens", "total_energy_j", "runtime_s",
                                       "is_estimated", "is_warmup")), dtype=np.float64).reshape(-1, 6)
    warm = raw[:, 5] > 0
    estimated = raw[:, 4] > 0
    fits = pair_fits(llm, hardware)
    data = {
        "llm": {"name": llm.name, "slug": llm.slug, "parameters_b": llm.parameters_b},
        "hardware": {"name": hardware.name, "slug": hardware.slug},
        "counts": {"measurements": int(len(raw)), "warmup_excluded": int(warm.sum()),
                   "estimated": int((estimated & ~warm).sum())},
        "fits": {t: [_fit_row(f) for f in rows] for t, rows in fits.items()},
        "latest_fit": max((f.created for rows in fits.values() for f in rows), default=None),
        "targets": {},
    }
    if data["latest_fit"]:
        # Epoch milliseconds too, so the page compares numbers rather than parsing dates.
        data["latest_fit_ms"] = int(data["latest_fit"].timestamp() * 1000)
        data["latest_fit"] = data["latest_fit"].isoformat()
    rng = np.random.default_rng(0)
    for ti, (target, _column) in enumerate(TARGETS.items()):
        plot = _plot_fit(fits[target])
        # Estimated energy is shown only beside a fit that was made from it, and then labelled.
        show_estimated = target == "energy" and plot is not None and plot.uses_estimated_energy
        keep = ~warm & (~estimated if target == "energy" and not show_estimated else True)
        rows = raw[keep]
        tin, tout, y = rows[:, 0], rows[:, 1], rows[:, 2 + ti]
        cells = {}
        if len(rows):
            keys, inv = np.unique(np.column_stack([tin, tout]), axis=0, return_inverse=True)
            inv = inv.ravel()
            n = np.bincount(inv)
            mean = np.bincount(inv, weights=y) / n
            sq = np.bincount(inv, weights=y * y) / n
            std = np.sqrt(np.maximum(sq - mean * mean, 0.0) * n / np.maximum(n - 1, 1))
            cells = {"tin": keys[:, 0], "tout": keys[:, 1], "n": n, "mean": mean, "std": std}
        cell_rows = []
        if cells:
            pred = terms.predict(plot.coefficients, cells["tin"], cells["tout"]) if plot else None
            for i in range(len(cells["n"])):
                row = {"tin": int(cells["tin"][i]), "tout": int(cells["tout"][i]), "n": int(cells["n"][i]),
                       "mean": _num(cells["mean"][i]), "std": _num(cells["std"][i])}
                if pred is not None:
                    row["predicted"] = _num(pred[i])
                    row["residual"] = _num(cells["mean"][i] - pred[i])
                cell_rows.append(row)
        pick = np.arange(len(rows))
        if len(rows) > MAX_POINTS:
            pick = np.sort(rng.choice(len(rows), MAX_POINTS, replace=False))
        curves = []
        tins = lo_out = None
        if plot is not None and len(rows):
            tins = np.unique(tin)
            if len(tins) > MAX_CURVES:
                tins = tins[np.unique(np.round(np.linspace(0, len(tins) - 1, MAX_CURVES)).astype(int))]
            lo_out, hi_out = max(float(tout.min()), 1.0), max(float(tout.max()), 1.0)
        elif plot is not None and plot.tin_min is not None and plot.tout_min is not None:
            # No measurements (e.g. a published model): draw it over the range it was fitted on.
            tins = np.unique(np.round(np.geomspace(max(plot.tin_min, 1), max(plot.tin_max, 1), 4)))
            lo_out, hi_out = float(max(plot.tout_min, 1)), float(max(plot.tout_max, 1))
        if tins is not None:
            grid = np.unique(np.round(np.geomspace(lo_out, hi_out, 40)))
            for t in tins:
                mu, lo, hi = regression.prediction_interval(plot.coefficients, plot.metrics or {},
                                                          np.full_like(grid, t), grid)
                curves.append({"tin": int(t), "points": [
                    {"tout": int(g), "y": _num(mu[j]), "lower": None if lo is None else _num(lo[j]),
                     "upper": None if hi is None else _num(hi[j])} for j, g in enumerate(grid)]})
        data["targets"][target] = {
            "n": int(len(rows)),
            "points": [[int(tin[i]), int(tout[i]), _num(y[i])] for i in pick],
            "points_sampled": bool(len(rows) > MAX_POINTS),
            "estimated_points": bool(show_estimated and (estimated & keep).any()),
            "cells": cell_rows,
            "plot_fit": None if plot is None else {"id": plot.pk, "form": plot.form, "source": plot.source,
                                                   "label": (plot.metrics or {}).get("label", plot.form),
                                                   "estimated": plot.uses_estimated_energy},
            "curves": curves,
            "anova": next(((f.diagnostics or {}).get("anova") for f in fits[target]
                           if f.source == FitSource.FITTED and (f.diagnostics or {}).get("anova")), None),
        }
    return data


@login_required
def explorer_index(request):
    """Every pair with measurements or a fit (published fits included)."""
    counts = {
        (p["llm_id"], p["hardware_id"]): p
        for p in Measurement.objects.order_by().values("llm_id", "hardware_id").annotate(
            n=Count("id"), warm=Count("id", filter=Q(is_warmup=True)),
            est=Count("id", filter=Q(is_estimated=True)))
    }
    selected, fitted_at = {}, {}
    for fit in EnergyModelFit.objects.order_by("created"):
        key = (fit.llm_id, fit.hardware_id)
        fitted_at.setdefault(key, None)
        if fit.source == FitSource.FITTED:
            fitted_at[key] = fit.created
        if fit.is_to_use or (fit.source == FitSource.PUBLISHED and not fit.is_stale):
            entry = selected.setdefault(key, {})
            # The fit to use outranks the published one, shown only where nothing is selected.
            if fit.target not in entry or fit.is_to_use:
                entry[fit.target] = fit
    keys = set(counts) | set(fitted_at)
    llms = LLM.objects.in_bulk({a for a, _ in keys})
    hws = Hardware.objects.in_bulk({b for _, b in keys})
    rows = []
    for key in keys:
        c = counts.get(key, {})
        entry = selected.get(key, {})
        rows.append({"llm": llms[key[0]], "hardware": hws[key[1]], "n": c.get("n", 0),
                     "warmup": c.get("warm", 0), "estimated": c.get("est", 0),
                     "energy": entry.get("energy"), "runtime": entry.get("runtime"),
                     "fitted_at": fitted_at.get(key)})
    rows.sort(key=lambda r: (r["n"] == 0, r["llm"].name, r["hardware"].name))
    return render(request, "profiling/explorer_index.html", {"rows": rows})


def _pair(llm_slug, hw_slug):
    return get_object_or_404(LLM, slug=llm_slug), get_object_or_404(Hardware, slug=hw_slug)


@login_required
def explorer_pair(request, llm_slug, hw_slug):
    llm, hardware = _pair(llm_slug, hw_slug)
    data = pair_data(llm, hardware)
    return render(request, "profiling/explorer_pair.html", {
        "llm": llm, "hardware": hardware, "data": data, "fits": data["fits"],
        "refit_since": request.GET.get("refit", ""),
        "data_url": reverse("profiling:explorer-pair-data", args=[llm.slug, hardware.slug]),
    })


@login_required
def explorer_pair_data(request, llm_slug, hw_slug):
    llm, hardware = _pair(llm_slug, hw_slug)
    return JsonResponse(pair_data(llm, hardware), json_dumps_params={"allow_nan": False})


@require_POST
@staff_required
def explorer_refit(request, llm_slug, hw_slug):
    llm, hardware = _pair(llm_slug, hw_slug)
    from profiling.services.refits import request_refit

    since = timezone.now()
    # A row: the refit is owed even while the broker is down (recovery sends it when it is back).
    job = request_refit(llm.pk, hardware.pk, reason="explorer")
    messages.success(request, f"Refit #{job.pk} of {llm} on {hardware} queued; this page updates when it is done.")
    url = reverse("profiling:explorer-pair", args=[llm.slug, hardware.slug])
    return redirect(f"{url}?refit={int(since.timestamp() * 1000)}")


# --- comparison ----------------------------------------------------------------------------


def _int_param(request, name, default, errors):
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "A whole number of tokens."
        return default
    if value < 1 or value > 1_000_000:
        errors[name] = "Between 1 and 1,000,000 tokens."
        return default
    return value


def compare_rows(tin: int, tout: int, source: str = "any") -> list[dict]:
    """Energy per token of every pair at a reference (tin, tout) from its selected energy fit."""
    chosen = {}
    if source == FitSource.PUBLISHED:
        # Published fits are never "to use"; asking for them is the explicit choice.
        qs = EnergyModelFit.objects.usable().filter(target=FitTarget.ENERGY, source=FitSource.PUBLISHED)
    else:
        qs = EnergyModelFit.objects.selected().filter(target=FitTarget.ENERGY)
        if source == FitSource.FITTED:
            qs = qs.filter(source=source)
    for fit in qs.select_related("llm", "hardware").order_by("-created", "-id"):
        chosen.setdefault((fit.llm_id, fit.hardware_id), fit)
    rows = []
    for fit in chosen.values():
        out = fitting.predict_with_fit(fit, np.array([tin], float), np.array([tout], float))
        e = float(out["value"][0])
        rows.append({
            "llm": fit.llm.name, "llm_slug": fit.llm.slug, "hardware": fit.hardware.name,
            "hardware_slug": fit.hardware.slug, "parameters_b": fit.llm.parameters_b,
            "active_parameters_b": fit.llm.active_parameters_b, "fit_id": fit.pk, "form": fit.form,
            "source": fit.source, "estimated": fit.uses_estimated_energy,
            "energy_j": _num(e), "energy_per_token_j": _num(e / (tin + tout)),
            "energy_per_output_token_j": _num(e / tout),
            "lower_j": None if out["lower"] is None else _num(out["lower"][0]),
            "upper_j": None if out["upper"] is None else _num(out["upper"][0]),
            "extrapolated": bool(out["pair_warnings"].get("extrapolation")),
            "negative": e < 0,
        })
    rows.sort(key=lambda r: (r["hardware"], r["parameters_b"], r["llm"]))
    return rows


@login_required
def explorer_compare(request):
    errors = {}
    tin = _int_param(request, "tin", 512, errors)
    tout = _int_param(request, "tout", 256, errors)
    source = request.GET.get("source", "any")
    if source not in ("any", FitSource.FITTED, FitSource.PUBLISHED):
        errors["source"] = "One of any, fitted, published."
        source = "any"
    rows = compare_rows(tin, tout, source)
    if request.GET.get("format") == "json":
        return JsonResponse({"tin": tin, "tout": tout, "source": source, "errors": errors, "rows": rows},
                            status=400 if errors else 200)
    return render(request, "profiling/compare.html", {
        "rows": rows, "tin": tin, "tout": tout, "source": source, "errors": errors,
        "compare_data": {"tin": tin, "tout": tout, "source": source, "rows": rows}})


urlpatterns = [
    path("explorer/", explorer_index, name="explorer"),
    path("explorer/compare/", explorer_compare, name="explorer-compare"),
    path("explorer/<slug:llm_slug>/<slug:hw_slug>/", explorer_pair, name="explorer-pair"),
    path("explorer/<slug:llm_slug>/<slug:hw_slug>/data.json", explorer_pair_data, name="explorer-pair-data"),
    path("explorer/<slug:llm_slug>/<slug:hw_slug>/refit/", explorer_refit, name="explorer-refit"),
]
