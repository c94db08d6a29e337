"""Issue 8's page fixes, checked in a real Chromium on the seeded catalogue and measurements."""

from io import StringIO

import pytest
from django.core.management import call_command

from profiling.models import EnergyModelFit, Hardware
from scheduling.models import Deployment
from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TICKS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]


def _chart(page, canvas_id):
    page.wait_for_function(f"document.getElementById('{canvas_id}').dataset.rendered === 'true'")


def test_inventory_and_explorer_pages(page, live_server, staff_user):
    call_command("seed_reference", stdout=StringIO())
    login(page, live_server)
    swing = Hardware.objects.get(name="Swing AMD+A100")
    # Models column: each fit once, not once per alias (Swing has three aliases).
    page.goto(f"{live_server.url}/hardware/")
    row = page.locator("#hardware-table tr", has_text="Swing AMD+A100")
    assert row.locator("td").last.inner_text().strip() == str(EnergyModelFit.objects.filter(hardware=swing).count())
    # Hardware and LLM charts: one tick per plotted output length, none between them.
    for url in ("/hardware/swing-amd-a100/", "/llms/llama-2-7b/"):
        page.goto(f"{live_server.url}{url}")
        _chart(page, "energy-curve-chart")
        ticks = page.evaluate("Chart.getChart(document.getElementById('energy-curve-chart'))"
                              ".scales.x.ticks.map((t) => t.value)")
        assert ticks == TICKS, url
    # Heat map: the colour scale the text promises is drawn, with both ends labelled.
    page.goto(f"{live_server.url}/explorer/llama-2-7b/swing-amd-a100/")
    _chart(page, "chart-heatmap")
    legend = page.locator("#heatmap-scale")
    assert legend.is_visible()
    assert legend.locator(".lo").inner_text() and legend.locator(".hi").inner_text()
    assert legend.locator(".bar").bounding_box()["width"] > 100
    assert page.locator("#no-measurements-hint").count() == 0
    # A pair without measurements says how to get some instead of showing bare axes.
    page.goto(f"{live_server.url}/explorer/llama-2-7b/m1-pro/")
    assert page.locator("#no-measurements-hint").is_visible()
    assert "Measurements" in page.locator("#no-measurements-hint").inner_text()
    # Comparison chart: the extreme points lie inside the axes, not on their edges.
    page.goto(f"{live_server.url}/explorer/compare/")
    _chart(page, "chart-compare")
    inside = page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('chart-compare'));
        const pts = c.data.datasets.flatMap((d) => d.data);
        return pts.length > 0 && pts.every((p) => p.x > c.scales.x.min && p.x < c.scales.x.max
                                             && p.y > c.scales.y.min && p.y < c.scales.y.max);
    }""")
    assert inside
    assert page.console_log.errors() == []


def test_deployments_in_navigation_editable_and_deletable(page, live_server, staff_user):
    call_command("seed_reference", stdout=StringIO())
    login(page, live_server)
    page.goto(f"{live_server.url}/")
    page.click("nav.mainnav >> text=Deployments")
    page.wait_for_url(f"{live_server.url}/deployments/")
    page.click("button:has-text('Add reference deployments')")
    page.wait_for_url(f"{live_server.url}/deployments/")
    assert Deployment.objects.count() == 7  # every LLM has a selected fitted model on Swing
    dep = Deployment.objects.get(llm__name="Llama-2 (7B)")
    row = page.locator("tr", has_text=dep.key)
    row.locator("a:has-text('Edit')").click()
    page.wait_for_url(f"{live_server.url}/deployments/{dep.pk}/edit/")
    page.fill("input[name=max_share]", "0.5")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"{live_server.url}/deployments/")
    dep.refresh_from_db()
    assert dep.max_share == 0.5
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text=dep.key).locator("button:has-text('Delete')").click()
    page.wait_for_url(f"{live_server.url}/deployments/")
    assert not Deployment.objects.filter(pk=dep.pk).exists()
    assert Deployment.objects.count() == 6
    assert page.console_log.errors() == []
