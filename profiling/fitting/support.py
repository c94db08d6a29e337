"""Where a fit was measured: distance in log token space to the nearest measured cell.

A bounding box over (input, output) token counts calls a query "inside" when it lies
between the smallest and largest measured counts on each axis, even when the cells
around it were never run (a grid's missing high corner, a sparse sweep). Here a query
is *supported* when a measured cell lies within ``radius`` of it in log2 token space,
Chebyshev distance: within a factor ``2**radius`` of a measured cell on both axes.

The default radius is half the widest gap between neighbouring measured values on
either axis (log2), at least 0.5 and at most 1.0: on the paper's power-of-two grids
every point between four measured corners is then within reach of one of them (the
centre of a square of side 1 is 0.5 away from each corner), while a point nearest a
missing cell is not. Pure numpy/scipy: a GPU host or the planner can use it alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

MIN_RADIUS = 0.5
MAX_RADIUS = 1.0
# A support whose cells take at most this many values on one axis is searched row by row.
MAX_ROWS = 64
# Token counts up to this are looked up in a table of their distances (else np.unique).
MAX_TABLE = 1 << 22
# The row search goes on over the queries whose next row may still be nearer, as a subset,
# once they are at most this share of them (a subset's gathers cost about twice a full pass).
PRUNE_SHARE = 0.4
# Queries per block of that search (its arrays stay in the CPU cache).
BLOCK = 1 << 16


def _log2(values) -> np.ndarray:
    # A token count of 0 (an empty prompt) is treated as 1 so the logarithm stays finite.
    return np.log2(np.maximum(np.asarray(values, dtype=np.float64), 1.0))


def default_radius(cells: np.ndarray) -> float:
    """Half the widest gap between neighbouring measured values on either axis, in [0.5, 1]."""
    cells = np.asarray(cells, dtype=np.float64).reshape(-1, 2)
    widest = 0.0
    for axis in (0, 1):
        values = np.unique(_log2(cells[:, axis]))
        if len(values) > 1:
            widest = max(widest, float(np.diff(values).max()))
    return float(min(MAX_RADIUS, max(MIN_RADIUS, widest / 2.0)))


def cell_index(tin, tout) -> tuple[np.ndarray, np.ndarray]:
    """(cells as an (m, 2) array of (tin, tout), index of each row's cell).

    A 1-D key instead of np.unique(axis=0), which sorts structured rows and is
    many times slower on 100,000 rows.
    """
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    if tin.size == 0:
        return np.empty((0, 2)), np.empty(0, dtype=np.int64)
    _, tin_i = np.unique(tin, return_inverse=True)
    uout, tout_i = np.unique(tout, return_inverse=True)
    keys, inverse = np.unique(tin_i.ravel().astype(np.int64) * len(uout) + tout_i.ravel(), return_inverse=True)
    first = np.zeros(len(keys), dtype=np.int64)
    first[inverse.ravel()[::-1]] = np.arange(len(tin))[::-1]
    return np.column_stack([tin[first], tout[first]]), inverse.ravel()


def _whole(values: np.ndarray, rows: int) -> bool:
    """Whole non-negative token counts small enough for tables over 0..max (``rows`` of them)."""
    top = float(values.max())
    return bool(values.min() >= 0 and (top + 1) * rows <= MAX_TABLE and np.array_equal(values, np.floor(values)))


def _axis_distance(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """|x - nearest of the sorted ``values``| per element of x."""
    i = np.searchsorted(values, x)
    below = values[np.maximum(i - 1, 0)]
    above = values[np.minimum(i, len(values) - 1)]
    return np.minimum(np.abs(x - below), np.abs(x - above))


def _nearest_rows(gap, start, along_row, ia, io) -> np.ndarray:
    """The pruned row search of ``Support._row_distance_pruned`` for the queries (ia, io)."""
    cell = start[0][ia]
    cell += io
    best = np.maximum(gap[0][ia], along_row[cell])
    active = None  # every query, until the rows left matter to few enough of them
    for k in range(1, len(gap)):
        if active is None:
            a = gap[k][ia]
            near = a < best
            if np.count_nonzero(near) > PRUNE_SHARE * ia.size:
                # Most queries still need this row (a support whose rows reach few of
                # the queries): a whole pass costs less than gathering the subset.
                cell = start[k][ia]
                cell += io
                np.minimum(best, np.maximum(a, along_row[cell]), out=best)
                continue
            active = np.flatnonzero(near)
        else:
            a = gap[k][ia]
            near = a < best[active]
            active = active[near]
        if active.size == 0:
            break
        ia, a = ia[near], a[near]
        cell = start[k][ia]
        cell += io[active]
        best[active] = np.minimum(best[active], np.maximum(a, along_row[cell]))
    return best


class Support:
    """The measured cells of one (LLM, hardware) pair and the distance of any query to them."""

    def __init__(self, cells: Iterable, radius: float | None = None):
        arr = np.asarray(list(cells) if not isinstance(cells, np.ndarray) else cells, dtype=np.float64)
        arr = arr.reshape(-1, 2)
        if len(arr) == 0:
            raise ValueError("a support needs at least one measured cell")
        self.cells = np.unique(arr, axis=0)
        self.radius = float(default_radius(self.cells) if radius is None else radius)
        if not np.isfinite(self.radius) or self.radius < 0:
            raise ValueError(f"radius must be a finite non-negative number, got {radius!r}")
        self._log = np.column_stack([_log2(self.cells[:, 0]), _log2(self.cells[:, 1])])
        self._tree = None
        # A complete product grid (every measured tin with every measured tout, as the profiling
        # sweeps are): the Chebyshev distance to its nearest cell is exactly the larger of the
        # distances to the nearest measured value on each axis, two sorted searches instead of a
        # k-d tree (~4x faster, and no scipy.spatial import). Anything else keeps the tree.
        axes = [np.unique(self._log[:, 0]), np.unique(self._log[:, 1])]
        self._grid = axes if len(np.unique(self._log, axis=0)) == len(axes[0]) * len(axes[1]) else None
        # Otherwise, when one axis has few measured values (a sweep's rows: ~10 output lengths),
        # the nearest cell is the best over those rows r of max(|y - r|, distance of x to the
        # row's measured values): one pass of a few vector operations per row, exact as well.
        self._rows = None
        if self._grid is None:
            axis = int(len(axes[1]) < len(axes[0]))  # loop over the axis with fewer values
            if len(axes[axis]) <= MAX_ROWS:
                self._rows = (axis, [(r, np.unique(self._log[self._log[:, axis] == r, 1 - axis]))
                                     for r in axes[axis]])

    def distance(self, tin, tout) -> np.ndarray:
        """Chebyshev distance in log2 token space from each query to its nearest measured cell."""
        tin = np.atleast_1d(np.asarray(tin, dtype=np.float64))
        tout = np.atleast_1d(np.asarray(tout, dtype=np.float64))
        if tin.shape != tout.shape:
            raise ValueError("tin and tout must have the same shape")
        if tin.size == 0:
            return np.zeros(0)
        if self._grid is not None:
            return np.maximum(_axis_distance(self._grid[0], _log2(tin)),
                              _axis_distance(self._grid[1], _log2(tout)))
        if self._rows is not None:
            return self._row_distance(tin, tout)
        return self.tree_distance(tin, tout)

    def _row_distance(self, tin, tout) -> np.ndarray:
        axis, rows = self._rows
        along, other = (tin, tout)[axis], (tin, tout)[1 - axis]
        if _whole(along, len(rows)) and _whole(other, 1):
            return self._row_distance_pruned(along, other)
        return self._row_distance_full(along, other)

    def _row_distance_full(self, along, other) -> np.ndarray:
        """Every row for every query: min over rows r of max(|y - r|, distance along row r)."""
        rows = self._rows[1]
        along = _log2(along)
        # The distances along each row are taken once per distinct value of the other axis:
        # token counts are whole numbers, so a table over 0..max (no sort) when it is short.
        if _whole(other, 1):
            uniq, inverse = _log2(np.arange(int(other.max()) + 1)), other.astype(np.intp)
        else:
            uniq, inverse = np.unique(_log2(other), return_inverse=True)
            inverse = inverse.reshape(other.shape)
        best = None
        for r, values in rows:
            d = np.maximum(np.abs(along - r), _axis_distance(values, uniq)[inverse])
            best = d if best is None else np.minimum(best, d, out=best)
        return best

    def _row_distance_pruned(self, along, other) -> np.ndarray:
        """``_row_distance_full``'s minimum, visiting for each query its rows nearest first and
        stopping once the next row is farther than the best distance found (then every later
        row is too: max(|y - r|, .) >= |y - r|). On the paper's power-of-two rows most queries
        stop after one or two rows instead of ~10. The rows skipped could not lower the
        minimum, so the result is the same to the bit (tests/fitting/test_support.py).

        Whole token counts only (both axes looked up in tables over 0..max).
        """
        rows, shape = self._rows[1], along.shape
        r_values = np.array([r for r, _ in rows])
        width = int(other.max()) + 1
        # |y - r| per value y of the row axis and row r, each y's rows sorted nearest first;
        # stored by rank k (one contiguous table per k) for one-dimensional gathers.
        gap = np.abs(_log2(np.arange(int(along.max()) + 1))[:, None] - r_values[None, :])
        order = np.argsort(gap, axis=1, kind="stable")
        gap = np.ascontiguousarray(np.take_along_axis(gap, order, axis=1).T)
        start = np.ascontiguousarray(order.T) * width
        # Distance along row r to each value of the other axis: row r's table at r * width.
        along_row = np.concatenate([_axis_distance(values, _log2(np.arange(width))) for _, values in rows])
        out = np.empty(along.size)
        along, other = along.ravel(), other.ravel()
        # By blocks that keep the search's arrays in cache (the tables are small).
        for first in range(0, along.size, BLOCK):
            b = slice(first, first + BLOCK)
            out[b] = _nearest_rows(gap, start, along_row, along[b].astype(np.intp), other[b].astype(np.intp))
        return out.reshape(shape)


    def tree_distance(self, tin, tout) -> np.ndarray:
        """``distance`` by the k-d tree, whatever the cells' shape (the plain path, and the tests' oracle)."""
        tin = np.atleast_1d(np.asarray(tin, dtype=np.float64))
        tout = np.atleast_1d(np.asarray(tout, dtype=np.float64))
        if tin.size == 0:
            return np.zeros(0)
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self._log)
        d, _ = self._tree.query(np.column_stack([_log2(tin).ravel(), _log2(tout).ravel()]), p=np.inf)
        return np.asarray(d, dtype=np.float64).reshape(tin.shape)

    def extrapolated(self, tin, tout) -> np.ndarray:
        """True where no measured cell lies within the radius."""
        return self.distance(tin, tout) > self.radius + 1e-12

    def extrapolated_share(self, tin, tout, counts=None) -> float:
        """Share of queries (weighted by ``counts``) outside the measured support."""
        out = self.extrapolated(tin, tout)
        w = np.ones(out.shape) if counts is None else np.asarray(counts, dtype=np.float64)
        total = float(w.sum())
        return float(w[out].sum() / total) if total > 0 else 0.0

    def to_json(self) -> dict:
        return {"cells": self.cells.astype(int).tolist(), "radius": self.radius}

    @classmethod
    def from_json(cls, data: dict) -> Support:
        return cls(data["cells"], radius=data.get("radius"))
