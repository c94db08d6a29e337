"""Term columns shared between predictions (terms.column): the same bits as computing them afresh."""

import numpy as np

from profiling.fitting import intervals, terms


def _arrays(n=5000, seed=3):
    rng = np.random.default_rng(seed)
    return rng.integers(1, 20000, n).astype(np.float64), rng.integers(1, 3000, n).astype(np.float64)


def test_predict_with_shared_columns_is_bit_equal():
    tin, tout = _arrays()
    rng = np.random.default_rng(4)
    columns = {}
    for _ in range(6):
        names = list(rng.choice(list(terms.TERMS), size=rng.integers(1, 5), replace=False))
        coefs = {name: float(rng.normal()) for name in names}
        assert np.array_equal(terms.predict(coefs, tin, tout, columns), terms.predict(coefs, tin, tout))
    # The cached columns are not written into by the predictions that read them.
    for name, col in columns.items():
        assert np.array_equal(col, terms.TERMS[name](tin, tout)), name


def test_interval_with_given_yhat_and_columns_is_bit_equal():
    tin, tout = _arrays()
    coefs = {"intercept": 0.5, "tin": 1e-3, "tout": 2e-2, "decode": 1e-6, "decode_sq": 1e-11}
    cov_terms = ["tin", "tout", "decode", "decode_sq"]
    rng = np.random.default_rng(5)
    a = rng.normal(size=(4, 4)) * np.array([1e-8, 1e-6, 1e-12, 1e-20]) ** 0.5
    metrics = {"cov": (a @ a.T).tolist(), "cov_terms": cov_terms, "sigma2": 0.01, "df_resid": 150,
               "interval_q95": 0.08, "error_model": "relative", "kappa": 0.1,
               "support": {"cells": [[128, 32], [256, 32], [512, 64], [1024, 128]], "radius": 0.5}}
    want = intervals.prediction_interval(coefs, metrics, tin, tout)
    columns = {}
    yhat = terms.predict(coefs, tin, tout, columns)
    got = intervals.prediction_interval(coefs, metrics, tin, tout, yhat=yhat, columns=columns)
    assert got[1] is not None
    for w, g in zip(want, got, strict=True):
        assert np.array_equal(w, g)
