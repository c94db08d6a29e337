"""Plain data types shared by the planner, the baselines and their callers.

No Django here: the scheduling app converts database rows into these specs so
the solver can be tested and benchmarked without a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class PlanningError(ValueError):
    """Invalid or infeasible planning input, with a message meant for the user."""


@dataclass(frozen=True)
class DeploymentSpec:
    """One LLM on one hardware system, with the models to plan with.

    ``energy_coefs`` / ``runtime_coefs`` map term names of
    ``profiling.services.terms`` to coefficients: joules and seconds per query.
    Shares are fractions of the workload's queries. Capacity limits the
    deployment's total GPU-seconds (runtime x ``gpus`` summed over its queries);
    ``instances`` is how many copies serve in parallel, used by a deadline.
    """

    key: str
    accuracy: float
    energy_coefs: dict[str, float]
    runtime_coefs: dict[str, float]
    min_share: float = 0.0
    max_share: float = 1.0
    gpus: int = 1
    capacity_gpu_s: float | None = None
    energy_estimated: bool = False
    instances: int = 1
    # Measured token ranges of the models ((low, high) or None): kept for fits that store no
    # measured cells (published ones, fits made before cells were stored); ``supports`` rules.
    tin_range: tuple[int, int] | None = None
    tout_range: tuple[int, int] | None = None
    # Warnings that travel with the models (every flag of the fits used).
    model_notes: tuple[str, ...] = ()
    # The measured cells of each model (profiling.fitting.support JSON): a query is extrapolated
    # when it lies beyond the support radius of any of them.
    supports: tuple[dict, ...] = ()
    # The energy fit's interval metrics (profiling.fitting.intervals), or None: no interval.
    energy_interval: dict | None = None

    @property
    def has_explicit_shares(self) -> bool:
        return self.min_share > 0.0 or self.max_share < 1.0


@dataclass
class PlanResult:
    status: str  # "optimal" | "feasible" | "infeasible" | "error"
    objective: str
    objective_value: float | None
    bound: float | None
    gap: float | None
    # The per-query deployment index, or a function that computes it: the
    # planner and the baselines work on classes and expand to queries only
    # when ``assignment`` is first read (see the property below).
    assignment: np.ndarray | Callable[[], np.ndarray] = field(repr=False)
    counts: dict[str, int]
    total_energy_j: float
    total_runtime_s: float
    mean_runtime_s: float
    accuracy: float
    solve_seconds: float
    method: str
    warnings: list[str] = field(default_factory=list)
    per_deployment: dict[str, dict] = field(default_factory=dict)
    zeta: float | None = None
    name: str = "plan"
    energy_estimated: bool = False
    stats: dict = field(default_factory=dict)
    # (classes, deployments) query counts of the solution, when it has one.
    class_counts: np.ndarray | None = field(default=None, repr=False)
    # The 95% band of total_energy_j (None where a model carries no interval).
    total_energy_low_j: float | None = None
    total_energy_high_j: float | None = None

    def to_dict(self, include_assignment: bool = False) -> dict:
        d = {
            "name": self.name,
            "status": self.status,
            "objective": self.objective,
            "zeta": self.zeta,
            "objective_value": _num(self.objective_value),
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "counts": {k: int(v) for k, v in self.counts.items()},
            "total_energy_j": float(self.total_energy_j),
            "total_energy_low_j": _num(self.total_energy_low_j),
            "total_energy_high_j": _num(self.total_energy_high_j),
            "total_runtime_s": float(self.total_runtime_s),
            "mean_runtime_s": float(self.mean_runtime_s),
            "accuracy": float(self.accuracy),
            "solve_seconds": float(self.solve_seconds),
            "method": self.method,
            "warnings": list(self.warnings),
            "energy_estimated": bool(self.energy_estimated),
            "per_deployment": {
                k: {kk: (int(vv) if kk in ("queries", "tokens", "extrapolated_queries") else _num(vv))
                    for kk, vv in v.items()}
                for k, v in self.per_deployment.items()
            },
            "stats": dict(self.stats),
        }
        if include_assignment:
            d["assignment"] = [int(a) for a in self.assignment]
        return d


def _get_assignment(self) -> np.ndarray:
    value = self._assignment
    if callable(value):
        value = self._assignment = value()
    return value


def _set_assignment(self, value) -> None:
    self._assignment = value


# Installed after the dataclass is built, so that the generated __init__ stores
# through the setter and the expansion runs once, on first read.
PlanResult.assignment = property(_get_assignment, _set_assignment)


def _num(x):
    return None if x is None else float(x)
