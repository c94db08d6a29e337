"""Sweep designs, the paper's stopping rule, and one metered trial. Pure Python, no Django.

A run is a Design (cells = token counts, a stopping rule, warm-up, a seed). Trials
run in rounds: round r runs trial r of every unfinished cell, in an order shuffled
by (seed, r), so drift (heat, clocks) spreads over all cells instead of biasing some.
A cell is finished when the stopping rule says so. ``next_trial(done)`` depends only
on the trials already done, so a run that was killed resumes exactly where it
stopped, and each trial has a natural key (cell index, trial index) for a unique
constraint.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from profiling.meters import Meter, Reading
from profiling.meters.idle import IdleBaseline
from profiling.meters.window import MAX_REPEATS as WINDOW_MAX_REPEATS
from profiling.meters.window import MeteringWindow, Shape, WindowUnresolved, measurement_fields

# Two-sided 95% Student t quantiles by degrees of freedom (scipy is not on GPU check hosts).
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042]


def t975(df: int) -> float:
    if df < 1:
        return math.inf
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df  # within 0.002 of t for df > 30


def ci_half_width(values: Sequence[float]) -> float:
    """Half-width of the 95% confidence interval of the mean (inf with fewer than two values)."""
    if len(values) < 2:
        return math.inf
    return t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


@dataclass(frozen=True)
class StoppingRule:
    """Repeat a cell until the 95% CI half-width of its runtime is below ``tolerance_s`` (the paper:
    0.5 s) or it has ``max_trials`` (the paper: 25); never fewer than ``min_trials``."""

    tolerance_s: float = 0.5
    max_trials: int = 25
    min_trials: int = 3

    def __post_init__(self):
        if not 1 <= self.min_trials <= self.max_trials:
            raise ValueError("need 1 <= min_trials <= max_trials")

    @classmethod
    def fixed(cls, trials: int) -> StoppingRule:
        return cls(tolerance_s=math.inf, max_trials=trials, min_trials=trials)

    def done(self, runtimes: Sequence[float]) -> bool:
        n = len(runtimes)
        if n >= self.max_trials:
            return True
        return n >= self.min_trials and ci_half_width(runtimes) < self.tolerance_s

    def as_dict(self) -> dict[str, float]:
        return {"tolerance_s": self.tolerance_s, "max_trials": self.max_trials, "min_trials": self.min_trials}


@dataclass(frozen=True)
class Cell:
    index: int  # position in the design: stable across resumes, part of the trial key
    input_tokens: int
    output_tokens: int
    batch_size: int = 1


@dataclass(frozen=True)
class Trial:
    cell: Cell
    trial_index: int  # per cell, warm-ups first
    is_warmup: bool

    @property
    def key(self) -> tuple[int, int]:
        return (self.cell.index, self.trial_index)


@dataclass
class Design:
    name: str
    cells: list[Cell]
    stopping: StoppingRule = field(default_factory=StoppingRule)
    warmup: int = 1  # warm-up trials before the first measured one (marked, excluded from fits)
    warmup_per_cell: bool = False  # also warm up each cell (first call at a new shape can allocate)
    seed: int = 0
    # > 0: keep warming up (at least two, at most ``warmup_max``) until two successive warm-ups' runtimes
    # agree within this fraction. On an H200 the first ~60 s after loading a 7B model ran up to 3x slower
    # per token whatever the shapes (docs/BENCHMARKS.md, GPU check); a fixed count cannot know that.
    warmup_tolerance: float = 0.0
    warmup_max: int = 10
    _settled: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        if [c.index for c in self.cells] != list(range(len(self.cells))):
            raise ValueError("cell indices must be 0..n-1 in order")
        if not self.cells:
            raise ValueError("a design needs at least one cell")

    def round_order(self, r: int) -> list[Cell]:
        cells = list(self.cells)
        random.Random(f"{self.seed}:{r}").shuffle(cells)
        return cells

    def warmup_cell(self) -> Cell:
        """The cell the run warms up on: the longest sequence (input + output tokens), then the largest
        batch. Its warm-up meets every shape and allocation size the sweep will need; on an H200 a warm-up
        on a small cell left the first pass of a 7B sweep up to 3.2x slower than the second (see
        docs/BENCHMARKS.md, GPU check)."""
        return max(self.cells, key=lambda c: (c.input_tokens + c.output_tokens, c.batch_size, c.input_tokens))

    def warmups(self, cell: Cell, done: Mapping[tuple[int, int], float] | None = None) -> int:
        """Warm-up trials of ``cell``: the fixed count, or with ``warmup_tolerance`` as many as the runtimes in
        ``done`` ask for (without ``done``: the count once settled by ``next_trial``, else the minimum)."""
        if not (self.warmup_per_cell or cell.index == self.warmup_cell().index) or self.warmup == 0:
            return 0
        if self.warmup_tolerance <= 0:
            return self.warmup
        if done is None:
            return self._settled.get(cell.index, max(self.warmup, 2))
        n = max(self.warmup, 2)
        while n < self.warmup_max:
            times = [done.get((cell.index, i)) for i in range(n)]
            if any(t is None for t in times):
                return n  # not all run yet: at least this many
            a, b = times[-2], times[-1]
            if abs(a - b) <= self.warmup_tolerance * max(a, b):
                break
            n += 1
        self._settled[cell.index] = n
        return n

    def _warmup_cap(self, cell: Cell) -> int:
        w = self.warmups(cell)
        return max(w, self.warmup_max) if w and self.warmup_tolerance > 0 else w

    def next_trial(self, done: Mapping[tuple[int, int], float]) -> Trial | None:
        """The next trial to run, given the runtimes of trials done so far (keyed by trial key)."""
        order0 = self.round_order(0)
        for cell in order0 if self.warmup_per_cell else [self.warmup_cell()]:
            for i in range(self.warmups(cell, done)):
                if (cell.index, i) not in done:
                    return Trial(cell, i, True)
        for r in range(self.stopping.max_trials):
            for cell in self.round_order(r):
                w = self.warmups(cell, done)
                measured = _measured(cell, w, done)
                if len(measured) < r:
                    continue  # finished in an earlier round
                if len(measured) == r and not self.stopping.done(measured):
                    return Trial(cell, w + r, False)
        return None

    def progress(self, done: Mapping[tuple[int, int], float]) -> dict[str, int]:
        """Trials done and planned (planned grows while the stopping rule asks for more)."""
        planned = cells_done = 0
        for cell in self.cells:
            w = self.warmups(cell, done)
            measured = _measured(cell, w, done)
            finished = self.stopping.done(measured)
            cells_done += finished
            planned += w + (len(measured) if finished else max(len(measured) + 1, self.stopping.min_trials))
        return {"trials_done": len(done), "trials_planned": planned, "cells_done": cells_done,
                "cells_total": len(self.cells), "trials_max": sum(self._warmup_cap(c) for c in self.cells)
                + len(self.cells) * self.stopping.max_trials}

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seed": self.seed, "warmup": self.warmup, "warmup_per_cell": self.warmup_per_cell,
                "warmup_tolerance": self.warmup_tolerance, "warmup_max": self.warmup_max,
                "stopping": self.stopping.as_dict(),
                "cells": [[c.input_tokens, c.output_tokens, c.batch_size] for c in self.cells]}


def _measured(cell: Cell, warmups: int, done: Mapping[tuple[int, int], float]) -> list[float]:
    out, i = [], warmups
    while (cell.index, i) in done:
        out.append(done[(cell.index, i)])
        i += 1
    return out


# --- designs ---------------------------------------------------------------------------------------------

PAPER_COUNTS = tuple(2**k for k in range(3, 12))  # 8..2048


def parse_counts(spec: str | Iterable[int]) -> list[int]:
    """Token counts from ``"pow2:8..2048"``, ``"8,16,32"`` or a list of ints."""
    if not isinstance(spec, str):
        counts = [int(c) for c in spec]
    elif spec.startswith("pow2:"):
        lo, _, hi = spec[5:].partition("..")
        lo, hi = int(lo), int(hi)
        if lo < 1 or hi < lo or lo & (lo - 1) or hi & (hi - 1):
            raise ValueError(f"{spec!r}: both ends must be powers of two, low <= high")
        counts = [2**k for k in range(lo.bit_length() - 1, hi.bit_length())]
    else:
        counts = [int(part) for part in spec.replace(" ", "").split(",") if part]
    if not counts or any(c < 1 for c in counts) or len(set(counts)) != len(counts):
        raise ValueError(f"{spec!r}: need distinct token counts >= 1")
    return counts


def grid(inputs, outputs, batch_sizes=(1,), *, name: str = "grid", **design) -> Design:
    cells = [(i, o, b) for b in parse_counts(batch_sizes) for i in parse_counts(inputs) for o in parse_counts(outputs)]
    return Design(name, [Cell(k, i, o, b) for k, (i, o, b) in enumerate(cells)], **design)


def paper_grid(batch_size: int = 32, **design) -> Design:
    """The paper's 9x9 grid, input and output tokens 8..2048 (batch 32 as in its configuration)."""
    return grid(PAPER_COUNTS, PAPER_COUNTS, (batch_size,), name="paper-grid", **design)


def paper_input_sweep(output_tokens: int = 32, batch_size: int = 32, **design) -> Design:
    """Input tokens 8..2048 at fixed output (the paper: 32)."""
    return grid(PAPER_COUNTS, [output_tokens], (batch_size,), name="paper-input-sweep", **design)


def paper_output_sweep(input_tokens: int = 32, batch_size: int = 32, **design) -> Design:
    """Output tokens 8..4096 at fixed input (the paper: 32)."""
    return grid([input_tokens], PAPER_COUNTS + (4096,), (batch_size,), name="paper-output-sweep", **design)


def grid_small(**design) -> Design:
    """A 4x4 grid of small counts, 3 trials per cell: a CPU profiles a tiny model in seconds."""
    design.setdefault("stopping", StoppingRule.fixed(3))
    return grid((8, 16, 32, 64), (8, 16, 32, 64), (1,), name="grid-small", **design)


def cells_design(cells: Iterable[Sequence[int]], batch_size: int = 1, *, name: str = "coverage",
                 **design) -> Design:
    """A design over chosen (input, output) cells, not a cross product: what a coverage run measures
    (profiling.fitting.coverage picks them); 3 trials per cell like grid-small unless told."""
    design.setdefault("stopping", StoppingRule.fixed(3))
    return Design(name, [Cell(k, int(i), int(o), batch_size) for k, (i, o) in enumerate(cells)], **design)


DESIGNS: dict[str, Callable[..., Design]] = {
    "grid-small": grid_small,
    "paper-grid": paper_grid,
    "paper-input-sweep": paper_input_sweep,
    "paper-output-sweep": paper_output_sweep,
}


def make_design(name: str, **options) -> Design:
    """A named design, or ``grid`` with ``inputs``/``outputs`` (``"pow2:8..512"``, ``"8,16"``) options."""
    if name == "grid":
        return grid(options.pop("inputs"), options.pop("outputs"), options.pop("batch_sizes", (1,)), **options)
    try:
        return DESIGNS[name](**options)
    except KeyError:
        raise ValueError(f"unknown design {name!r}; known: grid, {', '.join(DESIGNS)}") from None


# --- one metered trial -----------------------------------------------------------------------------------

MAX_REPEATS = WINDOW_MAX_REPEATS  # the one cap, shared with executions (profiling/meters/window.py)


class TrialError(RuntimeError):
    """The backend did not run what was asked (token counts differ), or the meter cannot resolve it."""


@dataclass
class TrialResult:
    """One trial, per query: runtime and energy are the window's figures divided by ``repeats``."""

    key: tuple[int, int]
    input_tokens: int
    output_tokens: int
    batch_size: int
    is_warmup: bool
    runtime_s: float
    energy_j: dict[str, float]  # per component: gpu, cpu, dram
    sources: dict[str, str]
    dynamic_energy_j: dict[str, float] | None  # total minus idle power x time; None without a baseline
    is_estimated: bool
    repeats: int  # queries run inside the one metered window
    window_s: float
    updates: dict[str, int]
    device_state: dict[str, Any]
    warnings: list[str]
    finished_at: datetime
    reading: Reading | None = None  # per query
    record: dict[str, Any] = field(default_factory=dict)  # the window's record (warm-up, idle, repeats)

    @property
    def total_energy_j(self) -> float:
        return float(sum(self.energy_j.values()))

    def measurement_fields(self) -> dict[str, Any]:
        """Keyword arguments for a Measurement row (profiling.models.Measurement column names), built by
        the one constructor (``window.measurement_fields``); unmeasured components are None with an
        empty source."""
        reading = self.reading or Reading(self.energy_j, self.sources, self.runtime_s)
        fields = measurement_fields(reading, runtime_s=self.runtime_s, input_tokens=self.input_tokens,
                                    output_tokens=self.output_tokens, batch_size=self.batch_size,
                                    meter=self.record)
        fields.update(is_warmup=self.is_warmup, iteration=self.key[1], measured_at=self.finished_at)
        return fields

    def as_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "reading"}
        data.update(total_energy_j=self.total_energy_j, finished_at=self.finished_at.isoformat())
        return data


def run_trial(backend, meter: Meter, trial: Trial, *, idle: IdleBaseline | None = None,
              repeats: int = 1, warm: bool = True) -> TrialResult:
    """Run one trial in the one metering window (profiling/meters/window.py): its KV lengths warmed
    up first, repeated inside the window until the meter resolves it, then divided. Pass the previous
    trial's ``repeats`` for the same cell to skip the search."""
    cell = trial.cell

    def one_query():
        made = backend.generate(cell.input_tokens, cell.output_tokens, cell.batch_size)
        if (made.input_tokens, made.output_tokens, made.batch_size) != (
                cell.input_tokens, cell.output_tokens, cell.batch_size):
            raise TrialError(f"asked {cell.input_tokens} in / {cell.output_tokens} out x{cell.batch_size}, "
                             f"the backend ran {made.input_tokens} / {made.output_tokens} x{made.batch_size}")

    window = MeteringWindow(meter, idle=idle, backend=backend, warm=warm)
    try:
        result = window.measure(one_query, [Shape(cell.input_tokens, cell.output_tokens, cell.batch_size)],
                                repeats)
    except WindowUnresolved as exc:
        raise TrialError(str(exc)) from exc
    per_query = result.reading
    return TrialResult(
        key=trial.key, input_tokens=cell.input_tokens, output_tokens=cell.output_tokens,
        batch_size=cell.batch_size, is_warmup=trial.is_warmup, runtime_s=per_query.duration_s,
        energy_j=per_query.energy_j, sources=per_query.sources, dynamic_energy_j=result.dynamic_j,
        is_estimated=per_query.is_estimated, repeats=result.repeats, window_s=result.window_s,
        updates=per_query.updates, device_state=per_query.device_state, warnings=per_query.warnings,
        finished_at=datetime.now(UTC), reading=per_query, record=result.record())


def run_sweep(design: Design, backend, meter: Meter, *, done: Mapping[tuple[int, int], float] | None = None,
              on_trial: Callable[[TrialResult], None] | None = None, idle: IdleBaseline | None = None,
              should_stop: Callable[[], bool] = lambda: False) -> dict[tuple[int, int], float]:
    """Run (or resume) a design in the foreground: each finished trial goes to ``on_trial`` at once
    (write it before the next one starts); ``should_stop`` is checked between trials (cancel, lost lease).
    Returns the runtimes of all trials done, keyed by trial key."""
    done = dict(done or {})
    repeats: dict[int, int] = {}
    while not should_stop():
        trial = design.next_trial(done)
        if trial is None:
            break
        result = run_trial(backend, meter, trial, idle=idle, repeats=repeats.get(trial.cell.index, 1))
        repeats[trial.cell.index] = result.repeats
        done[trial.key] = result.runtime_s
        if on_trial is not None:
            on_trial(result)
    return done
