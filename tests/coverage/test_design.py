"""The coverage design (pure): picks uncovered mass, respects the context and the budget, reaches the target."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiling.fitting.coverage import design_cover
from profiling.fitting.support import Support

GRID_SMALL = [(a, b) for a in (8, 16, 32, 64) for b in (8, 16, 32, 64)]


def _workload(seed: int, n: int = 2000, tin_max: int = 256, tout_max: int = 96):
    rng = np.random.default_rng(seed)
    return rng.integers(8, tin_max + 1, n), rng.integers(8, tout_max + 1, n)


def test_grid_small_and_a_256_96_workload_go_from_most_extrapolated_to_under_five_percent():
    tin, tout = _workload(0)
    support = Support(GRID_SMALL)
    d = design_cover(tin, tout, context=4096, support=support, max_cells=30)
    assert d.share_before == pytest.approx(support.extrapolated_share(tin, tout)) and d.share_before > 0.5
    assert d.projected_share <= 0.05
    after = Support(np.vstack([support.cells, d.cells]))  # the radius the adapter will use, from the gaps
    assert after.extrapolated_share(tin, tout) <= d.projected_share + 1e-12
    # No designed cell was already measured, or within reach of one.
    assert support.extrapolated([c[0] for c in d.cells], [c[1] for c in d.cells]).all()


def test_first_cell_sits_on_the_heaviest_uncovered_cluster():
    # 80% of the queries near (1000, 200), 20% near (40, 20); nothing measured there.
    rng = np.random.default_rng(1)
    tin = np.concatenate([rng.integers(900, 1100, 800), rng.integers(36, 44, 200)])
    tout = np.concatenate([rng.integers(180, 220, 800), rng.integers(18, 22, 200)])
    d = design_cover(tin, tout, context=8192, support=Support([(8, 8)]), max_cells=5, target=0.0)
    a, b = d.cells[0]
    assert 700 <= a <= 1400 and 130 <= b <= 280
    assert d.covered[0] == pytest.approx(0.8)
    assert len(d.cells) == 2 and d.projected_share == 0.0


def test_budget_caps_the_cells_and_the_gain_never_grows():
    tin, tout = _workload(2, tin_max=4000, tout_max=2000)
    d = design_cover(tin, tout, context=8192, support=None, max_cells=3, target=0.0)
    assert len(d.cells) == 3 and d.projected_share > 0
    assert d.covered == sorted(d.covered, reverse=True)
    assert d.share_before == 1.0


def test_queries_beyond_the_context_stay_extrapolated_and_no_cell_exceeds_it():
    tin = np.array([3000] * 50 + [100] * 50)
    tout = np.array([2000] * 50 + [50] * 50)
    d = design_cover(tin, tout, context=4096, support=None, max_cells=10)
    assert all(a + b <= 4096 for a, b in d.cells)
    assert d.unreachable_share == pytest.approx(0.5) and d.projected_share == pytest.approx(0.5)


def test_already_covered_workload_needs_nothing():
    tin, tout = _workload(3, tin_max=64, tout_max=64)
    d = design_cover(tin, tout, context=4096, support=Support(GRID_SMALL))
    assert d.cells == [] and d.share_before == 0.0 and d.projected_share == 0.0


def test_class_counts_weigh_like_repeated_queries():
    tin, tout = np.array([1000, 40]), np.array([200, 20])
    weighted = design_cover(tin, tout, counts=[9, 1], context=4096, support=Support([(8, 8)]), max_cells=1)
    repeated = design_cover(np.repeat(tin, [9, 1]), np.repeat(tout, [9, 1]), context=4096,
                            support=Support([(8, 8)]), max_cells=1)
    assert weighted.cells == repeated.cells and weighted.projected_share == pytest.approx(0.1)


@pytest.mark.parametrize("bad", [dict(context=1), dict(max_cells=-1), dict(target=1.0), dict(counts=[0, 0])])
def test_bad_arguments_are_refused(bad):
    kwargs = {"context": 4096, **bad}
    with pytest.raises(ValueError):
        design_cover([10, 20], [5, 5], **kwargs)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), max_cells=st.integers(0, 12), context=st.integers(64, 8192),
       target=st.floats(0.0, 0.5), measured=st.integers(0, 6))
def test_properties_on_random_workloads(seed, max_cells, context, target, measured):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    tin = np.maximum(1, rng.lognormal(rng.uniform(2, 7), rng.uniform(0.2, 1.5), n).astype(int))
    tout = np.maximum(1, rng.lognormal(rng.uniform(1, 5), rng.uniform(0.2, 1.2), n).astype(int))
    support = Support(rng.integers(1, 2048, (measured, 2))) if measured else None
    d = design_cover(tin, tout, context=context, support=support, max_cells=max_cells, target=target)
    assert len(d.cells) <= max_cells
    assert len(set(d.cells)) == len(d.cells)
    assert all(a >= 1 and b >= 1 and a + b <= context for a, b in d.cells)
    # Cells lie within the workload's range: nothing is measured where no query is.
    assert all(tin.min() <= a <= tin.max() and tout.min() <= b <= tout.max() for a, b in d.cells)
    # Each cell covers new mass, and the projection is what the chosen cells really leave outside.
    assert all(g > 0 for g in d.covered)
    assert d.projected_share <= d.share_before + 1e-12 or support is not None
    cells = np.vstack([support.cells, np.array(d.cells).reshape(-1, 2)]) if support is not None else np.array(d.cells).reshape(-1, 2)
    if len(cells):
        exact = Support(cells, radius=d.radius).extrapolated_share(tin, tout)
        assert exact == pytest.approx(d.projected_share)
    # The design stops at the target unless the budget or the context stops it first.
    if d.projected_share > target + 1e-12 and len(d.cells) < max_cells:
        assert d.projected_share - d.unreachable_share <= target + 1e-9 or not _any_cell_helps(
            tin, tout, cells, d.radius, context)


def _any_cell_helps(tin, tout, cells, radius, context) -> bool:
    """Whether measuring some workload point itself would cover a still-uncovered reachable query."""
    outside = np.ones(tin.shape, bool) if not len(cells) else Support(cells, radius=radius).extrapolated(tin, tout)
    return bool((outside & (tin + tout <= context)).any())
