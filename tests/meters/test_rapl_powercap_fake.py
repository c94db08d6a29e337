"""RAPL meter on a fake powercap tree (this VM has none): nesting, wrap-around, errors."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from profiling.meters import RAPL, MeterUnavailable
from profiling.meters.rapl import RaplMeter, delta_uj

from .conftest import MAX_RANGE, Powercap


def test_fake_powercap_counts_packages_and_dram_once(powercap):
    meter = RaplMeter(powercap.root)
    assert sorted(z.label for z in meter.zones) == ["dram-0", "dram-1", "package-0", "package-1"]
    meter.start()
    powercap.add("intel-rapl:0", 30_000_000)
    powercap.add("intel-rapl:0:0", 20_000_000)  # core: already inside package-0
    powercap.add("intel-rapl:0:1", 5_000_000)
    powercap.add("intel-rapl:1", 10_000_000)
    powercap.add("intel-rapl:1:0", 1_000_000)
    powercap.add("intel-rapl:2", 99_000_000)  # psys contains the packages
    powercap.add("intel-rapl-mmio:0", 30_000_000)  # the same package through MMIO
    reading = meter.stop()
    assert reading.energy_j == {"cpu": pytest.approx(40.0), "dram": pytest.approx(6.0)}
    assert reading.sources == {"cpu": RAPL, "dram": RAPL}
    assert reading.devices["package-0"] == pytest.approx(30.0)
    assert not reading.is_estimated


def test_fake_powercap_wrap_around_uses_max_energy_range(powercap):
    powercap.set("intel-rapl:0", MAX_RANGE - 2_000_000)
    meter = RaplMeter(powercap.root)
    meter.start()
    powercap.set("intel-rapl:0", 3_000_000)  # wrapped past max_energy_range_uj
    powercap.add("intel-rapl:1", 1)
    reading = meter.stop()
    assert reading.devices["package-0"] == pytest.approx(5.0)
    assert delta_uj(10, 25, 100) == 15 and delta_uj(90, 5, 100) == 15


def test_fake_powercap_absent_says_why():
    message = RaplMeter.probe(Path("/nonexistent/powercap"))
    assert "does not exist" in message and "virtual machines" in message
    with pytest.raises(MeterUnavailable, match="does not exist"):
        RaplMeter("/nonexistent/powercap")


def test_fake_powercap_without_rapl_zones_says_so(tmp_path):
    (tmp_path / "dtpm").mkdir()
    with pytest.raises(MeterUnavailable, match="no package or dram zone"):
        RaplMeter(tmp_path)


def test_fake_powercap_unreadable_energy_file_names_the_fix():
    # Root reads any file, so the check runs with a dropped effective uid, as a worker would.
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        base.chmod(0o755)
        tree = Powercap(base)
        for path in (base / "devices").rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        for zone in ("intel-rapl:0", "intel-rapl:0:1", "intel-rapl:1", "intel-rapl:1:0"):
            (tree.zone_dir(zone) / "energy_uj").chmod(0o400)  # root-only, as since Linux 5.10
        for path in (base / "class").rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        (base / "class").chmod(0o755)
        dropped = os.geteuid() == 0
        if dropped:
            os.seteuid(65534)  # nobody
        try:
            with pytest.raises(MeterUnavailable) as info:
                RaplMeter(tree.root)
        finally:
            if dropped:
                os.seteuid(0)
        message = str(info.value)
        assert "not readable" in message and "Linux 5.10" in message and "chmod" in message
        assert "intel-rapl:0" in message
    finally:
        shutil.rmtree(base)
