"""The measured support: distance to the nearest measured cell, not a bounding box."""

import numpy as np
import pytest

from profiling.fitting.support import Support, default_radius


def _grid(values_in, values_out, missing=()):
    return [(a, b) for a in values_in for b in values_out if (a, b) not in missing]


def test_full_power_of_two_grid_supports_every_point_between_its_cells():
    s = Support(_grid([8, 16, 32, 64], [8, 16, 32, 64]))
    assert s.radius == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    tin = rng.integers(8, 65, 2000)
    tout = rng.integers(8, 65, 2000)
    assert not s.extrapolated(tin, tout).any()
    assert s.extrapolated_share(tin, tout) == 0.0


def test_missing_high_corner_is_flagged_though_inside_the_bounding_box():
    s = Support(_grid([8, 16, 32, 64], [8, 16, 32, 64], missing={(64, 64)}))
    assert s.extrapolated([64, 60], [64, 60]).tolist() == [True, True]
    assert s.extrapolated([64, 8], [32, 8]).tolist() == [False, False]
    # (64, 64) is a factor 2 from (32, 64) and (64, 32): distance 1 in log2.
    assert s.distance([64], [64])[0] == pytest.approx(1.0)


def test_beyond_the_range_distance_grows_with_log_ratio():
    s = Support(_grid([8, 16, 32], [8, 16]))
    d = s.distance([32, 64, 128, 1024], [16, 16, 16, 16])
    assert d.tolist() == pytest.approx([0.0, 1.0, 2.0, 5.0])
    assert s.extrapolated_share([32, 64, 128, 1024], [16, 16, 16, 16], counts=[7, 1, 1, 1]) == pytest.approx(0.3)


def test_radius_follows_the_widest_gap_within_bounds():
    assert default_radius(np.array(_grid([8, 128], [8]))) == 1.0  # gap 4 -> capped at 1
    assert default_radius(np.array(_grid([8, 16], [8, 11]))) == 0.5  # small gaps -> floor 0.5
    assert default_radius(np.array(_grid([8, 8 * 2 ** 1.5], [8]))) == pytest.approx(0.75)


def test_round_trip_and_bad_input():
    s = Support([(8, 8), (16, 32)], radius=0.25)
    t = Support.from_json(s.to_json())
    assert t.radius == 0.25 and t.cells.tolist() == s.cells.tolist()
    with pytest.raises(ValueError):
        Support([])
    with pytest.raises(ValueError):
        Support([(8, 8)], radius=-1)
    with pytest.raises(ValueError):
        s.distance([1, 2], [1])
    assert s.extrapolated_share([], []) == 0.0


def _random_support(rng, trial):
    """Cells on a random product grid: complete, with holes, or scattered off any grid."""
    tins = np.unique(rng.integers(0, 5000, rng.integers(1, 9)))
    touts = np.unique(rng.integers(0, 2000, rng.integers(1, 9)))
    cells = np.array(_grid(tins, touts))
    kind = trial % 3
    if kind == 1 and len(cells) > 1:
        cells = cells[rng.random(len(cells)) < 0.6] if len(cells) > 2 else cells[:1]
    elif kind == 2:  # scattered: more distinct values per axis than MAX_ROWS, so the tree
        cells = rng.integers(1, 9000, size=(200, 2))
    return Support(cells if len(cells) else np.array([[tins[0], touts[0]]]))


@pytest.mark.parametrize("seed", range(4))
def test_fast_distance_equals_the_k_d_tree_on_random_cells_and_queries(seed):
    """The grid and row-by-row paths give the tree's distances exactly, on whole and fractional counts."""
    rng = np.random.default_rng(seed)
    paths = set()
    for trial in range(60):
        s = _random_support(rng, trial)
        paths.add("grid" if s._grid is not None else "rows" if s._rows is not None else "tree")
        tin = rng.integers(0, 40000, 3000).astype(np.float64)
        tout = rng.integers(0, 9000, 3000).astype(np.float64)
        if trial % 4 == 0:  # not whole numbers: the row path sorts instead of using its table
            tout += rng.random(3000)
        np.testing.assert_array_equal(s.distance(tin, tout), s.tree_distance(tin, tout))
        np.testing.assert_array_equal(s.extrapolated(tin, tout), s.tree_distance(tin, tout) > s.radius + 1e-12)
    assert paths == {"grid", "rows", "tree"}


def test_a_complete_grid_takes_the_per_axis_path_and_a_holed_one_the_rows():
    assert Support(_grid([8, 16, 32], [8, 16]))._grid is not None
    holed = Support(_grid([8, 16, 32], [8, 16], missing={(32, 16)}))
    assert holed._grid is None and holed._rows is not None
    assert holed.distance([32], [16])[0] == pytest.approx(1.0)


@pytest.mark.parametrize("share", [0.0, 0.4, 1.0])
def test_pruned_row_search_equals_every_row_bit_for_bit(share, monkeypatch):
    """Stopping at the first row farther than the best distance loses nothing: the same bits as
    taking the minimum over every row, whether the search goes on over a subset or whole passes."""
    from profiling.fitting import support as support_module

    monkeypatch.setattr(support_module, "PRUNE_SHARE", share)
    monkeypatch.setattr(support_module, "BLOCK", 1500)  # blocks, and a ragged last one
    rng = np.random.default_rng(7)
    checked = 0
    for trial in range(40):
        s = _random_support(rng, 1 if trial % 2 else 0)
        if s._rows is None:
            s = Support(_grid([8, 16, 32, 64, 128], [8, 16, 32, 64], missing={(128, 64), (8, 8)}))
        axis = s._rows[0]
        tin = rng.integers(0, 40000, 4000).astype(np.float64)
        tout = rng.integers(0, 9000, 4000).astype(np.float64)
        along, other = (tin, tout)[axis], (tin, tout)[1 - axis]
        got = s._row_distance_pruned(along, other)
        np.testing.assert_array_equal(got, s._row_distance_full(along, other))
        np.testing.assert_array_equal(s.distance(tin, tout), s.tree_distance(tin, tout))
        square = (tin[:3600].reshape(60, 60), tout[:3600].reshape(60, 60))
        np.testing.assert_array_equal(s.distance(*square), s.tree_distance(*square))
        checked += 1
    assert checked == 40
