"""The one metering window (profiling/meters/window.py) with a stand-in meter and a stand-in backend.

The stand-ins share a fake clock: the backend advances it by a warm cost per token plus, like the
H200 in docs/gpu/, 41.6 ms per KV-cache length it has never run; the meter reads power x clock time.
So every expected figure below follows from those two rules, not from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from profiling.backends import Generation
from profiling.meters import Meter, Reading, WindowTooShort
from profiling.meters.idle import IdleBaseline
from profiling.meters.window import (
    MAX_REPEATS,
    MeteringWindow,
    Shape,
    WindowUnresolved,
    measurement_fields,
    seen_lengths,
)
from profiling.sweeps import Cell, Trial, run_trial

COLD_S = 0.0416  # per never-seen KV length (docs/BENCHMARKS.md, H200)
PER_TOKEN_S = 0.001


class Clock:
    t = 0.0


class StandInMeter(Meter):
    """Energy = ``power_w`` x fake-clock time; a window shorter than ``step_s`` reads nothing."""

    name = "stand-in"
    components = ("gpu",)

    def __init__(self, clock, power_w=300.0, min_window_s=0.0, step_s=0.0, events=None):
        super().__init__()
        self.clock, self.power_w, self.min_window_s, self.step_s = clock, power_w, min_window_s, step_s
        self.events = events if events is not None else []

    def _begin(self):  # unused: start/stop read the fake clock
        pass

    def _end(self, duration_s):
        raise AssertionError("not called")

    def start(self):
        self.events.append("start")
        self._c0 = self.clock.t

    def stop(self):
        self.events.append("stop")
        d = self.clock.t - self._c0
        if d < self.step_s:
            raise WindowTooShort("no counter step")
        return Reading({"gpu": self.power_w * d}, {"gpu": "nvml-counter"}, d)


class StandInBackend:
    """Warm cost per token, plus COLD_S per KV length this backend never ran."""

    def __init__(self, clock, events=None):
        self.clock, self.seen, self.calls = clock, set(), []
        self.events = events if events is not None else []

    def cost(self, tin, tout, batch=1, seen=None):
        seen = self.seen if seen is None else seen
        return PER_TOKEN_S * (tin + tout) * batch + COLD_S * len(set(range(tin, tin + tout)) - seen)

    def generate(self, tin, tout, batch=1):
        self.clock.t += self.cost(tin, tout, batch)
        self.seen |= set(range(tin, tin + tout))
        self.calls.append((tin, tout, batch))
        self.events.append("generate")
        return Generation(tin, tout, batch)

    def synchronize(self):
        self.events.append("sync")


@pytest.fixture
def clock():
    return Clock()


def test_stand_in_warm_up_walks_each_new_length_once(clock):
    backend = StandInBackend(clock)
    window = MeteringWindow(StandInMeter(clock), backend=backend)
    first = window.measure(lambda: backend.generate(8, 4), [Shape(8, 4)])
    assert backend.calls[0] == (8, 4, 1)  # the unmetered walk over lengths 8..11
    assert first.warmup["new_lengths"] == 4 and first.warmup["walks"] == [[8, 4, 1]]
    assert first.runtime_s == pytest.approx(PER_TOKEN_S * 12)  # warm: no cold penalty in the window
    n = len(backend.calls)
    again = window.measure(lambda: backend.generate(8, 4), [Shape(8, 4)])
    assert len(backend.calls) == n + 1 and again.warmup["new_lengths"] == 0  # nothing new: no walk
    third = window.measure(lambda: backend.generate(10, 6), [Shape(10, 6)])
    assert third.warmup["walks"] == [[12, 4, 1]]  # only 12..15 were new
    assert third.runtime_s == pytest.approx(PER_TOKEN_S * 16)
    assert seen_lengths(backend).by_batch[1] == set(range(8, 16))


def test_stand_in_a_batch_of_queries_walks_from_its_lowest_to_highest_new_length(clock):
    backend = StandInBackend(clock)
    shapes = [Shape(4, 2), Shape(30, 3), Shape(12, 5)]
    result = MeteringWindow(StandInMeter(clock), backend=backend).measure(
        lambda: [backend.generate(s.input_tokens, s.output_tokens) for s in shapes], shapes)
    assert backend.calls[0] == (4, 29, 1)  # lengths 4..32 in one generate
    assert result.runtime_s == pytest.approx(PER_TOKEN_S * (6 + 33 + 17))


def test_stand_in_device_is_synced_at_both_ends_of_the_window(clock):
    events = []
    backend = StandInBackend(clock, events)
    MeteringWindow(StandInMeter(clock, events=events), backend=backend).measure(
        lambda: backend.generate(8, 4), [Shape(8, 4)])
    assert events == ["generate", "sync", "start", "generate", "sync", "stop"]


def test_stand_in_idle_baseline_is_subtracted_and_recorded(clock):
    backend = StandInBackend(clock)
    idle = IdleBaseline(power_w={"gpu": 120.0})
    result = MeteringWindow(StandInMeter(clock, power_w=300.0), idle=idle, backend=backend).measure(
        lambda: backend.generate(100, 100), [Shape(100, 100)])
    t = PER_TOKEN_S * 200
    assert result.reading.energy_j["gpu"] == pytest.approx(300.0 * t)
    assert result.dynamic_j["gpu"] == pytest.approx(180.0 * t)
    assert result.record()["idle_power_w"] == {"gpu": 120.0}


def test_stand_in_short_work_is_repeated_until_the_meter_resolves_it(clock):
    backend = StandInBackend(clock)
    meter = StandInMeter(clock, min_window_s=1.0, step_s=0.05)  # a 12 ms query reads nothing alone
    result = MeteringWindow(meter, backend=backend).measure(lambda: backend.generate(8, 4), [Shape(8, 4)])
    assert result.window_s >= 1.0 and result.repeats * PER_TOKEN_S * 12 == pytest.approx(result.window_s)
    assert result.runtime_s == pytest.approx(PER_TOKEN_S * 12) and result.discarded >= 1
    assert len(result.outputs) == result.repeats
    # Passing the repeats found skips the search.
    again = MeteringWindow(meter, backend=backend).measure(lambda: backend.generate(8, 4), [Shape(8, 4)],
                                                           repeats=result.repeats)
    assert again.discarded == 0 and again.repeats == result.repeats


def test_the_one_growth_rule_and_its_cap():
    assert MeteringWindow.grow(1, 0.1, 1.0) == 12  # 1.2 x 1 s at 0.1 s a pass
    assert MeteringWindow.grow(10, 0.99, 1.0) == 20  # at least double
    assert MeteringWindow.grow(4, 0.0, 1.0) == 16  # read nothing: x4
    assert MeteringWindow.grow(MAX_REPEATS // 2, 1e-9, 1.0) == MAX_REPEATS


def test_stand_in_unresolvable_work_is_refused_at_the_cap(clock):
    meter = StandInMeter(clock, min_window_s=1.0)
    with pytest.raises(WindowUnresolved, match="shorter than the meter"):
        MeteringWindow(meter, max_repeats=64).measure(lambda: None, [])  # the work takes no time at all


def test_stand_in_without_warm_up_the_cold_first_attempt_is_discarded_whatever_its_length(clock):
    backend = StandInBackend(clock)
    meter = StandInMeter(clock, min_window_s=0.01)  # one query (1.2 s cold, 0.2 s warm) resolves
    result = MeteringWindow(meter, backend=backend, warm=False).measure(
        lambda: backend.generate(100, 100), [Shape(100, 100)])
    assert backend.calls == [(100, 100, 1), (100, 100, 1)] and result.discarded == 1
    assert result.runtime_s == pytest.approx(PER_TOKEN_S * 200)


def test_stand_in_an_error_in_the_work_closes_the_window(clock):
    meter = StandInMeter(clock)

    def boom():
        raise ValueError("backend failed")

    with pytest.raises(ValueError):
        MeteringWindow(meter).measure(boom, [])
    assert meter.events == ["start", "stop"]


def test_the_one_measurement_constructor_from_a_reading():
    reading = Reading({"cpu": 2.0, "dram": 0.5}, {"cpu": "estimate-tdp", "dram": "rapl"}, 0.1)
    fields = measurement_fields(reading, runtime_s=0.1, input_tokens=8, output_tokens=4, idle={"cpu": 5.0},
                                meter={"repeats": 3})
    assert fields["cpu_energy_j"] == 2.0 and fields["cpu_energy_source"] == "estimate-tdp"
    assert fields["gpu_energy_j"] is None and fields["gpu_energy_source"] == ""
    assert fields["total_energy_j"] == pytest.approx(2.5) and fields["is_estimated"] is True
    assert fields["meter"]["dynamic_energy_j"] == {"cpu": pytest.approx(1.5), "dram": pytest.approx(0.5)}
    assert fields["meter"]["repeats"] == 3 and fields["meter"]["idle_power_w"] == {"cpu": 5.0}


@pytest.fixture
def spy(monkeypatch):
    calls = []
    original = MeteringWindow.measure

    def measure(self, work, shapes, repeats=1):
        calls.append(list(shapes))
        return original(self, work, shapes, repeats)

    monkeypatch.setattr(MeteringWindow, "measure", measure)
    return calls


def test_stand_in_profiling_trials_go_through_the_window_warm(clock, spy):
    backend = StandInBackend(clock)
    result = run_trial(backend, StandInMeter(clock), Trial(Cell(0, 64, 16), 0, False),
                       idle=IdleBaseline(power_w={"gpu": 100.0}))
    assert spy == [[Shape(64, 16, 1)]]
    assert result.runtime_s == pytest.approx(PER_TOKEN_S * 80)  # not the 0.67 s cold penalty
    fields = result.measurement_fields()
    assert fields["meter"]["warmup"]["new_lengths"] == 16 and fields["meter"]["idle_power_w"] == {"gpu": 100.0}
    assert fields["gpu_energy_j"] == pytest.approx(300.0 * PER_TOKEN_S * 80)


def test_stand_in_executed_batches_go_through_the_same_window(clock, spy):
    from scheduling.services.execution import serve_batch

    backend = StandInBackend(clock)
    tin, tout = np.array([8, 40, 16]), np.array([4, 2, 8])
    window, runtimes = serve_batch(backend, StandInMeter(clock), tin, tout, idle=IdleBaseline({"gpu": 50.0}))
    assert spy == [[Shape(8, 4), Shape(40, 2), Shape(16, 8)]]
    assert backend.calls[0] == (8, 34, 1)  # the warm-up walk over 8..41
    assert window.idle_power_w == {"gpu": 50.0} and window.dynamic_j is not None
    assert window.warmup["new_lengths"] > 0
    assert runtimes.shape == (3,)  # wall-clock per query: the fake clock does not move real time
