"""Detect what this machine is and which energy counters it can read.

Used by ``register_host`` and by workers. Every probe degrades to "absent":
no NVML library, no GPU, no powercap tree or unreadable counters are normal on
CPU-only or virtual machines and must never stop a registration.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

POWERCAP_ROOT = Path("/sys/class/powercap")


@dataclass
class GPUInfo:
    index: int
    name: str
    memory_gb: float | None
    power_limit_w: float | None
    has_energy_counter: bool
    has_power: bool


@dataclass
class HostInfo:
    hostname: str
    cpu_model: str
    cpu_sockets: int
    cpu_cores: int | None
    logical_cpus: int | None
    dram_gb: float | None
    gpus: list[GPUInfo] = field(default_factory=list)
    nvml: str = "absent"  # "ok", or why not
    rapl_domains: list[str] = field(default_factory=list)
    rapl: str = "absent"
    cpu_tdp_w: float | None = None
    backends: dict[str, str] = field(default_factory=dict)  # name -> "ok" or why not

    @property
    def gpu_model(self) -> str:
        names = sorted({g.name for g in self.gpus})
        return " / ".join(names)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["gpu_model"] = self.gpu_model
        return data


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_sockets(cpuinfo: Path = Path("/proc/cpuinfo")) -> int:
    try:
        ids = {line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
               if line.startswith("physical id")}
    except OSError:
        ids = set()
    return max(len(ids), 1)


def rapl_domains(root: Path = POWERCAP_ROOT) -> tuple[list[str], str]:
    """Readable RAPL domains (``package-0``, ``dram``, ``core``...) and a status line."""
    if not root.is_dir():
        return [], f"absent ({root} does not exist)"
    domains, unreadable = [], []
    for zone in sorted(root.glob("intel-rapl*")):
        name_file, energy_file = zone / "name", zone / "energy_uj"
        if not name_file.exists() or not energy_file.exists():
            continue
        try:
            name = name_file.read_text().strip()
            int(energy_file.read_text().strip())
        except (OSError, ValueError):
            unreadable.append(zone.name)
            continue
        # Sub-zones repeat names across sockets (each package has its own "dram").
        if name in domains:
            name = f"{name}:{zone.name}"
        domains.append(name)
    if domains:
        return domains, "ok"
    if unreadable:
        return [], f"not readable ({', '.join(unreadable)}: energy_uj needs root or a udev rule)"
    return [], "absent (no intel-rapl zones)"


def rapl_package_tdp_w(root: Path = POWERCAP_ROOT) -> float | None:
    """Per-socket TDP from the package zones' long-term power limit, when readable."""
    limits = []
    for zone in sorted(root.glob("intel-rapl:*")) if root.is_dir() else []:
        if zone.name.count(":") != 1:
            continue  # sub-zones (core, dram) have no TDP of their own
        try:
            if (zone / "constraint_0_name").read_text().strip() != "long_term":
                continue
            limits.append(int((zone / "constraint_0_max_power_uw").read_text().strip()) / 1e6)
        except (OSError, ValueError):
            continue
    limits = [w for w in limits if w > 0]
    return max(limits) if limits else None


def nvml_gpus() -> tuple[list[GPUInfo], str]:
    """GPUs seen by NVML, or an empty list and why not."""
    try:
        import pynvml  # nvidia-ml-py: only in requirements-worker.txt
    except ImportError:
        return [], "absent (nvidia-ml-py is not installed)"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], f"absent (nvmlInit failed: {exc})"
    gpus = []
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            if isinstance(name, bytes):
                name = name.decode()
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total / 1e9
            try:
                limit = pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000.0
            except pynvml.NVMLError:
                limit = None
            try:
                pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                has_energy = True
            except pynvml.NVMLError:
                has_energy = False
            try:
                pynvml.nvmlDeviceGetPowerUsage(handle)
                has_power = True
            except pynvml.NVMLError:
                has_power = False
            gpus.append(GPUInfo(i, name, round(memory, 1), limit, has_energy, has_power))
    except pynvml.NVMLError as exc:
        return gpus, f"partial ({exc})"
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    return gpus, "ok"


def detect() -> HostInfo:
    import psutil

    from profiling.backends import probe_backends

    gpus, nvml_status = nvml_gpus()
    domains, rapl_status = rapl_domains()
    try:
        memory = round(psutil.virtual_memory().total / 1e9, 1)
    except Exception:  # psutil cannot read memory in some sandboxes
        memory = None
    return HostInfo(
        hostname=socket.gethostname(),
        cpu_model=cpu_model(),
        cpu_sockets=cpu_sockets(),
        cpu_cores=psutil.cpu_count(logical=False),
        logical_cpus=psutil.cpu_count(logical=True) or os.cpu_count(),
        dram_gb=memory,
        gpus=gpus,
        nvml=nvml_status,
        rapl_domains=domains,
        rapl=rapl_status,
        cpu_tdp_w=rapl_package_tdp_w(),
        backends=probe_backends(),
    )


def register(info: HostInfo, name: str | None = None):
    """Create or update this host's Hardware row; returns (hardware, created)."""
    from profiling.models import Hardware

    name = name or info.hostname
    values = {
        "hostname": info.hostname,
        "cpu_model": info.cpu_model,
        "cpu_sockets": info.cpu_sockets,
        "cpu_cores": info.cpu_cores,
        "dram_gb": info.dram_gb,
        "gpu_model": info.gpu_model,
        "gpu_count": len(info.gpus),
        "gpu_memory_gb": max((g.memory_gb or 0 for g in info.gpus), default=None) or None,
        "gpu_tdp_w": max((g.power_limit_w or 0 for g in info.gpus), default=None) or None,
        "has_nvml_energy": bool(info.gpus) and all(g.has_energy_counter for g in info.gpus),
        "has_nvml_power": bool(info.gpus) and all(g.has_power for g in info.gpus),
        "rapl_domains": info.rapl_domains,
    }
    if info.backends:
        values["backends"] = info.backends
    if info.cpu_tdp_w:  # keep a TDP typed in by hand when the machine does not report one
        values["cpu_tdp_w"] = info.cpu_tdp_w
    hardware = Hardware.objects.filter(name=name).first()
    created = hardware is None
    if created:
        hardware = Hardware(name=name)
    for key, value in values.items():
        setattr(hardware, key, value)
    if created and not hardware.slug:
        from django.utils.text import slugify

        hardware.slug = slugify(name)[:120]
    hardware.full_clean()
    hardware.save()
    return hardware, created


def beat(slug: str, backends: dict[str, str] | None = None) -> bool:
    """Record that a worker on this hardware is alive (and, when given, which backends it can run);
    False if the row is gone."""
    from django.utils import timezone

    from profiling.models import Hardware

    values = {"last_heartbeat": timezone.now()}
    if backends:
        values["backends"] = backends
    return Hardware.objects.filter(slug=slug).update(**values) == 1
