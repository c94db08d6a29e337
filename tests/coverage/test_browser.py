"""In Chromium: the plan page's "Measure what this plan extrapolates" and the workload page's form."""

from __future__ import annotations

import pytest

from energyweb.jobs.choices import JobStatus
from profiling.models import ProfilingRun

pytestmark = [pytest.mark.browser]


def test_plan_button_then_workload_form_in_chromium(transactional_db, measured_pair, workload, live_server,
                                                    logged_in_page, tmp_path):
    from scheduling.models import Deployment, ScheduleJob

    tiny, host = measured_pair
    page = logged_in_page
    job = ScheduleJob.objects.create(workload=workload, status=JobStatus.SUCCEEDED)
    job.deployments.set([Deployment.objects.create(llm=tiny, hardware=host)])
    page.goto(f"{live_server.url}{job.get_absolute_url()}")
    page.click("#cover-button")
    page.wait_for_selector("#coverage-runs")
    run = ProfilingRun.objects.get()
    row = page.locator("#coverage-runs tbody tr").first
    assert f"#{run.pk}" in row.inner_text()
    assert row.locator(".cover-before").inner_text() == f"{run.summary['coverage']['share_before']:.3f}"
    assert "when it succeeds" in row.locator(".cover-after").inner_text()

    def submit_workload_form():
        page.goto(f"{live_server.url}{workload.get_absolute_url()}")
        page.select_option("#cover-llm", str(tiny.pk))
        page.select_option("#cover-hardware", str(host.pk))
        page.click("#cover-button")

    # The same pair and workload while the plan's run is still queued: refused, said on the page.
    submit_workload_form()
    page.wait_for_selector("text=is already queued or running")
    assert ProfilingRun.objects.count() == 1
    from profiling.services.profiling_runs import cancel

    cancel(run)
    submit_workload_form()
    page.wait_for_selector("#coverage-summary")
    second = ProfilingRun.objects.exclude(pk=run.pk).get()
    assert page.url.endswith(second.get_absolute_url())
    assert float(page.locator("#cover-before").inner_text()) > 0.5
    page.screenshot(path=str(tmp_path / "coverage-run.png"), full_page=True)
    assert not page.console_log.errors()
