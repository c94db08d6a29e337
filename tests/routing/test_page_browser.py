"""In Chromium: make a policy through the form, replay it, and the shares chart draws without console errors."""

from __future__ import annotations

import pytest

from scheduling.models import RoutingPolicy
from scheduling.services.reference_deployments import ensure_reference_deployments

pytestmark = [pytest.mark.browser]


def test_make_a_policy_replay_it_and_see_the_chart(routed, logged_in_page, live_server):
    ensure_reference_deployments()
    page = logged_in_page
    page.goto(f"{live_server.url}/routing/")
    page.select_option("#id_workload", label="train")
    for box in page.locator("input[name=deployments]").all():
        box.check()
    page.fill("#id_zeta", "0.5")
    page.click("#policy-form button[type=submit]")
    page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
    page.wait_for_function("() => document.getElementById('chart-shares').dataset.rendered === 'true'")
    page.select_option("#replay-form #id_workload", label="live")
    page.click("#replay-form button[type=submit]")
    page.wait_for_selector("#replay-table td.num")
    assert "live" in page.locator("#replay-table").inner_text()
    assert RoutingPolicy.objects.get().replays
    assert page.console_log.errors() == []
