"""Routing policies in the database: make, route, replay, feedback (the ORM side of scheduling/routing).

Router state lives in each process (``_CACHE``): while a policy's version is unchanged a
request decodes no JSON and, for VERSION_TTL_S after its last check, sends no query at all
(one indexed query for the version after that): on a loaded database that round trip was most
of a route's time. A re-solved (or deleted) policy is therefore seen by other processes within
VERSION_TTL_S; the process that re-solved it sees it at once. Why not
counters in Redis: a round trip per decision would cost more than the decision, and
per-process deficits already keep the pooled shares within the bounds (router.py).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from energyweb.validation import FieldError, max_context, number_field, whole_field
from profiling.choices import FitTarget
from profiling.fitting import terms
from profiling.models import EnergyModelFit, Hardware
from scheduling.choices import Objective
from scheduling.planner.types import DeploymentSpec, PlanningError
from scheduling.routing import feedback as fb
from scheduling.routing import predictors
from scheduling.routing.policy import Policy, build_policy
from scheduling.routing.replay import replay
from scheduling.routing.router import Router
from scheduling.services.jobs import normalise_parameters
from scheduling.services.workloads import load_workload_arrays

# The fit metrics a prediction interval needs (profiling.fitting.regression.prediction_interval).
INTERVAL_KEYS = ("cov", "cov_terms", "sigma2", "df_resid", "interval_q95", "error_model", "interval_method")
MAX_BATCH = 10_000
KEEP_REPLAYS = 10


class RoutingError(FieldError):
    """Bad routing input; ``field`` names it."""


def policy_parameters(objective: str, params: dict | None) -> dict:
    """The planner's checks (one place: jobs.normalise_parameters) plus the routing options."""
    params = dict(params or {})
    if isinstance(params.get("zeta"), bool):
        raise RoutingError("zeta must be a number, not true/false.", "zeta")
    out = normalise_parameters(objective, params)
    predictor = params.get("predictor") or "empirical"
    if predictor not in predictors.PREDICTORS:
        raise RoutingError(f"Unknown predictor {predictor!r}: one of {', '.join(sorted(predictors.PREDICTORS))}.",
                           "predictor")
    out["predictor"] = predictor
    out["per_octave"] = whole_field(params.get("per_octave"), "per_octave", 1, 8, default=2, error=RoutingError)
    # Exploration (scheduling/routing/policy.py): the least share each under-observed deployment gets.
    out["explore_share"] = number_field(params.get("explore_share"), "explore_share", 0.0, 0.5,
                                        default=fb.EXPLORE_SHARE, error=RoutingError)
    return out


def make_policy(workload, specs: list[DeploymentSpec], *, objective: str = Objective.PAPER_ENERGY_ACCURACY,
                params: dict | None = None, user=None, name: str = "", deployments=()):
    """Solve a policy on ``workload`` and store it; RoutingError/PlanningError on bad input."""
    from scheduling.models import RoutingPolicy

    if workload is None:
        raise RoutingError("Choose a training workload.", "workload")
    if not specs:
        raise RoutingError("Choose at least one deployment.", "deployments")
    prm = policy_parameters(objective, params)
    arrays = load_workload_arrays(workload)
    fit_metrics, queues = _fits_and_queues(specs)
    pol = build_policy(arrays.tin, arrays.tout, specs, **_build_kwargs(objective, prm), fit_metrics=fit_metrics)
    row = RoutingPolicy.objects.create(
        # A workload name may use the column's 200 characters by itself.
        name=(name or f"{workload.name}: {objective} zeta={prm['zeta']:g}")[:200], training_workload=workload,
        objective=objective, zeta=prm["zeta"], parameters=prm, predictor=prm["predictor"], policy=pol.to_dict(),
        queues=queues, created_by=user if user is not None and user.is_authenticated else None)
    if deployments:
        row.deployments.set(deployments)
    return row


def _build_kwargs(objective: str, prm: dict) -> dict:
    return {"objective": objective, "zeta": prm["zeta"], "accuracy_target": prm.get("accuracy_target"),
            "energy_budget_j": prm.get("energy_budget_j"), "deadline_s": prm.get("deadline_s"),
            "paper_default_shares": prm.get("paper_default_shares", True),
            "allow_clamping": prm.get("allow_clamping", False), "time_limit_s": prm.get("time_limit_s", 60.0),
            "predictor": prm.get("predictor", "empirical"), "per_octave": prm.get("per_octave", 2),
            # Policies stored before exploration existed keep routing without it.
            "explore_share": prm.get("explore_share", 0.0)}


def _fits_and_queues(specs):
    """Per deployment key: the fits' interval metrics (matched by coefficients) and the hardware's queue."""
    metrics, queues = {}, {}
    for spec in specs:
        llm_name, _, hw_name = spec.key.partition(" @ ")
        hw = Hardware.objects.filter(name=hw_name).first()
        queues[spec.key] = hw.queue_name if hw else None
        found = {}
        for target, coefs in ((FitTarget.ENERGY, spec.energy_coefs), (FitTarget.RUNTIME, spec.runtime_coefs)):
            for fit in EnergyModelFit.objects.filter(llm__name=llm_name, hardware=hw, target=target):
                if {k: float(v) for k, v in (fit.coefficients or {}).items()} == coefs:
                    m = fit.metrics or {}
                    found[str(target)] = {k: m[k] for k in INTERVAL_KEYS if k in m}
                    break
        metrics[spec.key] = found
    return metrics, queues


def summary(row) -> dict:
    pol = row.policy
    return {"id": row.pk, "name": str(row), "objective": row.objective, "zeta": row.zeta,
            "predictor": row.predictor, "version": row.version,
            "training_workload": row.training_workload_id, "deployments": pol["keys"], "queues": row.queues,
            "buckets": len(pol["edges"]), "buckets_seen": pol["plan"]["buckets_seen"], "plan": pol["plan"],
            "min_share": pol["min_share"], "max_share": pol["max_share"],
            "energy_estimated": any(s.get("energy_estimated") for s in pol["specs"]),
            "feedback_readings": int(np.asarray(row.feedback.get("n", [[0]])).sum()) if row.feedback else 0,
            "max_tokens_routing": bool(pol.get("cap_edges")),
            "under_observed": [pol["keys"][j] for j in fb.under_observed(row.feedback, len(pol["keys"]))],
            "explore_share": {k: v for k, v in zip(pol["keys"], pol.get("explore_share") or [], strict=True) if v},
            "warnings": pol.get("warnings", []), "created": row.created.isoformat() if row.created else None}


# --- routing ------------------------------------------------------------------------------------

VERSION_TTL_S = 2.0
PREDICTION_CACHE = 100_000  # entries per policy and process (a few hundred bytes each)
_CACHE: dict[int, tuple[int, Policy, Router, dict, threading.Lock, dict]] = {}
_CHECKED: dict[int, float] = {}  # policy id -> monotonic time its version was last read
_CACHE_LOCK = threading.Lock()


def clear_cache(pk: int | None = None) -> None:
    with _CACHE_LOCK:
        if pk is None:
            _CACHE.clear()
            _CHECKED.clear()
        else:
            _CACHE.pop(pk, None)
            _CHECKED.pop(pk, None)


def _entry(pk: int):
    from scheduling.models import RoutingPolicy

    cached = _CACHE.get(pk)
    if cached is not None and time.monotonic() - _CHECKED.get(pk, 0.0) < VERSION_TTL_S:
        return cached
    version = RoutingPolicy.objects.filter(pk=pk).values_list("version", flat=True).first()
    if version is None:
        clear_cache(pk)
        raise RoutingError(f"No routing policy with id {pk}.", "policy")
    if cached is None or cached[0] != version:
        row = RoutingPolicy.objects.get(pk=pk)
        pol = Policy.from_dict(row.policy)
        cached = (row.version, pol, Router(pol, seed=int(row.parameters.get("seed") or 0)), row.queues,
                  threading.Lock(), {})
    with _CACHE_LOCK:
        _CACHE[pk] = cached
        _CHECKED[pk] = time.monotonic()
    return cached


def cached_policy(pk: int) -> Policy:
    """The policy as this process holds it (RoutingError ``policy`` when there is none)."""
    return _entry(pk)[1]


def parse_query(data, where: str = "") -> tuple[int, int | None]:
    if not isinstance(data, dict):
        raise RoutingError(f"{where}a query must be an object with input_tokens.", "queries")
    tin = whole_field(data.get("input_tokens"), f"{where}input_tokens", 0, max_context(), error=RoutingError)
    raw = data.get("max_tokens")
    cap = None if raw in (None, "") else whole_field(raw, f"{where}max_tokens", 1, max_context(),
                                                   error=RoutingError)
    return tin, cap


def parse_policy_id(value) -> int:
    return whole_field(value, "policy", 1, 2**31 - 1, error=RoutingError)


def route(pk: int, queries: list[tuple[int, int | None]]) -> list[dict]:
    """Route queries in order; each answer names the deployment, its queue and the predictions."""
    _, pol, router, queues, lock, predicted = _entry(pk)
    with lock:  # the deficits are shared by the process's threads
        choices = [router.route(tin, cap) for tin, cap in queries]
    if len(predicted) > PREDICTION_CACHE:
        predicted.clear()
    # Predictions depend on (deployment, tin, max_tokens) and the policy version only; prompt
    # lengths repeat, and the interval maths (a t quantile) costs more than the routing. The
    # missing ones are computed together, per deployment, so a batch costs a few array passes.
    keys = [(d, tin, cap) for (tin, cap), d in zip(queries, choices, strict=True)]
    missing: dict[int, list] = {}
    for k in dict.fromkeys(keys):
        if k not in predicted:
            missing.setdefault(k[0], []).append(k)
    for d, ks in missing.items():
        many = pol.predict_many(d, [k[1] for k in ks], [k[2] for k in ks])
        key, estimated = pol.keys[d], bool(pol.specs[d].get("energy_estimated"))
        for i, k in enumerate(ks):
            predicted[k] = {"deployment": key, "deployment_index": d, "queue": queues.get(key),
                            "energy_j": float(many["energy_j"][i]),
                            "energy_j_interval": many["energy_j_interval"][i].tolist(),
                            "runtime_s": float(many["runtime_s"][i]),
                            "runtime_s_interval": many["runtime_s_interval"][i].tolist(),
                            "energy_estimated": estimated}
    return [dict(predicted[k]) for k in keys]


# --- replay and feedback ------------------------------------------------------------------------


def replay_policy(row, workload, *, seed: int = 0, save: bool = True) -> dict:
    arrays = load_workload_arrays(workload)
    result = replay(Policy.from_dict(row.policy), arrays.tin, arrays.tout, seed=seed)
    result.update({"workload": workload.pk, "workload_name": workload.name, "policy_version": row.version})
    if save:
        row.replays = [result, *row.replays][:KEEP_REPLAYS]
        row.save(update_fields=["replays", "updated"])
    return result


def apply_feedback(row, executions=None) -> dict:
    """Fold executed queries (ExecutedQuery rows) into the policy and re-solve it.

    ``executions``: ids to fold in (default: every execution not folded in yet). Readings on
    deployments the policy does not route to are ignored. Returns what was folded in.
    """
    from scheduling.models import ExecutedQuery, Execution, ExecutionJob

    if row.training_workload is None:
        raise RoutingError("The training workload was deleted: this policy can no longer be re-solved.",
                           "training_workload")
    pol = Policy.from_dict(row.policy)
    index = {k: j for j, k in enumerate(pol.keys)}
    ids = set(Execution.objects.values_list("pk", flat=True) if executions is None else executions)
    ids -= set(row.feedback_executions)
    names = {(e, i): k for e, i, k in ExecutionJob.objects.filter(execution_id__in=ids)
             .values_list("execution_id", "deployment_index", "deployment_key")}
    rows = list(ExecutedQuery.objects.filter(execution_id__in=ids).values_list(
        "execution_id", "deployment_index", "input_tokens", "output_tokens", "energy_j"))
    picked = [(index[names[(e, i)]], tin, tout, j) for e, i, tin, tout, j in rows
              if names.get((e, i)) in index]
    if not picked:
        return {"readings": 0, "executions": sorted(ids), "version": row.version}
    dep, tin, tout, measured = (np.asarray(c) for c in zip(*picked, strict=True))
    specs = pol.deployment_specs()
    modelled = np.zeros(len(dep))
    for j, spec in enumerate(specs):
        sel = dep == j
        if sel.any():
            modelled[sel] = np.maximum(terms.predict(spec.energy_coefs, tin[sel].astype(float),
                                                     tout[sel].astype(float)), 0.0)
    obs = fb.merge(row.feedback, fb.observations(pol.edges, len(pol.keys), tin, dep, measured, modelled))
    return _resolve(row, obs, sorted(ids), len(picked))


def _resolve(row, obs: dict, folded: list[int], readings: int) -> dict:
    arrays = load_workload_arrays(row.training_workload)
    pol = Policy.from_dict(row.policy)
    # Bounded per round (feedback.bounded_step); exploration only where readings are still few.
    factors = fb.bounded_step(fb.corrections(obs), pol.corrections)
    still = [pol.keys[j] for j in fb.under_observed(obs, len(pol.keys))]
    try:
        new = build_policy(arrays.tin, arrays.tout, pol.deployment_specs(), **_build_kwargs(row.objective, row.parameters),
                           corrections=factors, fit_metrics=pol.fit_metrics, explore=still)
    except PlanningError as exc:
        raise RoutingError(str(exc), "feedback") from exc
    row.policy, row.feedback = new.to_dict(), obs
    row.feedback_executions = sorted(set(row.feedback_executions) | set(folded))
    row.version += 1
    row.save(update_fields=["policy", "feedback", "feedback_executions", "version", "updated"])
    clear_cache(row.pk)
    return {"readings": readings, "executions": folded, "version": row.version,
            "under_observed": [new.keys[j] for j in fb.under_observed(obs, len(new.keys))]}
