"""The assignment file stored per class reads back as the per-query rows it replaces (issue 18).

The oracle is ``Execution.assignments``: every plan expanded to queries by ``solver.expand``,
the rows the per-query file held. Files of the per-query form stay readable.
"""

import io

import numpy as np
import pytest

from scheduling.planner.assignment_file import open_rows, read_row
from scheduling.planner.npzstream import write_rows
from scheduling.planner.types import PlanResult
from scheduling.services import jobs
from tests.solver.conftest import random_deployments, random_workload


def _written(ex) -> io.BytesIO:
    buf = io.BytesIO()
    ex.write_assignments(buf)
    buf.seek(0)
    return buf


def _streamed(buf, row, chunk):
    buf.seek(0)
    with open_rows(buf) as rows:
        return np.concatenate(list(rows.chunks(chunk, row=row)))


@pytest.mark.parametrize("seed", range(8))
def test_rows_read_back_equal_the_expanded_plans(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    # Few classes with many queries each and tight shares: optimal plans split classes.
    tin, tout = random_workload(rng, n, top=int(rng.integers(4, 40)))
    specs = random_deployments(rng, int(rng.integers(2, 6)), min_share=0.05, max_share=0.6)
    ex = jobs.execute(tin, tout, specs, "paper-energy-accuracy", {"zetas": [0.0, 0.3, 0.5, 1.0], "zeta": 0.5})
    expected = ex.assignments
    buf = _written(ex)
    with open_rows(buf) as rows:
        assert rows.shape == expected.shape
    for i in range(expected.shape[0]):
        buf.seek(0)
        row = read_row(buf, i)
        assert row.dtype == np.int16 and np.array_equal(row, expected[i])
        for chunk in (1, 7, n):
            assert np.array_equal(_streamed(buf, i, chunk), expected[i])


def test_split_classes_are_exercised():
    """The test above would pass with no split class at all: make sure the file carries some."""
    rng = np.random.default_rng(3)
    tin, tout = random_workload(rng, 2000, top=6)
    specs = random_deployments(rng, 4, min_share=0.2, max_share=0.3)
    ex = jobs.execute(tin, tout, specs, "paper-energy-accuracy", {"zetas": [0.2, 0.8], "zeta": 0.2})
    assert any(r.class_plan.split.size for r in ex.plan_results)
    buf = _written(ex)
    with np.load(buf) as data:
        assert data["split_query"].size > 0
        assert data["classes"].shape[1] < 2000
    for i in range(2):
        buf.seek(0)
        assert np.array_equal(read_row(buf, i), ex.assignments[i])


def test_a_plan_without_solution_reads_as_unassigned():
    rng = np.random.default_rng(5)
    tin, tout = random_workload(rng, 400)
    ex = jobs.execute(tin, tout, random_deployments(rng, 3), "paper-energy-accuracy",
                      {"zetas": [0.1, 0.9], "zeta": 0.1})
    ok = ex.plan_results[0]
    ex.plan_results[1] = PlanResult(status="error", objective=ok.objective, objective_value=None, bound=None,
                                    gap=None, assignment=np.full(400, -1, dtype=np.int64), counts={},
                                    total_energy_j=0.0, total_runtime_s=0.0, mean_runtime_s=0.0, accuracy=0.0,
                                    solve_seconds=0.0, method="x")
    buf = _written(ex)
    assert np.array_equal(read_row(buf, 1), np.full(400, -1, dtype=np.int16))
    buf.seek(0)
    assert np.array_equal(read_row(buf, 0), ex.assignments[0])


def test_per_query_files_stay_readable():
    rng = np.random.default_rng(2)
    rows = rng.integers(-1, 5, (3, 1001)).astype(np.int16)
    buf = io.BytesIO()
    write_rows(buf, "assignment", rows.shape, np.int16, iter(rows), {"zetas": np.array([0.0, 0.5, 1.0])})
    for i in range(3):
        buf.seek(0)
        assert np.array_equal(read_row(buf, i), rows[i])
        assert np.array_equal(_streamed(buf, i, 100), rows[i])
    buf.seek(0)
    with pytest.raises(IndexError, match="No plan 3"):
        read_row(buf, 3)
