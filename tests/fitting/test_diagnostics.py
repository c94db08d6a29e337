"""Identifiability, physical validity and negative-prediction warnings."""

import numpy as np
import pandas as pd
import pytest

from profiling.fitting import regression

# Wilkins et al. (2024), Table 5.2, Llama-2 (7B) on Swing AMD+A100 (energy, J).
LLAMA2_7B = {"tin": -3.89, "tout": 31.52, "tin_tout": 4.27e-02}


def _sweep(path):
    d = pd.read_csv(path)
    d = d[d["Phase"].str.startswith("start-inference") & (d["Iteration"] != 0)]
    return d.assign(energy=d["CPU Energy (J)"] + d["GPU Energy (J)"])


def test_output_sweep_is_not_identifiable(wilkins_dir):
    d = _sweep(wilkins_dir / "swing-output-sweep.csv")
    assert d.groupby(["Model", "System"]).ngroups >= 7
    for (_model, _system), g in d.groupby(["Model", "System"]):
        results, selected = regression.fit_all(g["Number of Input Tokens"].to_numpy(),
                                            g["Number of Output Tokens"].to_numpy(), g["energy"].to_numpy())
        assert selected is None, "no form of a one-dimensional sweep may be offered for planning"
        for r in results.values():
            assert not r.identifiable
            assert r.diagnostics["distinct"]["tin"] == 1
            assert r.diagnostics["rank"] < r.diagnostics["n_terms"]
            assert any("Not identifiable" in w for w in r.warnings)


def test_a_full_grid_is_identifiable():
    tin, tout = np.meshgrid([8.0, 64, 512, 2048], [8.0, 64, 512, 2048])
    tin, tout = np.repeat(tin.ravel(), 3), np.repeat(tout.ravel(), 3)
    y = 40 + 0.5 * tin + 30 * tout + 0.04 * tin * tout
    for form in regression.FORMS:
        d = regression.design_diagnostics(form, tin, tout)
        assert d["identifiable"], d["reasons"]
        assert d["rank"] == len(regression.FORMS[form])
        assert d["condition_number"] < regression.MAX_CONDITION
    assert regression.fit_all(tin, tout, y)[1] is not None


def test_published_llama2_7b_predicts_negative_energy_for_short_outputs():
    # At tin = 500 the published model is negative for tout < 36.8 (the trap).
    region = regression.negative_region(LLAMA2_7B, (8, 2048), (8, 2048))
    assert region is not None and region["min_prediction"] < 0
    warnings = regression.model_warnings("paper", LLAMA2_7B, (8, 2048), (8, 2048))
    assert any("Physically invalid" in w and "tin=-3.89" in w for w in warnings)
    assert any("Negative predictions inside the measured range" in w for w in warnings)
    from profiling.fitting import terms

    tout = np.arange(1, 60, dtype=float)
    e = terms.predict(LLAMA2_7B, np.full_like(tout, 500.0), tout)
    assert tout[e < 0].max() == 36 and e[tout == 37][0] > 0


@pytest.mark.slow  # 120 fits: 15-50 s on 2 cores, the longest test in the fast selection
def test_nnls_and_extended_never_negative_over_many_seeds():
    for seed in range(60):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(20, 200))
        tin = rng.integers(1, 4096, n).astype(float)
        tout = rng.integers(1, 4096, n).astype(float)
        # Targets from a model with negative terms plus heavy noise push an OLS below zero.
        y = rng.normal(0, 1, 6) @ np.vstack([np.ones(n), tin, tout, tin * tout, tin**2, tout**2]) \
            * rng.uniform(0.001, 1) + rng.normal(0, 100, n)
        for form in ("nnls", "extended"):
            r = regression.fit_form(form, tin, tout, y)
            assert all(v >= 0 for v in r.coefficients.values()), (seed, form, r.coefficients)
            grid = np.linspace(0, 4096, 9)
            from profiling.fitting import terms

            gi, go = np.meshgrid(grid, grid)
            assert (terms.predict(r.coefficients, gi.ravel(), go.ravel()) >= 0).all()
