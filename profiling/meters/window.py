"""One metering window for profiling trials and executed batches alike. Pure Python, no Django.

``MeteringWindow(meter, idle=..., backend=...).measure(work, shapes)`` runs ``work`` (one pass:
a trial's query, or a batch of queries) under the meter, after Zeus's
``ZeusMonitor.begin_window/end_window`` but as one call, so every caller gets the same protocol:

1. **Shape warm-up.** Every KV-cache length the pass will touch (a query of ``tin`` in and
   ``tout`` out touches ``tin .. tin+tout-1``) must have run once in this process on this backend,
   unmetered. On an H200 each never-seen length cost 41.6 ms extra the first time (R² 0.95 over
   101 trials, docs/BENCHMARKS.md), which made cold trials 52% off. New lengths are walked by one
   unmetered ``generate`` from the lowest to the highest new length; what a backend has seen is
   tracked per backend object (one loaded model in one process), so each length is walked once.
2. **Device sync at both ends**, so the window holds exactly the pass's device work.
3. **Repeat until the meter resolves the window**: a pass shorter than ``meter.min_window_s`` (or
   one the counter did not see move) is repeated inside one window, growing by one rule
   (enough for 1.2x the meter's minimum, at least doubling) up to one cap, then divided.
   If the first attempt touched lengths not yet seen (no warm-up asked), it is discarded
   whatever its duration.
4. **Idle baseline subtracted and recorded** with the reading (``dynamic_j``, ``idle_power_w``).

``measurement_fields`` is the one place that turns a reading into Measurement columns.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import COMPONENTS, Meter, Reading, WindowTooShort, component_columns
from .idle import IdleBaseline, dynamic_energy

MAX_REPEATS = 100_000  # one cap for trials and batches: past it the meter cannot resolve the work
GROWTH_MARGIN = 1.2  # aim 20% past the meter's minimum so the next attempt is not short again


class WindowUnresolved(RuntimeError):
    """``MAX_REPEATS`` passes were still shorter than the meter resolves."""


@dataclass(frozen=True)
class Shape:
    input_tokens: int
    output_tokens: int
    batch_size: int = 1

    def lengths(self) -> range:
        """The KV-cache lengths a generate of this shape touches."""
        return range(self.input_tokens, self.input_tokens + self.output_tokens)


class SeenLengths:
    """KV-cache lengths already run by one backend in this process, per batch size."""

    def __init__(self) -> None:
        self.by_batch: dict[int, set[int]] = {}

    def new(self, shapes: Iterable[Shape]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for s in shapes:
            missing = set(s.lengths()) - self.by_batch.get(s.batch_size, set())
            if missing:
                out.setdefault(s.batch_size, set()).update(missing)
        return out

    def add(self, batch_size: int, lengths: Iterable[int]) -> None:
        self.by_batch.setdefault(batch_size, set()).update(lengths)


_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SEEN_BY_ID: dict[int, SeenLengths] = {}  # backends that refuse weak references (rare)


def seen_lengths(backend) -> SeenLengths:
    """The lengths ``backend`` has run in this process (a fresh tracker for a fresh backend)."""
    try:
        return _SEEN.setdefault(backend, SeenLengths())
    except TypeError:
        return _SEEN_BY_ID.setdefault(id(backend), SeenLengths())


def warm_up(backend, shapes: Sequence[Shape]) -> dict[str, Any]:
    """Run every not-yet-seen length once, unmetered: one generate per batch size walking from the
    lowest to the highest new length. Returns what was done (for the record)."""
    seen = seen_lengths(backend)
    new = seen.new(shapes)
    t0 = time.perf_counter()
    walks = []
    for batch, lengths in sorted(new.items()):
        lo, hi = min(lengths), max(lengths)
        backend.generate(lo, hi - lo + 1, batch)
        seen.add(batch, range(lo, hi + 1))
        walks.append([lo, hi - lo + 1, batch])
    return {"new_lengths": sum(len(v) for v in new.values()), "walks": walks,
            "seconds": round(time.perf_counter() - t0, 6)}


@dataclass
class WindowResult:
    """One resolved window. ``reading`` is per pass (the window divided by ``repeats``)."""

    reading: Reading
    repeats: int
    window_s: float
    outputs: list[Any]  # what ``work`` returned, one per pass of the kept window
    dynamic_j: dict[str, float] | None  # per pass: total minus idle power x time; None without a baseline
    idle_power_w: dict[str, float] | None
    warmup: dict[str, Any] = field(default_factory=dict)
    discarded: int = 0  # attempts thrown away (too short, or cold)

    @property
    def runtime_s(self) -> float:
        return self.reading.duration_s

    def record(self) -> dict[str, Any]:
        """What a stored row keeps about its window (Measurement.meter, ExecutedBatch.meter)."""
        return {"repeats": self.repeats, "window_s": self.window_s, "updates": self.reading.updates,
                "dynamic_energy_j": self.dynamic_j, "idle_power_w": self.idle_power_w,
                "device_state": self.reading.device_state, "warnings": self.reading.warnings,
                "warmup": self.warmup, "discarded": self.discarded}


class MeteringWindow:
    """Runs a callable under ``meter`` with the warm protocol above (one per meter, reusable)."""

    def __init__(self, meter: Meter, *, idle: IdleBaseline | None = None, backend=None, warm: bool = True,
                 max_repeats: int = MAX_REPEATS):
        self.meter, self.idle, self.backend, self.warm = meter, idle, backend, warm
        self.max_repeats = max_repeats

    def _sync(self) -> None:
        sync = getattr(self.backend, "synchronize", None)
        if sync is not None:
            sync()

    def _attempt(self, work: Callable[[], Any], repeats: int) -> tuple[Reading | None, list[Any]]:
        outputs = []
        self._sync()
        self.meter.start()
        try:
            for _ in range(repeats):
                outputs.append(work())
            self._sync()
        except BaseException:
            try:
                self.meter.stop()  # close the window so the meter can be used again
            except WindowTooShort:
                pass
            raise
        try:
            return self.meter.stop(), outputs
        except WindowTooShort:
            return None, outputs

    @staticmethod
    def grow(repeats: int, seen_s: float, min_window_s: float, cap: int = MAX_REPEATS) -> int:
        """The one growth rule: enough passes for ``GROWTH_MARGIN`` x the minimum window at the
        speed just seen, and at least double (x4 when the window read nothing)."""
        want = math.ceil(GROWTH_MARGIN * min_window_s * repeats / seen_s) if seen_s > 0 else repeats * 4
        return min(cap, max(repeats * 2, want))

    def measure(self, work: Callable[[], Any], shapes: Sequence[Shape], repeats: int = 1) -> WindowResult:
        """Run ``work`` (one pass over ``shapes``) until the meter resolves it; pass the ``repeats``
        a previous window of the same work needed to skip the search."""
        warmup: dict[str, Any] = {"new_lengths": 0, "walks": [], "seconds": 0.0}
        cold = False
        if self.backend is not None:
            if self.warm:
                warmup = warm_up(self.backend, shapes)
            else:
                tracker = seen_lengths(self.backend)
                cold = bool(tracker.new(shapes))
                for s in shapes:
                    tracker.add(s.batch_size, s.lengths())
        repeats = max(1, min(int(repeats), self.max_repeats))
        discarded = 0
        min_s = self.meter.min_window_s
        while True:
            reading, outputs = self._attempt(work, repeats)
            if cold:
                cold = False  # it met new lengths: discarded whatever its duration
                discarded += 1
                continue
            if reading is not None and reading.duration_s >= min_s:
                break
            discarded += 1
            if repeats >= self.max_repeats:
                raise WindowUnresolved(f"{repeats} passes still shorter than the meter's {min_s} s window")
            repeats = self.grow(repeats, reading.duration_s if reading is not None else 0.0, min_s,
                                self.max_repeats)
        per_pass = reading.scaled(1.0 / repeats)
        return WindowResult(
            reading=per_pass, repeats=repeats, window_s=reading.duration_s, outputs=outputs,
            dynamic_j=dynamic_energy(per_pass, self.idle),
            idle_power_w=dict(self.idle.power_w) if self.idle is not None else None,
            warmup=warmup, discarded=discarded)


def measurement_fields(reading: Reading, *, runtime_s: float, input_tokens: int, output_tokens: int,
                       batch_size: int = 1, idle: dict[str, float] | None = None,
                       meter: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measurement columns from a reading of one query (or one share of a window): energy per
    component with its source (None and "" when not measured), total, the estimated label, and the
    meter record with the dynamic energy against ``idle`` power (W per component)."""
    fields: dict[str, Any] = {"input_tokens": int(input_tokens), "output_tokens": int(output_tokens),
                              "batch_size": int(batch_size), "runtime_s": float(runtime_s),
                              "total_energy_j": reading.total_j, "is_estimated": reading.is_estimated}
    energy = [reading.energy_j.get(c) for c in COMPONENTS]
    fields.update(component_columns([None if v is None else float(v) for v in energy],
                                    [reading.sources.get(c, "") for c in COMPONENTS]))
    record = dict(meter or {})
    if idle is not None:
        record["dynamic_energy_j"] = {k: float(v) - idle.get(k, 0.0) * reading.duration_s
                                      for k, v in reading.energy_j.items()}
        record["idle_power_w"] = dict(idle)
    fields["meter"] = record
    return fields
