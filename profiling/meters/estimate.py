"""CPU energy estimated from this process's CPU time x TDP per core (no counter needed).

For hosts with neither NVML nor readable RAPL (virtual machines, this project's
test VM). The figure is an estimate, not a measurement: its source is always
``estimate-tdp`` and ``Reading.is_estimated`` is true, so every row, chart, fit and
export built on it says so. CPU time covers all threads of the process (PyTorch's
intra-op pool included) and assumes every busy core draws its share of the TDP.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .base import ESTIMATE_TDP, Meter, Reading

DEFAULT_W_PER_CORE = 10.0  # a typical server core under load (e.g. 280 W / 28 cores) when no TDP is known


class EstimateMeter(Meter):
    name = "estimate"
    source = ESTIMATE_TDP
    components = ("cpu",)
    min_window_s = 0.01  # process CPU time ticks in microseconds on Linux; 10 ms keeps scheduler noise small
    fallback = True

    def __init__(self, tdp_w: float | None = None, cores: int | None = None,
                 cpu_time: Callable[[], float] = time.process_time):
        super().__init__()
        self.cores = cores or os.cpu_count() or 1
        if tdp_w:
            self.w_per_core, self.assumption = tdp_w / self.cores, f"TDP {tdp_w:g} W over {self.cores} cores"
        else:
            self.w_per_core = DEFAULT_W_PER_CORE
            self.assumption = f"no TDP known: assumed {DEFAULT_W_PER_CORE:g} W per busy core"
        self.cpu_time = cpu_time
        self._cpu0 = 0.0

    def _begin(self) -> None:
        self._cpu0 = self.cpu_time()

    def _end(self, duration_s: float) -> Reading:
        cpu_s = self.cpu_time() - self._cpu0
        return Reading(
            energy_j={"cpu": cpu_s * self.w_per_core}, sources={"cpu": ESTIMATE_TDP}, duration_s=duration_s,
            updates={"cpu": 0}, devices={"cpu-process": cpu_s * self.w_per_core},
            device_state={"estimate": self.assumption, "w_per_core": self.w_per_core, "cpu_time_s": cpu_s},
            warnings=[f"estimated, not measured: {self.assumption}"])
