"""Hardware described by hand is not an offline host: kinds on the pages, the API and the dashboard (#16)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from profiling.models import Hardware

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(db):
    ref = Hardware.objects.create(name="Swing AMD+A100", is_reference=True, gpu_model="A100", gpu_count=8)
    by_hand = Hardware.objects.create(name="Lab box")  # what the admin's add form makes
    host = Hardware.objects.create(name="gpu-node-1", hostname="gpu-node-1", last_heartbeat=timezone.now())
    gone = Hardware.objects.create(name="gpu-node-2", hostname="gpu-node-2")  # registered, never beat
    return ref, by_hand, host, gone


def _row(page: str, name: str) -> str:
    return re.search(rf"<tr>\s*<td><a [^>]*>{re.escape(name)}</a>.*?</tr>", page, re.S).group(0)


def test_kinds_on_the_model_and_the_api(inventory, staff_api):
    ref, by_hand, host, gone = inventory
    assert [h.kind for h in inventory] == ["reference", "no worker", "host", "host"]
    assert not by_hand.is_host and host.is_host and gone.is_host
    kinds = {r["name"]: r["kind"] for r in staff_api.get("/api/v1/hardware/").json()["results"]}
    assert kinds == {"Swing AMD+A100": "reference", "Lab box": "no worker", "gpu-node-1": "host",
                     "gpu-node-2": "host"}


def test_hardware_page_shows_kinds_and_status_and_staff_get_an_add_button(inventory, client, staff_user,
                                                                          plain_user):
    client.force_login(staff_user)
    page = client.get("/hardware/").content.decode()
    by_hand = _row(page, "Lab box")
    assert "no worker" in by_hand and "offline" not in by_hand and "hw.lab-box" not in by_hand
    assert "online" in _row(page, "gpu-node-1") and "offline" in _row(page, "gpu-node-2")
    assert "offline" not in _row(page, "Swing AMD+A100")
    button = re.search(r'<a [^>]*id="add-hardware"[^>]*>', page).group(0)
    assert 'href="/admin/profiling/hardware/add/"' in button
    assert client.get("/admin/profiling/hardware/add/").status_code == 200
    detail = client.get("/hardware/lab-box/").content.decode()
    assert "no worker" in detail.split("</h1>")[0] and "offline" not in detail.split("</h1>")[0]
    client.force_login(plain_user)
    assert 'id="add-hardware"' not in client.get("/hardware/").content.decode()


def test_dashboard_counts_hosts_not_systems_described_by_hand(inventory, client, staff_user):
    client.force_login(staff_user)
    page = client.get("/").content.decode()
    assert re.search(r'id="online-count">1<', page)
    assert "of 2 registered" in page
    kinds = re.search(r'id="hardware-kinds">(.*?)</div>', page).group(1)
    assert kinds == "1 reference · 2 registered hosts · 1 without a worker"
    hosts_table = page.split("<h2>Hosts</h2>")[1].split("</table>")[0]
    assert "gpu-node-1" in hosts_table and "gpu-node-2" in hosts_table and "Lab box" not in hosts_table
