"""The paper's formulation, for comparison: one binary variable per (query, deployment).

Wilkins et al. (2024) solve eq. 3.5 with PuLP over x_{q,d} in {0, 1}. This
module rebuilds that model with OR-Tools' pywraplp, solved by CBC as PuLP
does by default (SCIP on request: on this model it is far slower) and
deliberately shares no code with the class-count planner in solver.py apart
from the term definitions and the objective declarations (objective_registry:
the cost, side row and sense of each objective, applied here per query): it is
the independent reference for the planner's aggregation into classes, share
bounds, capacities and solvers, and the benchmark measures the planner's
speed-up over it. Clamping, share bounds and capacities are re-derived here from
the specs. (The cost formulas themselves are checked against plain numpy by
tests/solver/conftest.py's evaluator.)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from profiling.fitting import terms
from scheduling.planner.objective_registry import get as get_objective
from scheduling.planner.types import DeploymentSpec, PlanningError


@dataclass
class _PerQuery:
    """The objectives' cost inputs with one row per query (the planner has one per class)."""

    energy: np.ndarray
    runtime: np.ndarray
    tokens: np.ndarray
    accuracy: np.ndarray

    @property
    def total_tokens(self) -> float:
        return float(self.tokens.sum())


@dataclass
class PaperMIPResult:
    status: str  # "optimal" | "feasible" | "infeasible" | "error"
    objective_value: float | None
    bound: float | None
    assignment: np.ndarray
    build_seconds: float
    solve_seconds: float
    variables: int


def solve(
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
    time_limit_s: float = 600.0,
    solver: str = "CBC",
) -> PaperMIPResult:
    t0 = time.perf_counter()
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    n, D = tin.size, len(deployments)
    if n == 0:
        raise PlanningError("the workload is empty: nothing to plan")
    e = np.maximum(np.column_stack([terms.predict(d.energy_coefs, tin, tout) for d in deployments]), 0.0)
    r = np.maximum(np.column_stack([terms.predict(d.runtime_coefs, tin, tout) for d in deployments]), 0.0)
    kind = get_objective(objective)
    per_query = _PerQuery(e, r, tin + tout, np.array([d.accuracy for d in deployments], dtype=np.float64))
    cost = kind.cost(per_query, zeta)
    side = kind.side_constraint(per_query, {"accuracy_target": accuracy_target, "energy_budget_j": energy_budget_j})

    s = pywraplp.Solver.CreateSolver(solver)
    if s is None:
        raise PlanningError(f"OR-Tools has no {solver} solver here")
    x = [[s.BoolVar(f"x_{q}_{d}") for d in range(D)] for q in range(n)]
    for q in range(n):
        s.Add(sum(x[q]) == 1)
    explicit = any(d.min_share > 0 or d.max_share < 1 for d in deployments)
    for j, d in enumerate(deployments):
        col = [x[q][j] for q in range(n)]
        if paper_default_shares and not explicit and D > 1:
            if n >= D:
                s.Add(sum(col) >= 1)
            s.Add(sum(col) <= n - 1)
        else:
            s.Add(sum(col) >= math.ceil(d.min_share * n - 1e-9))
            s.Add(sum(col) <= math.floor(d.max_share * n + 1e-9))
        cap = math.inf
        if d.capacity_gpu_s is not None:
            cap = d.capacity_gpu_s / d.gpus
        if deadline_s is not None:
            cap = min(cap, deadline_s * d.instances)
        if math.isfinite(cap):
            s.Add(sum(float(r[q, j]) * x[q][j] for q in range(n)) <= cap)
    if side is not None:
        row = sum(float(side.coef[q, j]) * x[q][j] for q in range(n) for j in range(D))
        s.Add(row >= side.rhs if side.sense == ">=" else row <= side.rhs)
    s.Minimize(sum(float(cost[q, j]) * x[q][j] for q in range(n) for j in range(D)))
    built = time.perf_counter() - t0

    s.SetTimeLimit(int(time_limit_s * 1000))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 1e-9)
    t1 = time.perf_counter()
    code = s.Solve(params)
    solved = time.perf_counter() - t1
    status = {
        pywraplp.Solver.OPTIMAL: "optimal",
        pywraplp.Solver.FEASIBLE: "feasible",
        pywraplp.Solver.INFEASIBLE: "infeasible",
    }.get(code, "error")
    if status in ("optimal", "feasible"):
        assignment = np.array(
            [int(np.argmax([v.solution_value() for v in row])) for row in x], dtype=np.int64
        )
        value = float(cost[np.arange(n), assignment].sum())
        value, bound = kind.reported(value), kind.reported(s.Objective().BestBound())
    else:
        assignment, value, bound = np.full(n, -1, dtype=np.int64), None, None
    return PaperMIPResult(status, value, bound, assignment, built, solved, n * D)
