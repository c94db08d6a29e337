"""Two-way ANOVA on grid data, as the paper's Table 5.1."""

import numpy as np
import pytest

from profiling.fitting.anova import two_way_anova


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


def test_sufficient_statistics_table_equals_statsmodels(monkeypatch):
    from profiling.fitting import anova

    rng = np.random.default_rng(9)
    tin, tout = np.meshgrid([8.0, 64, 512, 2048], [16.0, 256, 4096])
    reps = rng.integers(2, 6, tin.size)  # unbalanced on purpose
    tin, tout = np.repeat(tin.ravel(), reps), np.repeat(tout.ravel(), reps)
    y = 3 * tin + 20 * tout + 0.02 * tin * tout + rng.normal(0, 500, tin.size)
    for replicated_data in (True, False):
        if not replicated_data:  # one row per cell
            _, first = np.unique(np.column_stack([tin, tout]), axis=0, return_index=True)
            tin, tout, y = tin[first], tout[first], y[first]
        slow = anova.two_way_anova(tin, tout, y)
        monkeypatch.setattr(anova, "STATSMODELS_MAX_ROWS", 0)
        fast = anova.two_way_anova(tin, tout, y)
        monkeypatch.setattr(anova, "STATSMODELS_MAX_ROWS", 20_000)
        assert slow["method"] == "statsmodels anova_lm" and fast["method"] == "cell sufficient statistics"
        assert [r["source"] for r in slow["table"]] == [r["source"] for r in fast["table"]]
        for s, f in zip(slow["table"], fast["table"], strict=True):
            assert f["df"] == s["df"]
            assert f["sum_sq"] == pytest.approx(s["sum_sq"], rel=1e-7)
            if s["F"] is not None:
                assert f["F"] == pytest.approx(s["F"], rel=1e-7)
                assert f["p"] == pytest.approx(s["p"], rel=1e-6, abs=1e-300)
