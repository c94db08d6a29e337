"""Exact energy-optimal query placement with OR-Tools.

Why this is exact at millions of queries: with only per-deployment share
bounds, assigning query classes to deployments is a transportation problem.
Its constraint matrix is totally unimodular, so a min-cost flow returns an
integral optimum; we prove it in floating point with a Lagrangian dual bound
built from the flow's own solution (see ``_dual_bound``), so ``bound`` equals
the objective and ``gap`` is 0 (up to rounding) when we say "optimal".

At millions of distinct classes the one flow over every class is the slow part
(1.9M classes: ~14 s a zeta), so count-only problems go to ``share_dual``
(``method`` "dual", the default): prices for the D share rows, every class on
its cheapest deployment at those prices, a small flow on the near-tied classes,
proven by the Lagrangian bound L(prices) over all classes. The full flow stays
as ``method="flow"``, the oracle the tests compare it with.

One more linear row (an accuracy target, an energy budget) or capacity rows
(GPU-seconds, a deadline) break total unimodularity. Then we solve the LP
relaxation on class counts with GLOP (its bound is reported), repair the few
fractional classes with a small SCIP MIP, and, when the instance is small or
the gap is still above ``mip_gap``, run SCIP on the whole class-count model
with a time limit. The result carries the best bound and the relative gap.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.linear_solver.python import model_builder_helper as mbh

from . import objective_registry, share_dual
from .objective_registry import SideConstraint
from .objectives import (
    Problem,
    RunningSums,
    build_problem,
    metrics,
    reported_value,
    side_constraint,
    unit_costs,
    violations,
)
from .types import ClassPlan, DeploymentSpec, PlanningError, PlanResult

__all__ = [
    "DEFAULT_ZETAS",
    "DeploymentSpec",
    "PlanResult",
    "PlanningError",
    "plan",
    "plan_problem",
    "sweep",
    "baselines",
    "expand",
]

DEFAULT_ZETAS = tuple(round(0.1 * i, 1) for i in range(11))
METHODS = ("auto", "dual", "flow", "lp", "mip")
# Labels of the count-only paths, shown as the plan's ``method``.
DUAL_LABEL = "dual prices + min-cost flow on near-ties"
FLOW_LABEL = "min-cost-flow"

# Relative gap under which a solution counts as proven optimal (float noise).
OPTIMAL_GAP = 1e-9


def plan(
    tin,
    tout,
    deployments: list[DeploymentSpec],
    *,
    objective: str = "paper-energy-accuracy",
    zeta: float = 0.5,
    accuracy_target: float | None = None,
    energy_budget_j: float | None = None,
    deadline_s: float | None = None,
    paper_default_shares: bool = True,
    time_limit_s: float = 60.0,
    seed: int = 0,
    method: str = "auto",
    mip_gap: float = 1e-4,
    allow_clamping: bool = False,
) -> PlanResult:
    """Place every query on one deployment, optimally for ``objective``.

    ``tin``/``tout`` are per-query token counts. ``method`` forces a solver:
    "flow" (min-cost flow, count constraints only), "lp" (GLOP on the
    transportation LP, count constraints only: the answer must be integral),
    "mip" (LP + SCIP), "auto" picks the first that applies. ``seed`` is
    accepted for symmetry with the baselines; the solvers are deterministic.
    ``mip_gap`` is the relative gap at which SCIP may stop on models with side
    or capacity rows (count-only models are always solved exactly).
    Raises PlanningError for invalid or infeasible input.
    """
    started = time.perf_counter()
    _check_objective(objective, zeta, method)
    p = build_problem(
        tin, tout, deployments, paper_default_shares=paper_default_shares, deadline_s=deadline_s,
        allow_clamping=allow_clamping,
    )
    built = time.perf_counter() - started
    result = plan_problem(
        p,
        objective=objective,
        zeta=zeta,
        accuracy_target=accuracy_target,
        energy_budget_j=energy_budget_j,
        time_limit_s=time_limit_s,
        method=method,
        mip_gap=mip_gap,
        started=started,
    )
    result.stats["build_seconds"] = built
    return result


def sweep(tin, tout, deployments, zetas=DEFAULT_ZETAS, **kw) -> list[PlanResult]:
    """One plan per zeta (the energy-accuracy Pareto frontier), sharing one class aggregation."""
    objective = kw.pop("objective", "paper-energy-accuracy")
    method = kw.get("method", "auto")
    _check_objective(objective, 0.5, method)
    p = build_problem(
        tin,
        tout,
        deployments,
        paper_default_shares=kw.pop("paper_default_shares", True),
        deadline_s=kw.pop("deadline_s", None),
        allow_clamping=kw.pop("allow_clamping", False),
    )
    kw.pop("seed", None)
    out = []
    warm: dict = {}
    for z in zetas:
        _check_objective(objective, z, method)
        out.append(plan_problem(p, objective=objective, zeta=float(z), started=time.perf_counter(), warm=warm,
                                **kw))
    return out


def baselines(tin, tout, deployments, *, seed=0, **kw):
    """Round-robin, random, single deployments, greedy and accuracy-first; see baselines.py."""
    from .baselines import baselines as _baselines

    return _baselines(tin, tout, deployments, seed=seed, **kw)


def _check_objective(objective: str, zeta: float, method: str) -> None:
    objective_registry.get(objective)  # PlanningError naming the choices
    if not (0.0 <= float(zeta) <= 1.0):
        raise PlanningError(f"zeta must lie in 0..1, got {zeta}")
    if method not in METHODS:
        raise PlanningError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def plan_problem(
    p: Problem,
    *,
    objective: str = "paper-energy-accuracy",
    zeta: float = 0.5,
    accuracy_target: float | None = None,
    energy_budget_j: float | None = None,
    time_limit_s: float = 60.0,
    method: str = "auto",
    mip_gap: float = 1e-4,
    started: float | None = None,
    warm: dict | None = None,
    costs: np.ndarray | None = None,
) -> PlanResult:
    """Solve one objective on an aggregated problem.

    ``costs``: unit_costs(p, objective, zeta) when the caller has it already (a job plans one
    zeta and then prices the baselines at the same zeta: one (C, D) cost matrix for both).

    ``warm``: a dict shared by the points of a sweep; the dual path keeps its prices
    there, so the next zeta starts from them (any prices are a valid start: the
    result is certified either way).
    """
    started = time.perf_counter() if started is None else started
    side = side_constraint(p, objective, accuracy_target, energy_budget_j)
    counts_only = side is None and not p.has_capacity
    if costs is None:
        costs = _zeta_costs(p, objective, zeta, warm) if counts_only else unit_costs(p, objective, zeta)
    warnings = list(p.warnings)
    stats = {"queries": p.n, "classes": int(len(p.class_count)), "deployments": len(p.deployments),
             "_gap_floor": share_dual.gap_floor(costs, p.class_count)}
    if method in ("dual", "flow", "lp") and not counts_only:
        raise PlanningError(
            f"method {method!r} solves count constraints only; this problem has "
            f"{'an ' + side.label + ' row' if side else 'capacity rows'}: use method 'mip' or 'auto'"
        )
    internal = None  # the plan's total at ``costs``, where it is known (then _result reuses it)
    if counts_only and method in ("auto", "dual"):
        x, bound, label = _solve_dual(p, costs, objective, warm, stats, zeta)
        status = None
        if not isinstance(x, ClassPlan):
            x = ClassPlan.from_dense(x)
        internal = x.total(costs)
        if method == "auto" and _gap(internal, min(bound, internal), costs, p.class_count,
                                     stats["_gap_floor"]) > OPTIMAL_GAP:
            # The dual rounds stopped without a proof (seen on small problems with zero-count
            # classes): the single flow is exact, so an "auto" plan is never left unproven.
            stats["dual_unproven_gap"] = float(_gap(internal, min(bound, internal), costs, p.class_count,
                                                    stats["_gap_floor"]))
            x, label = _solve_flow(p, costs), FLOW_LABEL + " (dual unproven)"
            bound = _dual_bound(p, costs, x)
            internal = None
    elif counts_only and method == "flow":
        x, label = _solve_flow(p, costs), FLOW_LABEL
        bound = _dual_bound(p, costs, x)
        status = None
    elif counts_only and method == "lp":
        x, bound, integral, max_frac = _solve_transport_lp(p, costs)
        stats["lp_integral"] = integral
        stats["lp_max_fractionality"] = max_frac
        label, status = "lp (GLOP)", None
        if not integral:  # cannot happen for a vertex of a TU system; say so loudly if it does
            warnings.append(f"LP optimum was fractional (max {max_frac:.3g}); rounded")
    else:
        deadline = started + time_limit_s
        x, bound, label, status, extra = _solve_mip(p, costs, side, deadline, mip_gap)
        stats.update(extra)
    stats["variables"] = int(costs.size)
    return _result(p, x, costs, bound, objective, zeta, label, status, warnings, stats, side, started,
                   warm=warm, internal=internal)


# --- count constraints: dual prices (share_dual), or one min-cost flow ---------------

def _zeta_costs(p: Problem, objective: str, zeta: float, warm: dict | None) -> np.ndarray:
    """unit_costs(p, objective, zeta), column-major; in a sweep (``warm``), one fused pass a + zeta * b.

    Column-major because share_dual's passes are reductions across the D deployments of
    each class: on (C, D) in column order they are D contiguous passes (~15x faster than
    numpy's reduction over 7-wide rows). Every other solver reads the array the same.
    The two paper objectives are affine in zeta, so a sweep keeps a = cost at 0 and
    b = cost at 1 minus a per problem and writes each zeta's costs into one reused
    buffer (unit_costs builds ~6 (C, D) temporaries a zeta). The buffer is overwritten
    by the next zeta: nothing keeps costs past plan_problem.
    """
    if warm is None or not objective_registry.get(objective).affine_in_zeta:
        return np.asfortranarray(unit_costs(p, objective, zeta))
    key = ("affine costs", objective)
    if key not in warm and not warm.pop(("first zeta", objective), False):
        # The first zeta of a sweep is planned as a single plan would be (a job with one
        # zeta must not pay for both parts); the second builds the parts.
        warm[("first zeta", objective)] = True
        return np.asfortranarray(unit_costs(p, objective, zeta))
    if key not in warm:
        a = np.asfortranarray(unit_costs(p, objective, 0.0))
        b = np.asfortranarray(unit_costs(p, objective, 1.0))
        b -= a
        warm[key] = (a, b, np.empty_like(a))
    a, b, out = warm[key]
    np.multiply(b, float(zeta), out=out)
    out += a
    return out


def _solve_dual(p: Problem, costs: np.ndarray, objective: str, warm: dict | None, stats: dict,
                zeta: float = 0.5):
    warm = {} if warm is None else warm
    # Each zeta starts from prices of its own coarse problem: a neighbouring zeta's exact
    # prices measured worse (they sit at a vertex of that zeta's dual and needed more rounds),
    # so what a sweep shares is the pooling of classes into bins.
    if "bins" not in warm:
        warm["bins"] = _price_bins(p)
    pooled = None
    affine = warm.get(("affine costs", objective))
    if affine is not None:
        # Pooling is linear in the costs: pool a and b once per sweep, each zeta is a + zeta b.
        key = ("pooled", objective)
        if key not in warm:
            warm[key] = (share_dual.pool(affine[0], p.class_count, warm["bins"]),
                         share_dual.pool(affine[1], p.class_count, warm["bins"]))
        (pa, supply), (pb, _) = warm[key]
        pooled = (pa + zeta * pb, supply)
    try:
        x, bound, mu, extra = share_dual.solve(
            costs, p.class_count, p.lo, p.hi, bins=warm["bins"], pooled=pooled, tol=OPTIMAL_GAP,
            ref=stats.get("_gap_floor"),
        )
    except share_dual.Infeasible as exc:
        raise PlanningError("the share bounds admit no assignment") from exc
    stats.update(extra)
    stats["split_classes"] = int(x.split.size)
    label = DUAL_LABEL if extra["path"].startswith("dual") else FLOW_LABEL + " (after dual rounds)"
    return x, bound, label


# Bins per octave of tin and tout for the first prices: costs are smooth in the token
# counts, so classes of one bin cost nearly the same (a few thousand bins at most).
PRICE_BINS_PER_OCTAVE = 6


def _price_bins(p: Problem) -> np.ndarray:
    def level(t):
        return np.floor(np.log2(t.astype(np.float64) + 1.0) * PRICE_BINS_PER_OCTAVE).astype(np.int64)

    lin, lout = level(p.class_tin), level(p.class_tout)
    # Numbered 0..B-1 once here: a sweep reuses them at every zeta (np.unique of 2M labels ~0.2 s).
    return np.unique(lin * (int(lout.max()) + 1) + lout, return_inverse=True)[1]



def _solve_flow(p: Problem, costs: np.ndarray) -> np.ndarray:
    C, D = costs.shape
    # Each class's flow is fixed, so subtracting its row minimum changes no
    # decision and lets the integer costs use the whole int64 range for the spread.
    reduced = costs - costs.min(axis=1, keepdims=True)
    spread = float(reduced.max())
    # Cost scaling in OR-Tools multiplies costs by about the node count; keep
    # both a single arc cost x nodes and the total cost far inside int64.
    unit_max = min(1e12, 2e18 / max(p.n, 1), 4e18 / (C + D + 2) / 8)
    scale = unit_max / spread if spread > 0 else 1.0
    icost = np.rint(reduced * scale).astype(np.int64)

    smcf = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate([np.repeat(np.arange(C), D), C + np.arange(D)])
    heads = np.concatenate([C + np.tile(np.arange(D), C), np.full(D, C + D)])
    caps = np.concatenate([np.repeat(p.class_count, D), p.hi - p.lo])
    unit = np.concatenate([icost.ravel(), np.zeros(D, dtype=np.int64)])
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, unit)
    # Lower bounds on a deployment's count: it demands lo queries itself, the
    # sink absorbs the rest through arcs of capacity hi - lo.
    supplies = np.concatenate([p.class_count, -p.lo, [-(p.n - int(p.lo.sum()))]])
    smcf.set_nodes_supplies(np.arange(C + D + 1), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise PlanningError(
            f"min-cost flow failed with status {status}: the share bounds admit no assignment"
        )
    return smcf.flows(np.arange(C * D)).reshape(C, D).astype(np.int64)


def _dual_bound(p: Problem, costs: np.ndarray, x: np.ndarray) -> float:
    """A Lagrangian lower bound L(mu) <= optimum, tight at an optimal x.

    Dualising the per-deployment count rows lo <= sum_c x_cd <= hi with
    multipliers mu gives, for ANY mu,
        L(mu) = sum_c n_c min_d (cost_cd - mu_d) + sum_d min(mu_d lo_d, mu_d hi_d).
    We take mu from shortest-path potentials on the exchange graph of x (moving
    a query of a used class from d to d' costs cost_cd' - cost_cd; a slack node
    models room in the bounds). When x is optimal the graph has no negative
    cycle and L(mu) equals the objective; any rounding in the integer flow
    costs shows up honestly as a gap.
    """
    C, D = costs.shape
    w = np.full((D + 1, D + 1), np.inf)
    for d in range(D):
        used = x[:, d] > 0
        if used.any():
            sub = costs[used]
            w[d, :D] = (sub - sub[:, [d]]).min(axis=0)
    np.fill_diagonal(w, np.inf)
    q = x.sum(axis=0)
    mu = share_dual.exchange_potentials(w, q, p.lo, p.hi)
    per_class = (costs - mu[None, :]).min(axis=1)
    return float(np.dot(p.class_count, per_class) + np.minimum(mu * p.lo, mu * p.hi).sum())


# --- LP / MIP on class counts ----------------------------------------------------


class _Model:
    """Class-count model rows in sparse form, solved by GLOP or SCIP."""

    def __init__(self, costs, counts, lo, hi, runtime=None, cap=None, side: SideConstraint | None = None):
        C, D = costs.shape
        self.shape = (C, D)
        nv = C * D
        idx = np.arange(nv)
        rows = [np.repeat(np.arange(C), D), C + np.tile(np.arange(D), C)]
        cols = [idx, idx]
        vals = [np.ones(nv), np.ones(nv)]
        rlo = [counts.astype(np.float64), lo.astype(np.float64)]
        rhi = [counts.astype(np.float64), hi.astype(np.float64)]
        nrow = C + D
        if cap is not None:
            for d in np.flatnonzero(np.isfinite(cap)):
                rows.append(np.full(C, nrow))
                cols.append(np.arange(C) * D + d)
                vals.append(runtime[:, d])
                rlo.append([-np.inf])
                rhi.append([cap[d]])
                nrow += 1
        if side is not None:
            rows.append(np.full(nv, nrow))
            cols.append(idx)
            vals.append(side.coef.ravel())
            rlo.append([side.rhs if side.sense == ">=" else -np.inf])
            rhi.append([side.rhs if side.sense == "<=" else np.inf])
            nrow += 1
        # Imported here: scipy.sparse costs ~0.3 s at start-up and only LP/MIP models need it,
        # while every `schedule` run and worker imports this module.
        import scipy.sparse as sp

        self.matrix = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, nv)
        )
        self.costs = costs.ravel().astype(np.float64)
        self.ub = np.repeat(counts, D).astype(np.float64)
        self.rlo = np.concatenate([np.asarray(r, dtype=np.float64) for r in rlo])
        self.rhi = np.concatenate([np.asarray(r, dtype=np.float64) for r in rhi])

    def solve(self, solver: str, time_limit: float, integer: bool, hint: np.ndarray | None = None, gap=1e-9):
        helper = mbh.ModelBuilderHelper()
        helper.fill_model_from_sparse_data(
            np.zeros(self.costs.size), self.ub, self.costs, self.rlo, self.rhi, self.matrix
        )
        if integer:
            for i in range(self.costs.size):
                helper.set_var_integrality(i, True)
            if hint is not None:
                for i in np.flatnonzero(hint.ravel()):
                    helper.add_hint(int(i), float(hint.ravel()[i]))
                # SCIP needs the zeros of the hint too to take it as a full solution.
                for i in np.flatnonzero(hint.ravel() == 0):
                    helper.add_hint(int(i), 0.0)
        s = mbh.ModelSolverHelper(solver)
        s.set_time_limit_in_seconds(max(float(time_limit), 0.1))
        if solver == "glop":
            # Dual simplex is ~9x faster than primal here: the transportation
            # rows start dual feasible from the per-class cheapest deployment.
            s.set_solver_specific_parameters("use_dual_simplex: true")
        if integer and solver == "scip":
            s.set_solver_specific_parameters(f"limits/gap = {gap}\nrandomization/randomseedshift = 0\n")
        s.solve(helper)
        status = s.status()
        ok = status in (mbh.SolveStatus.OPTIMAL, mbh.SolveStatus.FEASIBLE) and s.has_solution()
        x = s.variable_values().reshape(self.shape) if ok else None
        obj = s.objective_value() if ok else None
        bound = s.best_objective_bound() if integer else obj
        return status, x, obj, bound


def _solve_transport_lp(p: Problem, costs: np.ndarray):
    m = _Model(costs, p.class_count, p.lo, p.hi)
    status, x, obj, _ = m.solve("glop", 600.0, integer=False)
    if x is None:
        raise PlanningError(f"the share bounds admit no assignment (LP status {status.name})")
    frac = np.abs(x - np.rint(x))
    max_frac = float(frac.max()) if frac.size else 0.0
    return np.rint(x).astype(np.int64), float(obj), bool(max_frac <= 1e-6), max_frac


def _solve_mip(p: Problem, costs, side, deadline, mip_gap):
    C, D = costs.shape
    cap = p.cap_runtime if p.has_capacity else None
    model = _Model(costs, p.class_count, p.lo, p.hi, p.runtime, cap, side)
    extra: dict = {}
    t = time.perf_counter()
    status, xl, lp_obj, _ = model.solve("glop", max(deadline - t, 1.0), integer=False)
    extra["lp_seconds"] = time.perf_counter() - t
    if xl is None:
        _explain_infeasible(p, costs, side, status)
    lp_bound = float(lp_obj)
    extra["lp_bound"] = lp_bound
    xr = np.rint(xl)
    if np.abs(xl - xr).max() <= 1e-6 and not violations(p, xr.astype(np.int64), side):
        extra["lp_integral"] = True
        return xr.astype(np.int64), lp_bound, "lp (GLOP, integral)", None, extra
    extra["lp_integral"] = False

    # Rows hold to the solvers' feasibility tolerance: violations() accepts
    # 1e-7 in row units (accuracy percentage points; fractions of the budget).
    best = _repair(p, costs, side, cap, xl, deadline)
    label = "lp (GLOP) + repair (SCIP)"
    best_bound = lp_bound
    if best is not None:
        obj = float((best * costs).sum())
        gap = _gap(obj, lp_bound, costs, p.class_count)
    else:
        gap = np.inf
    if gap > mip_gap:
        remaining = deadline - time.perf_counter()
        if remaining > 0.5:
            t = time.perf_counter()
            st, xm, mobj, mbound = model.solve("scip", remaining, integer=True, hint=best, gap=mip_gap)
            extra["mip_seconds"] = time.perf_counter() - t
            extra["mip_status"] = st.name
            if mbound is not None and np.isfinite(mbound):
                best_bound = max(best_bound, float(mbound))
            if xm is not None:
                xm = np.rint(xm).astype(np.int64)
                if not violations(p, xm, side) and (
                    best is None or (xm * costs).sum() < (best * costs).sum()
                ):
                    best = xm
                    label = "mip (SCIP on class counts)"
                elif best is not None:
                    label = "lp (GLOP) + repair (SCIP), SCIP proved bound"
    if best is None:
        return None, best_bound, "mip (SCIP on class counts)", "error", extra
    return best, best_bound, label, None, extra


def _repair(p: Problem, costs, side, cap, xl, deadline):
    """Round an LP vertex: keep floor(x), re-place the leftover queries by a small MIP.

    A vertex of the class-count LP splits only a handful of classes (one per
    extra row, roughly), so the leftover problem has few variables. When
    capacities are tight the leftovers may not fit in what floor(x) leaves
    free; then we also free the k classes that use each deployment most
    (k = 16, then 128) so the sub-MIP can shuffle them (a small large-
    neighbourhood search) before giving up to SCIP on the whole model.
    """
    floor = np.minimum(np.floor(xl + 1e-9).astype(np.int64), p.class_count[:, None])
    frac_rows = np.flatnonzero(p.class_count - floor.sum(axis=1) > 0)
    if frac_rows.size == 0:
        return floor if not violations(p, floor, side) else None
    load = floor * np.maximum(p.runtime, 1e-12) if cap is not None else floor.astype(np.float64)
    for k in (0, 16, 128):
        if k and k * len(p.deployments) >= len(p.class_count) // 2:
            break  # the neighbourhood would be most of the model: leave that to the full MIP
        remaining = deadline - time.perf_counter()
        if remaining < 0.2:
            break
        rows = frac_rows
        if k:
            top = np.argsort(-load, axis=0, kind="stable")[:k].ravel()
            rows = np.union1d(frac_rows, top)
        base = floor.copy()
        base[rows] = 0
        left = p.class_count[rows]
        used = base.sum(axis=0)
        sub_side = None
        if side is not None:
            rhs = side.rhs - float((base * side.coef).sum())
            sub_side = SideConstraint(side.coef[rows], rhs, side.sense, side.label)
        sub_cap = cap - (base * p.runtime).sum(axis=0) if cap is not None else None
        m = _Model(
            costs[rows], left, np.maximum(p.lo - used, 0), p.hi - used, p.runtime[rows], sub_cap, sub_side
        )
        # A quarter of what is left: the full MIP, warm-started from this, gets the rest.
        _, y, _, _ = m.solve("scip", min(remaining * 0.25, 10.0), integer=True, gap=1e-6)
        if y is None:
            continue
        x = base
        x[rows] += np.rint(y).astype(np.int64)
        if not violations(p, x, side):
            return x
    return None


def _explain_infeasible(p: Problem, costs, side, status) -> None:
    """Turn an infeasible LP into a message that says which constraint cannot be met."""
    cap = p.cap_runtime if p.has_capacity else None
    if cap is not None:
        st, x, _, _ = _Model(costs, p.class_count, p.lo, p.hi, p.runtime, cap, None).solve("glop", 60, False)
        if x is None:
            need = float(p.runtime.min(axis=1) @ p.class_count)
            have = ", ".join(
                f"{d.key}: {p.cap_runtime[j] * p.gpus[j]:.6g} GPU-s"
                for j, d in enumerate(p.deployments)
                if np.isfinite(p.cap_runtime[j])
            )
            raise PlanningError(
                "capacity too small: no assignment fits the GPU-second capacities and deadline "
                f"({have}); the workload needs at least {need:.6g} s of runtime even on its fastest deployments"
            )
    if side is not None and side.reach is not None:
        # The best the side row can reach under the share bounds (and capacities) alone.
        _, x, obj, _ = _Model(side.reach(), p.class_count, p.lo, p.hi, p.runtime, cap, None).solve(
            "glop", 60, False
        )
        if x is not None:
            raise PlanningError(side.explain(obj))
    raise PlanningError(f"no assignment satisfies the constraints (LP status {status.name})")


# --- results ---------------------------------------------------------------------


def _gap(obj: float, bound: float | None, costs: np.ndarray, counts: np.ndarray, ref: float | None = None) -> float:
    if bound is None:
        return np.inf
    # Relative to |objective|, but not below a tiny fraction of the cost scale
    # so an objective near zero does not turn float noise into a huge gap.
    ref = share_dual.gap_floor(costs, counts) if ref is None else ref
    return share_dual.relative_gap(obj, bound, ref)


def expand(p: Problem, x: np.ndarray, in_caller_order: bool = False) -> np.ndarray:
    """Per-query deployment index from class counts, deterministically.

    Within a class, queries in index order fill deployments in deployment order.
    O(n): a class placed whole on one deployment (all but a few in an optimal
    plan) needs no order at all; only the queries of split classes need their
    rank within the class, found by a radix sort on their class number.
    """
    plan = x if isinstance(x, ClassPlan) else ClassPlan.from_dense(x)
    D = plan.split_x.shape[1]
    # ``in_caller_order``: deployment numbers mapped per class (C values), not per query
    # (p.to_caller on the expanded array cost two more passes over every query).
    label = p.caller_index if in_caller_order and p.caller_index is not None else np.arange(D)
    label = label.astype(np.int64)
    assignment = label[plan.choice][p.inverse]
    if plan.split.size == 0:
        return assignment
    members, deployment = split_queries(p, plan)
    assignment[members] = label[deployment]
    return assignment


def split_queries(p: Problem, plan: ClassPlan, candidates: np.ndarray | None = None):
    """The queries of ``plan``'s split classes (ascending) and the deployment ``expand`` gives
    each (canonical numbering). ``candidates``: ascending queries known to include them all
    (the assignment file passes the queries of every plan's split classes, found once)."""
    split = plan.split
    number = np.full(plan.choice.size, -1, dtype=np.int64)
    number[split] = np.arange(split.size)
    if candidates is None:
        of_query = number[p.inverse]
        members = np.flatnonzero(of_query >= 0)
        sub = of_query[members]
        del of_query
    else:
        sub = number[p.inverse[candidates]]
        keep = sub >= 0
        members, sub = candidates[keep], sub[keep]
    order = _stable_argsort_bounded(sub, split.size)
    starts = np.concatenate(([0], np.cumsum(p.class_count[split])[:-1]))
    rank = np.empty(members.size, dtype=np.int64)
    rank[order] = np.arange(members.size) - starts[sub[order]]
    # A query of rank r goes to the first deployment whose running total exceeds r.
    # Column by column, so memory stays one array of the split classes' queries.
    filled = np.cumsum(plan.split_x, axis=1)
    deployment = np.zeros(members.size, dtype=np.int64)
    for d in range(plan.split_x.shape[1] - 1):
        deployment += rank >= filled[sub, d]
    return members, deployment


def _stable_argsort_bounded(keys: np.ndarray, bound: int) -> np.ndarray:
    """Stable argsort of integer keys in [0, bound) in linear time.

    NumPy's stable sort is a radix sort for 16-bit keys, so keys below 2**32
    take two least-significant-digit passes of 16 bits.
    """
    if bound <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if bound > 1 << 32:
        return np.argsort(keys, kind="stable")
    low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    high = np.argsort((keys[low] >> 16).astype(np.uint16), kind="stable")
    return low[high]


def _result(p, x, costs, bound, objective, zeta, label, status, warnings, stats, side, started, *,
            warm: dict | None = None, internal: float | None = None) -> PlanResult:
    """``warm``: a sweep's shared dict (its plans' metrics are kept running there, see
    objectives.RunningSums); ``internal``: x.total(costs) when plan_problem computed it."""
    ref = stats.pop("_gap_floor", None)
    if x is None:
        return PlanResult(
            status=status or "error",
            objective=objective,
            objective_value=None,
            bound=reported_value(objective, bound) if bound is not None else None,
            gap=None,
            assignment=np.full(p.n, -1, dtype=np.int64),
            counts={k: 0 for k in p.keys},
            total_energy_j=0.0,
            total_runtime_s=0.0,
            mean_runtime_s=0.0,
            accuracy=0.0,
            solve_seconds=time.perf_counter() - started,
            method=label,
            warnings=warnings + ["no feasible assignment found within the time limit"],
            zeta=zeta,
            energy_estimated=p.energy_estimated,
            stats=stats,
        )
    if not isinstance(x, ClassPlan):
        x = ClassPlan.from_dense(x)
    if internal is None:
        internal = x.total(costs)
    if bound is not None and bound > internal:
        # Float noise between the solver's tolerances and our recomputation: a
        # bound cannot exceed a feasible value, so report them equal.
        bound = internal
    gap = _gap(internal, bound, costs, p.class_count, ref)
    if status is None:
        status = "optimal" if gap <= OPTIMAL_GAP else "feasible"
    bad = violations(p, x, side)
    if bad:  # a solver returned something that breaks a row: never report it as a plan silently
        warnings.append("solution violates: " + "; ".join(bad))
        status = "error"
    sums = None
    if warm is not None:
        running = warm.get("metric sums")
        if running is None or running.p is not p:
            running = warm["metric sums"] = RunningSums(p)
        sums = running(x)
    m = metrics(p, x, sums)
    x.drop_cache()
    if p.energy_estimated:
        est = [d.key for d in p.deployments if d.energy_estimated]
        warnings.append(f"energy of {', '.join(est)} is estimated, not measured")
    bound_r = reported_value(objective, bound) if bound is not None else None
    return PlanResult(
        status=status,
        objective=objective,
        objective_value=reported_value(objective, internal),
        bound=bound_r,
        gap=float(gap) if np.isfinite(gap) else None,
        # Expanded to queries only when a caller reads it (a sweep point seldom is), in the
        # caller's order of deployments (the problem is solved in canonical order).
        assignment=lambda: expand(p, x, in_caller_order=True),
        counts=m["counts"],
        total_energy_j=m["total_energy_j"],
        total_energy_low_j=m["total_energy_low_j"],
        total_energy_high_j=m["total_energy_high_j"],
        total_runtime_s=m["total_runtime_s"],
        mean_runtime_s=m["mean_runtime_s"],
        accuracy=m["accuracy"],
        solve_seconds=time.perf_counter() - started,
        method=label,
        warnings=warnings,
        per_deployment=m["per_deployment"],
        zeta=zeta,
        energy_estimated=p.energy_estimated,
        stats=stats,
        class_counts=x,
    )
