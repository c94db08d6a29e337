"""The O(n) class aggregation and per-query expansion give exactly what the sorting versions gave.

The oracles below are verbatim copies of the implementations before issue 11
(np.unique on pair keys; an argsort of the class index): every output must be
equal bit for bit, dtype included, on random workloads full of ties.
"""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner import objectives, solver
from tests.solver.conftest import random_deployments


def old_aggregate(tin, tout):
    tin = np.asarray(tin).astype(np.int64)
    tout = np.asarray(tout).astype(np.int64)
    base = int(tout.max()) + 1
    keys = tin * base + tout
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return uniq // base, uniq % base, counts.astype(np.int64), inverse.astype(np.int64)


def old_expand(inverse, x):
    C, D = x.shape
    order = np.argsort(inverse, kind="stable")
    seq = np.repeat(np.tile(np.arange(D, dtype=np.int64), C), x.ravel())
    assignment = np.empty(inverse.size, dtype=np.int64)
    assignment[order] = seq
    return assignment


def assert_identical(a, b):
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert np.array_equal(a, b)


def workloads():
    """(label, tin, tout): heavy ties, zeros, one query, one class, wide and sparse ranges."""
    rng = np.random.default_rng(11)
    yield "ties", rng.integers(1, 6, 2000), rng.integers(1, 4, 2000)
    yield "zeros", rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    yield "one query", np.array([7]), np.array([3])
    yield "one class", np.full(300, 42), np.full(300, 9)
    yield "trace-like", rng.lognormal(6.5, 1.0, 20000).astype(int) + 1, rng.lognormal(4.8, 0.8, 20000).astype(int) + 1
    yield "int32 input", rng.integers(1, 50, 5000).astype(np.int32), rng.integers(1, 30, 5000).astype(np.int32)
    for seed in range(20):
        r = np.random.default_rng(seed)
        n = int(r.integers(1, 3000))
        yield f"seed {seed}", r.integers(1, int(r.integers(2, 200)), n), r.integers(1, int(r.integers(2, 100)), n)


@pytest.mark.parametrize("label,tin,tout", list(workloads()), ids=lambda v: v if isinstance(v, str) else "")
def test_aggregate_equals_sorting_version(label, tin, tout, monkeypatch):
    def refuse(*a):
        raise AssertionError("the counting path should have handled a bounded workload")

    monkeypatch.setattr(objectives, "_aggregate_sorted", refuse)
    for new, old in zip(objectives.aggregate(tin, tout), old_aggregate(tin, tout), strict=True):
        assert_identical(new, old)


def test_wide_sparse_tokens_fall_back_to_sorting_and_still_agree():
    rng = np.random.default_rng(5)
    tin = rng.integers(1, 10**12, 1000)
    tin[::7] = tin[0]  # ties
    tout = rng.integers(1, 10**6, 1000)
    tout[::7] = tout[0]
    for new, old in zip(objectives.aggregate(tin, tout), old_aggregate(tin, tout), strict=True):
        assert_identical(new, old)


def random_split(rng, counts, D, spread: float):
    """Class counts spread over D deployments: with probability ``spread`` a class is split."""
    x = np.zeros((counts.size, D), dtype=np.int64)
    for c, k in enumerate(counts):
        if rng.random() < spread:
            x[c] = rng.multinomial(k, rng.dirichlet(np.ones(D)))
        else:
            x[c, rng.integers(D)] = k
    return x


@pytest.mark.parametrize("seed", range(12))
def test_expand_equals_sorting_version(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4000))
    tin, tout = rng.integers(1, 30, n), rng.integers(1, 20, n)
    p_tin, p_tout, counts, inverse = objectives.aggregate(tin, tout)
    D = int(rng.integers(1, 8))
    x = random_split(rng, counts, D, spread=float(rng.choice([0.0, 0.05, 0.5, 1.0])))
    p = type("P", (), {"inverse": inverse, "class_count": counts, "n": n})()
    assert_identical(solver.expand(p, x), old_expand(inverse, x))


def test_expand_with_more_split_classes_than_one_radix_digit():
    # Over 65,536 split classes take the two-pass (32-bit) radix sort.
    rng = np.random.default_rng(3)
    n = 400_000
    tin, tout = rng.integers(1, 300, n), rng.integers(1, 300, n)
    _, _, counts, inverse = objectives.aggregate(tin, tout)
    x = np.zeros((counts.size, 3), dtype=np.int64)
    x[:, 0] = counts // 2
    x[:, 2] = counts - counts // 2
    assert np.count_nonzero((x > 0).sum(axis=1) > 1) > 1 << 16
    p = type("P", (), {"inverse": inverse, "class_count": counts, "n": n})()
    assert_identical(solver.expand(p, x), old_expand(inverse, x))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("objective", ["paper-energy-accuracy", "min-energy-accuracy-target"])
def test_plans_are_unchanged(seed, objective, monkeypatch):
    """Whole plans (metrics, objective, per-query assignment) with the old and new code agree."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(50, 3000))
    tin, tout = rng.integers(1, 40, n), rng.integers(1, 20, n)
    deps = random_deployments(rng, int(rng.integers(2, 6)))
    kw = {"objective": objective, "zeta": float(rng.choice([0.0, 0.3, 0.5, 1.0]))}
    if objective == "min-energy-accuracy-target":
        kw["accuracy_target"] = float(np.mean([d.accuracy for d in deps]))
    new = solver.plan(tin, tout, deps, **kw)
    monkeypatch.setattr(objectives, "aggregate", old_aggregate)
    # The planner hands expand a compact ClassPlan now; the old expand takes the dense counts,
    # and the old planner mapped the expanded array to the caller's order afterwards.
    def old_path(p, x, in_caller_order=False):
        out = old_expand(p.inverse, x.dense())
        return p.to_caller(out) if in_caller_order else out

    monkeypatch.setattr(solver, "expand", old_path)
    old = solver.plan(tin, tout, deps, **kw)
    drop = ("solve_seconds", "stats")
    assert {k: v for k, v in new.to_dict().items() if k not in drop} == {
        k: v for k, v in old.to_dict().items() if k not in drop
    }
    assert_identical(new.assignment, old.assignment)


@pytest.mark.parametrize("seed", range(6))
def test_class_level_baselines_equal_the_per_query_policies(seed):
    from scheduling.planner.baselines import class_policies, policies

    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(1, 3000))
    p = objectives.build_problem(rng.integers(1, 40, n), rng.integers(1, 20, n),
                                 random_deployments(rng, int(rng.integers(1, 6))))
    per_query = policies(p, seed)
    by_class = class_policies(p, seed)
    assert list(by_class) == list(per_query)
    for name, assignment in per_query.items():
        x, lazy = by_class[name]
        assert_identical(x.dense(), objectives.class_counts_from_assignment(p, assignment))
        assert_identical(lazy(), assignment)


def test_sweep_points_expand_only_when_read():
    rng = np.random.default_rng(9)
    tin, tout = rng.integers(1, 40, 500), rng.integers(1, 20, 500)
    deps = random_deployments(rng, 3)
    results = solver.sweep(tin, tout, deps, zetas=(0.2, 0.8))
    assert all(callable(r._assignment) for r in results)
    first = results[0].assignment
    assert not callable(results[0]._assignment) and callable(results[1]._assignment)
    assert_identical(first, old_expand(objectives.aggregate(tin, tout)[3], results[0].class_counts))


def test_single_deployment_plan_aggregates_equal_the_general_path_on_random_inputs():
    """ClassPlan.single (one dot product per column) against the same plan built as any other."""
    from scheduling.planner.types import ClassPlan

    rng = np.random.default_rng(5)
    for _ in range(20):
        C, D = int(rng.integers(1, 3000)), int(rng.integers(1, 9))
        count = rng.integers(0, 50, C)
        j = int(rng.integers(0, D))
        fast = ClassPlan.single(j, count, D)
        plain = ClassPlan(np.full(C, j, dtype=np.int16), count, np.zeros(0, dtype=np.int64),
                          np.zeros((0, D), dtype=np.int64))
        for values in (None, rng.random(C) * 1e3, rng.random((C, D)) * 1e3,
                       np.asfortranarray(rng.random((C, D)))):
            np.testing.assert_allclose(fast.per_deployment(values), plain.per_deployment(values),
                                       rtol=1e-12, atol=0)
        assert fast.queries().tolist() == plain.queries().tolist()
        np.testing.assert_array_equal(fast.dense(), plain.dense())


def test_per_deployment_where_equals_the_masked_matrix_on_random_plans():
    """per_deployment(values, where=mask) against per_deployment(np.where(mask, values, 0)),
    on plans with split classes, whole ones and single-deployment ones."""
    from scheduling.planner.types import ClassPlan

    rng = np.random.default_rng(9)
    for trial in range(20):
        C, D = int(rng.integers(2, 3000)), int(rng.integers(1, 9))
        dense = np.zeros((C, D), dtype=np.int64)
        dense[np.arange(C), rng.integers(0, D, C)] = rng.integers(0, 40, C)
        split = rng.random(C) < 0.05
        dense[split] += rng.integers(0, 5, (int(split.sum()), D))
        plans = [ClassPlan.from_dense(dense), ClassPlan.single(int(rng.integers(0, D)), dense.sum(axis=1), D)]
        mask = rng.random((C, D)) < 0.3
        values = rng.random((C, D)) * 10.0 ** rng.integers(-3, 4)
        if trial % 2:
            values = np.asfortranarray(values)
        for plan in plans:
            np.testing.assert_allclose(plan.per_deployment(values, where=mask),
                                       plan.per_deployment(np.where(mask, values, 0.0)), rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(plan.per_deployment(where=mask),
                                       plan.per_deployment(mask.astype(np.float64)), rtol=1e-12, atol=0)
