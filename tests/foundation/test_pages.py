"""Server-rendered pages: login required, seeded inventory shown, never a 500."""

import pytest
from django.utils import timezone

from profiling.models import Hardware

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/hardware/", "/llms/", "/hardware/m1-pro/", "/llms/falcon-7b/"])
def test_pages_need_login(client, seeded, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_dashboard(client, seeded, plain_user):
    Hardware.objects.create(name="lab-host", hostname="lab-host", last_heartbeat=timezone.now())
    client.force_login(plain_user)
    response = client.get("/")
    html = response.content.decode()
    assert response.context["hardware_count"] == 5 and response.context["llm_count"] == 7
    assert [h.name for h in response.context["online_hosts"]] == ["lab-host"]
    assert response.context["chart_hardware"].name == "Swing AMD+A100"
    rows = {r["llm"]: r for r in response.context["chart_rows"]}
    # Llama-2 (7B) at 512 in / 512 out: (-3.89*512 + 31.52*512 + 0.0427*512*512) / 512 J per token.
    assert rows["Llama-2 (7B)"]["energy_per_output_token_j"] == pytest.approx(
        (-3.89 * 512 + 31.52 * 512 + 0.0427 * 512 * 512) / 512, rel=1e-3)
    assert 'id="energy-per-token-data"' in html and "badge online" in html
    assert "Wilkins" in html


def test_hardware_pages(client, seeded, plain_user):
    client.force_login(plain_user)
    html = client.get("/hardware/").content.decode()
    for name in ("Swing AMD+A100", "Palmetto Intel+A100", "Palmetto Intel+V100", "M1-Pro"):
        assert name in html
    detail = client.get("/hardware/swing-amd-a100/").content.decode()
    assert "8 × NVIDIA A100 40GB" in detail and "hw.swing-amd-a100" in detail
    assert "Mixtral (8x7B)" in detail and 'id="energy-curve-chart"' in detail
    assert client.get("/hardware/no-such-box/").status_code == 404


def test_llm_pages(client, seeded, plain_user):
    client.force_login(plain_user)
    html = client.get("/llms/").content.decode()
    assert "Mixtral (8x7B)" in html and "68.47" in html
    detail = client.get("/llms/mistral-7b/").content.decode()
    assert "(sic)" in detail and "Swing AMD+A100" in detail


def test_dashboard_without_data(client, plain_user):
    client.force_login(plain_user)
    response = client.get("/")
    assert response.status_code == 200
    assert "No selected energy models yet" in response.content.decode()


def test_health(client, broker_url, settings):
    settings.REDIS_URL = broker_url  # /health/ checks Redis too (tests/hardening/test_headers_and_health.py)
    assert client.get("/health/").json()["status"] == "ok"
