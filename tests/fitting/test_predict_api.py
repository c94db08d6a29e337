"""POST /api/v1/predict: values equal terms.predict, intervals, warnings, field-keyed errors."""

import numpy as np
import pytest

from profiling.choices import FitSource
from profiling.fitting import terms
from profiling.models import EnergyModelFit
from profiling.services import fitting

pytestmark = pytest.mark.django_db
URL = "/api/v1/predict"
LLAMA2_7B = {"tin": -3.89, "tout": 31.52, "tin_tout": 4.27e-02}


@pytest.fixture
def fitted(grid_pair):
    llm, hw = grid_pair
    fitting.fit_pair(llm, hw, "energy")
    fitting.fit_pair(llm, hw, "runtime")
    return llm, hw


def test_requires_authentication(api_client, fitted):
    r = api_client.post(URL, {"llm": "x", "hardware": "y", "pairs": [[1, 1]]}, format="json")
    assert r.status_code in (401, 403)


def test_values_equal_terms_predict_with_intervals(user_api, fitted):
    llm, hw = fitted
    pairs = [[8, 8], [100, 300], [2048, 2048], [8200, 10]]
    r = user_api.post(URL, {"llm": llm.slug, "hardware": hw.name, "pairs": pairs}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    energy = EnergyModelFit.objects.get(pk=body["fits"]["energy"]["id"])
    runtime = EnergyModelFit.objects.get(pk=body["fits"]["runtime"]["id"])
    assert energy.is_selected and energy.source == FitSource.FITTED and runtime.target == "runtime"
    tin, tout = np.array(pairs, float).T
    # Equal to terms.predict to the 7 significant digits the API sends.
    assert body["significant_digits"] == 7
    np.testing.assert_allclose(body["energy_j"], terms.predict(energy.coefficients, tin, tout), rtol=6e-7)
    np.testing.assert_allclose(body["runtime_s"], terms.predict(runtime.coefficients, tin, tout), rtol=6e-7)
    lo, hi = np.array(body["energy_j_lower"]), np.array(body["energy_j_upper"])
    assert (lo <= np.array(body["energy_j"])).all() and (np.array(body["energy_j"]) <= hi).all()
    # (8200, 10) lies four times past the largest measured input (2048): beyond the support.
    assert body["pair_warnings"]["energy"]["extrapolation"] == [3]
    assert body["estimated"] is False and body["fits"]["energy"]["form"] == energy.form


def test_column_form_and_published_fit_flag_negative_predictions(user_api, llm, hardware):
    EnergyModelFit.objects.create(llm=llm, hardware=hardware, target="energy", form="paper",
                                  source=FitSource.PUBLISHED, is_selected=True, coefficients=LLAMA2_7B,
                                  tin_min=8, tin_max=2048, tout_min=8, tout_max=2048)
    r = user_api.post(URL, {"llm": llm.name, "hardware": hardware.slug, "fit": "published",
                            "pairs": {"tin": [500, 500], "tout": [30, 40]}}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["energy_j"][0] < 0 < body["energy_j"][1]
    assert body["pair_warnings"]["energy"]["negative"] == [0]
    assert body["energy_j_lower"] is None and body["runtime_s"] is None  # no covariance, no runtime fit
    assert any("no covariance" in w for w in body["warnings"])


@pytest.mark.parametrize("payload, field, text", [
    ({"llm": "nope", "hardware": "Test GPU box", "pairs": [[1, 1]]}, "llm", "Unknown LLM"),
    ({"llm": "Test LLM (7B)", "hardware": "nope", "pairs": [[1, 1]]}, "hardware", "Unknown hardware"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": [[1, -1]]}, "pairs", "negative"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": [[1, "a"]]}, "pairs", "number"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": [[1, 2, 3]]}, "pairs", "two numbers"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": [[1.5, 2]]}, "pairs", "whole"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": []}, "pairs", "at least one"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": {"tin": [1], "tout": [1, 2]}}, "pairs", "has 1"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box"}, "pairs", "required"),
    ({"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": [[1, 1]], "fit": 99999}, "fit", "not a"),
])
def test_bad_input_gives_field_keyed_400(user_api, fitted, payload, field, text):
    r = user_api.post(URL, payload, format="json")
    assert r.status_code == 400
    assert field in r.json() and text in " ".join(r.json()[field]), r.json()


def test_round_sig_keeps_seven_significant_digits():
    from profiling.api.predict import round_sig

    x = np.array([123456.789123, -0.000123456789, 0.0, 9.999999999e8, 31.52])
    np.testing.assert_allclose(round_sig(x), [123456.8, -0.0001234568, 0.0, 1e9, 31.52], rtol=1e-12)


def test_too_many_pairs(user_api, fitted, settings):
    settings.PREDICT_MAX_PAIRS = 10
    r = user_api.post(URL, {"llm": "Test LLM (7B)", "hardware": "Test GPU box", "pairs": [[1, 1]] * 11},
                      format="json")
    assert r.status_code == 400 and "limit of 10" in r.json()["pairs"][0]


def test_non_identifiable_fit_is_refused(user_api, llm, hardware):
    fit = EnergyModelFit.objects.create(llm=llm, hardware=hardware, target="energy", form="paper",
                                        identifiable=False, coefficients=LLAMA2_7B)
    r = user_api.post(URL, {"llm": llm.pk, "hardware": hardware.pk, "fit": fit.pk, "pairs": [[1, 1]]},
                      format="json")
    assert r.status_code == 400 and "not identifiable" in r.json()["fit"][0]
