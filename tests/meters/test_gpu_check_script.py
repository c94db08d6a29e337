"""scripts/gpu_check.py: its clear failure without a GPU (real) and its comparison meter on a fake NVML."""

from __future__ import annotations

import importlib.util
import time
import types
from pathlib import Path

import pytest

from profiling.backends import Generation
from profiling.meters.nvml import NvmlMeter
from profiling.sweeps import Cell, Trial, run_trial

from .fake_nvml import FakeGpu, install
from .test_run_trial import CounterBackend

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_without_nvml_exits_2_saying_why(run_python):
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        pytest.skip("this host has an NVIDIA driver: the no-GPU path cannot be shown here")
    except pynvml.NVMLError:
        pass
    result = run_python(str(SCRIPT), timeout=60)
    assert result.returncode == 2
    assert "no usable NVIDIA GPU" in result.stderr and "nvmlInit failed" in result.stderr


def test_fake_nvml_check_meter_compares_counter_power_and_standin_zeus(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    (gpu,) = install(monkeypatch, [FakeGpu("GPU-a", power_w=200.0)])
    script = load_script()
    zeus_windows = []

    class StandinZeus:
        def begin_window(self, key):
            zeus_windows.append(key)

        def end_window(self, key):
            return types.SimpleNamespace(gpu_energy={0: 4.4})

    counter = NvmlMeter(update_period_s=0.002)
    meter = script.CheckMeter(counter, NvmlMeter(force_sampling=True, hz=50), StandinZeus())
    backend = CounterBackend(lambda: gpu.advance(0.4), seconds=0.02)
    result = run_trial(backend, meter, Trial(Cell(0, 64, 16), 0, False))
    state = result.device_state
    assert result.sources == {"gpu": "nvml-counter"} and result.energy_j["gpu"] == pytest.approx(0.4)
    assert state["power_integration_j"] > 0 and state["zeus_j"] == pytest.approx(4.4)
    assert zeus_windows  # every window was opened in Zeus too
    row = {"cell": 0, "tin": 64, "tout": 16, "repeats": result.repeats, "runtime_s": result.runtime_s,
           "counter_j": 10.0, "power_j": 11.0, "zeus_j": None}
    assert "+10.0%" in script.table([row])
    assert script.summary([row])["power_vs_counter"]["median"] == pytest.approx(0.1)
    assert script.summary([row])["zeus_vs_counter"] is None


def test_fake_nvml_holdout_fits_the_grid_and_compares_predicted_with_measured_queries(monkeypatch):
    """The --holdout step on a fake GPU whose energy is exactly the paper's form: the fit recovers it and the
    held-out queries are predicted to well under 1% (the real H200 figures are in docs/BENCHMARKS.md)."""
    import types as _types

    from profiling.sweeps import StoppingRule, grid

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    (gpu,) = install(monkeypatch, [FakeGpu("GPU-a", power_w=200.0)])
    script = load_script()
    energy = lambda tin, tout: 0.02 * tin + 4.0 * tout + 0.0005 * tin * tout  # noqa: E731

    class FormBackend:
        def generate(self, tin, tout, batch):
            time.sleep(0.003)
            gpu.advance(energy(tin, tout))
            return Generation(tin, tout, batch)

    counter = NvmlMeter(update_period_s=0.001)
    design = grid("32,256,2048", "8,64,256", warmup=0, seed=0, stopping=StoppingRule.fixed(1))
    rows = []
    for cell in design.cells:
        result = run_trial(FormBackend(), counter, Trial(cell, 0, False))
        rows.append({"tin": cell.input_tokens, "tout": cell.output_tokens, "counter_j": result.energy_j["gpu"],
                     "runtime_s": result.runtime_s})
    out = script.holdout(_types.SimpleNamespace(holdout=6), FormBackend(), counter, None, design, rows)
    assert len(out["queries"]) == 6
    assert all(32 <= q["tin"] <= 2048 and 8 <= q["tout"] <= 256 for q in out["queries"])
    for q in out["queries"]:
        assert q["energy_j"] == pytest.approx(energy(q["tin"], q["tout"]), rel=1e-3)
    assert out["energy"]["mape_pct"] < 1.0 and abs(out["energy"]["total_error_pct"]) < 1.0
    assert out["energy"]["coefficients"]["tout"] == pytest.approx(4.0, rel=0.02)
    assert set(out["runtime"]) >= {"mape_pct", "bias_pct", "total_error_pct", "form"}


def test_gpu_check_refuses_bad_options_before_touching_a_gpu(run_python):
    for bad in (["--holdout", "-1"], ["--trials", "0"], ["--warmup-tolerance", "1.5"]):
        result = run_python(str(SCRIPT), *bad, timeout=60)
        assert result.returncode == 2 and "--holdout at least 0" in result.stderr


def test_gpu_check_refuses_bad_token_counts_and_defaults_to_20_held_out_queries(run_python):
    result = run_python(str(SCRIPT), "--inputs", "8,zero", timeout=60)
    assert result.returncode == 2 and "--inputs/--outputs" in result.stderr
    script = load_script()
    assert script.MAPE_TARGET_PCT == 8.0 and script.TOTAL_BIAS_TARGET_PCT == 5.0
    assert "default 20" in script.__doc__


def test_gpu_check_cpu_dry_run_runs_the_warm_protocol_with_the_tiny_model(tmp_path, run_python):
    """The whole script on this CPU (tiny model, the CPU meter): grid, fit, held-out queries, targets."""
    import json

    result = run_python(
        str(SCRIPT), "--cpu-dry-run", "--inputs", "4,16", "--outputs", "2,8", "--trials", "1",
        "--holdout", "3", timeout=300, env={**__import__("os").environ, "OUT": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "gpu_check_dry_run.json").read_text())
    assert report["dry_run"] and report["model"] == "tiny-random-llama" and len(report["rows"]) == 4
    assert report["estimated"] == (report["meter"] == "estimate")
    held = report["holdout"]
    assert len(held["queries"]) == 3 and held["targets"] == {"mape_pct": 8.0, "total_bias_pct": 5.0}
    for target in ("energy", "runtime"):
        assert held[target]["mape_pct"] >= 0 and isinstance(held[target]["met"], bool)
    # The warm protocol ran: some held-out query met KV lengths the grid never ran and walked them first.
    assert any(q["warmed_lengths"] for q in held["queries"])
    assert "targets MAPE <= 8%" in result.stdout
