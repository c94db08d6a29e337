"""CPU package and DRAM energy from the Linux powercap files that RAPL exposes.

Read directly rather than through pyRAPL, which reads the same files: this keeps
the root path injectable for tests and the error messages ours.

Layout (/sys/class/powercap): ``intel-rapl:N`` is socket N's package; its
sub-zones ``intel-rapl:N:M`` are ``core``/``uncore`` (already inside the package
figure) and ``dram`` (not inside it). ``psys`` covers the whole SoC including the
package, and ``intel-rapl-mmio`` repeats the package through MMIO. So: cpu = sum of
package zones, dram = sum of dram zones, everything else skipped, each zone once
(the top-level entries are symlinks to the nested directories).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from .base import RAPL, Meter, MeterUnavailable, Reading, WindowTooShort

POWERCAP_ROOT = Path("/sys/class/powercap")
UPDATE_PERIOD_S = 0.001  # RAPL counters update about every millisecond
ASSUMED_MAX_W = 500.0  # per zone, to warn when a window may hide a second wrap-around


@dataclass(frozen=True)
class Zone:
    label: str  # package-0, dram-0 ...
    component: str  # cpu or dram
    path: Path
    max_range_uj: int


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


def discover(root: Path = POWERCAP_ROOT) -> list[Zone]:
    """Package and DRAM zones under ``root``; MeterUnavailable with the reason when none is readable."""
    if not root.is_dir():
        raise MeterUnavailable(f"RAPL: {root} does not exist (no powercap: virtual machines and non-x86 hosts "
                               "have no RAPL); CPU energy falls back to the TDP estimate")
    zones, unreadable, seen = [], [], set()
    for entry in sorted(root.glob("intel-rapl:*")):
        real = entry.resolve()
        if real in seen:
            continue
        seen.add(real)
        try:
            name = (entry / "name").read_text().strip()
        except OSError:
            continue
        socket = entry.name.split(":")[1]
        if name.startswith("package"):
            component = "cpu"
            label = name if "-" in name else f"package-{socket}"
        elif name == "dram":
            component, label = "dram", f"dram-{socket}"
        else:
            continue  # core, uncore: inside the package figure; psys: contains it
        try:
            _read_int(entry / "energy_uj")
            max_range = _read_int(entry / "max_energy_range_uj")
        except PermissionError:
            unreadable.append(entry.name)
            continue
        except (OSError, ValueError) as exc:
            unreadable.append(f"{entry.name} ({exc.__class__.__name__})")
            continue
        zones.append(Zone(label, component, entry, max_range))
    if zones:
        return zones
    if unreadable:
        raise MeterUnavailable(
            f"RAPL: {', '.join(unreadable)} under {root} not readable by this user: energy_uj is root-only "
            "since Linux 5.10 (CVE-2020-8694). Run the worker as root, or grant read access, e.g. "
            "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj` "
            "(lost at reboot; a udev rule keeps it)")
    raise MeterUnavailable(f"RAPL: no package or dram zone under {root}")


def delta_uj(start: int, end: int, max_range_uj: int) -> int:
    """Energy between two counter values; the counter wraps to 0 after max_energy_range_uj."""
    return end - start if end >= start else max_range_uj - start + end


class RaplMeter(Meter):
    name = "rapl"
    source = RAPL
    min_window_s = 10 * UPDATE_PERIOD_S

    def __init__(self, root: Path | str = POWERCAP_ROOT):
        super().__init__()
        self.root = Path(root)
        self.zones = discover(self.root)
        self.components = tuple(dict.fromkeys(z.component for z in self.zones))
        # Kept open and re-read with pread: an open() per zone per reading cost ~50 us on a loaded VM.
        self._fds = [os.open(z.path / "energy_uj", os.O_RDONLY) for z in self.zones]
        self._start: list[int] = []

    @classmethod
    def probe(cls, root: Path | str = POWERCAP_ROOT) -> str | None:
        try:
            discover(Path(root))
        except MeterUnavailable as exc:
            return str(exc)
        return None

    def _counters(self) -> list[int]:
        return [int(os.pread(fd, 32, 0)) for fd in self._fds]

    def close(self) -> None:
        fds, self._fds = getattr(self, "_fds", []), []
        for fd in fds:
            os.close(fd)

    def __del__(self) -> None:  # a meter dropped without close() must not leak descriptors
        self.close()

    def _begin(self) -> None:
        self._start = self._counters()

    def _end(self, duration_s: float) -> Reading:
        end = self._counters()
        devices, energy, warnings = {}, {}, []
        for zone, a, b in zip(self.zones, self._start, end, strict=True):
            joules = delta_uj(a, b, zone.max_range_uj) / 1e6
            devices[zone.label] = joules
            energy[zone.component] = energy.get(zone.component, 0.0) + joules
            if duration_s > zone.max_range_uj / 1e6 / ASSUMED_MAX_W:
                warnings.append(f"{zone.label}: a {duration_s:.0f} s window may hide a second wrap-around")
        if energy.get("cpu", 1.0) <= 0:
            raise WindowTooShort(f"RAPL package counters did not move in {duration_s * 1e3:.2f} ms")
        updates = math.floor(duration_s / UPDATE_PERIOD_S)
        return Reading(energy_j=energy, sources={c: RAPL for c in energy}, duration_s=duration_s,
                       updates={c: updates for c in energy}, devices=devices, warnings=warnings,
                       device_state={"rapl_zones": [z.label for z in self.zones]})
