"""Deployment rows (or entries of a deployments JSON file) -> the solver's DeploymentSpec.

One place decides which energy and runtime model a deployment plans with:
``selected`` (the default: ``EnergyModelFit.objects.to_use``, the fit chosen for
planning by cross-validation among the physically valid forms), ``published``
(the reference catalogue, only when chosen explicitly; its validity warnings
travel with the plan) or a specific fit by id. A fit that is not identifiable or
is stale (made from deleted measurements) is refused.

It lives beside the models because ``Deployment.clean()`` validates through it: in services it
made scheduling.models and scheduling.services import each other (README "Layers").
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from energyweb.validation import FieldError
from profiling.choices import FitSource, FitTarget
from profiling.models import LLM, EnergyModelFit, Hardware
from scheduling.choices import FitChoice
from scheduling.planner.types import DeploymentSpec


class DeploymentResolutionError(FieldError):
    """A deployment cannot be planned with; ``field`` names the offending input."""


def resolve_fit(llm: LLM, hardware: Hardware, target: str, choice: str | int,
                fit: EnergyModelFit | None = None, field: str | None = None) -> EnergyModelFit:
    """The fit a deployment uses for ``target`` (energy or runtime)."""
    label = {FitTarget.ENERGY: "energy", FitTarget.RUNTIME: "runtime"}[FitTarget(target)]
    field = field or f"{target}_fit"
    if isinstance(choice, int) or (isinstance(choice, str) and choice.isdigit()):
        fit = EnergyModelFit.objects.filter(pk=int(choice)).select_related("llm", "hardware").first()
        if fit is None:
            raise DeploymentResolutionError(f"No fit with id {choice}.", field)
        choice = FitChoice.SPECIFIC
    if choice == FitChoice.SPECIFIC:
        if fit is None:
            raise DeploymentResolutionError("A specific fit was chosen but none given.", field)
        if fit.llm_id != llm.pk or fit.hardware_id != hardware.pk:
            raise DeploymentResolutionError(
                f"Fit {fit.pk} models {fit.llm} @ {fit.hardware}, not {llm} @ {hardware}.", field)
        if fit.target != target:
            raise DeploymentResolutionError(f"Fit {fit.pk} models {fit.target}, not {target}.", field)
    elif choice == FitChoice.SELECTED:
        fit = EnergyModelFit.objects.to_use(llm, hardware, target)
        if fit is None:
            raise DeploymentResolutionError(
                f"No selected {label} model for {llm} @ {hardware}: fit its measurements (fit_models) "
                "or choose the published model explicitly.", field)
    elif choice == FitChoice.PUBLISHED:
        fit = EnergyModelFit.objects.published_for(llm, hardware, target)
        if fit is None:
            raise DeploymentResolutionError(f"No published {label} model for {llm} @ {hardware}.", field)
    else:
        raise DeploymentResolutionError(
            f"Unknown fit choice {choice!r}: use published, selected or a fit id.", field)
    # The checks the predict API makes too (EnergyModelFit.unusable_reason), however the fit was chosen.
    reason = fit.unusable_reason()
    if reason == "not identifiable":
        raise DeploymentResolutionError(
            f"The {label} model (fit {fit.pk}) for {llm} @ {hardware} is not identifiable: the "
            "measurements cannot separate its terms, so it cannot be used for planning. "
            "Measure a grid of input and output lengths and refit.", field)
    if reason == "stale":
        raise DeploymentResolutionError(
            f"The {label} model (fit {fit.pk}) for {llm} @ {hardware} is stale: the measurements it was "
            "made from were deleted. Choose the selected fit or refit.", field)
    if reason:
        raise DeploymentResolutionError(f"Fit {fit.pk} has no coefficients.", field)
    return fit


def _default_runtime_choice(llm, hardware) -> str:
    """With an energy fit named by id, plan with the selected runtime fit, else the published one."""
    if EnergyModelFit.objects.to_use(llm, hardware, FitTarget.RUNTIME) is not None:
        return FitChoice.SELECTED
    return FitChoice.PUBLISHED


def build_spec(llm: LLM, hardware: Hardware, energy_fit: EnergyModelFit, runtime_fit: EnergyModelFit, *,
               min_share=0.0, max_share=1.0, gpus=None, capacity_gpu_s=None,
               instances=1) -> DeploymentSpec:
    if llm.accuracy is None:
        raise DeploymentResolutionError(
            f"{llm} has no accuracy A_K; set it on the LLM before planning with it.", "llm")
    notes = []
    for fit in (energy_fit, runtime_fit):
        # Every flag the fit's page shows travels with the plan, by deployment: a plan must
        # not look cleaner than the models it rests on.
        kind = "published" if fit.source == FitSource.PUBLISHED else f"{fit.form} (fit {fit.pk})"
        notes += [f"{kind} {fit.target} model: {w}" for w in fit.flags]
    return DeploymentSpec(
        key=f"{llm.name} @ {hardware.name}",
        accuracy=float(llm.accuracy),
        energy_coefs={k: float(v) for k, v in energy_fit.coefficients.items()},
        runtime_coefs={k: float(v) for k, v in runtime_fit.coefficients.items()},
        min_share=float(min_share),
        max_share=float(max_share),
        gpus=int(gpus or llm.min_gpus or 1),
        capacity_gpu_s=None if capacity_gpu_s is None else float(capacity_gpu_s),
        energy_estimated=bool(energy_fit.uses_estimated_energy),
        instances=int(instances or 1),
        # The measured token range of both models: queries outside it are extrapolated.
        tin_range=_joint_range(energy_fit, runtime_fit, "tin"),
        tout_range=_joint_range(energy_fit, runtime_fit, "tout"),
        model_notes=tuple(notes),
        supports=tuple(sup for sup in ((f.metrics or {}).get("support") for f in (energy_fit, runtime_fit)) if sup),
        energy_interval=interval_metrics(energy_fit),
    )


def interval_metrics(fit) -> dict | None:
    """What the planner needs from a fit's metrics to price its 95% interval (no covariance: None)."""
    m = fit.metrics or {}
    if not m.get("cov"):
        return None
    return {k: m.get(k) for k in INTERVAL_KEYS}


INTERVAL_KEYS = ("cov", "cov_terms", "sigma2", "df_resid", "interval_q95", "error_model", "interval_method",
                 "kappa", "support")


def _joint_range(energy_fit, runtime_fit, axis: str):
    lows = [getattr(f, f"{axis}_min") for f in (energy_fit, runtime_fit)]
    highs = [getattr(f, f"{axis}_max") for f in (energy_fit, runtime_fit)]
    if None in lows or None in highs:
        return None
    return (max(lows), min(highs))


def spec_for_deployment(dep) -> DeploymentSpec:
    """A Deployment row as the solver sees it."""
    energy = resolve_fit(dep.llm, dep.hardware, FitTarget.ENERGY, dep.energy_fit_choice, dep.energy_fit)
    runtime = resolve_fit(dep.llm, dep.hardware, FitTarget.RUNTIME, dep.runtime_fit_choice, dep.runtime_fit)
    return build_spec(dep.llm, dep.hardware, energy, runtime, min_share=dep.min_share,
                      max_share=dep.max_share, gpus=dep.gpus, capacity_gpu_s=dep.capacity_gpu_s,
                      instances=dep.instances)


def _lookup(model, alias_model, alias_field: str, name: str, what: str):
    obj = model.objects.filter(name__iexact=name).first() or model.objects.filter(slug=name).first()
    if obj is None:
        alias = alias_model.objects.filter(alias__iexact=name).select_related(alias_field).first()
        obj = getattr(alias, alias_field) if alias else None
    if obj is None:
        raise DeploymentResolutionError(f"Unknown {what} {name!r}.", what)
    return obj


def spec_from_entry(entry: dict[str, Any], index: int = 0) -> DeploymentSpec:
    """One entry of a deployments JSON file:
    ``{"llm", "hardware", "min_share", "max_share", "fit": "published"|"selected"|<id>,
    "runtime_fit" (optional, same forms), "gpus", "instances", "horizon_s"}``."""
    from profiling.models import HardwareAlias, LLMAlias

    where = f"deployment {index + 1}"
    if not isinstance(entry, dict):
        raise DeploymentResolutionError(f"{where}: expected an object, got {type(entry).__name__}.")
    for key in ("llm", "hardware"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise DeploymentResolutionError(f"{where}: {key!r} is required (a name).", key)
    try:
        llm = _lookup(LLM, LLMAlias, "llm", entry["llm"].strip(), "llm")
        hardware = _lookup(Hardware, HardwareAlias, "hardware", entry["hardware"].strip(), "hardware")
        fit_choice = entry.get("fit", FitChoice.SELECTED)
        energy = resolve_fit(llm, hardware, FitTarget.ENERGY, fit_choice, field="fit")
        runtime_choice = entry.get("runtime_fit")
        if runtime_choice is None:
            is_id = isinstance(fit_choice, int) or (isinstance(fit_choice, str) and fit_choice.isdigit())
            runtime_choice = _default_runtime_choice(llm, hardware) if is_id else fit_choice
        runtime = resolve_fit(llm, hardware, FitTarget.RUNTIME, runtime_choice, field="runtime_fit")
        try:
            min_share = float(entry.get("min_share", 0.0))
            max_share = float(entry.get("max_share", 1.0))
        except (TypeError, ValueError) as exc:
            raise DeploymentResolutionError("min_share and max_share must be numbers.", "min_share") from exc
        if not (0 <= min_share <= max_share <= 1):
            raise DeploymentResolutionError(
                "Shares must satisfy 0 <= min_share <= max_share <= 1.", "min_share")
        try:
            gpus = int(entry.get("gpus") or llm.min_gpus or 1)
            instances = int(entry.get("instances") or 1)
            horizon = entry.get("horizon_s")
            capacity = None if horizon is None else instances * gpus * float(horizon)
        except (TypeError, ValueError) as exc:
            raise DeploymentResolutionError("gpus, instances and horizon_s must be numbers.", "gpus") from exc
        if gpus < 1 or instances < 1 or (capacity is not None and capacity <= 0):
            raise DeploymentResolutionError("gpus, instances and horizon_s must be above zero.", "gpus")
        return build_spec(llm, hardware, energy, runtime, min_share=min_share, max_share=max_share,
                          gpus=gpus, capacity_gpu_s=capacity, instances=instances)
    except DeploymentResolutionError as exc:
        raise DeploymentResolutionError(f"{where} ({entry.get('llm')} @ {entry.get('hardware')}): {exc}",
                                        exc.field) from exc


def specs_from_entries(entries) -> list[DeploymentSpec]:
    if not isinstance(entries, list) or not entries:
        raise DeploymentResolutionError("The deployments file must hold a non-empty JSON list.")
    specs = [spec_from_entry(e, i) for i, e in enumerate(entries)]
    keys = [s.key for s in specs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise DeploymentResolutionError(f"Deployment listed twice: {', '.join(dupes)}.")
    return specs


def spec_to_json(spec: DeploymentSpec) -> dict:
    return asdict(spec)


def spec_from_json(data: dict) -> DeploymentSpec:
    data = dict(data)
    for key in ("tin_range", "tout_range"):  # JSON turned the tuples into lists
        if data.get(key) is not None:
            data[key] = tuple(data[key])
    data["model_notes"] = tuple(data.get("model_notes") or ())
    data["supports"] = tuple(data.get("supports") or ())
    return DeploymentSpec(**data)
