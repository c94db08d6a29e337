"""Two-way ANOVA on grid data, as the paper's Table 5.1."""

import numpy as np

from profiling.services.anova import two_way_anova


def test_anova_on_a_synthetic_grid_finds_all_three_effects():
    rng = np.random.default_rng(5)
    tin, tout = np.meshgrid([8.0, 128, 2048], [8.0, 128, 2048])
    tin, tout = np.repeat(tin.ravel(), 4), np.repeat(tout.ravel(), 4)
    y = 2 * tin + 30 * tout + 0.05 * tin * tout + rng.normal(0, 5, tin.size)
    out = two_way_anova(tin, tout, y)
    assert out["available"]
    rows = {r["source"]: r for r in out["table"]}
    assert set(rows) == {"input tokens", "output tokens", "input × output", "residual"}
    assert rows["input tokens"]["df"] == 2 and rows["input × output"]["df"] == 4
    assert rows["residual"]["df"] == tin.size - 9
    for src in ("input tokens", "output tokens", "input × output"):
        assert rows[src]["p"] < 1e-6


def test_anova_without_interaction_effect_reports_a_large_p_value():
    rng = np.random.default_rng(6)
    tin, tout = np.meshgrid([8.0, 128, 2048], [8.0, 128, 2048])
    tin, tout = np.repeat(tin.ravel(), 4), np.repeat(tout.ravel(), 4)
    y = 2 * tin + 30 * tout + rng.normal(0, 50, tin.size)
    rows = {r["source"]: r for r in two_way_anova(tin, tout, y)["table"]}
    assert rows["input × output"]["p"] > 0.01


def test_anova_explains_why_a_sweep_has_none():
    out = two_way_anova(np.full(10, 32.0), np.arange(10.0), np.arange(10.0))
    assert not out["available"] and "one-dimensional sweep" in out["reason"]
    cross_tin = np.r_[np.full(5, 32.0), np.arange(5.0) * 10 + 8]
    cross_tout = np.r_[np.arange(5.0) * 10 + 8, np.full(5, 32.0)]
    out = two_way_anova(cross_tin, cross_tout, np.arange(10.0))
    assert not out["available"] and "not a complete grid" in out["reason"]
