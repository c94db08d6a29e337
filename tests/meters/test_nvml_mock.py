"""NVML meter against a fake NVML (patched pynvml functions): no GPU on this VM."""

from __future__ import annotations

import time

import pynvml
import pytest

from profiling.meters import NVML_COUNTER, NVML_POWER, MeterUnavailable, WindowTooShort, auto_meter
from profiling.meters.nvml import NvmlMeter

from .fake_nvml import FakeGpu, install


@pytest.fixture(autouse=True)
def all_gpus_visible(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_fake_nvml_counter_reads_energy_per_gpu_and_device_state(monkeypatch):
    gpus = install(monkeypatch, [FakeGpu("GPU-aaaa"), FakeGpu("GPU-bbbb")])
    meter = NvmlMeter()
    meter.start()
    gpus[0].advance(12.5)
    gpus[1].advance(7.5)
    reading = meter.stop()
    assert reading.sources == {"gpu": NVML_COUNTER}
    assert reading.devices == {"gpu0": 12.5, "gpu1": 7.5}
    assert reading.energy_j["gpu"] == pytest.approx(20.0)
    assert not reading.is_estimated
    state = reading.device_state
    assert state["driver"] == "999.99"
    assert state["gpus"][0] == {"index": 0, "name": "Fake GPU", "power_limit_w": 300.0,
                                "sm_clock_mhz": 1410, "mem_clock_mhz": 1215, "temperature_c": 41}


def test_fake_nvml_short_window_is_never_zero_joules(monkeypatch):
    install(monkeypatch, [FakeGpu("GPU-aaaa")])
    meter = NvmlMeter()
    # The sweep reads this to repeat short work inside one window.
    assert meter.min_window_s == pytest.approx(10 * meter.update_period_s)
    meter.start()
    with pytest.raises(WindowTooShort, match="did not move"):
        meter.stop()  # counter has not stepped: unknown, not 0 J


def test_fake_nvml_unsupported_counter_falls_back_to_power_sampling(monkeypatch):
    install(monkeypatch, [FakeGpu("GPU-aaaa", power_w=150.0, has_counter=False)])
    meter = NvmlMeter(hz=50)
    assert meter.source == NVML_POWER
    meter.start()
    time.sleep(0.3)
    reading = meter.stop()
    assert reading.sources == {"gpu": NVML_POWER}
    assert reading.energy_j["gpu"] == pytest.approx(150.0 * reading.duration_s, rel=0.05)
    assert reading.updates["gpu"] >= 10  # >= 10 Hz over 0.3 s, ends included
    assert reading.device_state["sampler_cpu_s"] >= 0


def test_fake_nvml_short_window_with_power_sampling_raises(monkeypatch):
    install(monkeypatch, [FakeGpu("GPU-aaaa", has_counter=False)])
    meter = NvmlMeter(hz=10)
    meter.start()
    with pytest.raises(WindowTooShort, match="no sample inside"):
        meter.stop()


def test_fake_nvml_mixed_gpus_use_counter_and_sampling_and_say_integration(monkeypatch):
    gpus = install(monkeypatch, [FakeGpu("GPU-a", power_w=80.0, has_counter=False), FakeGpu("GPU-b")])
    meter = NvmlMeter(hz=50)
    meter.start()
    time.sleep(0.15)
    gpus[1].advance(30.0)
    reading = meter.stop()
    assert reading.devices["gpu1"] == pytest.approx(30.0)
    assert reading.devices["gpu0"] == pytest.approx(80.0 * reading.duration_s, rel=0.1)
    assert reading.sources["gpu"] == NVML_POWER  # the weaker method names the component


@pytest.mark.parametrize(("env", "expected"), [("1", ["gpu1"]), ("GPU-bb", ["gpu1"]), ("2,0", ["gpu2", "gpu0"]),
                                                ("0,9,1", ["gpu0"])])
def test_fake_nvml_respects_cuda_visible_devices(monkeypatch, env, expected):
    gpus = install(monkeypatch, [FakeGpu("GPU-aa"), FakeGpu("GPU-bb"), FakeGpu("GPU-cc")])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    meter = NvmlMeter()
    meter.start()
    for gpu in gpus:
        gpu.advance(1.0)
    assert list(meter.stop().devices) == expected


def test_fake_nvml_no_visible_gpu_is_unavailable(monkeypatch):
    install(monkeypatch, [FakeGpu("GPU-aa")])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(MeterUnavailable, match="no GPU visible"):
        NvmlMeter()


def test_fake_nvml_init_failure_makes_auto_meter_fall_back(monkeypatch, tmp_path):
    install(monkeypatch, [], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    reasons: dict[str, str] = {}
    meter = auto_meter(options={"rapl": {"root": tmp_path / "absent"}}, reasons=reasons)
    assert meter.name == "estimate"
    assert "nvmlInit failed" in reasons["nvml"] and "does not exist" in reasons["rapl"]


def test_fake_nvml_with_rapl_gives_one_composite_window(monkeypatch, powercap):
    gpus = install(monkeypatch, [FakeGpu("GPU-aa")])
    meter = auto_meter(options={"rapl": {"root": powercap.root}})
    assert meter.name == "nvml+rapl"
    meter.start()
    gpus[0].advance(50.0)
    powercap.add("intel-rapl:0", 4_000_000)
    reading = meter.stop()
    assert reading.energy_j["gpu"] == pytest.approx(50.0)
    assert reading.energy_j["cpu"] == pytest.approx(4.0)
    assert reading.sources == {"gpu": NVML_COUNTER, "cpu": "rapl", "dram": "rapl"}
    assert reading.source == NVML_COUNTER


def test_fake_nvml_gpu_host_without_rapl_can_estimate_its_cpu(monkeypatch, tmp_path):
    gpus = install(monkeypatch, [FakeGpu("GPU-aa")])
    plain = auto_meter(options={"rapl": {"root": tmp_path}})
    assert plain.name == "nvml"  # no CPU figure rather than an unasked estimate
    meter = auto_meter(options={"rapl": {"root": tmp_path}}, estimate_cpu=True)
    assert meter.name == "nvml+estimate"
    meter.start()
    gpus[0].advance(5.0)
    reading = meter.stop()
    assert reading.sources == {"gpu": NVML_COUNTER, "cpu": "estimate-tdp"} and reading.is_estimated
