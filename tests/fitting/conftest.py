"""Small fixtures for the fitting tests: an LLM, a hardware row and a measured grid."""

from __future__ import annotations

import numpy as np
import pytest

GRID = [8, 64, 512, 2048]
TRUE = {"intercept": 40.0, "tin": 0.5, "tout": 30.0, "tin_tout": 0.04}


def energy_of(tin, tout):
    return TRUE["intercept"] + TRUE["tin"] * tin + TRUE["tout"] * tout + TRUE["tin_tout"] * tin * tout


def add_grid(llm, hardware, *, reps=3, seed=0, grid=GRID, estimated=False, warmup_outlier=True):
    """Create measurements on a full (tin, tout) grid, with a warm-up row per cell."""
    from profiling.choices import EnergySource
    from profiling.models import Measurement

    rng = np.random.default_rng(seed)
    rows = []
    for tin in grid:
        for tout in grid:
            e = energy_of(tin, tout)
            for it in range(reps + 1):
                warm = it == 0
                noisy = e * (1 + rng.normal(0, 0.02)) * (5 if warm and warmup_outlier else 1)
                rows.append(Measurement(
                    llm=llm, hardware=hardware, input_tokens=tin, output_tokens=tout,
                    runtime_s=noisy / 300.0, gpu_energy_j=noisy * 0.8, cpu_energy_j=noisy * 0.2,
                    total_energy_j=noisy,
                    gpu_energy_source=EnergySource.ESTIMATE_TDP if estimated else EnergySource.NVML_COUNTER,
                    cpu_energy_source=EnergySource.RAPL, is_estimated=estimated, is_warmup=warm, iteration=it))
    Measurement.objects.bulk_create(rows)
    return rows


@pytest.fixture
def llm(db):
    from profiling.models import LLM

    return LLM.objects.create(name="Test LLM (7B)", parameters_b=7, weights="test/llm-7b")


@pytest.fixture
def hardware(db):
    from profiling.models import Hardware

    return Hardware.objects.create(name="Test GPU box", gpu_model="A100", gpu_count=1)


@pytest.fixture
def grid_pair(llm, hardware):
    add_grid(llm, hardware)
    return llm, hardware


@pytest.fixture(autouse=True)
def _forget_kombu_pools():
    """Drop kombu's process-wide producer pools after each test.

    start_worker() force-closes the app's connection pool, but kombu keeps a
    global producer pool keyed by the broker URL that still points at it: a
    second worker test in the same session then fails with "Acquire on closed
    pool". Reported to the lead for tests/conftest.py; this keeps our tests
    independent of their order meanwhile.
    """
    yield
    import kombu.pools

    kombu.pools.reset()
