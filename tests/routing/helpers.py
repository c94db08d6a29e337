"""Small synthetic deployments whose best placement can be worked out by hand."""

from __future__ import annotations

from scheduling.planner.types import DeploymentSpec


def spec(key, energy, runtime=None, accuracy=50.0, **kw) -> DeploymentSpec:
    return DeploymentSpec(key=key, accuracy=accuracy, energy_coefs=energy,
                          runtime_coefs=runtime or {"intercept": 0.1, "tout": 0.01}, **kw)


def two_deployments(**kw):
    """A: 10 J + 1 J per output token; B: 2 J per output token. B is cheaper below 10 output tokens."""
    return [spec("A", {"intercept": 10.0, "tout": 1.0}, **kw), spec("B", {"tout": 2.0}, **kw)]
