"""Source names equal the EnergySource choices; the registry builds every meter by name."""

from __future__ import annotations

import pytest

from profiling import meters
from profiling.choices import EnergySource


def test_source_names_match_energy_source_choices():
    assert meters.NVML_COUNTER == EnergySource.NVML_COUNTER
    assert meters.NVML_POWER == EnergySource.NVML_POWER
    assert meters.RAPL == EnergySource.RAPL
    assert meters.ESTIMATE_TDP == EnergySource.ESTIMATE_TDP
    assert meters.ESTIMATED_SOURCES == EnergySource.estimated()


def test_registry_names_resolve_and_unknown_names_are_refused():
    assert set(meters.REGISTRY) >= {"nvml", "rapl", "estimate"}
    assert meters.meter_class("estimate").__name__ == "EstimateMeter"
    with pytest.raises(meters.MeterError, match="unknown meter"):
        meters.meter_class("watt-o-meter")


def test_meters_and_backends_import_without_django(run_python):
    code = ("import sys; import profiling.meters, profiling.meters.nvml, profiling.meters.rapl, "
            "profiling.meters.estimate, profiling.backends, profiling.backends.hf, profiling.backends.vllm, profiling.sweeps; assert 'django' not in sys.modules, 'django imported'")
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr
