"""A sweep's metrics kept running from plan to plan equal the direct sums (issue 18).

``objectives.RunningSums`` computes each plan's per-deployment sums from the previous plan's
plus the difference on the classes that changed; the oracle is ``metric_sums`` over every
class. Whole-number sums (queries, tokens) must be equal; float sums within 1e-12 relative.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from scheduling.planner import solver
from scheduling.planner.objectives import RunningSums, build_problem, metric_sums, metrics
from scheduling.planner.types import ClassPlan
from tests.solver.conftest import random_deployments


def _close(a: dict, b: dict, rel=1e-12):
    assert a.keys() == b.keys()
    for key in a:
        x, y = np.asarray(a[key], dtype=float), np.asarray(b[key], dtype=float)
        if key in RunningSums.EXACT:
            assert np.array_equal(x, y), key
        else:
            assert np.all(np.abs(x - y) <= rel * np.maximum(np.abs(y), 1e-300)), (key, x, y)


def _fake_problem(rng, C, D, bands: bool):
    energy = rng.lognormal(3, 2, (C, D))
    low = energy * rng.uniform(0.5, 1.0, (C, D)) - rng.uniform(0, 5, (C, D)) if bands else None
    return SimpleNamespace(
        class_count=rng.integers(1, 50, C), energy=energy, runtime=rng.lognormal(0, 1, (C, D)),
        tokens=rng.integers(2, 5000, C).astype(np.float64), outside=rng.random((C, D)) < 0.2,
        energy_low=low, energy_high=energy * rng.uniform(1.0, 2.0, (C, D)) if bands else None,
    )


def _plan(rng, choice, count, D, n_split):
    split = np.sort(rng.choice(count.size, size=n_split, replace=False))
    split_x = np.zeros((n_split, D), dtype=np.int64)
    for i, c in enumerate(split):  # a split class spread over two deployments
        a, b = rng.choice(D, 2, replace=False)
        k = int(rng.integers(0, count[c] + 1))
        split_x[i, a], split_x[i, b] = k, count[c] - k
    return ClassPlan(choice.astype(np.int16), count, split.astype(np.int64), split_x)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("bands", [False, True])
def test_running_sums_equal_direct_sums_along_a_drifting_sweep(seed, bands):
    rng = np.random.default_rng(seed)
    C, D = int(rng.integers(200, 3000)), int(rng.integers(2, 8))
    p = _fake_problem(rng, C, D, bands)
    running = RunningSums(p)
    choice = rng.integers(0, D, C)
    for _ in range(101):
        # Few classes move, mostly off deployment 0: its sums fall towards nothing, where
        # the running error would show most (relative to a small value).
        moved = rng.choice(C, size=int(rng.integers(0, C // 40 + 2)), replace=False)
        choice[moved] = np.where(rng.random(moved.size) < 0.9, rng.integers(1, D, moved.size), 0)
        x = _plan(rng, choice, p.class_count, D, int(rng.integers(0, 4)))
        _close(running(x), metric_sums(p, x))
    assert running.incremental > 50  # the running path was the one tested


@pytest.mark.parametrize("seed", range(4))
def test_a_sweeps_reported_metrics_equal_the_direct_ones(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2000, 20000))
    tin, tout = rng.lognormal(5, 1, n).astype(np.int64) + 1, rng.lognormal(4, 0.8, n).astype(np.int64) + 1
    specs = random_deployments(rng, int(rng.integers(3, 7)), min_share=0.02, max_share=0.6)
    p = build_problem(tin, tout, specs)
    warm: dict = {}
    for zeta in np.linspace(0, 1, 101):
        r = solver.plan_problem(p, zeta=float(zeta), warm=warm)
        direct = metrics(p, r.class_plan)
        got = {k: getattr(r, k) for k in ("counts", "total_energy_j", "total_runtime_s", "mean_runtime_s",
                                          "accuracy", "per_deployment")}
        assert got["counts"] == direct["counts"]
        for key in ("total_energy_j", "total_runtime_s", "mean_runtime_s", "accuracy"):
            assert got[key] == pytest.approx(direct[key], rel=1e-12, abs=0)
        for dep, values in direct["per_deployment"].items():
            for key, value in values.items():
                if isinstance(value, int) or value is None:
                    assert got["per_deployment"][dep][key] == value
                else:
                    assert got["per_deployment"][dep][key] == pytest.approx(value, rel=1e-12, abs=1e-300)
    assert warm["metric sums"].incremental > 0


def test_a_different_problem_starts_afresh():
    rng = np.random.default_rng(9)
    p = _fake_problem(rng, 500, 3, False)
    running = RunningSums(p)
    x = _plan(rng, rng.integers(0, 3, 500), p.class_count, 3, 2)
    running(x)
    other = _plan(rng, x.choice.astype(np.int64), p.class_count + 1, 3, 0)  # other counts: no difference to add
    _close(running(other), metric_sums(p, other))
    assert running.direct == 2
