"""Idle baseline per component and dynamic energy = total - idle power x time."""

from __future__ import annotations

import pytest

from profiling.meters import Reading, dynamic_energy, measure_idle
from profiling.meters.idle import IdleBaseline
from profiling.meters.rapl import RaplMeter


def test_idle_baseline_from_a_fake_powercap_window(powercap):
    meter = RaplMeter(powercap.root)

    def idle_for(seconds):  # the counters move as a 20 W package and 2 W DRAM would while idle
        powercap.add("intel-rapl:0", int(20e6 * seconds))
        powercap.add("intel-rapl:0:1", int(2e6 * seconds))

    idle = measure_idle(meter, duration_s=0.5, sleep=idle_for)
    # duration is the real (tiny) window, so compare energies: power x duration is the energy seen.
    assert idle.power_w["cpu"] * idle.duration_s == pytest.approx(10.0)
    assert idle.power_w["dram"] * idle.duration_s == pytest.approx(1.0)
    assert idle.sources == {"cpu": "rapl", "dram": "rapl"}


def test_dynamic_energy_subtracts_idle_power_times_duration():
    reading = Reading(energy_j={"cpu": 100.0, "dram": 9.0}, sources={"cpu": "rapl", "dram": "rapl"},
                      duration_s=2.0)
    idle = IdleBaseline(power_w={"cpu": 30.0, "dram": 5.0})
    assert dynamic_energy(reading, idle) == {"cpu": pytest.approx(40.0), "dram": pytest.approx(-1.0)}
    assert dynamic_energy(reading, None) is None  # no baseline: unknown, not equal to total
