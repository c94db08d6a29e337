"""Plain data types shared by the planner, the baselines and their callers.

No Django here: the scheduling app converts database rows into these specs so
the solver can be tested and benchmarked without a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class ClassPlan:
    """(C, D) query counts of a plan, stored compactly: all but a few classes go whole to one
    deployment, so a plan is one small integer per class plus the rows of the split classes.

    A dense (C, D) int64 matrix is 112 MB at 2M classes; a 101-point sweep held 101 of them.
    Aggregates (queries, energy, tokens per deployment) are one gather and one bincount
    per quantity instead of a (C, D) product.
    """

    __slots__ = ("choice", "count", "split", "split_x", "_flat", "_w", "only")

    def __init__(self, choice: np.ndarray, count: np.ndarray, split: np.ndarray, split_x: np.ndarray):
        self.choice = choice  # (C,) deployment of each whole class (ignored for split ones)
        self.count = count  # (C,) queries per class
        self.split = split  # (S,) indices of split classes, ascending
        self.split_x = split_x  # (S, D) their counts
        # Built on first use and kept: a plan's metrics read a dozen quantities through them
        # (a plan is never modified in place: from_parts and the solvers build new ones).
        self._flat = None  # {order: (C,) flat index of (c, choice[c])} into a C- or F-ordered (C, D) array
        self._w = None  # (C,) float64 queries of each whole class (0 for split ones)
        # The one deployment every class goes to, when the plan is known to be such (a
        # single-deployment baseline): each aggregate is then one dot product on one column.
        self.only: int | None = None

    @classmethod
    def single(cls, j: int, count: np.ndarray, D: int) -> ClassPlan:
        """Every class whole on deployment j."""
        plan = cls(np.full(count.size, j, dtype=np.int16), count, np.zeros(0, dtype=np.int64),
                   np.zeros((0, D), dtype=np.int64))
        plan.only = int(j)
        return plan

    @property
    def shape(self) -> tuple[int, int]:
        return (self.choice.size, self.split_x.shape[1])

    @classmethod
    def from_dense(cls, x: np.ndarray) -> ClassPlan:
        x = np.asarray(x, dtype=np.int64)
        used = x > 0
        split = np.flatnonzero(used.sum(axis=1) > 1)
        return cls(np.argmax(used, axis=1).astype(np.int16), x.sum(axis=1), split, x[split])

    @classmethod
    def from_parts(cls, choice: np.ndarray, count: np.ndarray, rows: np.ndarray, x_rows: np.ndarray) -> ClassPlan:
        """``choice`` for every class, overridden by the counts ``x_rows`` of classes ``rows``."""
        used = x_rows > 0
        whole = used.sum(axis=1) == 1
        choice = choice.copy()
        choice[rows[whole]] = np.argmax(used[whole], axis=1)
        split = ~whole
        return cls(choice, count, rows[split], x_rows[split])

    def _whole_weights(self) -> np.ndarray:
        if self._w is None:
            w = self.count.astype(np.float64)
            w[self.split] = 0.0
            self._w = w
        return self._w

    def gather(self, values: np.ndarray) -> np.ndarray:
        """(C,) values[c, choice[c]]: one flat take (take_along_axis costs ~3x more at 2M classes),
        on a row-major or a column-major (C, D) array without copying it."""
        C, D = self.shape
        if self._flat is None:
            self._flat = {}
        order = "F" if values.flags.f_contiguous and not values.flags.c_contiguous else "C"
        flat = self._flat.get(order)
        if flat is None:
            rows = np.arange(C, dtype=np.int64)
            flat = rows * D + self.choice if order == "C" else self.choice.astype(np.int64) * C + rows
            self._flat[order] = flat
        if order == "C":
            values = np.ascontiguousarray(values)
        return np.take(values.reshape(-1, order=order), flat)

    def drop_cache(self) -> None:
        """Forget the (C,) helper arrays (keep the per-deployment counts): a sweep keeps
        101 plans, and ~4 cached arrays of C values each would outweigh the plans."""
        queries = (self._flat or {}).get("queries")
        self._flat = None if queries is None else {"queries": queries}
        self._w = None

    def _labels(self) -> np.ndarray:
        """choice as intp, kept: bincount would convert the int16 labels at every call."""
        if self._flat is None:
            self._flat = {}
        labels = self._flat.get("labels")
        if labels is None:
            labels = self._flat["labels"] = self.choice.astype(np.intp)
        return labels

    def per_deployment(self, values: np.ndarray | None = None, where: np.ndarray | None = None) -> np.ndarray:
        """(D,) sum over classes of x[c, d] * values[c, d] (values (C, D), (C,) or None = 1),
        counting only the (c, d) where ``where`` (a (C, D) bool array) is true, if given: the
        same sums as with ``np.where(where, values, 0)`` without building that (C, D) array."""
        C, D = self.shape
        if where is not None:
            return self._per_deployment_where(values, where)
        w = self._whole_weights()
        if self.only is not None:  # equal to the general path within float rounding
            out = np.zeros(D)
            col = w if values is None else values if values.ndim == 1 else values[:, self.only]
            out[self.only] = w.sum() if values is None else np.dot(w, col)
            return out
        if values is None:
            v, vs = w, 1.0
        elif values.ndim == 1:
            v, vs = w * values, values[self.split][:, None]
        else:
            v = self.gather(values)
            v *= w
            vs = values[self.split]
        out = np.bincount(self._labels(), weights=v, minlength=D)
        if self.split.size:
            out += (self.split_x * vs).sum(axis=0)
        return out

    def _per_deployment_where(self, values, where: np.ndarray) -> np.ndarray:
        C, D = self.shape
        w = self._whole_weights()
        keep = self.gather(where)
        if values is None:
            v, vs = np.where(keep, w, 0.0), where[self.split]
        else:
            v = np.where(keep, self.gather(values), 0.0)
            v *= w
            vs = np.where(where[self.split], values[self.split], 0.0)
        out = np.bincount(self._labels(), weights=v, minlength=D)
        if self.split.size:
            out += (self.split_x * vs).sum(axis=0)
        return out

    def queries(self) -> np.ndarray:
        if self._flat is None:
            self._flat = {}
        if "queries" not in self._flat:  # asked 3-4 times per plan (bounds, prices, checks)
            self._flat["queries"] = np.rint(self.per_deployment()).astype(np.int64)
        return self._flat["queries"].copy()

    def total(self, costs: np.ndarray) -> float:
        return float(self.per_deployment(costs).sum())

    def column(self, d: int) -> np.ndarray:
        """(C,) queries of each class on deployment d."""
        col = np.where(self.choice == d, self.count, 0)
        if self.split.size:
            col[self.split] = self.split_x[:, d]
        return col

    def dense(self) -> np.ndarray:
        C, D = self.shape
        x = np.zeros((C, D), dtype=np.int64)
        x[np.arange(C), self.choice] = self.count
        if self.split.size:
            x[self.split] = self.split_x
        return x


class PlanningError(ValueError):
    """Invalid or infeasible planning input, with a message meant for the user."""


@dataclass(frozen=True)
class DeploymentSpec:
    """One LLM on one hardware system, with the models to plan with.

    ``energy_coefs`` / ``runtime_coefs`` map term names of
    ``profiling.fitting.terms`` to coefficients: joules and seconds per query.
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
    # (classes, deployments) query counts of the solution, when it has one: a dense array,
    # or a ClassPlan that reading ``class_counts`` expands (``class_plan`` keeps it compact).
    class_counts: np.ndarray | ClassPlan | None = field(default=None, repr=False)
    # The 95% band of total_energy_j (None where a model carries no interval).
    total_energy_low_j: float | None = None
    total_energy_high_j: float | None = None

    def expanded_assignment(self) -> np.ndarray:
        """The per-query assignment, computed without keeping it (a sweep writes one row at a time)."""
        value = self._assignment
        return value() if callable(value) else value

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


def _get_class_counts(self) -> np.ndarray | None:
    value = self._class_counts
    # Not cached: 112 MB at 2M classes, and callers read it once (a sweep keeps the compact form).
    return value.dense() if isinstance(value, ClassPlan) else value


def _set_class_counts(self, value) -> None:
    self._class_counts = value


def _get_class_plan(self) -> ClassPlan | None:
    value = self._class_counts
    if value is None or isinstance(value, ClassPlan):
        return value
    value = self._class_counts = ClassPlan.from_dense(value)
    return value


# Installed after the dataclass is built, so that the generated __init__ stores
# through the setters and the expansion runs once, on first read.
PlanResult.assignment = property(_get_assignment, _set_assignment)
PlanResult.class_counts = property(_get_class_counts, _set_class_counts)
PlanResult.class_plan = property(_get_class_plan)


def _num(x):
    return None if x is None else float(x)


@dataclass
class WorkloadArrays:
    """A stored workload's query columns (``Workload.load_arrays``)."""

    tin: np.ndarray
    tout: np.ndarray
    ids: np.ndarray | None = None
    timestamps: np.ndarray | None = None
