"""The TDP estimate meter: real process CPU time, always labelled estimated."""

from __future__ import annotations

import pytest

from profiling.meters import ESTIMATE_TDP, get_meter


def _busy(seconds: float) -> None:
    import time

    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_estimate_is_cpu_time_times_tdp_per_core_and_labelled_estimated():
    meter = get_meter("estimate", tdp_w=80.0, cores=8)
    meter.start()
    _busy(0.05)
    reading = meter.stop()
    cpu_s = reading.device_state["cpu_time_s"]
    assert cpu_s >= 0.05
    assert reading.energy_j == {"cpu": pytest.approx(cpu_s * 10.0)}
    assert reading.sources == {"cpu": ESTIMATE_TDP}
    assert reading.is_estimated and reading.source == ESTIMATE_TDP
    assert reading.warnings and reading.warnings[0].startswith("estimated, not measured")


def test_estimate_without_tdp_states_its_assumption():
    reading_meter = get_meter("estimate")
    reading_meter.start()
    _busy(0.01)
    reading = reading_meter.stop()
    assert "assumed" in reading.device_state["estimate"]
    assert reading.energy_j["cpu"] > 0
