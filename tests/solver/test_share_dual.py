"""The dual-price planner (share_dual) against the full min-cost flow, its oracle.

Every count-only plan now runs through share_dual; the old one-flow path stays as
``method="flow"``. These tests force the dual rounds on small instances (``min_free``)
and compare objective, feasibility and the certificate with the oracle.
"""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner import share_dual, solver
from scheduling.planner.objectives import build_problem, unit_costs
from scheduling.planner.types import ClassPlan

from .conftest import random_deployments, random_workload


def _bounded(rng, D):
    base = random_deployments(rng, D)
    lo = rng.uniform(0, 1.0 / D, size=D)
    hi = rng.uniform(1.0 / D, 0.9, size=D)
    deps = [type(d)(**{**d.__dict__, "min_share": float(lo[j]), "max_share": float(hi[j])})
            for j, d in enumerate(base)]
    if sum(d.max_share for d in deps) < 1:
        deps = [type(d)(**{**d.__dict__, "max_share": 1.0}) for d in deps]
    return deps


def _oracle(costs, counts, lo, hi):
    """The full flow over every class (share_dual's last resort, the old solver's method)."""
    plan, mu = share_dual._flow_all(costs, counts, lo, hi)
    return plan.total(costs)


@pytest.mark.parametrize("seed", range(30))
def test_dual_rounds_match_the_full_flow(seed):
    rng = np.random.default_rng(1000 + seed)
    D = int(rng.integers(2, 9))
    tin, tout = random_workload(rng, int(rng.integers(2000, 20000)), top=int(rng.integers(30, 1500)))
    p = build_problem(tin, tout, _bounded(rng, D))
    objective = str(rng.choice(["paper-energy-accuracy", "paper-energy-runtime"]))
    costs = unit_costs(p, objective, float(rng.choice([0.0, 1.0, rng.uniform()])))
    C = costs.shape[0]
    # A free set far below the class count, so the rounds (not the fallback) decide.
    plan, bound, mu, stats = share_dual.solve(
        costs, p.class_count, p.lo, p.hi, bins=rng.integers(0, 50, C), min_free=max(C // 40, 4))
    assert stats["dual_rounds"] >= 1
    best = _oracle(costs, p.class_count, p.lo, p.hi)
    obj = plan.total(costs)
    ref = share_dual.gap_floor(costs, p.class_count)
    assert share_dual.relative_gap(obj, best, ref) <= 1e-9
    # The bound is the Lagrangian of the returned prices, recomputed here, and proves the plan.
    assert bound == pytest.approx(share_dual.lagrangian(costs, p.class_count, p.lo, p.hi, mu), rel=1e-12, abs=1e-12)
    assert bound <= best + 1e-9 * abs(best) + ref
    assert share_dual.relative_gap(obj, bound, ref) <= 1e-9
    # Feasible: every query placed once, every count within its bounds.
    x = plan.dense()
    assert (x >= 0).all()
    assert np.array_equal(x.sum(axis=1), p.class_count)
    q = x.sum(axis=0)
    assert (q >= p.lo).all() and (q <= p.hi).all()


@pytest.mark.parametrize("seed", range(6))
def test_planner_default_is_the_dual_path_and_equals_the_flow_oracle(seed):
    rng = np.random.default_rng(2000 + seed)
    deps = _bounded(rng, int(rng.integers(3, 8)))
    tin, tout = random_workload(rng, 60_000, top=600)
    zeta = float(rng.uniform())
    fast = solver.plan(tin, tout, deps, zeta=zeta)
    oracle = solver.plan(tin, tout, deps, zeta=zeta, method="flow")
    assert fast.stats["classes"] > 2 * share_dual.MIN_FREE
    assert fast.method == solver.DUAL_LABEL
    assert oracle.method == solver.FLOW_LABEL
    assert fast.status == "optimal" and fast.gap <= 1e-9
    assert fast.objective_value == pytest.approx(oracle.objective_value, rel=1e-9, abs=1e-12)
    assert fast.bound <= fast.objective_value + 1e-9 * abs(fast.objective_value)
    assert fast.to_dict()["method"] == solver.DUAL_LABEL
    # The per-query assignment honours the class plan and the bounds.
    a = fast.assignment
    counts = np.bincount(a, minlength=len(deps))
    assert counts.sum() == len(tin)
    assert {d.key: int(counts[j]) for j, d in enumerate(deps)} == fast.counts


def test_sweep_points_are_each_proven_and_match_the_oracle():
    rng = np.random.default_rng(7)
    deps = _bounded(rng, 5)
    tin, tout = random_workload(rng, 40_000, top=500)
    zetas = (0.0, 0.25, 0.5, 0.75, 1.0)
    fast = solver.sweep(tin, tout, deps, zetas=zetas)
    oracle = solver.sweep(tin, tout, deps, zetas=zetas, method="flow")
    for f, o in zip(fast, oracle, strict=True):
        assert f.status == "optimal" and f.gap <= 1e-9
        assert f.objective_value == pytest.approx(o.objective_value, rel=1e-9, abs=1e-12)


def test_capacity_rows_keep_the_lp_path_and_say_so():
    rng = np.random.default_rng(11)
    deps = [type(d)(**{**d.__dict__, "capacity_gpu_s": 200.0}) for d in random_deployments(rng, 3)]
    tin, tout = random_workload(rng, 300)
    res = solver.plan(tin, tout, deps, zeta=0.5)
    assert "GLOP" in res.method or "SCIP" in res.method
    with pytest.raises(solver.PlanningError, match="count constraints only"):
        solver.plan(tin, tout, deps, zeta=0.5, method="dual")


def test_infeasible_bounds_are_refused_on_the_dual_path():
    costs = np.array([[1.0, 2.0], [3.0, 1.0]])
    with pytest.raises(share_dual.Infeasible):
        share_dual.solve(costs, np.array([5, 5]), np.array([6, 6]), np.array([10, 10]))


@pytest.mark.parametrize("seed", range(5))
def test_class_plan_aggregates_equal_the_dense_products(seed):
    rng = np.random.default_rng(seed)
    C, D = 500, 4
    x = np.zeros((C, D), dtype=np.int64)
    x[np.arange(C), rng.integers(0, D, C)] = rng.integers(1, 9, C)
    split = rng.choice(C, 40, replace=False)
    x[split] = rng.integers(0, 5, (40, D))
    x[split, 0] += 1  # every class keeps at least one query
    plan = ClassPlan.from_dense(x)
    assert np.array_equal(plan.dense(), x)
    values = rng.normal(size=(C, D))
    assert np.allclose(plan.per_deployment(values), (x * values).sum(axis=0), rtol=1e-12, atol=1e-9)
    tokens = rng.integers(1, 100, C).astype(float)
    assert np.allclose(plan.per_deployment(tokens), (x * tokens[:, None]).sum(axis=0))
    assert np.array_equal(plan.queries(), x.sum(axis=0))
    for d in range(D):
        assert np.array_equal(plan.column(d), x[:, d])
