"""Log-spaced input-length buckets.

Why log-spaced: energy and runtime grow with the token counts, and request lengths
span four orders of magnitude (a 10-token chat turn, a 10,000-token document), so
equal widths would put almost every query in the first bucket. Two buckets per octave
keep the input length inside a bucket within a factor of sqrt(2).
"""

from __future__ import annotations

import bisect
import math

import numpy as np

DEFAULT_PER_OCTAVE = 2


def bucket_edges(tin, per_octave: int = DEFAULT_PER_OCTAVE) -> np.ndarray:
    """Lower edges of the buckets covering ``tin`` (int64, increasing, first edge 0).

    Bucket b holds edges[b] <= tin < edges[b + 1]; the last bucket is open above.
    Edges are rounded powers of 2**(1/per_octave) from 1 up to max(tin), so a policy
    trained on short prompts still has a bucket (the last, open one) for longer ones.
    """
    if per_octave < 1:
        raise ValueError("per_octave must be at least 1")
    tin = np.asarray(tin)
    top = max(int(tin.max()) if tin.size else 1, 1)
    steps = math.ceil(math.log2(top) * per_octave) + 1 if top > 1 else 1
    powers = np.unique(np.rint(2.0 ** (np.arange(steps) / per_octave)).astype(np.int64))
    return np.concatenate(([0], powers[powers <= top]))


def bucket_of(tin, edges) -> np.ndarray:
    """Bucket index of each input length (vectorised)."""
    return np.searchsorted(np.asarray(edges), np.asarray(tin), side="right") - 1


def bucket_of_one(tin: int, edges: list[int]) -> int:
    """Bucket index of one input length; ``edges`` a plain list (bisect beats NumPy per call)."""
    return bisect.bisect_right(edges, tin) - 1


def label(edges, b: int) -> str:
    lo = int(edges[b])
    return f"{lo}+" if b + 1 >= len(edges) else f"{lo}-{int(edges[b + 1]) - 1}"
