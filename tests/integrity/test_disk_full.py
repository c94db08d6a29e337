"""A full disk is a clear 507 on pages and the API and leaves no file behind: MEDIA_ROOT on a real
2 MB tmpfs (we run as root here), and a fault injected into the one writer where mounting is not allowed."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from energyweb.diskfull import DiskFull, write_new
from tests.measurements.conftest import own_csv
from tests.uploads import files_in, upload

ROW = "Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,{}"


@pytest.fixture
def small_disk(settings, tmp_path):
    mnt = tmp_path / "media"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root (the fault-injection test below covers the writer)")
    settings.MEDIA_ROOT = mnt
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _big_csv(mb: float) -> bytes:
    rows = [ROW.format(i) for i in range(int(mb * 1024 * 1024 / 45))]
    return own_csv(*rows)


@pytest.mark.django_db
def test_api_upload_to_a_full_disk_answers_507_and_leaves_nothing(staff_api, pair, small_disk, background):
    r = staff_api.post("/api/v1/measurements/import", {"file": upload(_big_csv(3))}, format="multipart")
    assert r.status_code == 507, r.content
    assert "disk is full" in r.json()["detail"]
    assert files_in(small_disk) == []


@pytest.mark.django_db
def test_page_upload_to_a_full_disk_renders_507(staff_user, client, pair, small_disk, background):
    client.force_login(staff_user)
    r = client.post("/measurements/import/", {"file": upload(_big_csv(3))})
    assert r.status_code == 507 and b'id="disk-full"' in r.content
    assert files_in(small_disk) == []


@pytest.mark.django_db
def test_generate_on_a_full_disk_answers_507_and_leaves_no_npz(staff_api, small_disk):
    from scheduling.models import Workload

    r = staff_api.post("/api/v1/workloads/generate/", {"name": "too big", "n": 400_000}, format="json")
    assert r.status_code == 507, r.content
    assert files_in(small_disk) == [] and Workload.objects.count() == 0
    # Space is back once the failed writes are gone: a small one fits.
    assert staff_api.post("/api/v1/workloads/generate/", {"name": "fits", "n": 1000}, format="json").status_code == 201


def test_fault_injected_enospc_removes_the_partial_file(tmp_path):
    target = tmp_path / "x.upload"

    def write(fh):
        fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFull):
        write_new(target, write)
    assert not target.exists()
    with pytest.raises(ValueError):  # any other error also removes the file, and is not a disk-full
        write_new(target, lambda fh: (fh.write(b"x"), (_ for _ in ()).throw(ValueError("bad"))))
    assert not target.exists()
