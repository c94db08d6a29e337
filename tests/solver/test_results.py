"""Clamping, deterministic expansion, baselines' metrics and the zeta sweep."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner import solver
from scheduling.planner.types import DeploymentSpec

from .conftest import per_query, random_deployments, random_workload, totals


def test_negative_energy_is_refused_unless_clamping_is_allowed():
    # a0 < 0 as in the paper's Table 5.2: long prompts with short answers predict negative joules.
    deps = [
        DeploymentSpec("neg @ a", 50.0, {"tin": -4.0, "tout": 30.0, "tin_tout": 0.04}, {"tout": 0.1}),
        DeploymentSpec("pos @ b", 55.0, {"tin": 1.0, "tout": 60.0}, {"tout": 0.2}),
    ]
    tin = np.array([500, 500, 10, 10, 500])
    tout = np.array([2, 2, 50, 60, 3])
    with pytest.raises(solver.PlanningError) as err:
        solver.plan(tin, tout, deps, zeta=1.0)
    # Names the deployment and how many queries would have been free.
    assert str(err.value).startswith("neg @ a: its energy model predicts zero or negative energy for 3 of the 5 "
                                     "queries")
    assert "allow_clamping" in str(err.value)
    with pytest.raises(solver.PlanningError, match="neg @ a"):
        solver.baselines(tin, tout, deps)
    res = solver.plan(tin, tout, deps, zeta=1.0, allow_clamping=True)
    warn = [w for w in res.warnings if "neg @ a" in w and "energy" in w]
    assert warn == ["CLAMPED (allow_clamping): neg @ a: its energy model predicts zero or negative energy for 3 "
                    "of the 5 queries; clamped to zero, so this plan counts them as free and its savings are "
                    "overstated"]
    assert all(v["energy_j"] >= 0 for v in res.per_deployment.values())
    # The negative queries count as 0 J, never as a credit against the others.
    assert res.total_energy_j == pytest.approx(totals(tin, tout, deps, res.assignment)["energy"])
    assert -4.0 * 500 + 30.0 * 2 + 0.04 * 1000 < 0 and res.total_energy_j >= 0
    base = solver.baselines(tin, tout, deps, allow_clamping=True)
    assert all(any(w.startswith("CLAMPED") for w in b.warnings) for b in base.values())


def test_extrapolated_share_per_deployment_on_a_hand_made_case():
    # Range tin 8-2048, tout 8-2048 on "a"; "b" has no range (published-style: unknown).
    a = DeploymentSpec("a", 60.0, {"intercept": 1.0, "tout": 1.0}, {"tout": 0.1},
                       tin_range=(8, 2048), tout_range=(8, 2048))
    b = DeploymentSpec("b", 50.0, {"intercept": 1.0, "tout": 2.0}, {"tout": 0.1})
    # Queries: inside, tin too long, tout too short, inside.
    tin = np.array([100, 3000, 100, 50])
    tout = np.array([10, 10, 4, 90])
    res = solver.plan(tin, tout, [a, b], objective="min-energy-accuracy-target", accuracy_target=59.99,
                      paper_default_shares=False)
    # Accuracy 60 needs everything on "a": energy per query 1 + tout = 11, 11, 5, 91.
    assert res.counts == {"a": 4, "b": 0}
    pa = res.per_deployment["a"]
    assert pa["extrapolated_queries"] == 2
    assert pa["extrapolated_share"] == pytest.approx(0.5)
    assert pa["extrapolated_energy_share"] == pytest.approx((11 + 5) / (11 + 11 + 5 + 91))
    assert res.per_deployment["b"]["extrapolated_queries"] == 0
    assert res.to_dict()["per_deployment"]["a"]["extrapolated_queries"] == 2
    assert any(w.startswith("a: 2 of the 4 queries (50.0%) lie outside its models' measured range")
               for w in res.warnings)


@pytest.mark.parametrize("zeta", [0.0, 0.5, 1.0])
def test_plan_and_baselines_do_not_depend_on_deployment_order(zeta):
    rng = np.random.default_rng(11)
    deps = random_deployments(rng, 4)
    # Two deployments with identical models and accuracy: ties everywhere, most at zeta 1.
    deps.append(DeploymentSpec("twin @ hw0", deps[0].accuracy, deps[0].energy_coefs, deps[0].runtime_coefs,
                               gpus=deps[0].gpus))
    tin, tout = random_workload(rng, 500)
    reference = None
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 4, 0, 3, 1]):
        listed = [deps[i] for i in order]
        res = solver.plan(tin, tout, listed, zeta=zeta)
        base = solver.baselines(tin, tout, listed, seed=3, zeta=zeta)
        # The same deployment for every query, whatever index the caller gave it.
        per_query = np.array([listed[j].key for j in res.assignment])
        view = (per_query.tolist(), res.counts, res.total_energy_j,
                {name: (np.array([listed[j].key for j in b.assignment]).tolist(), b.counts, b.total_energy_j)
                 for name, b in base.items()})
        if reference is None:
            reference = view
        else:
            assert view == reference, order


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
