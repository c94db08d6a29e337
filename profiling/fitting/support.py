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
        from scipy.spatial import cKDTree

        self._tree = cKDTree(np.column_stack([_log2(self.cells[:, 0]), _log2(self.cells[:, 1])]))

    def distance(self, tin, tout) -> np.ndarray:
        """Chebyshev distance in log2 token space from each query to its nearest measured cell."""
        tin = np.atleast_1d(np.asarray(tin, dtype=np.float64))
        tout = np.atleast_1d(np.asarray(tout, dtype=np.float64))
        if tin.shape != tout.shape:
            raise ValueError("tin and tout must have the same shape")
        if tin.size == 0:
            return np.zeros(0)
        d, _ = self._tree.query(np.column_stack([_log2(tin), _log2(tout)]), p=np.inf)
        return np.asarray(d, dtype=np.float64)

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
