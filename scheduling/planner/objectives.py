"""The planning problem on query classes, its objectives and its metrics.

Queries with equal (tin, tout) cost the same on every deployment, so the
planner works on classes: ``x[c, d]`` = how many queries of class c run on
deployment d. A 1,000,000-query trace has a few tens of thousands of classes.

The objectives themselves (cost, sense, side row, inputs) are declared in
``objective_registry.py``; this module builds the Problem they are costed on.

A model that predicts zero or negative energy or runtime for a query of the
workload would make that query free: planning refuses it, naming the deployment
and the number of queries, unless ``allow_clamping`` (then those values are
clamped to zero and every result says so). Deployments are planned in a
canonical order (by key), so the plan and the baselines do not depend on the
order they were listed in; assignments are returned in the caller's order.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from profiling.fitting import intervals, terms

from . import objective_registry
from .objective_registry import SideConstraint
from .types import ClassPlan, DeploymentSpec, PlanningError


@dataclass
class Problem:
    """A workload aggregated into classes, evaluated on every deployment."""

    deployments: list[DeploymentSpec]
    n: int
    class_tin: np.ndarray  # (C,) int64
    class_tout: np.ndarray  # (C,)
    class_count: np.ndarray  # (C,) int64
    inverse: np.ndarray  # (n,) class index of each query
    energy: np.ndarray  # (C, D) J per query (positive, or clamped at 0 with allow_clamping)
    runtime: np.ndarray  # (C, D) s per query
    accuracy: np.ndarray  # (D,) percent
    gpus: np.ndarray  # (D,)
    lo: np.ndarray  # (D,) minimum queries
    hi: np.ndarray  # (D,) maximum queries
    cap_runtime: np.ndarray  # (D,) max summed runtime in s (inf = none)
    warnings: list[str] = field(default_factory=list)
    caller_index: np.ndarray | None = None  # (D,) index in the caller's list of each canonical deployment
    outside: np.ndarray | None = None  # (C, D) class beyond the deployment's measured support
    energy_low: np.ndarray | None = None  # (C, D) 95% band of the energy per query (None: no interval)
    energy_high: np.ndarray | None = None

    def to_caller(self, assignment: np.ndarray) -> np.ndarray:
        """Per-query deployment indices in the caller's order of deployments."""
        if self.caller_index is None:
            return assignment
        return np.where(assignment >= 0, self.caller_index[np.maximum(assignment, 0)], assignment)

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.deployments]

    @functools.cached_property
    def tokens(self) -> np.ndarray:
        # Kept: the metrics of every plan and baseline read it (2M classes: 15 MB made ~15 times a job).
        return (self.class_tin + self.class_tout).astype(np.float64)

    @property
    def total_tokens(self) -> float:
        return float(np.dot(self.class_count, self.tokens))

    @property
    def has_capacity(self) -> bool:
        return bool(np.isfinite(self.cap_runtime).any())

    @property
    def energy_estimated(self) -> bool:
        return any(d.energy_estimated for d in self.deployments)


def _as_tokens(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise PlanningError(f"{name} must be a one-dimensional sequence of token counts")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        f = arr.astype(np.float64)
        if not np.all(np.isfinite(f)) or np.any(f != np.round(f)):
            raise PlanningError(f"{name} must hold whole token counts")
        arr = f
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise PlanningError(f"{name} must not be negative (query {int(np.argmin(arr))})")
    return arr


def validate_deployments(deployments) -> list[DeploymentSpec]:
    deployments = list(deployments)
    if not deployments:
        raise PlanningError("no deployments to plan with")
    seen = set()
    for d in deployments:
        if d.key in seen:
            raise PlanningError(f"deployment {d.key!r} is listed twice")
        seen.add(d.key)
        if not (math.isfinite(d.accuracy) and 0 <= d.accuracy <= 100):
            raise PlanningError(f"{d.key}: accuracy must be a percentage in 0..100, got {d.accuracy}")
        if not (0 <= d.min_share <= 1 and 0 <= d.max_share <= 1):
            raise PlanningError(f"{d.key}: shares must lie in 0..1 (min {d.min_share}, max {d.max_share})")
        if d.min_share > d.max_share:
            raise PlanningError(f"{d.key}: min_share {d.min_share} is above max_share {d.max_share}")
        if d.gpus < 1 or d.instances < 1:
            raise PlanningError(f"{d.key}: gpus and instances must be at least 1")
        if d.capacity_gpu_s is not None and not (d.capacity_gpu_s >= 0):
            raise PlanningError(f"{d.key}: capacity_gpu_s must be a non-negative number of GPU-seconds")
        for label, coefs in (("energy", d.energy_coefs), ("runtime", d.runtime_coefs)):
            if not coefs:
                raise PlanningError(f"{d.key}: no {label} model")
            unknown = [t for t in coefs if t not in terms.TERMS]
            if unknown:
                raise PlanningError(f"{d.key}: unknown {label} model terms {', '.join(unknown)}")
            if not all(math.isfinite(float(v)) for v in coefs.values()):
                raise PlanningError(f"{d.key}: {label} model has a non-finite coefficient")
    return deployments


# The dense (distinct tin) x (distinct tout) grid is counted with bincount while it
# has at most this many cells per query (plus a fixed allowance); beyond that a
# sort of the pair keys is cheaper than the grid.
_GRID_CELLS_PER_QUERY = 4
_GRID_CELLS_FIXED = 1 << 22
# Beyond the dense grid, a bitmap of the cells (one byte per cell while it is built, then one
# bit) while it has at most this many cells per query; beyond that the radix sort.
_BITMAP_CELLS_PER_QUERY = 16


def aggregate(tin, tout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Classes of equal (tin, tout): (class_tin, class_tout, counts, inverse).

    Classes come in (tin, tout) order, as np.unique on the pairs would give them,
    but in O(n): token counts are bounded (the maximum context), so each column
    is ranked by counting its values and the pair of ranks indexes a dense grid.
    """
    tin = _as_tokens(tin, "tin")
    tout = _as_tokens(tout, "tout")
    if tin.shape != tout.shape:
        raise PlanningError(f"tin and tout differ in length ({tin.size} vs {tout.size})")
    if tin.size == 0:
        raise PlanningError("the workload is empty: nothing to plan")
    in_rank, in_values = _ranks(tin)
    out_rank, out_values = _ranks(tout)
    width = out_values.size
    cells = in_values.size * width
    if in_rank is None or out_rank is None or cells > 1 << 32:
        return _aggregate_sorted(tin, tout)
    if cells > _GRID_CELLS_PER_QUERY * tin.size + _GRID_CELLS_FIXED:
        # Too many cells for a dense grid of counts (10M generated queries: 21k x 3k distinct
        # values), but few enough for a bitmap of the cells seen; else the pair of ranks fits
        # 32 bits and a two-pass radix sort keeps it O(n).
        key = in_rank
        key *= width
        key += out_rank
        del out_rank
        if cells <= _BITMAP_CELLS_PER_QUERY * tin.size + _GRID_CELLS_FIXED:
            return _aggregate_bitmap(key, in_values, out_values, width, cells)
        return _aggregate_radix(key, in_values, out_values, width, cells)
    # Row-major over (rank of tin, rank of tout): the same order as sorting the pairs.
    # In place, to spare two temporaries the size of the workload.
    key = in_rank
    key *= width
    key += out_rank
    del out_rank
    grid = np.bincount(key, minlength=cells)
    cls = np.flatnonzero(grid)
    lookup = np.zeros(cells, dtype=np.int64)
    lookup[cls] = np.arange(cls.size)
    inverse = lookup[key]
    return in_values[cls // width], out_values[cls % width], grid[cls], inverse


def _ranks(values: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Rank of each value among the distinct values, and those values, by counting.

    (None, ...) when the values span too wide a range for a counting pass.
    """
    top = int(values.max())
    if top > _GRID_CELLS_PER_QUERY * values.size + _GRID_CELLS_FIXED:
        return None, values[:0]
    seen = np.bincount(values, minlength=top + 1) > 0
    distinct = np.flatnonzero(seen)
    rank_of = np.cumsum(seen, dtype=np.int64) - 1
    return rank_of[values], distinct


# Bits of a byte below bit b (b = 0..7), for the bitmap's within-byte rank.
_BELOW = np.array([(1 << b) - 1 for b in range(8)], dtype=np.uint8)


def _aggregate_bitmap(key: np.ndarray, in_values, out_values, width: int, cells: int):
    """Classes of the row-major rank pairs ``key`` by a bitmap of the cells seen.

    The class of a key is the number of cells seen below it: the set bits of the bytes
    before its byte (a prefix sum over the packed bitmap) plus those below its bit in its
    own byte. Cells come out in key order, as a sort gives them; about three times
    faster than the radix sort at 10M queries (no argsort, no 10M-long permutation).
    """
    seen = np.zeros(cells + (-cells) % 8, dtype=bool)
    seen[key] = True
    cls = np.flatnonzero(seen)
    packed = np.packbits(seen, bitorder="little")
    del seen
    before = np.empty(packed.size, dtype=np.int64)
    before[0] = 0
    np.cumsum(np.bitwise_count(packed[:-1]), out=before[1:])
    byte = key >> 3
    below = _BELOW[key & 7]
    below &= packed[byte]
    inverse = before[byte]
    del byte
    inverse += np.bitwise_count(below)
    counts = np.bincount(inverse, minlength=cls.size)
    return in_values[cls // width], out_values[cls % width], counts, inverse


def _aggregate_radix(key: np.ndarray, in_values, out_values, width: int, cells: int):
    """Classes of the row-major rank pairs ``key`` (< 2**32) by a stable LSD radix argsort."""
    if cells <= 1 << 16:
        order = np.argsort(key.astype(np.uint16), kind="stable")
    else:  # NumPy's stable sort of 16-bit keys is a radix sort: two passes of 16 bits
        order = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
        order = order[np.argsort((key[order] >> 16).astype(np.uint16), kind="stable")]
    ordered = key[order]
    new = np.empty(ordered.size, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    cls = ordered[starts]
    del ordered
    counts = np.diff(np.append(starts, key.size)).astype(np.int64)
    inverse = np.empty(key.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return in_values[cls // width], out_values[cls % width], counts, inverse


def _aggregate_sorted(tin: np.ndarray, tout: np.ndarray):
    """The sorting fallback for sparse classes over a wide token range: O(n log n)."""
    # One int64 key per pair is much faster to unique than rows of a 2-D array.
    base = int(tout.max()) + 1
    keys = tin * base + tout
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return uniq // base, uniq % base, counts.astype(np.int64), inverse.astype(np.int64)


def share_bounds(deployments, n: int, paper_default_shares: bool, warnings: list[str]):
    """Per-deployment [lo, hi] query counts.

    The paper's default (every deployment gets at least one query and not all of
    them) applies when ``paper_default_shares`` and no deployment sets a bound.
    """
    D = len(deployments)
    explicit = any(d.has_explicit_shares for d in deployments)
    if paper_default_shares and not explicit and D > 1:
        if n < D:
            warnings.append(
                f"the paper's default shares (each deployment at least one query) need at least {D} "
                f"queries; with {n} the at-least-one rule is dropped"
            )
            lo = np.zeros(D, dtype=np.int64)
        else:
            lo = np.ones(D, dtype=np.int64)
        hi = np.full(D, n - 1, dtype=np.int64)
        return lo, hi
    # A small tolerance so that shares like 0.3 of 10 queries mean 3, not 2 or 4.
    lo = np.array([math.ceil(d.min_share * n - 1e-9) for d in deployments], dtype=np.int64)
    hi = np.array([math.floor(d.max_share * n + 1e-9) for d in deployments], dtype=np.int64)
    lo_sum = sum(d.min_share for d in deployments)
    hi_sum = sum(d.max_share for d in deployments)
    if lo.sum() > n:
        raise PlanningError(
            f"minimum shares sum to {lo_sum:.4g} (> 1): {int(lo.sum())} queries required but the workload has {n}"
        )
    if hi.sum() < n:
        raise PlanningError(
            f"maximum shares sum to {hi_sum:.4g} (< 1): at most {int(hi.sum())} of the {n} queries can be placed"
        )
    return lo, hi


def _clamped(matrix: np.ndarray, deployments, what: str, class_count, warnings: list[str],
             allow_clamping: bool = False) -> np.ndarray:
    bad = matrix <= 0
    if not bad.any():
        return matrix
    n = int(class_count.sum())
    found = []
    for j in np.flatnonzero(bad.any(axis=0)):
        q = int(class_count[bad[:, j]].sum())
        found.append(f"{deployments[j].key}: its {what} model predicts zero or negative {what} for {q:,} of the "
                     f"{n:,} queries")
    if not allow_clamping:
        raise PlanningError(
            "; ".join(found) + ". Planning with it would count those queries as free, so it is refused: "
            "choose a physically valid model (the selected fitted one), or set allow_clamping to clamp "
            "them to zero knowingly.")
    warnings.extend(f"CLAMPED (allow_clamping): {f}; clamped to zero, so this plan counts them as free "
                    "and its savings are overstated" for f in found)
    return np.where(bad, 0.0, matrix)


def _outside_range(deployments, ctin, ctout, counts, warnings: list[str], cache=None) -> np.ndarray:
    """(C, D): which classes lie beyond each deployment's measured support; warn with the share.

    Judged against the cells the models were measured on (profiling.fitting.support), not
    their bounding box: an unmeasured corner inside the box is extrapolated too. Models that
    store no cells (published ones) fall back to the box, and the warning says so.
    """
    out = np.zeros((len(ctin), len(deployments)), dtype=bool)
    n = int(counts.sum())
    cache = {} if cache is None else cache
    fin, fout = ctin.astype(np.float64), ctout.astype(np.float64)
    for j, d in enumerate(deployments):
        if d.supports:
            for sup in d.supports:
                out[:, j] |= _beyond(sup, fin, fout, cache)[1]
            where = "beyond the support of its models' measured cells"
        else:
            if d.tin_range is not None:
                out[:, j] |= (ctin < d.tin_range[0]) | (ctin > d.tin_range[1])
            if d.tout_range is not None:
                out[:, j] |= (ctout < d.tout_range[0]) | (ctout > d.tout_range[1])
            where = (f"outside its models' measured range (tin {_span(d.tin_range)}, tout {_span(d.tout_range)}; "
                     "no measured cells stored, so a bounding box)")
        q = int(counts[out[:, j]].sum())
        if q:
            warnings.append(f"{d.key}: {q:,} of the {n:,} queries ({100 * q / n:.1f}%) lie {where}: their "
                            "predictions are extrapolated")
    return out


def _beyond(support: dict, fin, fout, cache: dict):
    """intervals.beyond_support, computed once per support within one build_problem (``cache``).

    The nearest-cell query is the costly part (about 3 s per million classes on the 2-core
    box); the energy and runtime fits of a pair usually share their cells, and the energy
    band needs the same distances again.
    """
    key = (repr(support.get("cells")), support.get("radius"))
    if key not in cache:
        cache[key] = intervals.beyond_support(support, fin, fout)
    return cache[key]


# Classes per block of the elementwise band arithmetic (8 bytes each: 512 KB a column).
_BLOCK = 1 << 16


def _energy_bands(deployments, ctin, ctout, energy, cache=None,
                  predicted=None) -> tuple[np.ndarray, np.ndarray] | None:
    """(C, D) lower and upper 95% bounds of each class's energy, or None when a model has no interval.

    The plan's total sums the bounds (errors of one model are systematic, not independent
    across queries: a form that is 15% high at 2,048 tokens is 15% high for every such query).
    ``predicted``: the (C, D) energy predictions before clamping, when the caller has them.
    """
    if not deployments or any(d.energy_interval is None for d in deployments):
        return None
    cache = {} if cache is None else cache
    fin, fout = ctin.astype(np.float64), ctout.astype(np.float64)
    reaches = []
    for d in deployments:
        sup = d.energy_interval.get("support")
        reaches.append(_beyond(sup, fin, fout, cache) if sup and sup.get("cells") else None)
    lo, hi = np.empty_like(energy), np.empty_like(energy)
    # By blocks of classes that stay in the CPU cache: a band is some twenty elementwise
    # operations, each a pass over memory when made on 2M classes at once, and the bands
    # share their terms within a block. Elementwise: the same bits whatever the blocks.
    for start in range(0, len(fin), _BLOCK):
        b = slice(start, start + _BLOCK)
        columns: dict = {}
        for j, (d, reach) in enumerate(zip(deployments, reaches, strict=True)):
            _, low, high = intervals.prediction_interval(
                d.energy_coefs, d.energy_interval, fin[b], fout[b],
                reach=None if reach is None else (reach[0][b], reach[1][b]),
                yhat=None if predicted is None else predicted[b, j], columns=columns)
            if low is None:
                return None
            # The planner may have clamped a prediction (allow_clamping): keep the band around it.
            np.minimum(low, energy[b, j], out=lo[b, j])
            np.maximum(high, energy[b, j], out=hi[b, j])
    return lo, hi


def _predictions(deployments, fin, fout) -> tuple[np.ndarray, np.ndarray]:
    """(C, D) energy and runtime predictions of every deployment's models for the classes.

    By blocks of classes (see _energy_bands), every model of a block summed from one set of
    its term columns: ``np.column_stack`` of ``terms.predict`` on all classes, to the bit.
    """
    C, D = len(fin), len(deployments)
    energy, runtime = np.empty((C, D)), np.empty((C, D))
    for start in range(0, C, _BLOCK):
        b = slice(start, start + _BLOCK)
        columns: dict = {}
        for j, d in enumerate(deployments):
            energy[b, j] = terms.predict(d.energy_coefs, fin[b], fout[b], columns)
            runtime[b, j] = terms.predict(d.runtime_coefs, fin[b], fout[b], columns)
    return energy, runtime


def _span(r) -> str:
    return "any" if r is None else f"{r[0]}-{r[1]}"


def build_problem(
    tin,
    tout,
    deployments,
    *,
    paper_default_shares: bool = True,
    deadline_s: float | None = None,
    allow_clamping: bool = False,
) -> Problem:
    deployments = validate_deployments(deployments)
    # Canonical order: the same deployments listed in another order give the same plan and
    # the same baselines (round-robin, random and every tie-break follow this order).
    caller = {d.key: i for i, d in enumerate(deployments)}
    deployments = sorted(deployments, key=lambda d: d.key)
    caller_index = np.array([caller[d.key] for d in deployments], dtype=np.int64)
    ctin, ctout, counts, inverse = aggregate(tin, tout)
    n = int(counts.sum())
    warnings: list[str] = [f"{d.key}: {note}" for d in deployments for note in d.model_notes]
    fin, fout = ctin.astype(np.float64), ctout.astype(np.float64)
    predicted, runtime = _predictions(deployments, fin, fout)
    energy = _clamped(predicted, deployments, "energy", counts, warnings, allow_clamping)
    runtime = _clamped(runtime, deployments, "runtime", counts, warnings, allow_clamping)
    distances: dict = {}  # nearest-cell distances per support, shared by the two calls below
    outside = _outside_range(deployments, ctin, ctout, counts, warnings, distances)
    bands = _energy_bands(deployments, ctin, ctout, energy, distances, predicted)
    del predicted, distances
    lo, hi = share_bounds(deployments, n, paper_default_shares, warnings)

    if deadline_s is not None and not (deadline_s > 0):
        raise PlanningError(f"deadline_s must be positive, got {deadline_s}")
    cap = np.full(len(deployments), np.inf)
    for j, d in enumerate(deployments):
        if d.capacity_gpu_s is not None:
            cap[j] = d.capacity_gpu_s / d.gpus
        if deadline_s is not None:
            cap[j] = min(cap[j], deadline_s * d.instances)
    for j, d in enumerate(deployments):
        if lo[j] > 0 and np.isfinite(cap[j]):
            # The lo[j] fastest queries of the workload must fit at the least.
            need = _smallest_total(runtime[:, j], counts, int(lo[j]))
            if need > cap[j] * (1 + 1e-9):
                raise PlanningError(
                    f"{d.key}: capacity too small: its minimum share of {int(lo[j])} queries needs at least "
                    f"{need * d.gpus:.6g} GPU-seconds, but only {cap[j] * d.gpus:.6g} are available"
                )
    return Problem(
        deployments=deployments,
        n=n,
        class_tin=ctin,
        class_tout=ctout,
        class_count=counts,
        inverse=inverse,
        energy=energy,
        runtime=runtime,
        accuracy=np.array([d.accuracy for d in deployments], dtype=np.float64),
        gpus=np.array([d.gpus for d in deployments], dtype=np.float64),
        lo=lo,
        hi=hi,
        cap_runtime=cap,
        warnings=warnings,
        caller_index=caller_index,
        outside=outside,
        energy_low=None if bands is None else bands[0],
        energy_high=None if bands is None else bands[1],
    )


def _smallest_total(values: np.ndarray, counts: np.ndarray, k: int) -> float:
    """Sum of the k smallest values of the multiset {values[c] x counts[c]}."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], counts[order]
    before = np.concatenate(([0], np.cumsum(c)[:-1]))
    take = np.clip(k - before, 0, c)
    return float(np.dot(v, take))


def unit_costs(p: Problem, objective: str, zeta: float) -> np.ndarray:
    """Per-query cost of class c on deployment d, to be minimised."""
    return objective_registry.get(objective).cost(p, zeta)


def reported_value(objective: str, internal: float) -> float:
    """Internal minimised value -> the value users read (J, %, or paper units)."""
    return objective_registry.get(objective).reported(internal)


def side_constraint(p: Problem, objective: str, accuracy_target, energy_budget_j) -> SideConstraint | None:
    """The objective's extra row (an accuracy target, an energy budget), or None."""
    return objective_registry.get(objective).side_constraint(
        p, {"accuracy_target": accuracy_target, "energy_budget_j": energy_budget_j})


def metric_sums(p, x: ClassPlan) -> dict[str, np.ndarray]:
    """(D,) per-deployment sums of a plan that its metrics are made of. ``p``: a Problem, or
    any object with its (C, D) / (C,) arrays (``RunningSums`` passes the changed classes')."""
    # One gather and one bincount per quantity (ClassPlan.per_deployment), not (C, D) products:
    # a 101-point sweep at 2M classes spent more here than in its solves.
    sums = {
        "energy": x.per_deployment(p.energy),
        "runtime": x.per_deployment(p.runtime),
        "queries": x.per_deployment(),
        "tokens": x.per_deployment(p.tokens),
    }
    any_outside = getattr(p, "any_outside", None)
    if any_outside is None:
        any_outside = p.outside is not None and bool(p.outside.any())
    if any_outside:
        sums["queries_out"] = x.per_deployment(where=p.outside)
        sums["energy_out"] = x.per_deployment(p.energy, where=p.outside)
    if p.energy_low is not None:
        sums["energy_low"] = x.per_deployment(p.energy_low)
        sums["energy_high"] = x.per_deployment(p.energy_high)
    return sums


class RunningSums:
    """``metric_sums`` of the successive plans of one problem (a sweep), each from the previous
    plan's sums plus the difference on the classes that changed deployment.

    Neighbouring zetas move few classes (~1% at 563k classes, 0.01 apart), so a plan's
    metrics cost O(changed) instead of O(C) gathers. Each difference is summed exactly
    (``math.fsum`` of the same rounded products the direct sums add), so a step adds at most
    one rounding of the difference and one of the addition; a bound of that error is kept,
    and the sums are computed directly again once it exceeds ``REL`` of any of them. The
    metrics thus stay within 1e-12 relative of the direct sums, in which only the last bits
    can differ (tests/solver/test_running_metrics.py checks it). Whole-number sums (queries,
    tokens) are exact either way.
    """

    REL = 1e-13
    U = np.finfo(np.float64).eps
    EXACT = ("queries", "tokens", "queries_out")

    def __init__(self, p: Problem):
        self.p = p
        self.plan = None  # (choice, split, split_x) of the previous plan
        self.sums: dict[str, np.ndarray] | None = None
        self.err: dict[str, np.ndarray] | None = None
        self.direct = self.incremental = 0
        self.any_outside = p.outside is not None and bool(p.outside.any())

    def __call__(self, x: ClassPlan) -> dict[str, np.ndarray]:
        p = self.p
        sums = None
        same = x.count is p.class_count or np.array_equal(x.count, p.class_count)
        if self.plan is not None and same:
            choice, split, split_x = self.plan
            changed = np.flatnonzero(choice != x.choice)
            rows = np.union1d(changed, np.union1d(split, x.split)) if split.size or x.split.size else changed
            if rows.size <= choice.size // 8:
                sums = self._step(rows, ClassPlan(choice, x.count, split, split_x), x)
        if sums is None:
            sums = metric_sums(p, x)
            self.err = {k: np.zeros_like(v) for k, v in sums.items()}
            self.direct += 1
        else:
            self.incremental += 1
        self.plan = (x.choice, x.split, x.split_x)
        self.sums = sums
        return {k: v.copy() for k, v in sums.items()}

    def _quantities(self):
        """(key, values, where) of each sum, as metric_sums adds them."""
        p = self.p
        out = [("energy", p.energy, None), ("runtime", p.runtime, None), ("queries", None, None),
               ("tokens", p.tokens, None)]
        if self.any_outside:
            out += [("queries_out", None, p.outside), ("energy_out", p.energy, p.outside)]
        if p.energy_low is not None:
            out += [("energy_low", p.energy_low, None), ("energy_high", p.energy_high, None)]
        return out

    def _step(self, rows: np.ndarray, old: ClassPlan, new: ClassPlan) -> dict[str, np.ndarray] | None:
        if rows.size == 0:
            return self.sums
        D = len(self.sums["queries"])
        out, err = {}, {}
        for key, values, where in self._quantities():
            v = None if values is None else values[rows]
            w = None if where is None else where[rows]
            labels, terms = [], []
            for plan, sign in ((old, -1.0), (new, 1.0)):
                lab, val = _terms(plan, rows, v, w)
                labels.append(lab)
                terms.append(val if sign > 0 else -val)
            labels, terms = np.concatenate(labels), np.concatenate(terms)
            order = np.argsort(labels, kind="stable")
            bounds = np.searchsorted(labels[order], np.arange(D + 1))
            terms = terms[order]
            delta = np.array([math.fsum(terms[bounds[d]:bounds[d + 1]].tolist()) for d in range(D)])
            total = self.sums[key]
            value = total + delta
            if key in self.EXACT and np.abs(total).max() + np.abs(terms).sum() < 2.0**52:
                # Whole numbers below 2**52: the direct sums and these are exact.
                out[key], err[key] = value, self.err[key]
                continue
            bound = self.err[key] + self.U * (np.abs(delta) + np.abs(value))
            if (bound > self.REL * np.abs(value)).any():
                return None
            out[key], err[key] = value, bound
        self.err = err
        return out


def _terms(plan: ClassPlan, rows: np.ndarray, values, where) -> tuple[np.ndarray, np.ndarray]:
    """(deployment, x * value) of every non-zero cell of ``plan`` on classes ``rows``, with the
    products rounded as ClassPlan.per_deployment rounds them. ``values``/``where``: restricted."""
    R = rows.size
    at = np.searchsorted(rows, plan.split)  # the split classes sit among the rows
    whole = np.ones(R, dtype=bool)
    whole[at] = False
    idx = np.flatnonzero(whole)
    choice = plan.choice[rows][idx].astype(np.intp)
    w = plan.count[rows][idx].astype(np.float64)
    if values is None:
        v = w
    elif values.ndim == 1:
        v = w * values[idx]
    else:
        v = values[idx, choice] * w
    if where is not None:
        v = np.where(where[idx, choice], v, 0.0)
    D = plan.split_x.shape[1]
    if at.size:
        if values is None:
            vs = plan.split_x * 1.0
        elif values.ndim == 1:
            vs = plan.split_x * values[at][:, None]
        else:
            vs = plan.split_x * values[at]
        if where is not None:
            vs = np.where(where[at], vs, 0.0)
        choice = np.concatenate([choice, np.tile(np.arange(D), at.size)])
        v = np.concatenate([v, vs.ravel()])
    return choice, v


def metrics(p: Problem, x, sums: dict[str, np.ndarray] | None = None) -> dict:
    """Totals of a class-count solution x: (C, D) counts or a ClassPlan. ``sums``: its
    ``metric_sums`` when the caller has them (a sweep's ``RunningSums``)."""
    if not isinstance(x, ClassPlan):
        x = ClassPlan.from_dense(x)
    if sums is None:
        sums = metric_sums(p, x)
    e, r, q, tok = sums["energy"], sums["runtime"], sums["queries"], sums["tokens"]
    total_tok = float(tok.sum())
    per = {}
    q_out = sums.get("queries_out", np.zeros(len(p.keys)))
    e_out = sums.get("energy_out", np.zeros(len(p.keys)))
    e_lo, e_hi = sums.get("energy_low"), sums.get("energy_high")
    for j, key in enumerate(p.keys):
        per[key] = {
            "queries": int(round(q[j])),
            "tokens": int(round(tok[j])),
            "energy_j": float(e[j]),
            "runtime_s": float(r[j]),
            "gpu_s": float(r[j] * p.gpus[j]),
            "share": float(q[j] / p.n),
            # Of the queries placed here: how many, and how much of their predicted energy,
            # lie outside the models' measured token range (extrapolated).
            "extrapolated_queries": int(round(q_out[j])),
            "extrapolated_share": float(q_out[j] / q[j]) if q[j] else 0.0,
            "extrapolated_energy_share": float(e_out[j] / e[j]) if e[j] > 0 else 0.0,
            "energy_low_j": None if e_lo is None else float(e_lo[j]),
            "energy_high_j": None if e_hi is None else float(e_hi[j]),
        }
    return {
        "counts": {key: int(round(q[j])) for j, key in enumerate(p.keys)},
        "total_energy_j": float(e.sum()),
        "total_energy_low_j": None if e_lo is None else float(e_lo.sum()),
        "total_energy_high_j": None if e_hi is None else float(e_hi.sum()),
        "total_runtime_s": float(r.sum()),
        "mean_runtime_s": float(r.sum() / p.n),
        "accuracy": float(np.dot(tok, p.accuracy) / total_tok)
        if total_tok > 0
        else float(np.dot(q, p.accuracy) / p.n),
        "per_deployment": per,
    }


def objective_value(p: Problem, x: np.ndarray, objective: str, zeta: float) -> float:
    """The user-facing objective of a class-count solution, recomputed in float."""
    c = unit_costs(p, objective, zeta)
    plan = x if isinstance(x, ClassPlan) else ClassPlan.from_dense(x)
    return reported_value(objective, plan.total(c))


def violations(p: Problem, x: np.ndarray, side: SideConstraint | None = None, tol: float = 1e-7) -> list[str]:
    """Constraints a class-count solution breaks, in words (empty when feasible)."""
    out = []
    if not isinstance(x, ClassPlan):
        x = ClassPlan.from_dense(x)
    q = x.queries()
    for j, key in enumerate(p.keys):
        if q[j] < p.lo[j]:
            out.append(f"{key} gets {int(q[j])} queries, below its minimum of {int(p.lo[j])}")
        if q[j] > p.hi[j]:
            out.append(f"{key} gets {int(q[j])} queries, above its maximum of {int(p.hi[j])}")
    r = x.per_deployment(p.runtime) if p.has_capacity else None
    for j, key in enumerate(p.keys):
        if r is not None and np.isfinite(p.cap_runtime[j]) and r[j] > p.cap_runtime[j] * (1 + tol) + tol:
            out.append(
                f"{key} needs {r[j] * p.gpus[j]:.6g} GPU-seconds, above its capacity of "
                f"{p.cap_runtime[j] * p.gpus[j]:.6g}"
            )
    if side is not None:
        lhs = x.total(side.coef)
        bad = lhs < side.rhs - tol if side.sense == ">=" else lhs > side.rhs + tol
        if bad:
            out.append(f"breaks {side.label}")
    return out


def class_counts_from_assignment(p: Problem, assignment: np.ndarray) -> np.ndarray:
    """(C, D) counts of a per-query assignment."""
    D = len(p.deployments)
    flat = np.bincount(
        p.inverse * D + np.asarray(assignment, dtype=np.int64), minlength=len(p.class_count) * D
    )
    return flat.reshape(len(p.class_count), D)
