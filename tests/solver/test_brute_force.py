"""The planner's optimum equals exhaustive enumeration on tiny instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scheduling.planner import solver
from scheduling.planner.types import PlanningError

from .conftest import objective_of, per_query, random_deployments, random_workload, totals

N, D = 6, 3
ALL = np.array(list(itertools.product(range(D), repeat=N)))  # 729 assignments


def brute(tin, tout, deps, objective, zeta=0.5, target=None, budget=None, capacity=False, deadline=None):
    best = None
    counts = np.stack([(ALL == j).sum(axis=1) for j in range(D)], axis=1)
    feasible = ((counts >= 1) & (counts <= N - 1)).all(axis=1)
    for a, ok in zip(ALL, feasible, strict=True):
        if not ok:
            continue
        t = totals(tin, tout, deps, a)
        if target is not None and t["accuracy"] < target - 1e-9:
            continue
        if budget is not None and t["energy"] > budget + 1e-9:
            continue
        if capacity or deadline:
            _, r, _ = per_query(tin, tout, deps)
            bad = False
            for j, d in enumerate(deps):
                run = float(r[np.arange(N), a][a == j].sum())
                if d.capacity_gpu_s is not None and run * d.gpus > d.capacity_gpu_s + 1e-9:
                    bad = True
                if deadline is not None and run > deadline * d.instances + 1e-9:
                    bad = True
            if bad:
                continue
        v = objective_of(tin, tout, deps, a, objective, zeta)
        if objective == "max-accuracy-energy-budget":
            v = -v
        if best is None or v < best - 1e-12:
            best = v
    if best is None:
        return None
    return -best if objective == "max-accuracy-energy-budget" else best


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("objective", ["paper-energy-accuracy", "paper-energy-runtime"])
def test_paper_objectives_match_enumeration(seed, objective):
    rng = np.random.default_rng(seed)
    deps = random_deployments(rng, D)
    tin, tout = random_workload(rng, N, top=6)
    zeta = float(rng.uniform())
    res = solver.plan(tin, tout, deps, objective=objective, zeta=zeta)
    assert res.status == "optimal"
    assert res.objective_value == pytest.approx(brute(tin, tout, deps, objective, zeta), rel=1e-9, abs=1e-12)
    # The reported value is the true objective of the returned assignment.
    assert res.objective_value == pytest.approx(
        objective_of(tin, tout, deps, res.assignment, objective, zeta)
    )
    assert res.bound == pytest.approx(res.objective_value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_constrained_objectives_match_enumeration(seed):
    rng = np.random.default_rng(100 + seed)
    deps = random_deployments(rng, D)
    tin, tout = random_workload(rng, N, top=6)
    acc = np.array([d.accuracy for d in deps])
    target = float(np.sort(acc)[1])  # reachable, yet binding for the cheapest deployment
    want = brute(tin, tout, deps, "min-energy-accuracy-target", target=target)
    if want is None:
        with pytest.raises(PlanningError):
            solver.plan(tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=target)
    else:
        res = solver.plan(
            tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=target, mip_gap=1e-12
        )
        assert res.status == "optimal"
        assert res.objective_value == pytest.approx(want, rel=1e-7)
        assert res.accuracy >= target - 1e-7

    e, _, _ = per_query(tin, tout, deps)
    budget = float(e.min(axis=1).sum() + 0.4 * (e.max(axis=1) - e.min(axis=1)).sum())
    want = brute(tin, tout, deps, "max-accuracy-energy-budget", budget=budget)
    res = solver.plan(
        tin, tout, deps, objective="max-accuracy-energy-budget", energy_budget_j=budget, mip_gap=1e-12
    )
    assert res.objective_value == pytest.approx(want, rel=1e-7)
    assert res.total_energy_j <= budget * (1 + 1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_capacity_and_deadline_match_enumeration(seed):
    rng = np.random.default_rng(200 + seed)
    base = random_deployments(rng, D)
    tin, tout = random_workload(rng, N, top=6)
    _, r, _ = per_query(tin, tout, base)
    # Room for roughly half the workload on each deployment: binding, still feasible.
    deps = [
        type(d)(**{**d.__dict__, "capacity_gpu_s": float(r[:, j].sum() * d.gpus * 0.5)})
        for j, d in enumerate(base)
    ]
    want = brute(tin, tout, deps, "paper-energy-accuracy", capacity=True)
    if want is None:
        with pytest.raises(PlanningError, match="capacity"):
            solver.plan(tin, tout, deps)
        return
    res = solver.plan(tin, tout, deps, mip_gap=1e-12, time_limit_s=20)
    assert res.status == "optimal"
    assert res.objective_value == pytest.approx(want, rel=1e-7, abs=1e-9)

    deadline = float(r.sum(axis=0).max() * 0.45)
    want = brute(tin, tout, base, "paper-energy-accuracy", deadline=deadline)
    if want is not None:
        res = solver.plan(tin, tout, base, deadline_s=deadline, mip_gap=1e-12, time_limit_s=20)
        assert res.objective_value == pytest.approx(want, rel=1e-7, abs=1e-9)
