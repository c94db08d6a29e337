"""A real Chromium logs in, sees the seeded inventory and a rendered chart."""

import pytest

from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_and_inventory_in_chromium(page, live_server, staff_user):
    from profiling.services import catalogue

    catalogue.seed()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # not signed in yet
    login(page, live_server)
    page.goto(f"{live_server.url}/")
    assert page.locator("#llm-count").inner_text() == "7"
    page.wait_for_function("() => document.getElementById('energy-per-token-chart').dataset.rendered === 'true'")
    box = page.locator("#energy-per-token-chart").bounding_box()
    assert box["width"] > 100 and box["height"] > 100
    assert page.locator(".downloads a[data-fmt=csv]").count() == 1

    page.click("nav.mainnav >> text=Hardware")
    page.wait_for_url(f"{live_server.url}/hardware/")
    table = page.locator("#hardware-table").inner_text()
    for name in ("Swing AMD+A100", "Palmetto Intel+A100", "Palmetto Intel+V100", "M1-Pro"):
        assert name in table

    page.click("text=Swing AMD+A100")
    page.wait_for_function("() => document.getElementById('energy-curve-chart').dataset.rendered === 'true'")

    page.goto(f"{live_server.url}/llms/")
    llms = page.locator("#llm-table").inner_text()
    for name in ("Falcon (7B)", "Llama-2 (70B)", "Mixtral (8x7B)"):
        assert name in llms
    assert page.console_log.errors() == []

    page.click("button:has-text('Log out')")
    page.wait_for_url(lambda url: "/accounts/login/" in url)
