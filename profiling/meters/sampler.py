"""A background thread that integrates power samples (trapezoid rule).

Used where no energy counter exists (NVML before Volta). The thread sleeps on an
Event between samples, so it costs one power read per period and nothing else;
it measures its own CPU time (``cpu_s``) so the overhead can be reported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence


class PowerSampler:
    """Samples ``read_power()`` (watts per device) at ``hz`` and integrates to joules per device."""

    def __init__(self, read_power: Callable[[], Sequence[float]], hz: float = 20.0,
                 clock: Callable[[], float] = time.perf_counter):
        if hz < 10:
            raise ValueError("sample at 10 Hz or more: slower sampling misses decode-step power swings")
        self.read_power = read_power
        self.period_s = 1.0 / hz
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.energy_j: list[float] = []
        self.samples = 0
        self.cpu_s = 0.0
        self._last: tuple[float, Sequence[float]] | None = None

    def _sample(self) -> None:
        t, watts = self.clock(), list(self.read_power())
        with self._lock:
            if self._last is None:
                self.energy_j = [0.0] * len(watts)
            else:
                t0, w0 = self._last
                dt = t - t0
                for i, (a, b) in enumerate(zip(w0, watts, strict=True)):
                    self.energy_j[i] += 0.5 * (a + b) * dt
            self._last = (t, watts)
            self.samples += 1

    def _run(self) -> None:
        cpu0 = time.thread_time()
        next_t = self.clock() + self.period_s
        # wait() returns True when stop() is called; sample on every timeout.
        while not self._stop.wait(max(0.0, next_t - self.clock())):
            self._sample()
            next_t += self.period_s
        self.cpu_s = time.thread_time() - cpu0

    def start(self) -> None:
        self.energy_j, self.samples, self._last = [], 0, None
        self._stop.clear()
        self._sample()  # the window opens with a sample, so no time goes unintegrated
        self._thread = threading.Thread(target=self._run, name="power-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> list[float]:
        if self._thread is None:
            raise RuntimeError("sampler not started")
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._sample()  # and closes with one
        return list(self.energy_j)
