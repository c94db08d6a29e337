"""The planning objectives: one declaration each, in one registry.

Everything that depends on which objective a plan optimises reads it from here:
the choices of the plan form, the API and the model field (``scheduling.choices``),
the job service's parameter checks (which inputs it needs, whether zeta matters),
the planner's cost matrix, side row, sense and infeasibility message
(``objectives.py``, ``solver.py``), the baselines and the reference MIP
(``tests/oracles/paper_mip.py``). Adding an objective is one ``ObjectiveKind``
and one ``register()`` call; nothing else branches on an objective's name.

Pure: no Django. Costs and side rows are written on "cost inputs", anything with
``energy`` and ``runtime`` ((U, D) per-unit J and s), ``tokens`` ((U,) tin + tout),
``accuracy`` ((D,) percent) and ``total_tokens``: the planner's class Problem
(units = query classes) and the reference MIP's per-query matrices alike.

Objectives (Wilkins et al. 2024, arXiv 2407.04014, sec. 3):

- ``paper-energy-accuracy`` (eq. 3.5 with a_d(q) = A_d (tin + tout), eq. 3.4):
  min sum_q zeta e_d(q)/E_max - (1 - zeta) a_d(q)/A_max
- ``paper-energy-runtime`` (eq. 3.1):
  min sum_q zeta e_d(q)/E_max + (1 - zeta) r_d(q)/R_max
- ``min-energy-accuracy-target``: min total energy s.t. token-weighted accuracy >= target
- ``max-accuracy-energy-budget``: max token-weighted accuracy s.t. total energy <= budget

E_max, A_max, R_max are the largest values over all (unit, deployment) pairs
(the paper's "divide by the largest known value").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .types import PlanningError


class CostInputs(Protocol):
    energy: np.ndarray
    runtime: np.ndarray
    tokens: np.ndarray
    accuracy: np.ndarray
    total_tokens: float


@dataclass
class SideConstraint:
    """One linear row sum_cd coef[c, d] x[c, d] >= rhs (or <=).

    ``reach()``: per-unit costs whose minimum is the best value the row can reach under the
    share bounds alone (computed only when needed), and ``explain(minimum)`` says, from that minimum, why the row
    cannot be met (the planner's message when the row makes the problem infeasible).
    """

    coef: np.ndarray
    rhs: float
    sense: str  # ">=" or "<="
    label: str
    reach: Callable[[], np.ndarray] | None = None
    explain: Callable[[float], str] | None = None


@dataclass(frozen=True)
class Requirement:
    """A parameter an objective cannot do without."""

    field: str  # the job parameter (and planner keyword) that carries it
    message: str  # the form's and the API's field error when it is missing


@dataclass(frozen=True)
class ObjectiveKind:
    """One objective: what users pick, and what the planner minimises for it.

    ``cost(inputs, zeta)`` is the per-unit cost, always minimised (a maximised objective
    returns its negation and says ``sense="max"``); ``side(inputs, params)`` is its extra
    linear row, or None, from the planner keywords in ``params`` (``accuracy_target``,
    ``energy_budget_j``), raising PlanningError on a value it cannot use.
    """

    name: str  # stored in ScheduleJob.objective / RoutingPolicy.objective: never rename
    label: str
    uses_zeta: bool
    sense: str  # "min" or "max": the sense of the value users read
    cost: Callable[[CostInputs, float], np.ndarray]
    requires: tuple[Requirement, ...] = ()
    side: Callable[[CostInputs, dict], SideConstraint | None] | None = field(default=None)
    # cost(inputs, zeta) == cost(inputs, 0) + zeta * (cost(inputs, 1) - cost(inputs, 0)) for every
    # zeta: a sweep then builds the two parts once and each zeta's costs in one fused pass.
    affine_in_zeta: bool = False

    @property
    def maximised(self) -> bool:
        return self.sense == "max"

    def reported(self, internal: float) -> float:
        """Internal minimised value -> the value users read (J, %, or paper units)."""
        return -internal if self.maximised else internal

    def side_constraint(self, inputs: CostInputs, params: dict) -> SideConstraint | None:
        return None if self.side is None else self.side(inputs, params)


_REGISTRY: dict[str, ObjectiveKind] = {}


def register(kind: ObjectiveKind) -> ObjectiveKind:
    if kind.name in _REGISTRY:
        raise ValueError(f"objective {kind.name!r} is registered twice")
    if kind.sense not in ("min", "max"):
        raise ValueError(f"objective {kind.name!r}: sense must be 'min' or 'max', not {kind.sense!r}")
    _REGISTRY[kind.name] = kind
    return kind


def get(name: str) -> ObjectiveKind:
    """The objective called ``name``; PlanningError naming the choices otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise PlanningError(f"unknown objective {name!r}; choose one of {', '.join(sorted(_REGISTRY))}") from None


def all_kinds() -> list[ObjectiveKind]:
    """Every objective, in registration order (the order of every choice list)."""
    return list(_REGISTRY.values())


def names() -> list[str]:
    return list(_REGISTRY)


def choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a form, a serializer or a model field."""
    return [(k.name, k.label) for k in _REGISTRY.values()]


# --- the built-in objectives ------------------------------------------------------


def _max_or_one(a: np.ndarray) -> float:
    m = float(a.max()) if a.size else 0.0
    return m if m > 0 else 1.0


def _accuracy_tokens(p: CostInputs) -> np.ndarray:
    """a_d(q) = A_d (tin + tout), eq. 3.4."""
    return p.tokens[:, None] * p.accuracy[None, :]


def _mean_accuracy_cost(p: CostInputs) -> np.ndarray:
    """Negated accuracy contribution in percent, so the minimum is the best accuracy."""
    return -_accuracy_tokens(p) / p.total_tokens


def _energy_accuracy_cost(p: CostInputs, zeta: float) -> np.ndarray:
    acc = _accuracy_tokens(p)
    return zeta * p.energy / _max_or_one(p.energy) - (1 - zeta) * acc / _max_or_one(acc)


PAPER_ENERGY_ACCURACY = register(ObjectiveKind(
    name="paper-energy-accuracy",
    label="Energy vs accuracy (paper eq. 3.5, zeta weighted)",
    uses_zeta=True,
    sense="min",
    cost=_energy_accuracy_cost,
    affine_in_zeta=True,
))

PAPER_ENERGY_RUNTIME = register(ObjectiveKind(
    name="paper-energy-runtime",
    label="Energy vs runtime (paper eq. 3.1, zeta weighted)",
    uses_zeta=True,
    sense="min",
    cost=lambda p, zeta: zeta * p.energy / _max_or_one(p.energy) + (1 - zeta) * p.runtime / _max_or_one(p.runtime),
    affine_in_zeta=True,
))


def _accuracy_target_row(p: CostInputs, params: dict) -> SideConstraint:
    target = params.get("accuracy_target")
    if target is None:
        raise PlanningError("min-energy-accuracy-target needs accuracy_target (percent)")
    best = float(p.accuracy.max())
    if target > best + 1e-12:
        raise PlanningError(f"accuracy target {target:.4g}% is above the most accurate deployment ({best:.4g}%)")
    # Scaled by total tokens so the row reads in accuracy percent.
    coef = p.tokens[:, None] * (p.accuracy[None, :] - target) / p.total_tokens
    label = f"accuracy >= {target:.6g}%"
    return SideConstraint(
        coef, 0.0, ">=", label, reach=lambda: _mean_accuracy_cost(p),
        explain=lambda least: (f"min-energy-accuracy-target: {label} cannot be met; the best accuracy the share "
                               f"bounds allow is {-least:.6g}%"))


MIN_ENERGY_ACCURACY_TARGET = register(ObjectiveKind(
    name="min-energy-accuracy-target",
    label="Minimum energy for an accuracy target",
    uses_zeta=False,
    sense="min",
    cost=lambda p, zeta: p.energy,
    requires=(Requirement("accuracy_target", "This objective needs an accuracy target (%)."),),
    side=_accuracy_target_row,
))


def _energy_budget_row(p: CostInputs, params: dict) -> SideConstraint:
    budget = params.get("energy_budget_j")
    if budget is None:
        raise PlanningError("max-accuracy-energy-budget needs energy_budget_j (joules)")
    if not (budget >= 0):
        raise PlanningError(f"energy budget must be non-negative, got {budget}")
    scale = max(float(budget), 1.0)
    label = f"energy <= {budget:.6g} J"
    return SideConstraint(
        p.energy / scale, float(budget) / scale, "<=", label, reach=lambda: p.energy,
        explain=lambda least: (f"max-accuracy-energy-budget: {label} cannot be met; the least energy the share "
                               f"bounds allow is {least:.6g} J"))


MAX_ACCURACY_ENERGY_BUDGET = register(ObjectiveKind(
    name="max-accuracy-energy-budget",
    label="Maximum accuracy within an energy budget",
    uses_zeta=False,
    sense="max",
    cost=lambda p, zeta: _mean_accuracy_cost(p),
    requires=(Requirement("energy_budget_j", "This objective needs an energy budget (J)."),),
    side=_energy_budget_row,
))
