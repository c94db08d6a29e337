"""Synthetic workloads from named distributions, seeded so a demo is reproducible.

A distribution is written ``name:param=value,...``, e.g. ``lognormal:mu=6.5,sigma=1``,
``uniform:low=8,high=2048``, ``zipf:a=1.8``, ``poisson:lam=200``, ``constant:value=128``,
or ``resample:<workload name>`` to draw (tin, tout) pairs with replacement from a
stored workload (keeping their joint distribution). Every token count is at
least 1 and every query fits the maximum context.
"""

from __future__ import annotations

import math

import numpy as np
from django.conf import settings

from energyweb.validation import FieldError
from scheduling.services.workloads import ParsedWorkload, WorkloadFileError, store_workload

DISTRIBUTIONS = {
    "lognormal": {"mu": 6.0, "sigma": 1.0},
    "uniform": {"low": 1, "high": 2048},
    "zipf": {"a": 2.0},
    "poisson": {"lam": 128.0},
    "constant": {"value": 128},
}
DEFAULT_TIN = "lognormal:mu=6.5,sigma=1.0"
DEFAULT_TOUT = "lognormal:mu=4.8,sigma=0.8"
MAX_QUERIES = 10_000_000
# numpy's generators take seeds in 0 .. 2**63-1 here (a negative seed raises inside numpy);
# parameters are bounded where numpy would overflow int64 or refuse (poisson lam > ~9e18).
MAX_SEED = 2**63 - 1
MAX_PARAM = 1e12


class GeneratorError(FieldError):
    """A generator specification was refused; ``field`` names it."""


def parse_distribution(spec: str, field: str = "distribution") -> dict:
    """``"lognormal:mu=6,sigma=1"`` -> ``{"name": "lognormal", "params": {"mu": 6.0, "sigma": 1.0}}``."""
    spec = (spec or "").strip()
    name, _, rest = spec.partition(":")
    name = name.strip().lower()
    if name == "resample":
        if not rest.strip():
            raise GeneratorError("resample needs a workload name: resample:<workload>.", field)
        return {"name": "resample", "workload": rest.strip()}
    if name not in DISTRIBUTIONS:
        raise GeneratorError(
            f"Unknown distribution {name!r}: use one of {', '.join(DISTRIBUTIONS)} or resample:<workload>.",
            field)
    params = dict(DISTRIBUTIONS[name])
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in params:
            raise GeneratorError(
                f"{name} takes parameters {', '.join(DISTRIBUTIONS[name])}; got {part!r}.", field)
        try:
            params[key] = float(value)
        except ValueError as exc:
            raise GeneratorError(f"{name}: {key} must be a number, got {value.strip()!r}.", field) from exc
    _check_params(name, params, field)
    return {"name": name, "params": params}


def _check_params(name: str, p: dict, field: str) -> None:
    for key, value in p.items():
        if not math.isfinite(value) or abs(value) > MAX_PARAM:
            raise GeneratorError(f"{name}: {key} must be a finite number of magnitude at most {MAX_PARAM:g}.",
                                 field)
    problems = {
        "lognormal": p.get("sigma", 1) <= 0 and "sigma must be above 0",
        "uniform": not (1 <= p.get("low", 1) <= p.get("high", 1)) and "need 1 <= low <= high",
        "zipf": p.get("a", 2) <= 1 and "a must be above 1",
        "poisson": p.get("lam", 1) <= 0 and "lam must be above 0",
        "constant": p.get("value", 1) < 1 and "value must be at least 1",
    }
    if problems.get(name):
        raise GeneratorError(f"{name}: {problems[name]}.", field)


def _draw(rng: np.random.Generator, dist: dict, n: int) -> np.ndarray:
    name, p = dist["name"], dist["params"]
    if name == "lognormal":
        x = rng.lognormal(p["mu"], p["sigma"], n)
    elif name == "uniform":
        x = rng.integers(int(p["low"]), int(p["high"]) + 1, n)
    elif name == "zipf":
        x = rng.zipf(p["a"], n)
    elif name == "poisson":
        x = rng.poisson(p["lam"], n)
    else:
        x = np.full(n, p["value"])
    return np.clip(np.rint(np.minimum(x, 2**31 - 1)), 1, None).astype(np.int64)


def generate_arrays(n: int, tin_spec: str, tout_spec: str, seed: int = 0,
                    max_context: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Draw n queries; returns (tin, tout, description of the generator)."""
    max_context = max_context or int(settings.MAX_CONTEXT_TOKENS)
    if not isinstance(n, int) or n < 1 or n > MAX_QUERIES:
        raise GeneratorError(f"The number of queries must be between 1 and {MAX_QUERIES:,}.", "n")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise GeneratorError(f"The seed must be a whole number from 0 to {MAX_SEED}.", "seed")
    if max_context < 2:
        raise GeneratorError("The maximum context must allow at least 2 tokens.")
    tin_d = parse_distribution(tin_spec, "tin")
    tout_d = parse_distribution(tout_spec, "tout")
    rng = np.random.default_rng(seed)
    if tin_d["name"] == "resample" or tout_d["name"] == "resample":
        if tin_d != tout_d:
            raise GeneratorError("resample draws (tin, tout) pairs: use it for both columns.", "tout")
        from scheduling.models import Workload

        source = Workload.objects.filter(name=tin_d["workload"]).first()
        if source is None:
            raise GeneratorError(f"No workload named {tin_d['workload']!r} to resample.", "tin")
        arrays = source.load_arrays()
        idx = rng.integers(0, arrays.tin.shape[0], n)
        tin, tout = arrays.tin[idx], arrays.tout[idx]
    else:
        tin = _draw(rng, tin_d, n)
        tout = _draw(rng, tout_d, n)
    # Fit the context window: keep at least one output token.
    tin = np.minimum(tin, max_context - 1)
    tout = np.minimum(tout, max_context - tin)
    spec = {"n": n, "seed": seed, "tin": tin_d, "tout": tout_d,
            "tin_spec": tin_spec, "tout_spec": tout_spec, "max_context": max_context}
    return tin.astype(np.int32), tout.astype(np.int32), spec


def generate_workload(name: str, n: int, tin_spec: str = DEFAULT_TIN, tout_spec: str = DEFAULT_TOUT,
                      seed: int = 0, description: str = "", user=None):
    tin, tout, spec = generate_arrays(n, tin_spec, tout_spec, seed)
    parsed = ParsedWorkload(tin=tin, tout=tout, columns={}, source_filename="")
    try:
        return store_workload(parsed, name, description=description or
                              f"Synthetic: tin ~ {tin_spec}, tout ~ {tout_spec}, seed {seed}",
                              user=user, is_synthetic=True, generator=spec)
    except WorkloadFileError as exc:
        raise GeneratorError(str(exc), exc.field) from exc
