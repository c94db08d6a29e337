"""scripts/gpu_check.py: its clear failure without a GPU (real) and its comparison meter on a fake NVML."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

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


def test_gpu_check_without_nvml_exits_2_saying_why():
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        pytest.skip("this host has an NVIDIA driver: the no-GPU path cannot be shown here")
    except pynvml.NVMLError:
        pass
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
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
