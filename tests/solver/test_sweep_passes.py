"""The cheaper passes of the sweep path (issue 18, second pass) give what the plain versions gave.

Class aggregation by radix sort against np.unique, the sampled smallest-k selections
against a full sort, the column-wise bound and reduced costs against the (C, D) reductions,
the one-bincount histograms against np.histogram, and the affine costs of a sweep against
unit_costs: exact equality wherever the arithmetic is the same, else float tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner import objective_registry, objectives, share_dual, solver
from scheduling.services import jobs
from tests.solver.conftest import random_deployments
from tests.solver.test_linear_aggregation import assert_identical, old_aggregate


@pytest.mark.parametrize("seed", range(4))
def test_radix_aggregation_equals_np_unique_on_sparse_wide_workloads(seed):
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(15_000, 25_000))
    # Thousands of distinct values on both sides: too many cells for the dense grid
    # (> 4n + 4M), few enough for 32-bit rank pairs, so aggregate takes the radix path.
    tin = rng.integers(1, 200_000, n)
    tout = rng.integers(1, 50_000, n)
    tin[: n // 4] = tin[0]  # ties, and a heavy class
    tout[: n // 4] = tout[0]
    got = objectives.aggregate(tin, tout)
    want = old_aggregate(tin, tout)
    assert np.unique(tin).size * np.unique(tout).size > 4 * n + (1 << 22)
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b)
    assert_identical(got[3], want[3])


@pytest.mark.parametrize("seed", range(6))
def test_sampled_selections_equal_a_full_sort(seed):
    rng = np.random.default_rng(400 + seed)
    n = int(rng.integers(70_000, 200_000))
    values = rng.exponential(size=n)
    values[rng.random(n) < 0.3] = np.inf  # excluded classes
    values[rng.random(n) < 0.05] = 0.0  # exact ties
    weights = rng.integers(1, 20, n)
    k = int(rng.integers(1, 5000))
    assert share_dual._kth_smallest(values, k) == np.partition(values, k)[k]
    need = int(rng.integers(1, 3000))
    got = share_dual._smallest_until(values, weights, need)
    assert np.isfinite(values[got]).all()
    assert weights[got].sum() >= need
    # The smallest values, in order: nothing smaller was left out.
    assert values[got].max() <= np.sort(values)[got.size - 1] or got.size == 0
    assert np.array_equal(np.sort(values[got]), np.sort(values)[: got.size])


@pytest.mark.parametrize("order", ["C", "F"])
def test_column_wise_bound_and_reduced_costs_equal_row_reductions(order):
    rng = np.random.default_rng(7)
    costs = np.asarray(rng.normal(size=(5000, 6)), order=order)
    costs[::7, 2] = costs[::7, 4]  # exact ties between two deployments
    counts = rng.integers(1, 9, 5000)
    mu = rng.normal(size=6)
    lo, hi = np.full(6, 100), np.full(6, 20_000)
    per_class = (costs - mu).min(axis=1)
    assert share_dual.lagrangian(costs, counts, lo, hi, mu) == pytest.approx(
        float(counts @ per_class + np.minimum(mu * lo, mu * hi).sum()), rel=1e-13)
    assert share_dual.gap_floor(costs, counts) == pytest.approx(float(counts @ np.abs(costs).max(axis=1)) * 1e-12,
                                                               rel=1e-13)
    column, best, gap = share_dual._reduced(costs, mu)
    r = costs - mu
    assert_identical(best.astype(np.int64), r.argmin(axis=1))
    second = np.sort(r, axis=1)[:, 1] - r.min(axis=1)
    assert np.array_equal(gap, second)
    for d in range(6):
        assert np.array_equal(column(d), r[:, d] - r.min(axis=1))


def test_affine_sweep_costs_equal_unit_costs():
    rng = np.random.default_rng(11)
    deps = random_deployments(rng, 4)
    p = objectives.build_problem(rng.integers(1, 500, 3000), rng.integers(1, 200, 3000), deps)
    warm: dict = {}
    for objective in [k.name for k in objective_registry.all_kinds() if k.affine_in_zeta]:
        for z in (0.0, 0.25, 0.5, 1.0, 0.7):
            got = solver._zeta_costs(p, objective, z, warm)
            assert got.flags.f_contiguous
            np.testing.assert_allclose(got, objectives.unit_costs(p, objective, z), rtol=1e-12, atol=1e-15)


def test_plan_histograms_equal_np_histogram():
    rng = np.random.default_rng(12)
    deps = random_deployments(rng, 4)
    tin, tout = rng.integers(1, 5000, 20_000), rng.integers(1, 900, 20_000)
    p = objectives.build_problem(tin, tout, deps)
    x = solver.plan_problem(p, zeta=0.5).class_plan
    keys = [d.key for d in deps][::-1]
    h = jobs._split_histograms(p, x, keys)
    for key in keys:
        col = x.column(p.keys.index(key)).astype(np.float64)
        for name, values in (("tin", p.class_tin), ("tout", p.class_tout)):
            want = np.histogram(values, bins=np.array(h[f"{name}_edges"]), weights=col)[0]
            assert h["by_deployment"][key][name] == np.rint(want).astype(int).tolist()
    assert sum(sum(v["tin"]) for v in h["by_deployment"].values()) == tin.size


@pytest.mark.parametrize("seed", range(4))
def test_bitmap_aggregation_equals_np_unique_and_the_radix_sort(seed, monkeypatch):
    rng = np.random.default_rng(500 + seed)
    n = int(rng.integers(380_000, 420_000))
    # Too many cells for the dense grid (> 4n + 4M), few enough for the bitmap (<= 16n + 4M).
    tin = rng.integers(1, 3_500, n)
    tout = rng.integers(1, 2_500, n)
    tin[: n // 5] = tin[0]  # ties, and a heavy class
    tout[: n // 5] = tout[0]
    cells = np.unique(tin).size * np.unique(tout).size
    assert 4 * n + (1 << 22) < cells <= 16 * n + (1 << 22)

    def refuse(*a):
        raise AssertionError("the bitmap path should have handled these cells")

    monkeypatch.setattr(objectives, "_aggregate_radix", refuse)
    got = objectives.aggregate(tin, tout)
    monkeypatch.undo()
    monkeypatch.setattr(objectives, "_BITMAP_CELLS_PER_QUERY", 0)  # the radix sort instead
    radix = objectives.aggregate(tin, tout)
    for a, b, c in zip(got, old_aggregate(tin, tout), radix, strict=True):
        assert_identical(a, b)
        assert_identical(a, c)
