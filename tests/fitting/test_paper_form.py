"""The paper form is exactly the no-intercept three-term OLS, with its statistics."""

import numpy as np
import pytest

from profiling.fitting import regression


def test_paper_coefficients_equal_direct_least_squares():
    rng = np.random.default_rng(7)
    tin = rng.integers(8, 2048, 300).astype(float)
    tout = rng.integers(8, 2048, 300).astype(float)
    y = -3.89 * tin + 31.52 * tout + 0.0427 * tin * tout + rng.normal(0, 200, 300)
    r = regression.fit_form("paper", tin, tout, y)
    x = np.column_stack([tin, tout, tin * tout])
    direct, *_ = np.linalg.lstsq(x, y, rcond=None)
    assert list(r.coefficients) == ["tin", "tout", "tin_tout"]
    np.testing.assert_allclose([r.coefficients[k] for k in ("tin", "tout", "tin_tout")], direct, rtol=1e-9)
    # Standard errors, t, p and CIs come with it, and the CI brackets the estimate.
    for name, row in r.coef_table.items():
        assert row["se"] > 0 and row["ci_low"] < r.coefficients[name] < row["ci_high"]
        assert row["t"] == pytest.approx(r.coefficients[name] / row["se"])
    assert r.f_statistic > 0 and 0 <= r.f_pvalue <= 1
    assert r.identifiable


def test_centered_and_uncentered_r2_on_a_hand_computed_case():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    yhat = np.array([1.0, 2.0, 4.0, 4.0])
    # SSR = 1; sum((y - 2.5)^2) = 5; sum(y^2) = 30.
    r2c, r2u = regression.r2_scores(y, yhat)
    assert r2c == pytest.approx(1 - 1 / 5)      # 0.8
    assert r2u == pytest.approx(1 - 1 / 30)     # 0.9667: the flattering no-intercept figure


def test_fit_reports_both_r2_and_uncentered_is_higher_for_no_intercept_ols():
    rng = np.random.default_rng(1)
    tin = np.repeat([8.0, 128, 1024], 20)
    tout = np.tile(np.repeat([16.0, 256, 2048], 5), 4)[: tin.size]
    y = 500 + 20 * tout + 0.01 * tin * tout + rng.normal(0, 300, tin.size)
    r = regression.fit_form("paper", tin, tout, y)
    assert r.r2_uncentered > r.r2
    m = r.metrics()
    assert {"r2", "r2_uncentered", "rmse", "mape", "cv_mape", "n"} <= set(m)


def test_prediction_interval_brackets_the_prediction_and_widens_away_from_data():
    rng = np.random.default_rng(3)
    tin = rng.integers(8, 512, 200).astype(float)
    tout = rng.integers(8, 512, 200).astype(float)
    y = 2 * tin + 30 * tout + 0.04 * tin * tout + rng.normal(0, 50, 200)
    r = regression.fit_form("paper", tin, tout, y)
    mu, lo, hi = regression.prediction_interval(r.coefficients, r.metrics(), [256.0, 4000.0], [256.0, 4000.0])
    assert (lo < mu).all() and (mu < hi).all()
    assert (hi - lo)[1] > (hi - lo)[0]
