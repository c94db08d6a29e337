"""Idle baseline and dynamic energy.

The paper reports CPU energy as total minus idle (dynamic energy). We store both:
total from the meter, dynamic = total - idle power x duration per component.
Dynamic energy is left unclamped: a small negative value is measurement noise and
clamping it at zero would bias the fits upwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .base import Meter, Reading


@dataclass
class IdleBaseline:
    power_w: dict[str, float]  # per component
    device_power_w: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    sources: dict[str, str] = field(default_factory=dict)


def measure_idle(meter: Meter, duration_s: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> IdleBaseline:
    """Average power per component while this process sleeps for ``duration_s``.

    Run before a sweep, with nothing else scheduled on the device.
    """
    duration_s = max(duration_s, meter.min_window_s)
    meter.start()
    sleep(duration_s)
    reading = meter.stop()
    return baseline_from(reading)


def baseline_from(reading: Reading) -> IdleBaseline:
    d = reading.duration_s or float("nan")
    return IdleBaseline(
        power_w={k: v / d for k, v in reading.energy_j.items()},
        device_power_w={k: v / d for k, v in reading.devices.items()},
        duration_s=reading.duration_s,
        sources=dict(reading.sources),
    )


def dynamic_energy(reading: Reading, idle: IdleBaseline | None) -> dict[str, float] | None:
    """Per component: total energy minus idle power x the window's duration (None without a baseline)."""
    if idle is None:
        return None
    return {k: v - idle.power_w.get(k, 0.0) * reading.duration_s for k, v in reading.energy_j.items()}
