"""Capacity and deadline rows hold; infeasible or invalid input fails with a clear PlanningError."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner import solver
from scheduling.planner.types import DeploymentSpec, PlanningError

from .conftest import per_query, random_deployments, random_workload, totals


def _with(deps, **kw):
    return [type(d)(**{**d.__dict__, **kw}) for d in deps]


def test_capacity_is_respected_and_binds():
    rng = np.random.default_rng(5)
    deps = random_deployments(rng, 4)
    tin, tout = random_workload(rng, 3000)
    free = solver.plan(tin, tout, deps)
    # Cap every deployment at 60% of the GPU-seconds the unconstrained plan gives the busiest one.
    cap = 0.6 * max(v["gpu_s"] for v in free.per_deployment.values())
    capped = solver.plan(tin, tout, _with(deps, capacity_gpu_s=cap), time_limit_s=20)
    assert capped.status in ("optimal", "feasible")
    assert capped.gap is not None and capped.gap < 0.01
    gpu_s = totals(tin, tout, deps, capped.assignment)["gpu_s"]
    assert max(gpu_s) <= cap * (1 + 1e-9)
    assert max(v["gpu_s"] for v in free.per_deployment.values()) > cap  # the row really bound
    assert capped.objective_value >= free.objective_value - 1e-9


def test_deadline_limits_runtime_per_instance():
    rng = np.random.default_rng(6)
    deps = _with(random_deployments(rng, 3), instances=2)
    tin, tout = random_workload(rng, 400)
    _, r, _ = per_query(tin, tout, deps)
    deadline = float(r.sum(axis=0).min() / 2 * 0.8)
    res = solver.plan(tin, tout, deps, deadline_s=deadline, time_limit_s=10)
    free = solver.plan(tin, tout, deps)
    assert max(v["runtime_s"] for v in free.per_deployment.values()) > deadline * 2  # the row binds
    for j, d in enumerate(deps):
        assert res.per_deployment[d.key]["runtime_s"] <= deadline * 2 * (1 + 1e-9)
        run = float(r[np.arange(len(tin)), res.assignment][res.assignment == j].sum())
        assert run == pytest.approx(res.per_deployment[d.key]["runtime_s"])


@pytest.fixture
def small():
    rng = np.random.default_rng(9)
    return random_deployments(rng, 3), *random_workload(rng, 30)


def test_min_shares_above_one(small):
    deps, tin, tout = small
    with pytest.raises(PlanningError, match=r"minimum shares sum to 1\.2 \(> 1\)"):
        solver.plan(tin, tout, _with(deps, min_share=0.4))


def test_max_shares_below_one(small):
    deps, tin, tout = small
    with pytest.raises(PlanningError, match=r"maximum shares sum to 0\.9 \(< 1\)"):
        solver.plan(tin, tout, _with(deps, max_share=0.3))


def test_capacity_too_small(small):
    deps, tin, tout = small
    with pytest.raises(PlanningError, match="capacity too small"):
        solver.plan(tin, tout, _with(deps, capacity_gpu_s=1e-3))


def test_capacity_too_small_in_total(small):
    deps, tin, tout = small
    _, r, _ = per_query(tin, tout, deps)
    # Each deployment could hold its minimum share, but all together cannot hold the workload.
    capped = [
        type(d)(**{**d.__dict__, "capacity_gpu_s": float(r[:, j].sum() * d.gpus * 0.2)})
        for j, d in enumerate(deps)
    ]
    with pytest.raises(PlanningError, match="capacity too small"):
        solver.plan(tin, tout, capped)


def test_accuracy_target_above_best(small):
    deps, tin, tout = small
    best = max(d.accuracy for d in deps)
    with pytest.raises(PlanningError, match="above the most accurate deployment"):
        solver.plan(tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=best + 1)


def test_accuracy_target_unreachable_under_shares(small):
    deps, tin, tout = small
    best = max(d.accuracy for d in deps)
    # The paper's default keeps one query on each other deployment, so the best accuracy alone is out of reach.
    with pytest.raises(PlanningError, match="best accuracy the share bounds allow"):
        solver.plan(tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=best - 1e-6)


def test_energy_budget_too_small(small):
    deps, tin, tout = small
    with pytest.raises(PlanningError, match="least energy the share"):
        solver.plan(tin, tout, deps, objective="max-accuracy-energy-budget", energy_budget_j=0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"objective": "fastest"}, "unknown objective"),
        ({"zeta": 1.5}, "zeta must lie in 0..1"),
        ({"objective": "min-energy-accuracy-target"}, "needs accuracy_target"),
        ({"objective": "max-accuracy-energy-budget"}, "needs energy_budget_j"),
        ({"method": "magic"}, "unknown method"),
        ({"deadline_s": 0}, "deadline_s must be positive"),
    ],
)
def test_bad_arguments(small, kwargs, message):
    deps, tin, tout = small
    with pytest.raises(PlanningError, match=message):
        solver.plan(tin, tout, deps, **kwargs)


def test_bad_workloads_and_specs(small):
    deps, tin, tout = small
    with pytest.raises(PlanningError, match="empty"):
        solver.plan([], [], deps)
    with pytest.raises(PlanningError, match="differ in length"):
        solver.plan(tin, tout[:-1], deps)
    with pytest.raises(PlanningError, match="must not be negative"):
        solver.plan(np.array([1, -2]), np.array([1, 1]), deps)
    with pytest.raises(PlanningError, match="whole token counts"):
        solver.plan(np.array([1.5, 2]), np.array([1, 1]), deps)
    with pytest.raises(PlanningError, match="no deployments"):
        solver.plan(tin, tout, [])
    with pytest.raises(PlanningError, match="listed twice"):
        solver.plan(tin, tout, [deps[0], deps[0]])
    with pytest.raises(PlanningError, match="unknown energy model terms"):
        solver.plan(tin, tout, [DeploymentSpec("x @ y", 50, {"tin3": 1.0}, {"tout": 1.0})])
    with pytest.raises(PlanningError, match="min_share 0.6 is above max_share 0.5"):
        solver.plan(tin, tout, _with(deps, min_share=0.6, max_share=0.5))


def test_paper_default_shares_and_their_relaxation():
    rng = np.random.default_rng(2)
    deps = random_deployments(rng, 4)
    tin, tout = random_workload(rng, 50)
    res = solver.plan(tin, tout, deps, zeta=1.0)
    assert all(1 <= c <= 49 for c in res.counts.values())
    free = solver.plan(tin, tout, deps, zeta=1.0, paper_default_shares=False)
    assert free.objective_value <= res.objective_value + 1e-12
    few = solver.plan(tin[:2], tout[:2], deps)
    assert any("at-least-one rule is dropped" in w for w in few.warnings)
    assert sum(few.counts.values()) == 2
