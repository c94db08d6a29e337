"""With count constraints only, the LP optimum is integral (total unimodularity) and equals the flow."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner import solver

from .conftest import random_deployments, random_workload


@pytest.mark.parametrize("seed", range(10))
def test_glop_vertex_is_integral_and_matches_min_cost_flow(seed):
    rng = np.random.default_rng(seed)
    D = int(rng.integers(2, 6))
    base = random_deployments(rng, D)
    # Uneven explicit shares make the count rows bind.
    lo = rng.uniform(0, 1.0 / D, size=D)
    deps = [
        type(d)(**{**d.__dict__, "min_share": float(lo[j]), "max_share": 0.6}) for j, d in enumerate(base)
    ]
    if sum(d.max_share for d in deps) < 1:
        deps = [type(d)(**{**d.__dict__, "max_share": 1.0}) for d in deps]
    tin, tout = random_workload(rng, 500)
    zeta = float(rng.uniform())
    lp = solver.plan(tin, tout, deps, zeta=zeta, method="lp")
    flow = solver.plan(tin, tout, deps, zeta=zeta, method="flow")
    assert lp.stats["lp_integral"] is True
    assert lp.stats["lp_max_fractionality"] <= 1e-6
    assert not any("fractional" in w for w in lp.warnings)
    assert lp.objective_value == pytest.approx(flow.objective_value, rel=1e-9, abs=1e-9)
    assert flow.status == "optimal" and flow.gap <= 1e-9


def test_lp_and_flow_refuse_side_rows():
    rng = np.random.default_rng(0)
    deps = random_deployments(rng, 3)
    tin, tout = random_workload(rng, 20)
    with pytest.raises(solver.PlanningError, match="count constraints only"):
        solver.plan(
            tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=50, method="flow"
        )


def test_dual_bound_proves_optimality_on_a_large_instance():
    rng = np.random.default_rng(3)
    deps = random_deployments(rng, 6)
    tin, tout = random_workload(rng, 50_000, top=400)
    res = solver.plan(tin, tout, deps, zeta=0.4)
    assert res.status == "optimal"
    assert res.gap <= 1e-9
    assert res.bound <= res.objective_value + 1e-9 * abs(res.objective_value)


def test_dual_bound_is_a_valid_lower_bound_from_any_solution():
    from scheduling.planner.baselines import policies
    from scheduling.planner.objectives import build_problem, class_counts_from_assignment, unit_costs

    for seed in range(5):
        rng = np.random.default_rng(50 + seed)
        deps = random_deployments(rng, 4)
        tin, tout = random_workload(rng, 800)
        p = build_problem(tin, tout, deps)
        costs = unit_costs(p, "paper-energy-accuracy", 0.6)
        best = solver.plan_problem(p, zeta=0.6).objective_value
        x_rr = class_counts_from_assignment(p, policies(p)["round-robin"])
        # mu from a poor solution still gives a bound below the optimum, just a loose one.
        assert solver._dual_bound(p, costs, x_rr) <= best + 1e-9 * abs(best)
        assert float((x_rr * costs).sum()) >= best - 1e-9 * abs(best)
