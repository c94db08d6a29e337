"""Replay a workload through a router and measure it against the offline oracle.

Each query is routed seeing only its input length, then charged what its true
(input, output) costs on the chosen deployment under the ``truth`` models (the
policy's own, uncorrected, unless given). The oracle is the exact offline plan on the
same queries with the same objective, zeta and bounds, knowing every output length;
round-robin and the other baselines come from the same problem, so every figure is
computed by the planner's one set of metrics.
"""

from __future__ import annotations

import numpy as np

from profiling.fitting import terms
from scheduling.planner.baselines import baselines_for_problem
from scheduling.planner.objectives import (
    build_problem,
    class_counts_from_assignment,
    metrics,
    objective_value,
)
from scheduling.planner.solver import plan_problem
from scheduling.planner.types import DeploymentSpec, PlanningError

from .policy import Policy
from .router import Router

# Relative slack on a share bound before a replay reports it broken: the router keeps
# the bounds to one query (router.py), which is 1/n of the stream.
SHARE_SLACK_QUERIES = 1


def replay(policy: Policy, tin, tout, *, truth: list[DeploymentSpec] | None = None, seed: int = 0,
           keep_queries: bool = False, max_tokens=None) -> dict:
    """``max_tokens``: per query, its cap or None (workload files carry none today); the router
    sees it, the charge is still the true output length, which a cap bounds."""
    tin = np.asarray(tin, dtype=np.int64)
    tout = np.asarray(tout, dtype=np.int64)
    specs = truth or policy.deployment_specs()
    prm = policy.parameters
    p = build_problem(tin, tout, specs, paper_default_shares=prm.get("paper_default_shares", True),
                      deadline_s=prm.get("deadline_s"), allow_clamping=prm.get("allow_clamping", False))
    if p.keys != policy.keys:
        raise PlanningError("the replay's deployments differ from the policy's: "
                            f"{', '.join(p.keys)} vs {', '.join(policy.keys)}")
    router = Router(policy, seed=seed)
    if max_tokens is None:
        assignment = router.route_many(tin)
    else:
        if len(max_tokens) != tin.size:
            raise PlanningError(f"max_tokens has {len(max_tokens)} entries for {tin.size} queries")
        assignment = np.fromiter((router.route(int(t), None if m is None else int(m))
                                  for t, m in zip(tin, max_tokens, strict=True)), dtype=np.int64, count=tin.size)
    x = class_counts_from_assignment(p, assignment)
    online = metrics(p, x)
    oracle = plan_problem(p, objective=policy.objective, zeta=policy.zeta,
                          accuracy_target=prm.get("accuracy_target"), energy_budget_j=prm.get("energy_budget_j"),
                          time_limit_s=prm.get("time_limit_s", 60.0))
    base = baselines_for_problem(p, seed=seed, objective=policy.objective, zeta=policy.zeta)
    n = int(tin.size)
    shares = {k: online["counts"][k] / n for k in p.keys}
    slack = SHARE_SLACK_QUERIES / n
    broken = [k for j, k in enumerate(p.keys)
              if shares[k] < policy.min_share[j] - slack or shares[k] > policy.max_share[j] + slack]
    oracle_obj = oracle.objective_value
    online_obj = objective_value(p, x, policy.objective, policy.zeta)
    out = {
        "queries": n,
        "energy_j": online["total_energy_j"],
        "accuracy": online["accuracy"],
        "mean_runtime_s": online["mean_runtime_s"],
        "objective_value": online_obj,
        "shares": shares,
        "counts": online["counts"],
        "shares_within_bounds": not broken,
        "shares_out_of_bounds": broken,
        "oracle_energy_j": oracle.total_energy_j,
        "oracle_accuracy": oracle.accuracy,
        "oracle_objective_value": oracle_obj,
        "oracle_status": oracle.status,
        # Energy regret: how much more energy the online policy spent than the offline plan.
        "regret_pct": _pct(online["total_energy_j"], oracle.total_energy_j),
        # The objective's regret (what the policy optimises), relative to |oracle objective|.
        "objective_regret_pct": (100.0 * (online_obj - oracle_obj) / abs(oracle_obj)
                                 if oracle_obj else None),
        "round_robin_energy_j": base["round-robin"].total_energy_j,
        "round_robin_accuracy": base["round-robin"].accuracy,
        "saving_vs_round_robin_pct": -_pct(online["total_energy_j"], base["round-robin"].total_energy_j),
        "baselines": {name: {"energy_j": r.total_energy_j, "accuracy": r.accuracy}
                      for name, r in base.items() if not name.startswith("single:")},
        "energy_estimated": p.energy_estimated,
        "seed": seed,
    }
    if keep_queries:
        # For feedback: what each query was predicted (policy model, uncorrected) and charged.
        # Both in the canonical order the assignment indexes (p.deployments, policy.keys).
        out["assignment"] = assignment
        out["charged_j"] = _per_query(p.deployments, assignment, tin, tout)
        out["predicted_j"] = _per_query(policy.deployment_specs(), assignment, tin, tout)
    return out


def _per_query(specs, assignment, tin, tout) -> np.ndarray:
    out = np.zeros(tin.size)
    for j, spec in enumerate(specs):
        sel = assignment == j
        if sel.any():
            out[sel] = np.maximum(terms.predict(spec.energy_coefs, tin[sel].astype(np.float64),
                                                tout[sel].astype(np.float64)), 0.0)
    return out


def _pct(value: float, reference: float) -> float | None:
    return 100.0 * (value - reference) / reference if reference else None
