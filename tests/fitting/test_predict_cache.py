"""The predict endpoint's lookups are reused for a few seconds per process, and forgotten when fits change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiling.models import EnergyModelFit
from tests.scheduling.conftest import make_reference

pytestmark = pytest.mark.django_db

BODY = {"llm": "Llama-2 (7B)", "hardware": "Swing AMD+A100", "pairs": [[64, 32]], "fit": "published"}


def test_repeated_predicts_skip_the_lookups_and_a_changed_fit_is_seen_at_once(user_api):
    make_reference()
    first = user_api.post("/api/v1/predict", BODY, format="json")
    assert first.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        again = user_api.post("/api/v1/predict", BODY, format="json")
    assert again.json()["energy_j"] == first.json()["energy_j"]
    assert not any("profiling_energymodelfit" in q["sql"] or "profiling_llm" in q["sql"] for q in queries.captured_queries)
    # Saving a fit (a refit, an edit in the admin) clears this process's cache at once.
    fit = EnergyModelFit.objects.get(llm__name="Llama-2 (7B)", target="energy", source="published")
    fit.coefficients = {k: v * 2 for k, v in fit.coefficients.items()}
    fit.save()
    doubled = user_api.post("/api/v1/predict", BODY, format="json").json()["energy_j"]
    assert doubled == pytest.approx([2 * e for e in first.json()["energy_j"]], rel=1e-6)


def test_the_cache_can_be_turned_off(user_api, settings):
    settings.PREDICT_CACHE_S = 0
    make_reference()
    user_api.post("/api/v1/predict", BODY, format="json")
    with CaptureQueriesContext(connection) as queries:
        assert user_api.post("/api/v1/predict", BODY, format="json").status_code == 200
    assert any("profiling_energymodelfit" in q["sql"] for q in queries.captured_queries)
