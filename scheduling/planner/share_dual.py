"""Exact share-bounded placement at millions of classes: dual prices, then a small flow on near-ties.

The share-bounded problem (min sum c_cd x_cd, every class placed, lo_d <= q_d <= hi_d)
couples the classes only through the D count rows. Dualising them with one price
mu_d per deployment splits it by class: at given prices each class goes to its
cheapest deployment (cost - mu), and for ANY mu

    L(mu) = sum_c n_c min_d (c_cd - mu_d) + sum_d min(mu_d lo_d, mu_d hi_d)

is a lower bound on the optimum (the certificate we report). At optimal prices only
the classes whose two cheapest deployments are (nearly) tied need a decision, so:

1. prices from a coarse problem (classes pooled into a few thousand bins), or the
   caller's ``mu0``;
2. classes whose best deployment beats the second by more than delta are fixed to
   it; the rest (a few thousand) go to a min-cost flow over their near-best arcs
   only, with the bounds left by the fixed classes;
3. the flow's own potentials (shortest paths on its exchange graph) are new prices;
   L(prices) over ALL classes and ALL arcs is the bound. If it meets the objective
   within ``tol`` the plan is proven optimal; otherwise the free set grows (x4) around
   the new prices and step 2 repeats, ending at the full flow in the worst case.

Each round is a few O(C D) numpy passes plus a flow on the free classes, so the cost
is near-linear in the number of classes. Pure numpy and OR-Tools: no Django.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from .types import ClassPlan

# Classes left to the flow in the first round: C / FREE_DIVISOR, at least MIN_FREE.
MIN_FREE = 4096
FREE_DIVISOR = 64
# Rows per block of the per-class passes: a block's few (BLOCK,) arrays fit in a core's L2.
BLOCK = 65536
MAX_ROUNDS = 8
BALANCE_STEPS = 3


class Infeasible(Exception):
    """The share bounds admit no assignment (the full flow said so)."""


def lagrangian(costs: np.ndarray, counts: np.ndarray, lo: np.ndarray, hi: np.ndarray, mu: np.ndarray) -> float:
    """L(mu), a lower bound on the share-bounded optimum for any prices mu."""
    per_class = _column_min(costs, lambda d, col: col - mu[d])
    return float(np.dot(counts, per_class) + np.minimum(mu * lo, mu * hi).sum())


def gap_floor(costs: np.ndarray, counts: np.ndarray) -> float:
    """A tiny fraction of the cost scale: an objective near zero must not turn float noise into a gap."""
    # -min_d(-|c|) is max_d |c| exactly: the same float as the min of -|c| it replaced, negated.
    C, D = costs.shape
    out = np.empty(C)
    buf = np.empty(min(C, BLOCK))
    for s in range(0, C, BLOCK):
        blk, o = costs[s:s + BLOCK], out[s:s + BLOCK]
        np.abs(blk[:, 0], out=o)
        for d in range(1, D):
            np.maximum(o, np.abs(blk[:, d], out=buf[:o.size]), out=o)
    return float(np.dot(counts, -out)) * -1e-12


def _column_min(costs: np.ndarray, f) -> np.ndarray:
    """(C,) min over d of f(d, costs[:, d]), one column at a time.

    On the planner's column-major costs each column is a contiguous pass and the
    temporaries are one column, not a (C, D) matrix: ~15x faster than numpy's
    reduction across 7-wide rows, and the same values. The rows go in blocks of
    BLOCK, so the running minimum and the temporaries stay in cache across the D
    columns (elementwise, so the same floats as whole columns).
    """
    C, D = costs.shape
    out = np.empty(C)
    for s in range(0, C, BLOCK):
        blk, o = costs[s:s + BLOCK], out[s:s + BLOCK]
        o[...] = f(0, blk[:, 0])
        for d in range(1, D):
            np.minimum(o, f(d, blk[:, d]), out=o)
    return out


def relative_gap(obj: float, bound: float, ref: float) -> float:
    """(objective - bound) relative to |objective|, floored by ``ref`` (solver._gap's convention)."""
    return max(obj - bound, 0.0) / max(abs(obj), ref, 1e-300)


def solve(costs, counts, lo, hi, *, mu0=None, bins=None, pooled=None, tol=1e-9, max_rounds=MAX_ROUNDS,
          min_free=MIN_FREE, ref=None):
    """(plan, bound, mu, stats): an optimal ClassPlan, its certified bound L(mu) and the prices.

    ``bins`` (C,) labels 0..B-1 grouping classes with similar costs, for the first prices
    when ``mu0`` is None; ``pooled`` = pool(costs, counts, bins) when the caller has it
    (a sweep pools its affine cost parts once).
    ``ref``: the gap's floor (gap_floor), when the caller has it already.
    Raises Infeasible when the bounds admit no assignment.
    """
    C, D = costs.shape
    counts = np.asarray(counts, dtype=np.int64)
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    stats: dict = {"dual_rounds": 0, "free_classes": []}
    ref = gap_floor(costs, counts) if ref is None else ref
    if lo.sum() > counts.sum() or hi.sum() < counts.sum():
        raise Infeasible
    if mu0 is None:
        if pooled is None and bins is not None:
            pooled = pool(costs, counts, bins)
        mu0 = _coarse_prices(*pooled, lo, hi) if pooled is not None else np.zeros(D)
        stats["warm_start"] = "coarse bins" if pooled is not None else "zero prices"
    else:
        stats["warm_start"] = "previous prices"
    target = max(min_free, C // FREE_DIVISOR)
    if 2 * target < C:
        got = _rounds(costs, counts, lo, hi, np.asarray(mu0, dtype=np.float64), target, tol, max_rounds,
                      stats, ref)
        if got is not None:
            stats["path"] = "dual prices + flow on near-ties"
            return got
    # Small problems, or rounds that did not certify: the whole problem as one flow.
    stats["path"] = "full flow"
    plan, mu_full = _flow_all(costs, counts, lo, hi)
    return plan, lagrangian(costs, counts, lo, hi, mu_full), mu_full, stats


def _reduced(costs, mu):
    """(column, best, gap): the best deployment at prices mu, the gap to the second best, and
    column(d) = c_cd - mu_d minus each class's best (a fresh (C,) array, made when asked).

    One pass over the columns of the planner's column-major costs (in blocks of rows,
    see _column_min), keeping the smallest value ``m`` so far, the second
    smallest ``m2`` (a tie with the smallest counts: gap 0) and the first deployment that
    reaches ``m`` (strictly smaller values replace it, so ties keep the lowest index).
    ``gap`` = m2 - m is the same float as min over d != best of ((c_cd - mu_d) - m).
    """
    C, D = costs.shape

    def shifted(d):
        return costs[:, d] - mu[d]  # the same floats at every call

    m = np.empty(C)
    m2 = np.empty(C)
    best = np.zeros(C, dtype=np.int16)
    n = min(C, BLOCK)
    col, lower, tmp = np.empty(n), np.empty(n, dtype=bool), np.empty(n)
    # Blocks of rows (see _column_min): the running m, m2 and best stay in cache over the columns.
    for s in range(0, C, BLOCK):
        e = min(s + BLOCK, C)
        blk, mb, m2b, bb = costs[s:e], m[s:e], m2[s:e], best[s:e]
        cb, lb, tb = col[:e - s], lower[:e - s], tmp[:e - s]
        np.subtract(blk[:, 0], mu[0], out=mb)
        m2b.fill(np.inf)
        for d in range(1, D):
            np.subtract(blk[:, d], mu[d], out=cb)
            np.less(cb, mb, out=lb)
            # m2 takes max(m, col): col when col is not a new minimum, else the old minimum.
            np.minimum(m2b, np.maximum(mb, cb, out=tb), out=m2b)
            bb[lb] = d
            np.minimum(mb, cb, out=mb)
    gap = np.subtract(m2, m, out=m2)

    def column(d):
        col = shifted(d)
        col -= m
        return col

    return column, best, gap


def _rounds(costs, counts, lo, hi, mu, target, tol, max_rounds, stats, ref):
    """Column generation from the balanced prices: flow on the free classes, certify, widen."""
    C, D = costs.shape
    column, best, gap = _reduced(costs, mu)
    plan = ClassPlan(best.astype(np.int16), counts, np.zeros(0, dtype=np.int64), np.zeros((0, D), np.int64))
    free = np.zeros(C, dtype=bool)
    best_bound, best_mu = -np.inf, mu
    feasible = False  # until the first flow, the plan is the cheapest choice, maybe out of bounds
    for _ in range(max_rounds):
        if 2 * target >= C:
            return None  # the free set would be most of the problem: one full flow is cheaper
        stats["dual_rounds"] += 1
        delta = _kth_smallest(gap, min(target, C - 1))
        free |= gap <= delta
        if not feasible:
            _cover_bounds(column, best, gap, counts, lo, hi, free)
        rows = np.flatnonzero(free)
        stats["free_classes"].append(int(rows.size))
        # Every arc of a free class: the flow can then meet any bound the free supply allows
        # (with only the near-best arcs, a deployment that no class prefers stayed unreachable).
        cand = np.ones((rows.size, D), dtype=bool)
        current = np.zeros((rows.size, D), dtype=np.int64)  # the plan so far on the free rows
        current[np.arange(rows.size), plan.choice[rows]] = counts[rows]
        if plan.split.size:
            at = np.searchsorted(rows, plan.split)
            current[at] = plan.split_x
        cand |= current > 0  # the current plan stays feasible in the restricted problem
        fixed_q = plan.queries() - current.sum(axis=0)
        fc, fd = np.nonzero(cand)
        # Arc costs relative to the class's cheapest candidate: small and non-negative.
        arc = costs[rows[fc], fd] - costs[rows].min(axis=1)[fc]
        try:
            flows = _flow(fc, fd, arc, counts[rows], np.maximum(lo - fixed_q, 0), hi - fixed_q, D)
        except Infeasible:
            if feasible:  # cannot happen: the current plan is a solution of the restricted problem
                raise
            stats["infeasible_rounds"] = stats.get("infeasible_rounds", 0) + 1
            target *= 4
            continue
        feasible = True
        xs = np.zeros((rows.size, D), dtype=np.int64)
        xs[fc, fd] = flows
        plan = ClassPlan.from_parts(plan.choice, counts, rows, xs)
        obj = plan.total(costs)
        # First the flow's own prices (cheap: free classes only); when they do not prove the
        # plan, prices from the exchange graph of the WHOLE plan (every class, every arc),
        # which are optimal prices whenever the plan is optimal.
        for prices in (_potentials, exchange_prices):
            mu_new = prices(costs, rows, cand, xs, plan, lo, hi)
            bound = lagrangian(costs, counts, lo, hi, mu_new)
            if bound > best_bound:
                best_bound, best_mu = bound, mu_new
            if relative_gap(obj, best_bound, ref) <= tol:
                return plan, best_bound, best_mu, stats
        # Not proven: the near-ties at the best prices so far (those of a near-optimal plan,
        # far closer to optimal than the first ones) join the flow, with the classes those
        # prices say are misplaced; the free set only grows, and its band widens each round.
        column, best, gap = _reduced(costs, best_mu)
        free[plan.choice != best] = True
        target *= 4 if stats["dual_rounds"] > 1 else 1
    return None


def _kth_smallest(values: np.ndarray, k: int) -> float:
    """np.partition(values, k)[k], from a strided sample's threshold and the few values under it."""
    n = values.size
    if 16 * k >= n or n < 65536:
        return float(np.partition(values, k)[k])
    step = n // 32768
    sample = values[::step]
    margin = 4 * int(np.sqrt(k / step)) + 16
    for rank in (k // step + margin, 2 * (k // step + margin)):
        if rank >= sample.size:
            break
        cut = np.partition(sample, rank)[rank]
        below = values[values <= cut]
        if below.size > k:
            return float(np.partition(below, k)[k])
    return float(np.partition(values, k)[k])


def _cover_bounds(column, best, gap, counts, lo, hi, free, passes: int = 4) -> None:
    """Free more classes until the fixed ones (on their cheapest deployment) leave the bounds reachable.

    Prices from pooled classes can put too many queries on a deployment or too few (exact
    ties, e.g. models clamped to zero energy on several deployments, pool into one bin).
    An overfull deployment frees its classes closest to leaving it (smallest gap); a short
    one frees the classes elsewhere closest to joining it (smallest reduced cost there,
    ``column(d)``).
    Each pass is a bincount over the free classes only (the totals per deployment are
    counted once) and one masked column per deployment out of bounds.
    """
    D = lo.size
    total_q = np.bincount(best, weights=counts, minlength=D)
    # Queries freed for a short deployment from classes whose cheapest is elsewhere: they may
    # now go to it, though ``best`` still counts them where they were (without this a short
    # deployment looked short at every pass and freed another batch each time).
    joined = np.zeros(D)
    for _ in range(passes):
        rows = np.flatnonzero(free)
        free_q = np.bincount(best[rows], weights=counts[rows], minlength=D)
        fixed_q = total_q - free_q
        over = np.flatnonzero(fixed_q > hi)
        short = np.flatnonzero(fixed_q + free_q + joined < lo)
        if over.size == 0 and short.size == 0:
            return
        for d in over:
            values = np.where((best == d) & ~free, gap, np.inf)
            free[_smallest_until(values, counts, fixed_q[d] - hi[d])] = True
        for d in short:
            values = column(d)
            values[free | (best == d)] = np.inf
            got = _smallest_until(values, counts, lo[d] - fixed_q[d] - free_q[d] - joined[d])
            free[got] = True
            joined[d] += counts[got].sum()


def _smallest_until(values, weights, need) -> np.ndarray:
    """Indices of the smallest finite ``values`` whose ``weights`` sum to at least ``need`` (with a margin).

    Most calls need a few dozen of hundreds of thousands: a threshold from a strided sample
    and one comparison pass find a small superset, and only that is sorted (an argpartition
    over every class cost more than the rest of a zeta's bookkeeping).
    """
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    want = max(64, int(4 * need / max(float(weights.mean()), 1.0)))
    while True:
        if 64 * want >= n:
            head = np.arange(n)
        else:
            step = n // (64 * want)
            sample = values[::step]
            rank = min(sample.size - 1, 4 * sample.size * want // n + 4)
            cut = np.partition(sample, rank)[rank]
            head = np.flatnonzero(values <= cut)
        head = head[np.argsort(values[head], kind="stable")]
        head = head[np.isfinite(values[head])]  # inf marks classes the caller excluded
        k = int(np.searchsorted(np.cumsum(weights[head]), need)) + 1
        if k <= head.size or head.size == np.count_nonzero(np.isfinite(values)) or 64 * want >= n:
            return head[: min(2 * k, head.size)]
        want *= 4


def _flow(tail_class, head_dep, cost, supply, lo, hi, D) -> np.ndarray:
    """Min-cost flow: classes (supply) -> deployments (lo..hi) over the given arcs; flow per arc."""
    F = supply.size
    n = int(supply.sum())
    if lo.sum() > n or hi.sum() < n or (hi < lo).any():
        raise Infeasible
    spread = float(cost.max()) if cost.size else 0.0
    # As solver._solve_flow: keep arc cost x nodes and the total cost far inside int64.
    unit_max = min(1e12, 2e18 / max(n, 1), 4e18 / (F + D + 2) / 8)
    scale = unit_max / spread if spread > 0 else 1.0
    icost = np.rint(cost * scale).astype(np.int64)
    smcf = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate([tail_class, F + np.arange(D)])
    heads = np.concatenate([F + head_dep, np.full(D, F + D)])
    caps = np.concatenate([supply[tail_class], hi - lo])
    unit = np.concatenate([icost, np.zeros(D, dtype=np.int64)])
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, unit)
    supplies = np.concatenate([supply, -lo, [-(n - int(lo.sum()))]])
    smcf.set_nodes_supplies(np.arange(F + D + 1), supplies)
    if smcf.solve() != smcf.OPTIMAL:
        raise Infeasible
    return smcf.flows(np.arange(tail_class.size)).astype(np.int64)


def exchange_potentials(w: np.ndarray, q: np.ndarray, lo, hi) -> np.ndarray:
    """Prices mu: shortest-path potentials on an exchange graph of D deployments and a slack node.

    ``w[d, d']`` (d, d' < D) is the cheapest move of one query from d to d'; this sets the slack
    node's arcs (room above lo, below hi, at the counts ``q``) in place and runs Bellman-Ford
    from every node at once. At an optimal plan the graph has no negative cycle and the
    distances are optimal dual prices. One construction for the planner's certificate
    (solver._dual_bound), the near-tie flow, whole plans, and the router's capped table.
    """
    D = w.shape[0] - 1
    s = D
    w[s, :D] = np.where(q > lo, 0.0, np.inf)
    w[:D, s] = np.where(q < hi, 0.0, np.inf)
    dist = np.zeros(D + 1)
    for _ in range(D + 2):
        new = np.minimum(dist, (dist[:, None] + w).min(axis=0))
        if np.array_equal(new, dist):
            break
        dist = new
    return dist[:D] - dist[s]


def _potentials(costs, rows, cand, x_f, plan, lo, hi) -> np.ndarray:
    """Prices mu from shortest paths on the exchange graph of the free classes' flow.

    Moving a query of a free class from d to a candidate d' costs c_cd' - c_cd; a slack
    node models room in the bounds (q_d above lo_d, below hi_d). At an optimal flow the
    graph has no negative cycle and the distances are optimal dual prices (the same
    construction as solver._dual_bound, restricted to the arcs the flow could use).
    """
    costs_f = costs[rows]
    q = plan.queries()
    D = costs_f.shape[1]
    w = np.full((D + 1, D + 1), np.inf)
    allowed = np.where(cand, costs_f, np.inf)
    for d in range(D):
        used = x_f[:, d] > 0
        if used.any():
            w[d, :D] = (allowed[used] - costs_f[used, d][:, None]).min(axis=0)
    np.fill_diagonal(w, np.inf)
    return exchange_potentials(w, q, lo, hi)


def exchange_prices(costs: np.ndarray, rows, cand, x_f, plan: ClassPlan, lo, hi) -> np.ndarray:
    """Prices from shortest paths on the exchange graph of a whole plan (as solver._dual_bound).

    Edge d -> d' costs the cheapest move of one query now on d to d'; a slack node
    models room in the bounds. No negative cycle (an optimal plan) -> optimal prices.
    """
    C, D = costs.shape
    w = np.full((D + 1, D + 1), np.inf)
    whole = np.ones(C, dtype=bool)
    whole[plan.split] = False
    order = np.argsort(plan.choice, kind="stable")
    order = order[whole[order]]
    groups = plan.choice[order]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if order.size else np.zeros(0, np.int64)
    if order.size:
        # Column by column (a contiguous pass each on the planner's column-major costs):
        # the cheapest move of a whole class on g to d' is min over its members of c_cd' - c_cg.
        own = plan.gather(costs)[order]
        heads = groups[starts].astype(np.intp)
        for d in range(D):
            w[heads, d] = np.minimum.reduceat(costs[order, d] - own, starts)
    for i, c in enumerate(plan.split):
        for d in np.flatnonzero(plan.split_x[i] > 0):
            w[d, :D] = np.minimum(w[d, :D], costs[c] - costs[c, d])
    np.fill_diagonal(w, np.inf)
    q = plan.queries()
    return exchange_potentials(w, q, lo, hi)


def _flow_all(costs, counts, lo, hi):
    C, D = costs.shape
    reduced = costs - costs.min(axis=1, keepdims=True)
    fc, fd = np.divmod(np.arange(C * D), D)
    flows = _flow(fc, fd, reduced.ravel(), counts, lo, hi, D)
    x = flows.reshape(C, D)
    plan = ClassPlan.from_dense(x)
    return plan, exchange_prices(costs, None, None, None, plan, lo, hi)


def pool(costs, counts, bins) -> tuple[np.ndarray, np.ndarray]:
    """(pooled costs (B', D), supply (B',)): count-weighted mean costs of the non-empty bins.

    Linear in ``costs``, so pool(a + z b) = pool(a) + z pool(b) for the same bins.
    """
    B = int(bins.max()) + 1  # labels 0..B-1 (solver._price_bins numbers them once per problem)
    size = np.bincount(bins, weights=counts, minlength=B)
    keep = size > 0  # a caller's labels may skip numbers
    # One bincount over (class, deployment) pairs: bins[c] * D + d, weights n_c c_cd.
    C, D = costs.shape
    pair = (bins.astype(np.int64) * D)[:, None] + np.arange(D)
    summed = np.bincount(pair.ravel(), weights=(costs * counts[:, None]).ravel(), minlength=B * D)
    pooled = summed.reshape(B, D)[keep] / size[keep][:, None]
    return pooled, size[keep].astype(np.int64)


def _coarse_prices(pooled, supply, lo, hi) -> np.ndarray:
    """Prices of the problem with classes pooled into bins (see pool).

    Not exact, only a starting point: the rounds above certify or correct it.
    """
    try:
        plan, mu = _flow_all(pooled, supply, lo, hi)
    except Infeasible:
        return np.zeros(pooled.shape[1])
    return mu
