"""register_host on this VM: no RAPL, no NVML, and no crash."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from profiling.models import Hardware
from profiling.services import host

pytestmark = pytest.mark.django_db


def test_register_host_on_this_vm_reports_no_rapl_no_nvml():
    if Path("/sys/class/powercap").exists() and any(Path("/sys/class/powercap").glob("intel-rapl*")):
        pytest.skip("this machine exposes RAPL; the test is about the VM without it")
    out = StringIO()
    call_command("register_host", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["gpus"] == [] and data["nvml"].startswith("absent")
    assert data["rapl_domains"] == [] and data["rapl"].startswith("absent")
    hw = Hardware.objects.get(slug=data["hardware"]["slug"])
    assert not hw.is_reference
    assert (hw.gpu_count, hw.has_nvml_energy, hw.has_nvml_power, hw.rapl_domains) == (0, False, False, [])
    assert hw.cpu_cores and hw.cpu_cores >= 1 and hw.dram_gb > 0
    assert hw.queue_name == f"hw.{hw.slug}"


def test_register_host_twice_updates_the_same_row():
    call_command("register_host", "--name", "Lab box 1", stdout=StringIO())
    out = StringIO()
    call_command("register_host", "--name", "Lab box 1", stdout=out)
    assert Hardware.objects.filter(name="Lab box 1").count() == 1
    assert "Updated hardware 'Lab box 1' (slug lab-box-1, queue hw.lab-box-1)" in out.getvalue()


def test_dry_run_writes_nothing():
    out = StringIO()
    call_command("register_host", "--dry-run", stdout=out)
    assert "NVML:" in out.getvalue() and "RAPL:" in out.getvalue()
    assert not Hardware.objects.exists()


def test_rapl_domains_from_a_powercap_tree(tmp_path):
    """The RAPL reader on a real directory tree shaped like the kernel's powercap."""
    for zone, name, energy in [("intel-rapl:0", "package-0", "123"), ("intel-rapl:0:0", "dram", "45"),
                               ("intel-rapl:1", "package-1", "not-a-number")]:
        (tmp_path / zone).mkdir()
        (tmp_path / zone / "name").write_text(name + "\n")
        (tmp_path / zone / "energy_uj").write_text(energy + "\n")
    domains, status = host.rapl_domains(tmp_path)
    assert domains == ["package-0", "dram"] and status == "ok"
    (tmp_path / "intel-rapl:0" / "energy_uj").chmod(0)
    (tmp_path / "intel-rapl:0:0" / "energy_uj").write_text("x")
    domains, status = host.rapl_domains(tmp_path)
    if domains:  # root reads files whatever their mode
        assert domains == ["package-0"]
    else:
        assert status.startswith("not readable")
    assert host.rapl_domains(tmp_path / "missing")[1].startswith("absent")


def test_cpu_tdp_from_package_zones(tmp_path):
    for zone, name, limit in [("intel-rapl:0", "long_term", "205000000"), ("intel-rapl:0:0", "long_term", "1"),
                              ("intel-rapl:1", "long_term", "205000000")]:
        (tmp_path / zone).mkdir()
        (tmp_path / zone / "constraint_0_name").write_text(name + "\n")
        (tmp_path / zone / "constraint_0_max_power_uw").write_text(limit + "\n")
    assert host.rapl_package_tdp_w(tmp_path) == 205.0
    assert host.rapl_package_tdp_w(tmp_path / "missing") is None


def test_cpu_model_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7742 64-Core Processor\nphysical id\t: 0\n"
                       "processor\t: 1\nmodel name\t: AMD EPYC 7742 64-Core Processor\nphysical id\t: 1\n")
    assert host.cpu_model(cpuinfo) == "AMD EPYC 7742 64-Core Processor"
    assert host.cpu_sockets(cpuinfo) == 2


def test_print_slug_for_worker_scripts():
    out = StringIO()
    call_command("register_host", "--name", "GPU box 2", "--print-slug", stdout=out)
    assert out.getvalue().strip() == "gpu-box-2"


def test_nvml_library_without_driver_is_no_nvml():
    """With nvidia-ml-py installed (requirements-worker.txt) but no driver, NVML is reported absent."""
    pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is only in requirements-worker.txt")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this machine has a working NVML driver")
    gpus, status = host.nvml_gpus()
    assert gpus == [] and status.startswith("absent (nvmlInit failed")
