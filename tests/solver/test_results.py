"""Clamping, deterministic expansion, baselines' metrics and the zeta sweep."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.services import solver
from scheduling.services.types import DeploymentSpec

from .conftest import per_query, random_deployments, random_workload, totals


def test_negative_energy_is_clamped_and_reported():
    # a0 < 0 as in the paper's Table 5.2: long prompts with short answers predict negative joules.
    deps = [
        DeploymentSpec("neg @ a", 50.0, {"tin": -4.0, "tout": 30.0, "tin_tout": 0.04}, {"tout": 0.1}),
        DeploymentSpec("pos @ b", 55.0, {"tin": 1.0, "tout": 60.0}, {"tout": 0.2}),
    ]
    tin = np.array([500, 500, 10, 10, 500])
    tout = np.array([2, 2, 50, 60, 3])
    res = solver.plan(tin, tout, deps, zeta=1.0)
    warn = [w for w in res.warnings if w.startswith("neg @ a") and "energy" in w]
    assert warn == [
        "neg @ a: predicted energy is negative for 2 token classes (3 queries); clamped to zero (never credited)"
    ]
    assert all(v["energy_j"] >= 0 for v in res.per_deployment.values())
    # The negative queries count as 0 J, never as a credit against the others.
    assert res.total_energy_j == pytest.approx(totals(tin, tout, deps, res.assignment)["energy"])
    raw = -4.0 * 500 + 30.0 * 2 + 0.04 * 1000
    assert raw < 0
    assert res.total_energy_j >= 0


def test_expansion_is_deterministic_and_in_index_order():
    rng = np.random.default_rng(4)
    deps = random_deployments(rng, 3)
    tin = np.array([5, 5, 5, 5, 5, 5, 7, 7, 5, 7])
    tout = np.array([3, 3, 3, 3, 3, 3, 1, 1, 3, 1])
    deps = [type(d)(**{**d.__dict__, "min_share": 0.2, "max_share": 0.4}) for d in deps]
    a = solver.plan(tin, tout, deps)
    b = solver.plan(tin, tout, deps)
    assert np.array_equal(a.assignment, b.assignment)
    for key in ((5, 3), (7, 1)):
        members = np.flatnonzero((tin == key[0]) & (tout == key[1]))
        seq = a.assignment[members]
        assert np.all(np.diff(seq) >= 0), "within a class, deployments fill in deployment order"
    assert {d.key: int((a.assignment == j).sum()) for j, d in enumerate(deps)} == a.counts


def test_assignment_metrics_match_independent_totals():
    rng = np.random.default_rng(8)
    deps = random_deployments(rng, 4)
    tin, tout = random_workload(rng, 2000)
    res = solver.plan(tin, tout, deps, zeta=0.3)
    t = totals(tin, tout, deps, res.assignment)
    assert res.total_energy_j == pytest.approx(t["energy"])
    assert res.total_runtime_s == pytest.approx(t["runtime"])
    assert res.mean_runtime_s == pytest.approx(t["runtime"] / 2000)
    assert res.accuracy == pytest.approx(t["accuracy"])
    assert sum(v["queries"] for v in res.per_deployment.values()) == 2000
    assert sum(v["tokens"] for v in res.per_deployment.values()) == int((tin + tout).sum())
    d = res.to_dict(include_assignment=True)
    assert d["assignment"] == [int(x) for x in res.assignment]
    assert d["status"] == "optimal" and d["bound"] == pytest.approx(d["objective_value"])


def test_baselines_metrics_are_consistent():
    rng = np.random.default_rng(11)
    deps = random_deployments(rng, 3)
    tin, tout = random_workload(rng, 300)
    base = solver.baselines(tin, tout, deps, seed=3)
    assert set(base) == {"round-robin", "random", "greedy-energy", "accuracy-first"} | {
        f"single:{d.key}" for d in deps
    }
    assert np.array_equal(base["round-robin"].assignment, np.arange(300) % 3)
    e, _, _ = per_query(tin, tout, deps)
    assert np.array_equal(base["greedy-energy"].assignment, np.argmin(e, axis=1))
    best = int(np.argmax([d.accuracy for d in deps]))
    assert np.all(base["accuracy-first"].assignment == best)
    again = solver.baselines(tin, tout, deps, seed=3)["random"].assignment
    other = solver.baselines(tin, tout, deps, seed=4)["random"].assignment
    assert np.array_equal(base["random"].assignment, again) and not np.array_equal(again, other)
    for name, r in base.items():
        t = totals(tin, tout, deps, r.assignment)
        assert r.total_energy_j == pytest.approx(t["energy"]), name
        assert r.total_runtime_s == pytest.approx(t["runtime"]), name
        assert r.accuracy == pytest.approx(t["accuracy"]), name
    for d in deps:
        single = base[f"single:{d.key}"]
        assert single.status == "infeasible"
        assert any(
            "ignores the plan's constraints" in w and "above its maximum" in w for w in single.warnings
        )
    assert base["round-robin"].status == "feasible"
    # The optimal plan is never worse than a feasible baseline on the same objective.
    plan = solver.plan(tin, tout, deps, zeta=0.5)
    assert plan.objective_value <= base["round-robin"].objective_value + 1e-12
    assert plan.objective_value <= base["random"].objective_value + 1e-12


def test_sweep_traces_a_monotone_frontier():
    rng = np.random.default_rng(13)
    deps = random_deployments(rng, 4)
    tin, tout = random_workload(rng, 5000, top=200)
    res = solver.sweep(tin, tout, deps)
    assert [r.zeta for r in res] == pytest.approx([i / 10 for i in range(11)])
    assert all(r.status == "optimal" for r in res)
    energy = np.array([r.total_energy_j for r in res])
    acc = np.array([r.accuracy for r in res])
    # Weighting energy more never buys more energy or more accuracy (exact optima of a weighted sum).
    assert np.all(np.diff(energy) <= 1e-6 * energy[:-1])
    assert np.all(np.diff(acc) <= 1e-9)
    assert energy[0] > energy[-1] and acc[0] > acc[-1]
    single = solver.plan(tin, tout, deps, zeta=0.3)
    assert res[3].objective_value == pytest.approx(single.objective_value)


def test_estimated_energy_is_labelled():
    rng = np.random.default_rng(1)
    deps = random_deployments(rng, 2)
    deps[1] = type(deps[1])(**{**deps[1].__dict__, "energy_estimated": True})
    tin, tout = random_workload(rng, 20)
    res = solver.plan(tin, tout, deps)
    assert res.energy_estimated is True
    assert any("estimated" in w and deps[1].key in w for w in res.warnings)
    assert solver.baselines(tin, tout, deps)["round-robin"].energy_estimated is True
