"""GPU energy through NVML (``pynvml`` from nvidia-ml-py).

Per GPU, the total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ
since the driver loaded, Volta and newer) is read at both ends of the window.
Where a GPU has no counter, a sampling thread integrates
``nvmlDeviceGetPowerUsage`` (mW) at >= 10 Hz instead; the reading's source then
says ``nvml-power-integration``.

The counter moves in steps (about every 100 ms): a window with no step in it would
read 0 J, so it raises WindowTooShort and ``min_window_s`` tells the sweep how long
a window must be (it repeats short work inside one window and divides).
"""

from __future__ import annotations

import math
import os
from typing import Any

from .base import NVML_COUNTER, NVML_POWER, Meter, MeterUnavailable, Reading, WindowTooShort
from .sampler import PowerSampler

DEFAULT_UPDATE_PERIOD_S = 0.1  # NVML counter step on Volta..Hopper; calibrate_update_period() measures it
WINDOW_UPDATES = 10  # a window spans this many steps, so quantisation stays under ~10-20%


def _pynvml():
    try:
        import pynvml
    except ImportError as exc:  # nvidia-ml-py is only in requirements-worker.txt
        raise MeterUnavailable("NVML: nvidia-ml-py is not installed (pip install -r requirements-worker.txt)") from exc
    return pynvml


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def visible_devices(env: str | None, handles_by_index: list[Any], uuid_of) -> list[tuple[int, Any]]:
    """(NVML index, handle) of the GPUs CUDA would use under ``CUDA_VISIBLE_DEVICES``.

    Unset: all. Empty: none. Entries are indices or GPU UUIDs (unique prefixes
    allowed); as in CUDA, the list ends at the first entry that matches no GPU.
    """
    if env is None:
        return list(enumerate(handles_by_index))
    chosen: list[tuple[int, Any]] = []
    for raw in env.split(","):
        entry = raw.strip()
        if not entry:
            break
        if entry.lstrip("-").isdigit():
            index = int(entry)
            if not 0 <= index < len(handles_by_index):
                break
            match = [(index, handles_by_index[index])]
        elif entry.startswith("MIG-"):
            raise MeterUnavailable("NVML: MIG instances have no energy counter of their own; meter the whole GPU")
        else:
            match = [(i, h) for i, h in enumerate(handles_by_index) if _text(uuid_of(h)).startswith(entry)]
            if len(match) != 1:
                break
        if match[0][0] not in {i for i, _ in chosen}:
            chosen.append(match[0])
    return chosen


class NvmlMeter(Meter):
    name = "nvml"
    components = ("gpu",)

    def __init__(self, force_sampling: bool = False, hz: float = 20.0,
                 update_period_s: float = DEFAULT_UPDATE_PERIOD_S, capture_state: bool = True):
        super().__init__()
        self.capture_state = capture_state
        self.nvml = _pynvml()
        try:
            self.nvml.nvmlInit()
        except self.nvml.NVMLError as exc:
            raise MeterUnavailable(f"NVML: nvmlInit failed ({exc}): no NVIDIA driver or GPU on this host") from exc
        self.warnings: list[str] = []
        try:
            count = self.nvml.nvmlDeviceGetCount()
            handles = [self.nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            env = os.environ.get("CUDA_VISIBLE_DEVICES")
            self.devices = visible_devices(env, handles, self.nvml.nvmlDeviceGetUUID)
        except Exception:
            self.close()
            raise
        if not self.devices:
            self.close()
            raise MeterUnavailable(f"NVML: no GPU visible (CUDA_VISIBLE_DEVICES={env!r}, {count} GPU(s) present)")
        if env and len(handles) > 1 and os.environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
            # NVML numbers GPUs by PCI bus, CUDA fastest-first: indices can name different GPUs.
            self.warnings.append("CUDA_VISIBLE_DEVICES uses indices but CUDA_DEVICE_ORDER is not PCI_BUS_ID")
        self.counter = [not force_sampling and self._has_counter(h) for _, h in self.devices]
        self.update_period_s = update_period_s
        self.hz = hz
        self.sampler = PowerSampler(self._sampled_power, hz=hz) if not all(self.counter) else None
        self.min_window_s = WINDOW_UPDATES * (update_period_s if all(self.counter) else 1.0 / hz)
        self.source = NVML_COUNTER if all(self.counter) else NVML_POWER
        self._start_mj: list[int] = []

    @classmethod
    def probe(cls) -> str | None:
        try:
            cls().close()
        except MeterUnavailable as exc:
            return str(exc)
        return None

    def _has_counter(self, handle) -> bool:
        try:
            self.nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            return True
        except self.nvml.NVMLError:  # NotSupported before Volta and on some vGPUs
            return False

    def _sampled_power(self) -> list[float]:
        return [self.nvml.nvmlDeviceGetPowerUsage(h) / 1000.0
                for (_, h), has in zip(self.devices, self.counter, strict=True) if not has]

    def _counters_mj(self) -> list[int]:
        return [self.nvml.nvmlDeviceGetTotalEnergyConsumption(h)
                for (_, h), has in zip(self.devices, self.counter, strict=True) if has]

    def _begin(self) -> None:
        if self.sampler is not None:
            self.sampler.start()
        self._start_mj = self._counters_mj()

    def _end(self, duration_s: float) -> Reading:
        end_mj = self._counters_mj()
        sampled = self.sampler.stop() if self.sampler is not None else []
        counter_j = [(b - a) / 1000.0 for a, b in zip(self._start_mj, end_mj, strict=True)]
        if any(j <= 0 for j in counter_j):
            raise WindowTooShort(
                f"NVML energy counter did not move in {duration_s * 1000:.1f} ms (it steps about every "
                f"{self.update_period_s * 1000:.0f} ms): repeat the work for at least {self.min_window_s:.2f} s")
        if self.sampler is not None and self.sampler.samples < 3:  # the two end samples + one inside
            raise WindowTooShort(
                f"NVML power sampling took no sample inside {duration_s * 1000:.1f} ms at {self.hz:g} Hz: "
                f"repeat the work for at least {self.min_window_s:.2f} s")
        devices, counters, samples = {}, iter(counter_j), iter(sampled)
        for (index, _), has in zip(self.devices, self.counter, strict=True):
            devices[f"gpu{index}"] = next(counters) if has else next(samples)
        updates = (math.floor(duration_s / self.update_period_s) if all(self.counter)
                   else self.sampler.samples if self.sampler is not None else 0)
        reading = Reading(
            energy_j={"gpu": sum(devices.values())}, sources={"gpu": self.source}, duration_s=duration_s,
            updates={"gpu": updates}, devices=devices, warnings=list(self.warnings))
        if self.capture_state:  # after the window closed: state queries cost time, not energy
            reading.device_state = self.device_state()
        if self.sampler is not None:
            reading.device_state["sampler_cpu_s"] = self.sampler.cpu_s
        return reading

    def calibrate_update_period(self, max_s: float = 2.0, steps: int = 5) -> float:
        """Watch the first GPU's counter and return its median step interval (seconds)."""
        import time

        handle = self.devices[0][1]
        last, t_last, intervals = self.nvml.nvmlDeviceGetTotalEnergyConsumption(handle), None, []
        deadline = time.perf_counter() + max_s
        while time.perf_counter() < deadline and len(intervals) < steps:
            value = self.nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            if value != last:
                now = time.perf_counter()
                if t_last is not None:
                    intervals.append(now - t_last)
                last, t_last = value, now
            time.sleep(0.0005)
        if intervals:
            self.update_period_s = sorted(intervals)[len(intervals) // 2]
            if all(self.counter):
                self.min_window_s = WINDOW_UPDATES * self.update_period_s
        return self.update_period_s

    def device_state(self) -> dict[str, Any]:
        nvml = self.nvml

        def ask(fn, *args, scale=1.0):
            try:
                value = fn(*args)
            except nvml.NVMLError:
                return None
            return value / scale if scale != 1.0 else _text(value) if isinstance(value, bytes) else value

        gpus = []
        for index, h in self.devices:
            gpus.append({
                "index": index,
                "name": ask(nvml.nvmlDeviceGetName, h),
                "power_limit_w": ask(nvml.nvmlDeviceGetEnforcedPowerLimit, h, scale=1000.0),
                "sm_clock_mhz": ask(nvml.nvmlDeviceGetClockInfo, h, nvml.NVML_CLOCK_SM),
                "mem_clock_mhz": ask(nvml.nvmlDeviceGetClockInfo, h, nvml.NVML_CLOCK_MEM),
                "temperature_c": ask(nvml.nvmlDeviceGetTemperature, h, nvml.NVML_TEMPERATURE_GPU),
            })
        return {"driver": ask(nvml.nvmlSystemGetDriverVersion), "gpus": gpus}

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except self.nvml.NVMLError:
            pass
