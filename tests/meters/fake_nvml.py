"""A fake NVML for tests: this VM has no NVIDIA driver, so pynvml's functions are patched.

Each FakeGpu's energy counter moves only when a test says so (``advance``),
which makes counter-step behaviour deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pynvml


@dataclass
class FakeGpu:
    uuid: str
    power_w: float = 100.0
    has_counter: bool = True
    energy_mj: int = 1_000_000

    def advance(self, joules: float) -> None:
        self.energy_mj += int(joules * 1000)


def install(monkeypatch, gpus: list[FakeGpu], init_error: int | None = None) -> list[FakeGpu]:
    def init():
        if init_error is not None:
            raise pynvml.NVMLError(init_error)

    def energy(handle):
        if not handle.has_counter:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return handle.energy_mj

    patches = {
        "nvmlInit": init,
        "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": lambda: len(gpus),
        "nvmlDeviceGetHandleByIndex": lambda i: gpus[i],
        "nvmlDeviceGetUUID": lambda h: h.uuid,
        "nvmlDeviceGetTotalEnergyConsumption": energy,
        "nvmlDeviceGetPowerUsage": lambda h: int(h.power_w * 1000),
        "nvmlSystemGetDriverVersion": lambda: "999.99",
        "nvmlDeviceGetName": lambda h: "Fake GPU",
        "nvmlDeviceGetEnforcedPowerLimit": lambda h: 300_000,
        "nvmlDeviceGetClockInfo": lambda h, kind: 1410 if kind == pynvml.NVML_CLOCK_SM else 1215,
        "nvmlDeviceGetTemperature": lambda h, kind: 41,
    }
    for name, fn in patches.items():
        monkeypatch.setattr(pynvml, name, fn)
    return gpus
