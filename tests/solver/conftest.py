"""Random instances and an independent evaluator for the planner tests.

The evaluator recomputes every cost per query from the specs with plain numpy
(no code from scheduling.planner.objectives), so a bug in the planner's own
cost or metric code cannot hide behind itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner.types import DeploymentSpec


def random_deployments(rng: np.random.Generator, D: int, **kw) -> list[DeploymentSpec]:
    out = []
    for j in range(D):
        out.append(
            DeploymentSpec(
                key=f"llm{j} @ hw{j}",
                accuracy=float(rng.uniform(40, 70)),
                # Physically valid models: a model predicting <= 0 is refused for planning
                # (test_clamping.py covers that rule and allow_clamping).
                energy_coefs={
                    "intercept": float(rng.uniform(0, 20)),
                    "tin": float(rng.uniform(0.1, 3)),
                    "tout": float(rng.uniform(1, 20)),
                    "tin_tout": float(rng.uniform(0, 0.05)),
                },
                runtime_coefs={
                    "intercept": float(rng.uniform(0.01, 0.5)),
                    "tout": float(rng.uniform(0.01, 0.1)),
                },
                gpus=int(rng.integers(1, 3)),
                **kw,
            )
        )
    return out


def random_workload(rng: np.random.Generator, n: int, top: int = 40) -> tuple[np.ndarray, np.ndarray]:
    # Small ranges on purpose: repeated (tin, tout) pairs form real classes.
    return rng.integers(1, top, size=n), rng.integers(1, top // 2, size=n)


def per_query(tin, tout, deployments):
    """Independent (n, D) energy, runtime, accuracy-tokens matrices, clamped at zero."""
    tin = np.asarray(tin, dtype=float)
    tout = np.asarray(tout, dtype=float)

    def ev(coefs):
        out = np.zeros_like(tin)
        for name, c in coefs.items():
            out += (
                c
                * {
                    "intercept": np.ones_like(tin),
                    "tin": tin,
                    "tout": tout,
                    "tin_tout": tin * tout,
                    "tin2": tin**2,
                    "tout2": tout**2,
                }[name]
            )
        return out

    e = np.maximum(np.column_stack([ev(d.energy_coefs) for d in deployments]), 0)
    r = np.maximum(np.column_stack([ev(d.runtime_coefs) for d in deployments]), 0)
    a = (tin + tout)[:, None] * np.array([d.accuracy for d in deployments])[None, :]
    return e, r, a


def totals(tin, tout, deployments, assignment):
    e, r, a = per_query(tin, tout, deployments)
    idx = np.arange(len(assignment))
    tokens = (np.asarray(tin) + np.asarray(tout)).astype(float)
    return {
        "energy": float(e[idx, assignment].sum()),
        "runtime": float(r[idx, assignment].sum()),
        "accuracy": float(a[idx, assignment].sum() / tokens.sum()),
        "gpu_s": [
            float((r[idx, assignment] * (assignment == j)).sum() * d.gpus) for j, d in enumerate(deployments)
        ],
    }


def objective_of(tin, tout, deployments, assignment, objective, zeta=0.5):
    e, r, a = per_query(tin, tout, deployments)
    idx = np.arange(len(assignment))
    emax = e.max() or 1.0
    if objective == "paper-energy-accuracy":
        c = zeta * e / emax - (1 - zeta) * a / (a.max() or 1.0)
    elif objective == "paper-energy-runtime":
        c = zeta * e / emax + (1 - zeta) * r / (r.max() or 1.0)
    elif objective == "min-energy-accuracy-target":
        c = e
    else:
        return totals(tin, tout, deployments, assignment)["accuracy"]
    return float(c[idx, assignment].sum())


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
