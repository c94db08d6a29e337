"""The meter interface: ``start()`` opens a window, ``stop()`` closes it and returns a Reading.

Pure Python (no Django): a GPU host runs meters with only torch and nvidia-ml-py.
Energy source names are the values of ``profiling.choices.EnergySource``; they are
repeated here as plain strings because that module imports Django (a test checks
that the two agree).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

# Values of profiling.choices.EnergySource (kept equal by tests/meters/test_sources.py).
NVML_COUNTER = "nvml-counter"
NVML_POWER = "nvml-power-integration"
RAPL = "rapl"
ESTIMATE_TDP = "estimate-tdp"
ESTIMATED_SOURCES = frozenset({ESTIMATE_TDP})

# The energy components, in one place: a meter reads some of them, and Measurement has an
# energy column and a source column for each (gpu_energy_j, gpu_energy_source, ...). The
# importers, the model, fitting and the metering window all read these names from here.
COMPONENTS = ("gpu", "cpu", "dram")
ENERGY_FIELDS = tuple(f"{c}_energy_j" for c in COMPONENTS)
SOURCE_FIELDS = tuple(f"{c}_energy_source" for c in COMPONENTS)


def component_columns(energy, sources) -> dict:
    """Measurement's per-component columns from values and sources given in COMPONENTS order:
    scalars for one row (None: not measured) or whole columns for many. The one writer of
    ``gpu_energy_j`` and its siblings, for the metering window and the importers alike."""
    columns = dict(zip(ENERGY_FIELDS, energy, strict=True))
    columns.update(zip(SOURCE_FIELDS, sources, strict=True))
    return columns


class MeterError(RuntimeError):
    """A meter could not produce a reading."""


class MeterUnavailable(MeterError):
    """This meter cannot run on this host; the message says why and what would fix it."""


class WindowTooShort(MeterError):
    """The window closed before the counter moved: the energy is unknown, not zero.

    The sweep answers by repeating the work inside one longer window and dividing.
    """


@dataclass
class Reading:
    """Energy of one start/stop window.

    ``energy_j`` and ``sources`` are keyed by component (gpu, cpu, dram);
    ``devices`` holds the per-device joules behind each component (``gpu0``,
    ``package-0``...). ``updates`` is, per component, the number of power samples
    taken (sampling meters) or counter updates expected in the window (counters:
    window / update period), so a reader can judge the resolution.
    """

    energy_j: dict[str, float]
    sources: dict[str, str]
    duration_s: float
    updates: dict[str, int] = field(default_factory=dict)
    devices: dict[str, float] = field(default_factory=dict)
    device_state: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def total_j(self) -> float:
        return float(sum(self.energy_j.values()))

    @property
    def source(self) -> str:
        """The first component's source (gpu before cpu before dram)."""
        for component in COMPONENTS:
            if component in self.sources:
                return self.sources[component]
        return next(iter(self.sources.values()), "")

    @property
    def is_estimated(self) -> bool:
        return any(s in ESTIMATED_SOURCES for s in self.sources.values())

    def scaled(self, factor: float) -> Reading:
        """This reading divided over ``1/factor`` repetitions (energy and time scale, state does not)."""
        return Reading(
            energy_j={k: v * factor for k, v in self.energy_j.items()},
            sources=dict(self.sources),
            duration_s=self.duration_s * factor,
            updates=dict(self.updates),
            devices={k: v * factor for k, v in self.devices.items()},
            device_state=dict(self.device_state),
            warnings=list(self.warnings),
        )

    def merged(self, other: Reading) -> Reading:
        """Two meters' readings of the same window, side by side (components must not overlap)."""
        overlap = set(self.energy_j) & set(other.energy_j)
        if overlap:
            raise MeterError(f"two meters measured the same component(s): {sorted(overlap)}")
        return Reading(
            energy_j={**self.energy_j, **other.energy_j},
            sources={**self.sources, **other.sources},
            duration_s=max(self.duration_s, other.duration_s),
            updates={**self.updates, **other.updates},
            devices={**self.devices, **other.devices},
            device_state={**self.device_state, **other.device_state},
            warnings=self.warnings + other.warnings,
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(total_j=self.total_j, source=self.source, is_estimated=self.is_estimated)
        return data


class Meter(ABC):
    """Measures energy between ``start()`` and ``stop()``.

    ``min_window_s`` is the shortest window the meter resolves well (several
    counter updates or samples); a trial shorter than that is repeated inside one
    window (``profiling.sweeps.run_trial``).
    """

    name: str = ""
    components: tuple[str, ...] = ()
    min_window_s: float = 0.0
    # An estimate, not a measurement: auto_meter uses it only where no measuring meter covers.
    fallback: bool = False

    def __init__(self) -> None:
        self._t0: float | None = None

    @classmethod
    def probe(cls) -> str | None:
        """None when this meter can run here, else why not (cheap, no side effects)."""
        return None

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _end(self, duration_s: float) -> Reading: ...

    def start(self) -> None:
        if self._t0 is not None:
            raise MeterError(f"{self.name}: start() called twice without stop()")
        self._begin()
        self._t0 = time.perf_counter()

    def stop(self) -> Reading:
        if self._t0 is None:
            raise MeterError(f"{self.name}: stop() called before start()")
        duration = time.perf_counter() - self._t0
        self._t0 = None
        return self._end(duration)

    def device_state(self) -> dict[str, Any]:
        """Driver, power limit, clocks, temperature... where the meter can read them."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook: most meters hold no handle
        """Release library handles (NVML)."""

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CompositeMeter(Meter):
    """Several meters over one window, e.g. NVML for the GPUs and RAPL for CPU and DRAM."""

    name = "composite"

    def __init__(self, meters: list[Meter]):
        super().__init__()
        if not meters:
            raise MeterError("a composite meter needs at least one meter")
        self.meters = list(meters)
        self.components = tuple(c for m in self.meters for c in m.components)
        self.min_window_s = max(m.min_window_s for m in self.meters)
        self.name = "+".join(m.name for m in self.meters)

    def _begin(self) -> None:
        for meter in self.meters:
            meter.start()

    def _end(self, duration_s: float) -> Reading:
        # Stop in reverse order so every inner window contains the work.
        readings, error = [], None
        for meter in reversed(self.meters):
            try:
                readings.append(meter.stop())
            except MeterError as exc:  # still stop the others, so none is left running
                error = error or exc
        if error is not None:
            raise error
        reading = readings[-1]
        for other in reversed(readings[:-1]):
            reading = reading.merged(other)
        return reading

    def device_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for meter in self.meters:
            state.update(meter.device_state())
        return state

    def close(self) -> None:
        for meter in self.meters:
            meter.close()
