"""Intervals widen off the data and cover real held-out shifts (#15).

On the paper's Swing grids (../shared/reference/wilkins2024, read through
tests/conftest.py's reference_file): fitted on the seven smaller input columns
(nominal ≤ 512), the 95% band covers ≥ 80% of the two larger columns (nominal
1,024-2,048) for energy and runtime of every LLM, every such pair flagged
extrapolated; fitted on the two sweeps only, it covers ≥ 85% of the full grid.
Figures: docs/BENCHMARKS.md, "Intervals off the data (issue 15, item 3)".
"""

import numpy as np
import pytest

from profiling.fitting import intervals, regression, terms
from profiling.services import swing_reference
from tests.conftest import reference_file

MODELS = list(swing_reference.GRID_FILES)
TARGETS = (("energy", "gpu"), ("runtime", "runtime"))


@pytest.fixture(scope="module")
def wilkins():
    return reference_file("wilkins2024")


def _coverage(train, test, target, col):
    results, selected = regression.fit_all(train["tin"], train["tout"], train[col], target=target)
    m = results[selected].metrics()
    _, lo, hi = regression.prediction_interval(results[selected].coefficients, m, test["tin"], test["tout"])
    flagged = intervals.beyond_support(m["support"], test["tin"], test["tout"])[1]
    return float(np.mean((test[col] >= lo) & (test[col] <= hi))), flagged


@pytest.mark.parametrize("model", MODELS)
def test_small_inputs_predict_large_ones_inside_the_band(wilkins, model):
    g = swing_reference.grid(wilkins, model)
    column = np.searchsorted(np.unique(g["tin"]), g["tin"])
    train = {k: v[column <= 6] for k, v in g.items()}
    test = {k: v[column >= 7] for k, v in g.items()}
    for target, col in TARGETS:
        covered, flagged = _coverage(train, test, target, col)
        assert covered >= 0.80, (model, target, covered)
        assert flagged.all(), (model, target)


@pytest.mark.parametrize("model", MODELS)
def test_sweeps_only_fits_cover_the_grid(wilkins, model):
    g, s = swing_reference.grid(wilkins, model), swing_reference.sweeps(wilkins)[model]
    for target, col in TARGETS:
        covered, flagged = _coverage(s, g, target, col)
        assert covered >= 0.85, (model, target, covered)
        assert 0 < flagged.mean() < 1  # cells on the sweeps' cross are supported, the rest not


def test_the_band_grows_with_distance_when_the_form_extrapolates_badly():
    # Truth with a tin² term the nnls form lacks: its own upper edges show the growth.
    grid = np.array([8.0, 16, 32, 64, 128, 256, 512])
    tin, tout = (a.ravel() for a in np.meshgrid(grid, grid))
    y = 50 + 0.5 * tin + 0.002 * tin * tin + 30 * tout + 0.04 * tin * tout
    r = regression.fit_form("nnls", tin, tout, y)
    assert r.kappa > intervals.MIN_KAPPA and r.kappa_detail["shifts"] == 4
    probe_in = np.array([256.0, 1024, 4096, 16384])
    yhat, lo, hi = regression.prediction_interval(r.coefficients, r.metrics(), probe_in, np.full(4, 64.0))
    rel = (hi - lo) / 2 / yhat
    assert np.all(np.diff(rel) > 0), rel


def test_quadratic_form_equals_the_matrix_product_on_random_terms_and_covariances():
    """intervals.quadratic_form (expanded per term) against the plain sum((x @ cov) * x, axis=1)."""
    rng = np.random.default_rng(7)
    names = list(terms.TERMS)
    for _ in range(40):
        chosen = list(rng.choice(names, size=rng.integers(1, len(names) + 1), replace=False))
        a = rng.normal(size=(len(chosen), len(chosen)))
        cov = a @ a.T * 10.0 ** rng.integers(-12, 2)
        if rng.random() < 0.3:
            cov = cov + np.triu(rng.normal(size=cov.shape), 1)  # not symmetric: the form uses both halves
        tin = rng.integers(0, 131072, 2000).astype(np.float64)
        tout = rng.integers(0, 8192, 2000).astype(np.float64)
        x = terms.design_matrix(chosen, tin, tout)
        plain = np.sum((x @ cov) * x, axis=1)
        fast = intervals.quadratic_form(chosen, cov, tin, tout)
        scale = np.sum(np.abs(x @ np.abs(cov)) * np.abs(x), axis=1)  # the size of the terms summed
        assert np.all(np.abs(fast - plain) <= 1e-12 * scale + 1e-300)


def test_predict_term_by_term_equals_the_design_matrix_product():
    """terms.predict (summed term by term) against the plain design_matrix @ coefficients."""
    rng = np.random.default_rng(11)
    names = list(terms.TERMS)
    for _ in range(40):
        chosen = list(rng.choice(names, size=rng.integers(1, len(names) + 1), replace=False))
        coefs = {n: float(rng.normal() * 10.0 ** rng.integers(-12, 2)) for n in chosen}
        tin = rng.integers(0, 131072, 2000).astype(np.float64)
        tout = rng.integers(0, 8192, 2000).astype(np.float64)
        x = terms.design_matrix(chosen, tin, tout)
        plain = x @ np.array([coefs[n] for n in chosen])
        scale = np.abs(x) @ np.abs(np.array([coefs[n] for n in chosen]))
        assert np.all(np.abs(terms.predict(coefs, tin, tout) - plain) <= 1e-13 * scale + 1e-300)
    assert terms.predict({"tin": 2.0}, 3, 4).tolist() == [6.0]
    with pytest.raises(KeyError, match="bogus"):
        terms.predict({"bogus": 1.0}, [1], [1])
