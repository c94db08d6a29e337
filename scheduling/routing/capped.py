"""Queries that come with ``max_tokens``: a cap on the output changes what they cost.

A capped query is a class of its own: its output is the bucket's output distribution clipped
at the cap. Training workloads record no caps, so there is no count of such queries to plan
with; instead each (bucket, cap) class goes where the planner would put one more query of it:
to the deployment of least *reduced* cost, its unit cost minus the dual price of each
deployment's share constraint in the bucketed plan (the prices that make the plan optimal, from
the shortest-path potentials solver._dual_bound also uses). Caps are log-spaced like the input
buckets; a cap at or above the longest training output changes nothing and uses the shares.

Only for the count-constrained objectives (the paper's two trade-offs without capacities):
with an accuracy target, an energy budget or capacities, the extra row's own dual would be
needed too, so capped queries route by the bucket's shares there (said in the policy).
"""

from __future__ import annotations

import numpy as np

from scheduling.planner import objective_registry
from scheduling.planner.objectives import Problem, unit_costs
from scheduling.planner.share_dual import exchange_potentials

from .buckets import bucket_edges
from .predictors import Points


def dual_prices(p: Problem, costs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Prices mu of the per-deployment count rows at an optimal x (as solver._dual_bound computes them),
    with the paper's one-query bounds taken as slack."""
    C, D = costs.shape
    w = np.full((D + 1, D + 1), np.inf)
    for d in range(D):
        used = x[:, d] > 0
        if used.any():
            sub = costs[used]
            w[d, :D] = (sub - sub[:, [d]]).min(axis=0)
    np.fill_diagonal(w, np.inf)
    q = x.sum(axis=0)
    # The paper's default bounds (at least one query each, not all) price a single query: a
    # stream meets them with its first queries, so they must not steer every capped query.
    lo = np.where(p.lo <= 1, 0, p.lo)
    hi = np.where(p.hi >= p.n - 1, p.n, p.hi)
    return exchange_potentials(w, q, lo, hi)


def cap_table(bp: Problem, x: np.ndarray, pts: Points, seen: np.ndarray, n_buckets: int, factor: np.ndarray,
              objective: str, zeta: float, per_octave: int, evaluate) -> tuple[list[int], list[list[int]]] | None:
    """(cap edges, (seen buckets, caps) deployment index) or None where caps cannot be priced.

    The last edge is the longest training output: a cap at or above it changes nothing.

    ``bp``/``x``: the bucketed problem and its optimal class counts (phantom row included);
    ``evaluate(points, key)`` gives (points, D) energy or runtime per query.
    """
    if objective_registry.get(objective).side is not None or bp.has_capacity:
        return None
    costs = unit_costs(bp, objective, zeta)
    mu = dual_prices(bp, costs, x)
    top = int(pts.tout.max())
    caps = [int(c) for c in bucket_edges(np.array([top]), per_octave)[1:] if c < top]
    if not caps:
        return None
    w = np.bincount(pts.bucket, weights=pts.weight, minlength=n_buckets)[seen]
    table = np.zeros((len(seen), len(caps)), dtype=np.int64)
    S = len(seen)
    for m, cap in enumerate(caps):
        clipped = Points(pts.tin, np.minimum(pts.tout, cap), pts.bucket, pts.weight)
        energy = evaluate(clipped, "energy_coefs") * factor[pts.bucket]
        runtime = evaluate(clipped, "runtime_coefs")

        def mean(values):
            sums = np.column_stack([np.bincount(pts.bucket, weights=pts.weight * values[:, j], minlength=n_buckets)
                                    for j in range(values.shape[1])])
            return sums[seen] / w[:, None]

        tokens = mean((clipped.tin + clipped.tout)[:, None])[:, 0]
        # The same problem with the capped expectations in the bucket rows; the zero-count row
        # (the normalisers) is kept, so the costs are on the plan's own scale.
        capped = Problem(
            deployments=bp.deployments, n=bp.n, class_tin=np.append(tokens, bp.class_tin[S]),
            class_tout=bp.class_tout, class_count=bp.class_count, inverse=bp.inverse,
            energy=np.vstack([mean(energy), bp.energy[S:]]), runtime=np.vstack([mean(runtime), bp.runtime[S:]]),
            accuracy=bp.accuracy, gpus=bp.gpus, lo=bp.lo, hi=bp.hi, cap_runtime=bp.cap_runtime)
        reduced = unit_costs(capped, objective, zeta)[:S] - mu[None, :]
        table[:, m] = np.argmin(reduced, axis=1)
    return [*caps, top], table.tolist()
