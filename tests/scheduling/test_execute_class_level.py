"""The job path computes its charts from class counts and expands to queries only when asked.

The oracle is the per-query histogram code the job path used before issue 11.
"""

import numpy as np
import pytest

from scheduling.services import jobs
from scheduling.services.workloads import histogram, log_bins
from tests.solver.conftest import random_deployments


def per_query_histograms(tin, tout, assignment, keys) -> dict:
    edges_in = log_bins(int(tin.max()), min_value=int(tin.min()))
    edges_out = log_bins(int(tout.max()), min_value=int(tout.min()))
    by = {}
    for i, key in enumerate(keys):
        mask = assignment == i
        by[key] = {"tin": histogram(tin[mask], edges_in), "tout": histogram(tout[mask], edges_out)}
    return {"tin_edges": edges_in.tolist(), "tout_edges": edges_out.tolist(), "by_deployment": by}


@pytest.mark.parametrize("seed", range(6))
def test_histograms_from_class_counts_equal_the_per_query_ones(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 5000))
    # Log-normal tokens put many values right on the log bins' edges' neighbourhoods.
    tin = rng.lognormal(5, 1.5, n).astype(np.int64) + 1
    tout = rng.lognormal(4, 1.0, n).astype(np.int64) + 1
    specs = random_deployments(rng, int(rng.integers(2, 6)))
    ex = jobs.execute(tin, tout, specs, "paper-energy-accuracy", {"zetas": [0.2, 0.5, 0.9], "zeta": 0.5})
    keys = ex.results["deployments"]
    primary = ex.results["primary_index"]
    assert ex.results["histograms"] == per_query_histograms(tin, tout, ex.assignments[primary], keys)


def test_assignments_are_expanded_only_on_first_read():
    rng = np.random.default_rng(1)
    tin, tout = rng.integers(1, 300, 2000), rng.integers(1, 100, 2000)
    specs = random_deployments(rng, 3)
    ex = jobs.execute(tin, tout, specs, "paper-energy-accuracy", {"sweep": True})
    assert all(callable(r._assignment) for r in ex.plan_results)
    a = ex.assignments
    assert a.shape == (len(ex.results["plans"]), 2000) and a.dtype == np.int16
    for i, r in enumerate(ex.plan_results):
        assert {k: int((a[i] == j).sum()) for j, k in enumerate(ex.results["deployments"])} == r.counts
