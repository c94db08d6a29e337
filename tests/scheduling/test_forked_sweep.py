"""A sweep split over forked processes (jobs.execute, issue 18) gives the one-process answers.

Real forks: FORK_MIN_WORK is lowered so that a small sweep forks. The plans (every query's
deployment, the split classes), statuses and gaps are equal; the metrics are equal within
1e-12 relative (a forked part restarts the sweep's running sums at its first zeta, so their
last bits may differ); the assignment file reads back the same rows.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from scheduling.planner.assignment_file import read_row
from scheduling.services import jobs
from tests.solver.conftest import random_deployments

ZETAS = [round(0.05 * i, 2) for i in range(21)]


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            if k not in ("solve_seconds", "stats"):  # timings and solver counters
                _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9), (path, a, b)
    else:
        assert a == b, path


def _run(monkeypatch, processes: int, tin, tout, specs):
    monkeypatch.setenv("ENERGYWEB_PLAN_PROCESSES", str(processes))
    monkeypatch.setattr(jobs, "FORK_MIN_WORK", 0)
    seen = []
    ex = jobs.execute(tin, tout, specs, "paper-energy-accuracy", {"zetas": ZETAS, "zeta": 0.5},
                      progress=lambda done, total: seen.append((done, total)))
    return ex, seen


@pytest.mark.parametrize("seed", range(3))
def test_a_forked_sweep_gives_the_one_process_plans(monkeypatch, seed):
    rng = np.random.default_rng(seed)
    n = 30_000
    tin = rng.lognormal(5, 1.2, n).astype(np.int64) + 1
    tout = rng.lognormal(4, 0.9, n).astype(np.int64) + 1
    specs = random_deployments(rng, int(rng.integers(3, 7)))
    one, _ = _run(monkeypatch, 1, tin, tout, specs)
    two, seen = _run(monkeypatch, 2, tin, tout, specs)
    assert one.solver_stats["processes"] == 1 and two.solver_stats["processes"] == 2
    for a, b in zip(one.plan_results, two.plan_results, strict=True):
        assert a.status == b.status and a.method == b.method
        np.testing.assert_array_equal(a.assignment, b.assignment)
        np.testing.assert_array_equal(a.class_plan.dense(), b.class_plan.dense())
    _close(one.results, two.results)
    # Progress counted every zeta once, and ends at the whole job.
    assert [d for d, _ in seen][-1] == len(ZETAS) + 1
    assert all(total == len(ZETAS) + 1 for _, total in seen)
    # The file holds the same rows.
    f1, f2 = io.BytesIO(), io.BytesIO()
    one.write_assignments(f1)
    two.write_assignments(f2)
    for i in range(len(ZETAS)):
        f1.seek(0)
        f2.seek(0)
        np.testing.assert_array_equal(read_row(f1, i), read_row(f2, i))


def test_small_sweeps_stay_in_one_process(monkeypatch):
    monkeypatch.setenv("ENERGYWEB_PLAN_PROCESSES", "2")
    rng = np.random.default_rng(5)
    tin, tout = rng.integers(1, 300, 2000), rng.integers(1, 100, 2000)
    ex = jobs.execute(tin, tout, random_deployments(rng, 3), "paper-energy-accuracy", {"sweep": True})
    assert ex.solver_stats["processes"] == 1
