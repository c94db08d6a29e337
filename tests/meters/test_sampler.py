"""The power-integration thread, fed by a plain function (no device needed)."""

from __future__ import annotations

import time

import pytest

from profiling.meters.sampler import PowerSampler


def test_sampler_integrates_constant_power_at_the_requested_rate():
    sampler = PowerSampler(lambda: [200.0, 50.0], hz=40)
    t0 = time.perf_counter()
    sampler.start()
    time.sleep(0.25)
    joules = sampler.stop()
    elapsed = time.perf_counter() - t0
    assert joules[0] == pytest.approx(200.0 * elapsed, rel=0.05)
    assert joules[1] == pytest.approx(50.0 * elapsed, rel=0.05)
    assert sampler.samples >= 0.25 * 40 * 0.7


def test_sampler_uses_trapezoids_on_a_ramp():
    clock = iter([0.0, 1.0, 2.0, 3.0])
    watts = iter([[0.0], [10.0], [20.0], [30.0]])
    sampler = PowerSampler(lambda: next(watts), hz=10, clock=lambda: next(clock))
    for _ in range(4):
        sampler._sample()
    assert sampler.energy_j == [pytest.approx(45.0)]  # area under 0..30 W over 3 s


def test_sampler_refuses_under_10_hz():
    with pytest.raises(ValueError, match="10 Hz"):
        PowerSampler(lambda: [1.0], hz=5)
