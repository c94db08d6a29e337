"""Regression terms of the token counts, shared by the fitter and the planner.

A fitted model is stored as ``{term name: coefficient}``; predicting is the sum
of coefficient x term. Keeping the term definitions in one place means a model
fitted by the profiling app is evaluated identically by the scheduler.
"""

from __future__ import annotations

import numpy as np

# name -> function of (tin, tout) arrays (float64)
TERMS = {
    "intercept": lambda tin, tout: np.ones_like(tin),
    "tin": lambda tin, tout: tin,
    "tout": lambda tin, tout: tout,
    "tin_tout": lambda tin, tout: tin * tout,
    "tin2": lambda tin, tout: tin * tin,
    "tout2": lambda tin, tout: tout * tout,
    # Decoding with a KV cache: step t attends over tin + t cached tokens, so the
    # attention work summed over tout steps is tin*tout + tout^2/2. One term with one
    # coefficient (not tin*tout and tout^2 apart) is what keeps a form identifiable on
    # a cross of an input sweep and an output sweep.
    "decode": lambda tin, tout: tin * tout + tout * tout / 2.0,
    # Decoding without a cache (Hugging Face generate with use_cache=False, as the paper
    # measured): step t recomputes attention over the whole (tin + t)^2 sequence, which
    # summed over tout steps is tin^2*tout + tin*tout^2 + tout^3/3.
    "decode_sq": lambda tin, tout: tin * tin * tout + tin * tout * tout + tout ** 3 / 3.0,
}


def check_terms(terms):
    """The names, or KeyError naming the unknown ones."""
    unknown = [t for t in terms if t not in TERMS]
    if unknown:
        raise KeyError(f"unknown model terms: {', '.join(unknown)}")
    return terms


def design_matrix(terms, tin, tout) -> np.ndarray:
    tin = np.asarray(tin, dtype=np.float64)
    tout = np.asarray(tout, dtype=np.float64)
    check_terms(terms)
    return np.column_stack([TERMS[t](tin, tout) for t in terms])


def column(name: str, tin, tout, columns: dict | None = None) -> np.ndarray:
    """The term ``name`` of (tin, tout); kept in ``columns`` (a dict) when given, so that the
    callers evaluating several models on the same arrays compute each term once (the planner
    evaluates ~20 models and bands on 2M classes: ``decode_sq`` alone is five array passes).
    The arrays returned are shared: callers must not write into them."""
    if columns is None:
        return TERMS[name](tin, tout)
    col = columns.get(name)
    if col is None:
        col = columns[name] = TERMS[name](tin, tout)
    return col


def predict(coefficients: dict[str, float], tin, tout, columns: dict | None = None) -> np.ndarray:
    """Evaluate ``sum(coef * term)`` for arrays of token counts.

    ``columns``: a dict caching the terms of these same (tin, tout) arrays across calls
    (see ``column``); the result is bit-identical with or without it.
    """
    names = check_terms(list(coefficients))
    tin = np.atleast_1d(np.asarray(tin, dtype=np.float64))
    tout = np.atleast_1d(np.asarray(tout, dtype=np.float64))
    if not names:
        raise ValueError("a model needs at least one term")
    # Term by term into one array: the (n, k) design matrix cost a copy of every term (and
    # its page faults) per prediction, ~2 s of a 10M-query plan. Equal to ``design_matrix(names)
    # @ coefs`` within float rounding (tests/fitting/test_interval_shifts.py compares them).
    out = None
    for name in names:
        term = column(name, tin, tout, columns) * float(coefficients[name])
        out = term if out is None else np.add(out, term, out=out)
    return out
