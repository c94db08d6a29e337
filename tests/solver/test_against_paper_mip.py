"""The class-count planner reaches the optimum of the paper's independent per-query MIP."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_schedule_common import azure_workload, published_deployments
from scheduling.planner import solver
from tests.oracles import paper_mip

from .conftest import objective_of, per_query, random_deployments, random_workload

SEEDS = range(30)


def _instance(seed, n=40, D=3):
    rng = np.random.default_rng(1000 + seed)
    deps = random_deployments(rng, D)
    tin, tout = random_workload(rng, n)
    return rng, deps, tin, tout


@pytest.mark.parametrize("objective", ["paper-energy-accuracy", "paper-energy-runtime"])
def test_paper_forms_equal_per_query_mip(objective):
    for seed in SEEDS:
        rng, deps, tin, tout = _instance(seed)
        zeta = float(rng.uniform())
        ours = solver.plan(tin, tout, deps, objective=objective, zeta=zeta)
        ref = paper_mip.solve(tin, tout, deps, objective=objective, zeta=zeta)
        assert ref.status == "optimal", seed
        assert ours.status == "optimal", seed
        assert ours.objective_value == pytest.approx(ref.objective_value, rel=1e-7, abs=1e-9), seed
        # Both report the true objective of their own assignment.
        assert ref.objective_value == pytest.approx(
            objective_of(tin, tout, deps, ref.assignment, objective, zeta)
        )


def test_accuracy_target_equals_per_query_mip():
    for seed in SEEDS:
        _, deps, tin, tout = _instance(seed)
        target = float(np.mean([d.accuracy for d in deps]))
        ours = solver.plan(
            tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=target, mip_gap=1e-12
        )
        ref = paper_mip.solve(tin, tout, deps, objective="min-energy-accuracy-target", accuracy_target=target)
        assert ref.status == "optimal"
        assert ours.objective_value == pytest.approx(ref.objective_value, rel=1e-7), seed
        assert ours.accuracy >= target - 1e-7


def test_energy_budget_equals_per_query_mip():
    for seed in SEEDS:
        _, deps, tin, tout = _instance(seed)
        e, _, _ = per_query(tin, tout, deps)
        budget = float(e.min(axis=1).sum() * 0.5 + e.max(axis=1).sum() * 0.5)
        ours = solver.plan(
            tin, tout, deps, objective="max-accuracy-energy-budget", energy_budget_j=budget, mip_gap=1e-12
        )
        ref = paper_mip.solve(tin, tout, deps, objective="max-accuracy-energy-budget", energy_budget_j=budget)
        assert ref.status == "optimal"
        assert ours.objective_value == pytest.approx(ref.objective_value, rel=1e-7), seed
        assert ours.total_energy_j <= budget * (1 + 1e-9)


def test_capacity_equals_per_query_mip():
    for seed in range(10):
        _, base, tin, tout = _instance(seed, n=16)
        _, r, _ = per_query(tin, tout, base)
        deps = [
            type(d)(**{**d.__dict__, "capacity_gpu_s": float(r[:, j].sum() * d.gpus * 0.45)})
            for j, d in enumerate(base)
        ]
        ours = solver.plan(tin, tout, deps, mip_gap=1e-12, time_limit_s=20)
        ref = paper_mip.solve(tin, tout, deps, time_limit_s=20)
        assert ref.status == "optimal" and ours.status == "optimal", seed
        assert ours.objective_value == pytest.approx(ref.objective_value, rel=1e-7, abs=1e-9), seed


def test_explicit_shares_equal_per_query_mip():
    for seed in range(10):
        rng, base, tin, tout = _instance(seed)
        shares = [(0.1, 0.5), (0.2, 0.6), (0.0, 0.4)]
        deps = [
            type(d)(**{**d.__dict__, "min_share": lo, "max_share": hi})
            for d, (lo, hi) in zip(base, shares, strict=True)
        ]
        ours = solver.plan(tin, tout, deps, zeta=0.7)
        ref = paper_mip.solve(tin, tout, deps, zeta=0.7)
        assert ours.objective_value == pytest.approx(ref.objective_value, rel=1e-7, abs=1e-9)
        for (lo, hi), d in zip(shares, deps, strict=True):
            assert lo * 40 - 1e-9 <= ours.counts[d.key] <= hi * 40 + 1e-9


def test_published_models_on_azure_trace_equal_per_query_mip(azure_trace):
    deps = published_deployments()
    tin, tout = azure_workload(150, seed=7)
    # The published a0 terms are negative: planning refuses them unless clamping is allowed,
    # and then every result says so (the per-query MIP clamps the same way).
    with pytest.raises(solver.PlanningError, match="zero or negative energy"):
        solver.plan(tin, tout, deps, zeta=0.5)
    ours = solver.plan(tin, tout, deps, zeta=0.5, allow_clamping=True)
    ref = paper_mip.solve(tin, tout, deps, zeta=0.5)
    assert ours.objective_value == pytest.approx(ref.objective_value, rel=1e-9)
    assert any(w.startswith("CLAMPED (allow_clamping)") for w in ours.warnings)
