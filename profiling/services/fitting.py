"""The database side of fitting: load a pair's measurements, store its fits, resolve and
predict with stored fits. The maths is pure and lives in profiling.fitting.regression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profiling.fitting import intervals
from profiling.fitting.regression import FitError, eligible, fit_all, prediction_interval
from profiling.meters import base as meter_base

# --- the database side: load a pair's measurements, store its fits -----------------------


@dataclass
class PairData:
    tin: np.ndarray
    tout: np.ndarray
    y: np.ndarray
    uses_estimated_energy: bool
    excluded_warmup: int
    excluded_estimated: int
    components: str = ""  # energy components the target sums, e.g. "gpu" or "gpu+cpu"


ENERGY_FIELDS = dict(zip(meter_base.COMPONENTS, meter_base.ENERGY_FIELDS, strict=True))


def common_components(qs) -> list[str]:
    """Energy components measured on every row of ``qs``.

    Fitting like with like: the paper's grids carry GPU energy only and its sweeps GPU
    and CPU; a total over both would mix two quantities. The energy a fit models is the
    sum of the components every row has.
    """
    from django.db.models import Count

    counts = qs.aggregate(n=Count("id"), **{c: Count(f) for c, f in ENERGY_FIELDS.items()})
    return [c for c in ENERGY_FIELDS if counts["n"] and counts[c] == counts["n"]]


def load_pair(llm, hardware, target: str, *, include_estimated: bool = False,
              include_warmup: bool = False) -> PairData:
    """A pair's measurements as arrays; warm-ups and (for energy) estimates excluded by default."""
    from django.db.models import ExpressionWrapper, F, FloatField

    from profiling.models import Measurement

    qs = Measurement.objects.filter(llm=llm, hardware=hardware)
    excluded_warmup = excluded_estimated = 0
    if not include_warmup:
        excluded_warmup = qs.filter(is_warmup=True).count()
        qs = qs.filter(is_warmup=False)
    if target == "energy" and not include_estimated:
        excluded_estimated = qs.filter(is_estimated=True).count()
        qs = qs.filter(is_estimated=False)
    components = ""
    if target == "energy":
        common = common_components(qs)
        if not common and qs.exists():
            raise FitError(f"{llm} on {hardware}: no energy component (GPU, CPU, DRAM) is measured on every "
                           "row, so no energy total compares like with like; import rows with a shared component")
        components = "+".join(common)
        column = ExpressionWrapper(sum((F(ENERGY_FIELDS[c]) for c in common[1:]), F(ENERGY_FIELDS[common[0]]))
                                   if common else F("total_energy_j"), output_field=FloatField())
    else:
        column = F("runtime_s")
    rows = np.array(list(qs.order_by().annotate(_y=column).values_list("input_tokens", "output_tokens", "_y",
                                                                        "is_estimated")),
                    dtype=np.float64).reshape(-1, 4)
    uses_estimated = target == "energy" and bool(rows[:, 3].any())
    return PairData(rows[:, 0], rows[:, 1], rows[:, 2], uses_estimated, excluded_warmup, excluded_estimated,
                    components)


def fit_pair(llm, hardware, target: str, *, forms=None, include_estimated: bool = False,
             include_warmup: bool = False, store: bool = True) -> dict:
    """Fit a pair's forms, store them (source=fitted) and mark the selected one.

    Returns {"results": {form: FitResult}, "selected": form | None, "fits": {form: EnergyModelFit},
    "anova": {...}, "excluded_warmup": int, "excluded_estimated": int}.
    """
    from django.db import transaction

    from profiling.choices import FitSource
    from profiling.fitting.anova import two_way_anova
    from profiling.models import EnergyModelFit

    data = load_pair(llm, hardware, target, include_estimated=include_estimated, include_warmup=include_warmup)
    if len(data.y) < 2:
        raise FitError(f"{llm} on {hardware}: {len(data.y)} usable {target} measurements; at least 2 are needed"
                       + (f" ({data.excluded_warmup} warm-up rows excluded)" if data.excluded_warmup else "")
                       + (f" ({data.excluded_estimated} estimated-energy rows excluded; use --include-estimated)"
                          if data.excluded_estimated else ""))
    results, selected = fit_all(data.tin, data.tout, data.y, target=target, forms=forms,
                                uses_estimated_energy=data.uses_estimated_energy)
    # Selection compares forms on one CV split: a run of some forms only stores them and
    # leaves the pair's selected fit as it was.
    reselect = forms is None
    if not reselect:
        selected = None
    anova = two_way_anova(data.tin, data.tout, data.y)
    out = {"results": results, "selected": selected, "fits": {}, "anova": anova,
           "excluded_warmup": data.excluded_warmup, "excluded_estimated": data.excluded_estimated}
    if not store:
        return out
    with transaction.atomic():
        if reselect:
            # Serialise refits of one LLM: two at once would both select a form and break
            # the one-selected-fit constraint.
            type(llm).objects.select_for_update().filter(pk=llm.pk).first()
            EnergyModelFit.objects.filter(
                llm=llm, hardware=hardware, target=target, is_selected=True
            ).update(is_selected=False)
        for form, r in results.items():
            diagnostics = dict(r.diagnostics)
            diagnostics["warnings"] = r.warnings
            diagnostics["anova"] = anova
            diagnostics["excluded_warmup"] = data.excluded_warmup
            diagnostics["excluded_estimated"] = data.excluded_estimated
            diagnostics["energy_components"] = data.components
            diagnostics["selected_by"] = ("simplest form within one standard error of the lowest "
                                          "cross-validated MAPE, among identifiable forms that are "
                                          "non-negative over the measured range")
            diagnostics["eligible"], diagnostics["ineligible_reason"] = eligible(r)
            fit = EnergyModelFit.objects.create(
                llm=llm, hardware=hardware, target=target, form=form, coefficients=r.coefficients,
                metrics=r.metrics(), diagnostics=diagnostics, source=FitSource.FITTED,
                identifiable=r.identifiable, is_selected=(form == selected),
                uses_estimated_energy=r.uses_estimated_energy, n=r.n, energy_components=data.components,
                tin_min=r.tin_range[0], tin_max=r.tin_range[1],
                tout_min=r.tout_range[0], tout_max=r.tout_range[1],
            )
            out["fits"][form] = fit
    return out



def pairs_with_measurements():
    """(llm, hardware) pairs that have at least one measurement, ordered by name."""
    from profiling.models import LLM, Hardware, Measurement

    ids = Measurement.objects.order_by().values_list("llm_id", "hardware_id").distinct()
    llms = LLM.objects.in_bulk({a for a, _ in ids})
    hws = Hardware.objects.in_bulk({b for _, b in ids})
    pairs = [(llms[a], hws[b]) for a, b in ids]
    return sorted(pairs, key=lambda p: (p[0].name, p[1].name))


def lookup(model, value):
    """An LLM or Hardware row by id, name, slug or alias (case-insensitive); None if not exactly one."""
    from django.db.models import Q

    value = str(value).strip()
    if not value:
        return None
    q = Q(name__iexact=value) | Q(slug__iexact=value) | Q(aliases__alias__iexact=value)
    if value.isdigit():
        q |= Q(pk=int(value))
    found = list(model.objects.filter(q).distinct()[:2])
    return found[0] if len(found) == 1 else None


# --- prediction from stored fits -----------------------------------------------------------


class NoFit(LookupError):
    """No stored fit matches the request; the message says what exists."""


def choose_fit(llm, hardware, target: str, choice="selected"):
    """The EnergyModelFit to predict with.

    ``selected``: the pair's selected fit (``EnergyModelFit.objects.to_use``, the rule the
    planner follows too; no fallback to the published form); ``published``: the published
    fit; an integer: that fit, which must belong to the pair and target.
    """
    from profiling.models import EnergyModelFit

    qs = EnergyModelFit.objects.filter(llm=llm, hardware=hardware, target=target)
    if choice in (None, "", "selected"):
        fit = EnergyModelFit.objects.to_use(llm, hardware, target)
        if fit:
            return fit
        raise NoFit(f"{llm} on {hardware} has no selected valid {target} fit; run fit_models "
                    'or ask for fit "published" explicitly.')
    if choice == "published":
        fit = EnergyModelFit.objects.published_for(llm, hardware, target)
        if fit is None:
            raise NoFit(f"No published {target} fit for {llm} on {hardware}.")
    else:
        try:
            pk = int(choice)
        except (TypeError, ValueError):
            raise NoFit(f'{choice!r}: use "selected", "published" or a fit id.') from None
        fit = qs.filter(pk=pk).first()
        if fit is None:
            raise NoFit(f"Fit {pk} is not a {target} fit of {llm} on {hardware}.")
    # The checks planning makes too (EnergyModelFit.unusable_reason), whichever way the fit was chosen.
    reason = fit.unusable_reason()
    if reason == "not identifiable":
        raise NoFit(f"Fit {fit.pk} is not identifiable: its coefficients are not offered for prediction.")
    if reason == "stale":
        raise NoFit(f"Fit {fit.pk} is stale: the measurements it was made from were deleted.")
    if reason:
        raise NoFit(f"Fit {fit.pk} has {reason}.")
    return fit


def predict_with_fit(fit, tin, tout) -> dict:
    """Vectorised prediction, 95% interval and per-pair warnings (indices) for one stored fit."""
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    yhat, lower, upper = prediction_interval(fit.coefficients, fit.metrics or {}, tin, tout)
    pair_warnings = {}
    outside = extrapolated(fit, tin, tout)
    if outside is not None:
        pair_warnings["extrapolation"] = np.flatnonzero(outside).tolist()
    pair_warnings["negative"] = np.flatnonzero(yhat < 0).tolist()
    notes = []
    if lower is None:
        notes.append(f"Fit {fit.pk} ({fit.source}) carries no covariance: no interval can be given.")
    if fit.uses_estimated_energy:
        notes.append("Estimated energy: this fit was made from TDP-based estimates, not meter readings.")
    return {"value": yhat, "lower": lower, "upper": upper, "pair_warnings": pair_warnings, "notes": notes}


def extrapolated(fit, tin, tout):
    """Per query: beyond the support of the fit's measured cells (stored with the fit at fit time).

    A fit without stored cells (published, or made before cells were stored) falls back to
    its measured bounding box; None when it has neither.
    """
    reach = intervals.beyond_support((fit.metrics or {}).get("support"), tin, tout)
    if reach is not None:
        return reach[1]
    if fit.tin_min is None or fit.tout_min is None:
        return None
    return (tin < fit.tin_min) | (tin > fit.tin_max) | (tout < fit.tout_min) | (tout > fit.tout_max)


def fit_summary(fit) -> dict:
    m = fit.metrics or {}
    return {
        "id": fit.pk, "form": fit.form, "source": fit.source, "estimated": fit.uses_estimated_energy,
        "label": m.get("label") or (f"{fit.form} (estimated energy)" if fit.uses_estimated_energy else fit.form),
        "coefficients": fit.coefficients, "identifiable": fit.identifiable,
        "range": {"tin": [fit.tin_min, fit.tin_max], "tout": [fit.tout_min, fit.tout_max]},
        "interval_method": m.get("interval_method"), "citation": fit.citation,
    }
