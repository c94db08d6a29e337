"""An operator executes a small finished plan from its page on this host's worker, follows it,
and reads the predicted-against-measured report; the refit button queues a refit."""

from __future__ import annotations

import pytest

from energyweb.jobs.choices import JobStatus
from scheduling.models import ExecutedQuery, Execution
from tests.conftest import login, start_worker
from tests.executions import helpers

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]


def test_execute_a_plan_from_its_page_and_read_the_report(transactional_db, staff_user, broker_url, tmp_path,
                                                          live_server, page, shot):
    host = helpers.this_host()
    plan = helpers.finished_plan(helpers.tiny_deployments(host), n=20)
    worker = start_worker(broker_url, tmp_path, queues="default,hw.test-host",
                          env={"ENERGYWEB_HARDWARE_SLUG": "test-host"})
    try:
        login(page, live_server)
        page.goto(f"{live_server.url}/plans/{plan.pk}/")
        page.wait_for_selector("#execute-card")
        shot(page, "plan-with-execute")
        page.fill("#id_batch_size", "5")
        page.click("#execute-button")
        page.wait_for_url(lambda url: "/executions/" in url)
        page.wait_for_selector("#execution-status:has-text('succeeded')", timeout=150000)
        execution = Execution.objects.get()
        assert execution.status == JobStatus.SUCCEEDED
    finally:
        worker.stop()
    # Every planned query ran exactly once, and the page shows both sides of the comparison.
    assert sorted(ExecutedQuery.objects.filter(execution=execution).values_list("query_index", flat=True)) == list(
        range(20))
    predicted = page.locator("#predicted-energy").inner_text()
    measured = page.locator("#measured-energy").inner_text()
    assert predicted.endswith("J") and measured.endswith("J") and "—" not in page.locator("#energy-error").inner_text()
    assert page.locator("h1 .badge.estimated").is_visible()
    assert page.locator("#report-table tbody tr").count() >= 2
    page.wait_for_function("() => document.getElementById('scatter-chart')?.dataset.rendered === 'true'")
    shot(page, "report")
    page.click("#refit-button")
    page.wait_for_load_state("networkidle")
    assert "last requested" in page.locator("#refit-button").locator("..").inner_text()
    shot(page, "refit-requested")
    assert not page.console_log.errors()
