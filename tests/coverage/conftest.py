"""Fixtures for coverage runs: this host, the tiny LLMs, grid-small measured, a 256/96 workload."""

from __future__ import annotations

import pytest

from tests.runs.conftest import host, tiny  # noqa: F401  (the same host and tiny LLM as the run tests)

GRID_SMALL = [(a, b) for a in (8, 16, 32, 64) for b in (8, 16, 32, 64)]


def add_cells(llm, hardware, cells, *, warmup_cells=(), trials=2):
    """Measurement rows at ``cells`` (``trials`` each) and warm-up rows at ``warmup_cells``."""
    from profiling.choices import EnergySource
    from profiling.models import Measurement

    rows = []
    for cells_, warm in ((cells, False), (warmup_cells, True)):
        for tin, tout in cells_:
            for it in range(1 if warm else trials):
                rows.append(Measurement(
                    llm=llm, hardware=hardware, input_tokens=tin, output_tokens=tout, runtime_s=0.01 * tout,
                    total_energy_j=0.1 * tout, cpu_energy_j=0.1 * tout, cpu_energy_source=EnergySource.ESTIMATE_TDP,
                    is_estimated=True, is_warmup=warm, iteration=it))
    Measurement.objects.bulk_create(rows)


def make_workload(name="cover-256-96", n=2000, seed=0):
    """``n`` queries, input uniform 8..256 and output uniform 8..96 (the issue's 2,000-query workload)."""
    from scheduling.services.generator import generate_workload

    return generate_workload(name, n, "uniform:low=8,high=256", "uniform:low=8,high=96", seed=seed)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def measured_pair(host, tiny):  # noqa: F811
    add_cells(tiny, host, GRID_SMALL)
    return tiny, host


@pytest.fixture
def workload(media, db):
    return make_workload()
