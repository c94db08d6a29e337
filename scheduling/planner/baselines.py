"""Simple placement policies, measured with the same metrics as the planner.

A baseline is what an operator would do without an optimiser. Each returns a
PlanResult (status "feasible", or "infeasible" with a warning when it breaks
the share bounds or capacities the planner has to respect), so savings can be
read off side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .objective_registry import PAPER_ENERGY_ACCURACY
from .objectives import (
    Problem,
    build_problem,
    metrics,
    reported_value,
    unit_costs,
    violations,
)
from .types import ClassPlan, PlanResult


def baselines(
    tin,
    tout,
    deployments,
    *,
    seed: int = 0,
    objective: str = PAPER_ENERGY_ACCURACY.name,
    zeta: float = 0.5,
    paper_default_shares: bool = True,
    deadline_s: float | None = None,
    allow_clamping: bool = False,
) -> dict[str, PlanResult]:
    """All baselines by name: round-robin, random, single:<key> each, greedy-energy, accuracy-first.

    ``objective``/``zeta`` only decide which objective value is reported with
    each baseline (for the constrained objectives: its energy or accuracy).
    """
    p = build_problem(
        tin, tout, deployments, paper_default_shares=paper_default_shares, deadline_s=deadline_s,
        allow_clamping=allow_clamping,
    )
    return baselines_for_problem(p, seed=seed, objective=objective, zeta=zeta)


def policies(p: Problem, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-query deployment index of every baseline."""
    D = len(p.deployments)
    n = p.n
    out = {
        "round-robin": np.arange(n, dtype=np.int64) % D,
        "random": np.random.default_rng(seed).integers(0, D, size=n, dtype=np.int64),
    }
    for j, d in enumerate(p.deployments):
        out[f"single:{d.key}"] = np.full(n, j, dtype=np.int64)
    # argmin/argmax take the first deployment on ties, which keeps these deterministic.
    out["greedy-energy"] = np.argmin(p.energy, axis=1)[p.inverse]
    out["accuracy-first"] = np.full(n, int(np.argmax(p.accuracy)), dtype=np.int64)
    return out


def class_policies(p: Problem, seed: int = 0) -> dict[str, tuple[np.ndarray, Callable[[], np.ndarray]]]:
    """Every baseline of ``policies`` as class counts (a ClassPlan), with a function giving its
    per-query assignment on demand.

    The metrics need class counts only, so a policy that depends on a query's class
    alone costs O(classes); round-robin and random, which depend on the query's
    position, cost one counting pass. tests/solver/test_linear_aggregation.py checks
    that these equal ``policies``' assignments counted per class.
    """
    C, D, n = len(p.class_count), len(p.deployments), p.n

    none = np.zeros(0, dtype=np.int64)

    def per_class(choice: np.ndarray) -> ClassPlan:
        # Compact: a dense (C, D) per baseline cost more than the plan itself at 2M classes.
        return ClassPlan(choice.astype(np.int16), p.class_count, none, np.zeros((0, D), dtype=np.int64))

    def counted(assignment: np.ndarray | None) -> np.ndarray:
        key = p.inverse * D
        if assignment is None:  # round-robin: query i on i mod D, without an n-long arange
            whole = n - n % D  # rows of D consecutive queries: one broadcast pass, not D strided ones
            key[:whole].reshape(-1, D)[:] += np.arange(D, dtype=np.int64)
            key[whole:] += np.arange(n - whole, dtype=np.int64)
        else:
            key += assignment
        return ClassPlan.from_dense(np.bincount(key, minlength=C * D).reshape(C, D))

    def round_robin():
        return np.arange(n, dtype=np.int64) % D

    def random():
        return np.random.default_rng(seed).integers(0, D, size=n, dtype=np.int64)

    out = {"round-robin": (counted(None), round_robin), "random": (counted(random()), random)}
    for j, d in enumerate(p.deployments):
        out[f"single:{d.key}"] = (ClassPlan.single(j, p.class_count, D), lambda j=j: np.full(n, j, dtype=np.int64))
    greedy = np.argmin(p.energy, axis=1)
    out["greedy-energy"] = (per_class(greedy), lambda: greedy[p.inverse])
    best = int(np.argmax(p.accuracy))
    out["accuracy-first"] = (ClassPlan.single(best, p.class_count, D), lambda: np.full(n, best, dtype=np.int64))
    return out


def baselines_for_problem(
    p: Problem, *, seed=0, objective=PAPER_ENERGY_ACCURACY.name, zeta=0.5, costs=None
) -> dict[str, PlanResult]:
    """``costs``: unit_costs(p, objective, zeta) when the caller has it (the plan's own)."""
    results = {}
    if costs is None:
        costs = unit_costs(p, objective, zeta)  # once for all baselines: the same objective and zeta
    for name, (x, assignment) in class_policies(p, seed).items():
        t0 = time.perf_counter()
        m = metrics(p, x)
        warnings = list(p.warnings)
        broken = violations(p, x)
        if broken:
            warnings.append("ignores the plan's constraints: " + "; ".join(broken))
        if p.energy_estimated:
            est = [d.key for d in p.deployments if d.energy_estimated]
            warnings.append(f"energy of {', '.join(est)} is estimated, not measured")
        value = reported_value(objective, x.total(costs))
        x.drop_cache()
        results[name] = PlanResult(
            status="infeasible" if broken else "feasible",
            objective=objective,
            objective_value=value,
            bound=None,
            gap=None,
            assignment=lambda a=assignment: p.to_caller(a()),
            counts=m["counts"],
            total_energy_j=m["total_energy_j"],
            total_energy_low_j=m["total_energy_low_j"],
            total_energy_high_j=m["total_energy_high_j"],
            total_runtime_s=m["total_runtime_s"],
            mean_runtime_s=m["mean_runtime_s"],
            accuracy=m["accuracy"],
            solve_seconds=time.perf_counter() - t0,
            method=f"baseline:{name}",
            warnings=warnings,
            per_deployment=m["per_deployment"],
            zeta=zeta,
            name=name,
            energy_estimated=p.energy_estimated,
            class_counts=x,
        )
    return results
