"""Which cells to measure so that a workload stops being extrapolated. Pure numpy, no Django.

A workload's queries are *supported* when a measured cell lies within the support radius
(log2 token space, Chebyshev; see ``support.py``). ``design_cover`` proposes cells where the
workload's mass lies and nothing was measured: candidate token counts on each axis are
quantiles of the workload's lengths plus log-spaced points between its smallest and largest
length (so a long tail gets candidates even when few quantiles fall in it), crossed, kept only
if they fit the model's context and are not already supported. Then greedily, the candidate
covering the most still-uncovered query mass is added (ties: the cheaper cell, fewer tokens)
until the projected extrapolated share is at most the target or the cell budget is spent.

Coverage is judged with the *smallest* radius a support can have (``MIN_RADIUS``) or the
current support's, whichever is smaller: the radius of the support after the run is
recomputed from its gaps and is never below that, so the projected share is an upper bound
on what the refitted support will report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from profiling.fitting.support import MIN_RADIUS, Support, _log2

# Queries are binned on a 1/64-octave lattice (17 octaves: a 1088 x 1088 grid at most), so a
# greedy step costs the same for 2,000 queries as for ten million.
_LATTICE = 64
QUANTILES = np.linspace(0.0, 1.0, 21)


@dataclass
class CoverDesign:
    cells: list[tuple[int, int]]  # (input, output) token counts to measure, most mass first
    share_before: float  # share of the workload outside the current support
    projected_share: float  # share still outside once every cell is measured (upper bound)
    radius: float  # the radius coverage was judged with
    covered: list[float] = field(default_factory=list)  # mass each cell newly covers, in order
    unreachable_share: float = 0.0  # queries longer than the context: no cell can cover them

    def as_dict(self) -> dict:
        return {"cells": [list(c) for c in self.cells], "share_before": self.share_before,
                "projected_share": self.projected_share, "radius": self.radius,
                "covered": self.covered, "unreachable_share": self.unreachable_share}


class _Lattice:
    """Query mass on a lattice of 1/_LATTICE octave, with box sums in O(1) (a summed-area table).

    A candidate covers the lattice points within ``radius - 1/(2 _LATTICE)`` of it: a point is
    within half a step of its query on each axis, so such a point's query is within ``radius``.
    """

    def __init__(self, tin: np.ndarray, tout: np.ndarray, weights: np.ndarray, radius: float):
        ix = np.rint(_log2(tin) * _LATTICE).astype(np.int64)
        iy = np.rint(_log2(tout) * _LATTICE).astype(np.int64)
        self.x0, self.y0 = int(ix.min()), int(iy.min())
        shape = (int(ix.max()) - self.x0 + 1, int(iy.max()) - self.y0 + 1)
        flat = (ix - self.x0) * shape[1] + (iy - self.y0)
        self.mass = np.bincount(flat, weights=weights, minlength=shape[0] * shape[1]).reshape(shape)
        self.reach = radius - 0.5 / _LATTICE
        self._table()

    def _table(self) -> None:
        self.sat = np.zeros((self.mass.shape[0] + 1, self.mass.shape[1] + 1))
        self.sat[1:, 1:] = self.mass.cumsum(0).cumsum(1)

    def boxes(self, cells: np.ndarray) -> tuple[np.ndarray, ...]:
        """Lattice index ranges [x_lo, x_hi) x [y_lo, y_hi) that each cell covers (clipped)."""
        out = []
        for axis, origin, size in ((0, self.x0, self.mass.shape[0]), (1, self.y0, self.mass.shape[1])):
            c = _log2(cells[:, axis])
            lo = np.ceil((c - self.reach) * _LATTICE - 1e-9).astype(np.int64) - origin
            hi = np.floor((c + self.reach) * _LATTICE + 1e-9).astype(np.int64) - origin + 1
            out += [np.clip(lo, 0, size), np.clip(hi, 0, size)]
        return tuple(out)

    def gains(self, boxes) -> np.ndarray:
        xl, xh, yl, yh = boxes
        s = self.sat
        return np.maximum(s[xh, yh] - s[xl, yh] - s[xh, yl] + s[xl, yl], 0.0)

    def take(self, boxes, i: int) -> None:
        xl, xh, yl, yh = (int(b[i]) for b in boxes)
        self.mass[xl:xh, yl:yh] = 0.0
        self._table()

    def uncovered(self, tin: np.ndarray, tout: np.ndarray, most: int = 2000) -> np.ndarray:
        """The distinct queries whose lattice point still has mass, heaviest first (at most ``most``)."""
        ix = np.rint(_log2(tin) * _LATTICE).astype(np.int64) - self.x0
        iy = np.rint(_log2(tout) * _LATTICE).astype(np.int64) - self.y0
        left = self.mass[ix, iy] > 0
        pairs, counts = np.unique(np.column_stack([tin[left], tout[left]]), axis=0, return_counts=True)
        return pairs[np.argsort(-counts, kind="stable")[:most]].astype(np.int64).reshape(-1, 2)

    def remaining(self) -> float:
        return float(self.mass.sum())


def _axis_candidates(values: np.ndarray, weights: np.ndarray, step: float) -> np.ndarray:
    """Token counts on one axis: weighted quantiles plus log-spaced points ``step`` octaves apart."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    quantiles = v[np.minimum(np.searchsorted(cum, QUANTILES, side="left"), len(v) - 1)]
    lo, hi = np.log2(max(v[0], 1)), np.log2(max(v[-1], 1))
    spaced = 2.0 ** np.arange(lo, hi + step, step) if hi > lo else np.array([2.0**lo])
    out = np.unique(np.rint(np.concatenate([quantiles, spaced, [v[-1]]])).astype(np.int64))
    return out[(out >= 1) & (out <= max(v[-1], 1))]


def design_cover(tin, tout, *, context: int, support: Support | None = None, max_cells: int = 20,
                 target: float = 0.05, counts=None) -> CoverDesign:
    """Cells to measure so that at most ``target`` of the workload is extrapolated (see module doc).

    ``tin``/``tout``: the queries' token counts (or class centres with ``counts``); ``context``: the
    model's maximum input + output; ``support``: what is measured already (None: nothing).
    """
    tin = np.atleast_1d(np.asarray(tin, dtype=np.int64))
    tout = np.atleast_1d(np.asarray(tout, dtype=np.int64))
    if tin.shape != tout.shape or tin.ndim != 1:
        raise ValueError("tin and tout must be 1-d arrays of the same length")
    if tin.size == 0:
        raise ValueError("the workload has no queries")
    if tin.min() < 0 or tout.min() < 0 or max(tin.max(), tout.max()) > 2**31:
        raise ValueError("token counts must be from 0 to 2**31")
    if context < 2:
        raise ValueError("the context must allow at least 2 tokens")
    if max_cells < 0:
        raise ValueError("max_cells must be >= 0")
    if not 0.0 <= target < 1.0:
        raise ValueError("target must be in [0, 1)")
    w = np.ones(tin.shape) if counts is None else np.asarray(counts, dtype=np.float64)
    if w.shape != tin.shape or (w < 0).any() or w.sum() <= 0:
        raise ValueError("counts must be non-negative, one per query, not all zero")
    # Distinct (input, output) pairs with their summed weight: a real trace repeats pairs a lot, and
    # every step below (support distances, candidates, the exact projection) is per pair.
    width = int(tout.max()) + 1
    keys, inverse = np.unique(tin * width + tout, return_inverse=True)  # one int64 key: fast to sort
    w = np.bincount(inverse.ravel(), weights=w, minlength=len(keys))
    tin, tout = keys // width, keys % width
    total = float(w.sum())
    radius = MIN_RADIUS if support is None else min(MIN_RADIUS, support.radius)

    dist = np.full(tin.shape, np.inf) if support is None else support.distance(tin, tout)
    share_before = 1.0 if support is None else float(w[dist > support.radius + 1e-12].sum() / total)
    # Judged at the design radius, which may be below the support's own (see the module doc).
    outside = dist > radius + 1e-12
    # A query longer than the context has no cell that fits; it stays extrapolated whatever is run.
    fits = (tin + tout) <= context
    unreachable = float(w[outside & ~fits].sum() / total)
    todo = outside & fits
    cells: list[tuple[int, int]] = []
    covered: list[float] = []
    if todo.any() and max_cells > 0:
        lattice = _Lattice(tin[todo], tout[todo], w[todo], radius)
        cin = _axis_candidates(tin[todo], w[todo], radius)
        cout = _axis_candidates(tout[todo], w[todo], radius)
        cand = np.array([(a, b) for a in cin for b in cout if a + b <= context], dtype=np.int64).reshape(-1, 2)
        if support is not None and len(cand):
            cand = cand[support.distance(cand[:, 0], cand[:, 1]) > radius + 1e-12]
        boxes = lattice.boxes(cand)
        cost = cand.sum(axis=1)
        # Still outside: the uncovered reachable mass plus what no cell can reach.
        fallback = False
        while len(cells) < max_cells and lattice.remaining() / total + unreachable > target:
            gain = lattice.gains(boxes)
            best = int(np.lexsort((cost, -gain))[0]) if len(cand) else -1
            if best < 0 or gain[best] <= 1e-12:
                if fallback:
                    break
                # Near the context's edge the crossed candidates can all be too long while queries there
                # still fit: offer the uncovered queries themselves (each covers at least itself).
                fallback = True
                extra = lattice.uncovered(tin[todo], tout[todo])
                cand = np.vstack([cand, extra])
                boxes, cost = lattice.boxes(cand), cand.sum(axis=1)
                continue
            cells.append((int(cand[best, 0]), int(cand[best, 1])))
            covered.append(float(gain[best] / total))
            lattice.take(boxes, best)
    chosen = np.array(cells, dtype=np.int64).reshape(-1, 2)
    measured = chosen if support is None else np.vstack([support.cells, chosen])
    # Exact (not on the lattice) and at the design radius: what the chosen cells really leave outside.
    projected = Support(measured, radius=radius).extrapolated_share(tin, tout, w) if len(measured) else 1.0
    return CoverDesign(cells=cells, share_before=share_before, projected_share=projected, radius=radius,
                       covered=covered, unreachable_share=unreachable)
