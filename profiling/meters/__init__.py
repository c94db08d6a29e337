"""Energy meters behind one interface (see base.py). Importable without Django.

A new meter is one module with a Meter subclass and one ``register_meter`` line (README,
"How to add a meter"). ``auto_meter()`` picks what this host can read: NVML for GPUs, RAPL
for CPU and DRAM, both when both are there; a fallback meter (the TDP estimate) only when
none of them is.
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
REGISTRY: dict[str, str] = {}


def register_meter(name: str, target: str) -> None:
    """Make the Meter subclass at ``target`` ("package.module:Class") available as ``name``.

    Registration order is ``auto_meter``'s order of preference, except that fallback meters
    (``Meter.fallback``, the TDP estimate) come after every meter that measures. The class is
    imported on first use, so a meter's own dependencies load only on hosts that use it."""
    known = REGISTRY.get(name)
    if known is not None and known != target:
        raise MeterError(f"meter {name!r} is already registered as {known}")
    REGISTRY[name] = target


register_meter("nvml", "profiling.meters.nvml:NvmlMeter")
register_meter("rapl", "profiling.meters.rapl:RaplMeter")
register_meter("estimate", "profiling.meters.estimate:EstimateMeter")


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
    # Measuring meters first, in registration order; fallbacks only where nothing measured covers.
    for name in sorted(REGISTRY, key=lambda n: meter_class(n).fallback):
        if meter_class(name).fallback and chosen and (
                not estimate_cpu or any("cpu" in m.components for m in chosen)):
            continue
        try:
            chosen.append(get_meter(name, **options.get(name, {})))
        except MeterUnavailable as exc:
            reasons[name] = str(exc)
            log.info("meter %s unavailable: %s", name, exc)
    return chosen[0] if len(chosen) == 1 else CompositeMeter(chosen)


__all__ = [
    "COMPONENTS", "ESTIMATED_SOURCES", "ESTIMATE_TDP", "NVML_COUNTER", "NVML_POWER", "RAPL", "REGISTRY",
    "CompositeMeter", "IdleBaseline", "Meter", "MeterError", "MeterUnavailable", "Reading", "WindowTooShort",
    "auto_meter", "dynamic_energy", "get_meter", "measure_idle", "meter_class", "register_meter",
]
