"""Adding a meter is one module and one ``register_meter`` line (README, "How to add a meter").
This file is such a module: a DRAM meter with a constant draw, registered by name."""

from __future__ import annotations

import pytest

from profiling import meters
from profiling.meters import RAPL, Meter, MeterError, Reading, auto_meter, get_meter, register_meter

TARGET = "tests.meters.test_adding_a_meter:ConstantDramMeter"


class ConstantDramMeter(Meter):
    """Two watts of DRAM, always: enough to show the registry, the window and auto_meter use it."""

    name = "constant-dram"
    components = ("dram",)

    def __init__(self, watts: float = 2.0):
        super().__init__()
        self.watts = watts

    def _begin(self) -> None:
        pass

    def _end(self, duration_s: float) -> Reading:
        return Reading(energy_j={"dram": self.watts * duration_s}, sources={"dram": RAPL}, duration_s=duration_s)


@pytest.fixture
def registered():
    register_meter("constant-dram", TARGET)
    yield
    meters.REGISTRY.pop("constant-dram", None)


def test_a_registered_meter_is_built_by_name_with_its_options(registered):
    meter = get_meter("constant-dram", watts=5.0)
    meter.start()
    reading = meter.stop()
    assert reading.energy_j["dram"] == pytest.approx(5.0 * reading.duration_s)
    assert reading.sources == {"dram": RAPL} and not reading.is_estimated


def test_auto_meter_prefers_a_measuring_meter_to_the_fallback_estimate(registered, tmp_path):
    reasons: dict[str, str] = {}
    meter = auto_meter(options={"rapl": {"root": tmp_path / "absent"}}, reasons=reasons)
    names = meter.name.split("+")
    assert "constant-dram" in names
    assert "estimate" not in names  # a fallback, used only when nothing measuring covers
    assert "rapl" in reasons
    # Asked to estimate the CPU where no meter reads it, the fallback joins the measuring meter.
    with_cpu = auto_meter(options={"rapl": {"root": tmp_path / "absent"}}, estimate_cpu=True)
    assert {"constant-dram", "estimate"} <= set(with_cpu.name.split("+"))


def test_a_name_cannot_be_registered_twice_for_different_classes(registered):
    register_meter("constant-dram", TARGET)  # the same registration again is harmless
    with pytest.raises(MeterError, match="already registered"):
        register_meter("constant-dram", "profiling.meters.estimate:EstimateMeter")
