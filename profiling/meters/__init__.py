"""Energy meters behind one interface (see base.py). Importable without Django.

A new meter is one module with a Meter subclass and one line in ``REGISTRY``.
``auto_meter()`` picks what this host can read: NVML for GPUs, RAPL for CPU and
DRAM, both when both are there; the TDP estimate only when neither is.
"""

from __future__ import annotations

import importlib
import logging

from .base import (
    COMPONENTS,
    ESTIMATE_TDP,
    ESTIMATED_SOURCES,
    NVML_COUNTER,
    NVML_POWER,
    RAPL,
    CompositeMeter,
    Meter,
    MeterError,
    MeterUnavailable,
    Reading,
    WindowTooShort,
)
from .idle import IdleBaseline, dynamic_energy, measure_idle

log = logging.getLogger(__name__)

# name -> "module:Class", in order of preference. Imported lazily: nvml needs pynvml.
REGISTRY: dict[str, str] = {
    "nvml": "profiling.meters.nvml:NvmlMeter",
    "rapl": "profiling.meters.rapl:RaplMeter",
    "estimate": "profiling.meters.estimate:EstimateMeter",
}


def meter_class(name: str) -> type[Meter]:
    try:
        module, cls = REGISTRY[name].split(":")
    except KeyError:
        raise MeterError(f"unknown meter {name!r}; known: {', '.join(REGISTRY)}") from None
    return getattr(importlib.import_module(module), cls)


def get_meter(name: str, **options) -> Meter:
    return meter_class(name)(**options)


def auto_meter(options: dict[str, dict] | None = None, reasons: dict[str, str] | None = None,
               estimate_cpu: bool = False) -> Meter:
    """The best meters this host can read: NVML > RAPL > estimate.

    NVML (gpu) and RAPL (cpu, dram) cover different components, so both are used
    when both work; the estimate is used only when neither does, or, with
    ``estimate_cpu``, for the CPU of a GPU host whose RAPL is unreadable (that row
    is then labelled estimated). ``options`` maps a meter name to its constructor
    arguments (e.g. ``{"estimate": {"tdp_w": 120}}``); ``reasons`` (when given)
    receives why each skipped meter could not run.
    """
    options = options or {}
    reasons = {} if reasons is None else reasons
    chosen: list[Meter] = []
    for name in REGISTRY:
        if name == "estimate" and chosen and (not estimate_cpu or any("cpu" in m.components for m in chosen)):
            break
        try:
            chosen.append(get_meter(name, **options.get(name, {})))
        except MeterUnavailable as exc:
            reasons[name] = str(exc)
            log.info("meter %s unavailable: %s", name, exc)
    return chosen[0] if len(chosen) == 1 else CompositeMeter(chosen)


__all__ = [
    "COMPONENTS", "ESTIMATED_SOURCES", "ESTIMATE_TDP", "NVML_COUNTER", "NVML_POWER", "RAPL", "REGISTRY",
    "CompositeMeter", "IdleBaseline", "Meter", "MeterError", "MeterUnavailable", "Reading", "WindowTooShort",
    "auto_meter", "dynamic_energy", "get_meter", "measure_idle", "meter_class",
]
