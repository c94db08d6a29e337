"""build_problem's predictions and energy bands, made by blocks of classes, equal the
whole-array computation (terms.predict, intervals.prediction_interval) bit for bit."""

import numpy as np
import pytest

from profiling.fitting import intervals, terms
from scheduling.planner import objectives
from scheduling.planner.types import DeploymentSpec


def _spec(j: int, rng, clamp: bool) -> DeploymentSpec:
    cells = [[t, o] for t in (64, 128, 256, 512, 1024) for o in (16, 32, 64, 128) if (t, o) != (1024, 128)]
    support = {"cells": cells, "radius": 0.5}
    energy = {"intercept": -40.0 if clamp else 2.0, "tin": 0.01 * (j + 1), "tout": 0.3, "decode": 1e-5,
              "decode_sq": 1e-10}
    a = rng.normal(size=(3, 3)) * np.array([1e-6, 1e-12, 1e-21]) ** 0.5
    interval = {"cov": (a @ a.T).tolist(), "cov_terms": ["tout", "decode", "decode_sq"], "sigma2": 0.01,
                "df_resid": 90 + j, "interval_q95": 0.07, "error_model": "relative", "kappa": 0.05 * (j + 1),
                "interval_method": "Active-set", "support": support}
    return DeploymentSpec(key=f"m{j}", accuracy=50.0 + j, energy_coefs=energy,
                          runtime_coefs={"intercept": 0.1, "tout": 0.02, "tin_tout": 1e-7},
                          supports=(support,), energy_interval=interval)


@pytest.mark.parametrize("clamp", [False, True])
def test_blocked_predictions_and_bands_equal_the_whole_arrays(clamp, monkeypatch):
    monkeypatch.setattr(objectives, "_BLOCK", 1000)  # several blocks and a ragged last one
    rng = np.random.default_rng(12)
    n = 20_000
    tin, tout = rng.integers(1, 6000, n), rng.integers(1, 400, n)
    specs = [_spec(j, rng, clamp and j == 1) for j in range(3)]
    p = objectives.build_problem(tin, tout, specs, allow_clamping=True)
    assert p.class_count.size > 5 * 1000
    fin, fout = p.class_tin.astype(np.float64), p.class_tout.astype(np.float64)
    raw = np.column_stack([terms.predict(d.energy_coefs, fin, fout) for d in specs])
    assert (raw <= 0).any() == clamp
    np.testing.assert_array_equal(p.energy, np.where(raw <= 0, 0.0, raw))
    np.testing.assert_array_equal(p.runtime, np.column_stack([terms.predict(d.runtime_coefs, fin, fout)
                                                              for d in specs]))
    for j, d in enumerate(specs):
        _, low, high = intervals.prediction_interval(d.energy_coefs, d.energy_interval, fin, fout)
        np.testing.assert_array_equal(p.energy_low[:, j], np.minimum(low, p.energy[:, j]))
        np.testing.assert_array_equal(p.energy_high[:, j], np.maximum(high, p.energy[:, j]))
