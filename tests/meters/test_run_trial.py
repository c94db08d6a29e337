"""run_trial: short queries are repeated inside one meter window and divided; counts are checked."""

from __future__ import annotations

import time

import pytest

from profiling.backends import Generation, LLMSpec, architecture, load_backend
from profiling.meters import get_meter
from profiling.meters.idle import IdleBaseline
from profiling.meters.nvml import NvmlMeter
from profiling.meters.rapl import RaplMeter
from profiling.sweeps import Cell, StoppingRule, Trial, TrialError, grid, run_sweep, run_trial

from .fake_nvml import FakeGpu, install


class CounterBackend:
    """Stands in for a model whose every query costs a known energy (written to a fake counter)."""

    def __init__(self, on_query, seconds=0.001, produce=None):
        self.on_query, self.seconds, self.produce, self.calls = on_query, seconds, produce, 0

    def generate(self, tin, tout, batch):
        self.calls += 1
        time.sleep(self.seconds)
        self.on_query()
        return Generation(tin, self.produce if self.produce is not None else tout, batch)


def test_fake_powercap_short_query_is_repeated_then_divided(powercap):
    meter = RaplMeter(powercap.root)  # resolves 10 ms windows
    backend = CounterBackend(lambda: powercap.add("intel-rapl:0", 2_000_000))  # 2 J a query, 1 ms long
    idle = IdleBaseline(power_w={"cpu": 100.0, "dram": 0.0})
    result = run_trial(backend, meter, Trial(Cell(0, 8, 4), 0, False), idle=idle)
    assert result.repeats > 1 and result.window_s >= meter.min_window_s
    assert result.energy_j["cpu"] == pytest.approx(2.0)  # per query, not per window
    assert result.runtime_s == pytest.approx(result.window_s / result.repeats)
    assert result.dynamic_energy_j["cpu"] == pytest.approx(2.0 - 100.0 * result.runtime_s)
    assert result.sources == {"cpu": "rapl", "dram": "rapl"} and not result.is_estimated
    assert result.key == (0, 0)
    fields = result.measurement_fields()
    assert fields["cpu_energy_j"] == pytest.approx(2.0) and fields["cpu_energy_source"] == "rapl"
    assert fields["gpu_energy_j"] is None and fields["gpu_energy_source"] == ""
    assert fields["total_energy_j"] == pytest.approx(2.0) and fields["iteration"] == 0


def test_fake_nvml_window_without_a_counter_step_is_retried_longer(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    (gpu,) = install(monkeypatch, [FakeGpu("GPU-a")])
    meter = NvmlMeter(update_period_s=0.002)  # min window 20 ms
    queries = {"n": 0}

    def step():  # the counter steps by 1 J every 10th query: a lone query reads no change
        queries["n"] += 1
        if queries["n"] % 10 == 0:
            gpu.advance(1.0)

    result = run_trial(CounterBackend(step), meter, Trial(Cell(3, 16, 16), 1, True))
    assert result.repeats >= 10 and result.is_warmup and result.key == (3, 1)
    assert 0 < result.energy_j["gpu"] <= 0.2  # about 0.1 J a query, never 0 J


def test_backend_running_other_counts_fails_the_trial(powercap):
    meter = RaplMeter(powercap.root)
    backend = CounterBackend(lambda: powercap.add("intel-rapl:0", 50_000_000), seconds=0.02, produce=3)
    with pytest.raises(TrialError, match="asked 8 in / 4 out"):
        run_trial(backend, meter, Trial(Cell(0, 8, 4), 0, False))
    meter.start()  # the window was closed: the meter is reusable
    powercap.add("intel-rapl:0", 1)
    assert meter.stop().energy_j["cpu"] > 0


def test_tiny_llama_sweep_on_cpu_with_estimated_energy(torch):
    backend = load_backend("hf", LLMSpec(name="tiny-random-llama", architecture=architecture("tiny-random-llama"),
                                         dtype="float32", device="cpu"))
    design = grid("4,8", "2", warmup=1, seed=0, stopping=StoppingRule.fixed(2))
    rows = []
    done = run_sweep(design, backend, get_meter("estimate", tdp_w=20.0, cores=2), on_trial=rows.append)
    assert len(done) == len(rows) == 5 and sum(r.is_warmup for r in rows) == 1
    for row in rows:
        assert row.is_estimated and row.sources == {"cpu": "estimate-tdp"}
        assert row.runtime_s > 0 and row.energy_j["cpu"] >= 0
        assert row.dynamic_energy_j is None  # no idle baseline given
    assert {(r.input_tokens, r.output_tokens) for r in rows} == {(4, 2), (8, 2)}
