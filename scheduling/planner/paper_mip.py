"""The paper's formulation, for comparison: one binary variable per (query, deployment).

Wilkins et al. (2024) solve eq. 3.5 with PuLP over x_{q,d} in {0, 1}. This
module rebuilds that model with OR-Tools' pywraplp, solved by CBC as PuLP
does by default (SCIP on request: on this model it is far slower) and
deliberately shares no code with the class-count planner in solver.py apart
from the term definitions: it is the independent reference the tests compare
the planner against, and the benchmark measures the planner's speed-up over it.
Costs, clamping, share bounds and side rows are re-derived here from the specs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from profiling.fitting import terms

from .types import DeploymentSpec, PlanningError


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
    acc = np.array([d.accuracy for d in deployments])
    a = (tin + tout)[:, None] * acc[None, :]  # eq. 3.4
    tokens = float((tin + tout).sum())

    def norm(m):
        top = float(m.max())
        return m / top if top > 0 else m

    if objective == "paper-energy-accuracy":
        cost = zeta * norm(e) - (1 - zeta) * norm(a)
    elif objective == "paper-energy-runtime":
        cost = zeta * norm(e) + (1 - zeta) * norm(r)
    elif objective == "min-energy-accuracy-target":
        cost = e
    elif objective == "max-accuracy-energy-budget":
        cost = -a / tokens
    else:
        raise PlanningError(f"unknown objective {objective!r}")

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
    if objective == "min-energy-accuracy-target":
        s.Add(
            sum(
                float((tin[q] + tout[q]) * (acc[j] - accuracy_target) / tokens) * x[q][j]
                for q in range(n)
                for j in range(D)
            )
            >= 0
        )
    if objective == "max-accuracy-energy-budget":
        scale = max(float(energy_budget_j), 1.0)
        s.Add(
            sum(float(e[q, j] / scale) * x[q][j] for q in range(n) for j in range(D))
            <= energy_budget_j / scale
        )
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
        bound = s.Objective().BestBound()
        if objective == "max-accuracy-energy-budget":
            value, bound = -value, -bound
    else:
        assignment, value, bound = np.full(n, -1, dtype=np.int64), None, None
    return PaperMIPResult(status, value, bound, assignment, built, solved, n * D)
