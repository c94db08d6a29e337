"""Large list counts are reused for a few seconds (the load test's first bottleneck); small ones never."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from profiling.choices import EnergySource
from profiling.models import Measurement
from tests.scheduling.conftest import make_reference

pytestmark = pytest.mark.django_db


def _add(n, hw, llm):
    Measurement.objects.bulk_create([
        Measurement(llm=llm, hardware=hw, input_tokens=8, output_tokens=8, runtime_s=1.0, gpu_energy_j=1.0,
                    gpu_energy_source=EnergySource.IMPORTED, total_energy_j=1.0) for _ in range(n)])


def test_counts_above_the_threshold_are_cached_and_small_ones_are_exact(user_api, settings):
    cache.clear()
    hw, llms = make_reference()
    llm = llms["Llama-2 (7B)"]
    settings.API_COUNT_CACHE_MIN_ROWS = 5
    _add(3, hw, llm)
    assert user_api.get("/api/v1/measurements/?limit=1").json()["count"] == 3
    _add(3, hw, llm)
    assert user_api.get("/api/v1/measurements/?limit=1").json()["count"] == 6  # below 5 before: not cached
    _add(1, hw, llm)
    # 6 >= 5 was cached: the next page of the same query reuses it ...
    assert user_api.get("/api/v1/measurements/?limit=1&offset=1").json()["count"] == 6
    # ... a different query counts afresh, and with the cache off every count is exact.
    assert user_api.get(f"/api/v1/measurements/?limit=1&llm={llm.pk}").json()["count"] == 7
    settings.API_COUNT_CACHE_S = 0
    assert user_api.get("/api/v1/measurements/?limit=1").json()["count"] == 7
    cache.clear()
