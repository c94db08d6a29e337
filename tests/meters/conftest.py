"""A fake powercap tree in a temp folder, laid out as Linux's /sys/class/powercap:
flat symlinks to nested zone directories (this VM has no RAPL)."""

from __future__ import annotations

from pathlib import Path

import pytest

MAX_RANGE = 262_143_328_850  # a real package's max_energy_range_uj

# zone -> name; nesting follows the zone id (intel-rapl:0:1 lives inside intel-rapl:0)
ZONES = {
    "intel-rapl:0": "package-0",
    "intel-rapl:0:0": "core",
    "intel-rapl:0:1": "dram",
    "intel-rapl:1": "package-1",
    "intel-rapl:1:0": "dram",
    "intel-rapl:2": "psys",
    "intel-rapl-mmio:0": "package-0",
}


class Powercap:
    def __init__(self, base: Path):
        self.root = base / "class" / "powercap"
        self.devices = base / "devices" / "virtual" / "powercap"
        self.root.mkdir(parents=True)
        for zone, name in ZONES.items():
            directory = self.zone_dir(zone)
            directory.mkdir(parents=True)
            (directory / "name").write_text(name + "\n")
            (directory / "energy_uj").write_text("1000000\n")
            (directory / "max_energy_range_uj").write_text(f"{MAX_RANGE}\n")
            (self.root / zone).symlink_to(directory)

    def zone_dir(self, zone: str) -> Path:
        parts = zone.split(":")
        ids = [":".join(parts[: i + 1]) for i in range(1, len(parts))]
        return self.devices.joinpath(parts[0], *ids)

    def value(self, zone: str) -> int:
        return int((self.zone_dir(zone) / "energy_uj").read_text())

    def set(self, zone: str, uj: int) -> None:
        (self.zone_dir(zone) / "energy_uj").write_text(f"{uj}\n")

    def add(self, zone: str, uj: int) -> None:
        self.set(zone, self.value(zone) + uj)


@pytest.fixture
def powercap(tmp_path) -> Powercap:
    return Powercap(tmp_path)
