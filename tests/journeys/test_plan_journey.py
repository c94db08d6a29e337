"""An operator uploads a conversation trace, plans it with a zeta sweep over the seeded reference
models, reads the charts and downloads the assignment.

The trace is the journey's own: a small synthetic file in the Azure trace's format
(fixtures/make_synthetic_trace.py), so the journey never skips where ../shared/reference is absent."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from energyweb.jobs.choices import JobStatus
from scheduling.models import ScheduleJob, Workload
from tests.conftest import login

TRACE = Path(__file__).with_name("fixtures") / "synthetic_conversation_trace.csv"

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]

CHARTS = ("chart-energy", "chart-runtime", "chart-accuracy", "chart-pareto", "chart-counts", "chart-hist-tin",
          "chart-hist-tout")


def _rendered(page, canvas_id):
    page.wait_for_function(f"document.getElementById('{canvas_id}')?.dataset.rendered === 'true'", timeout=30000)


def test_upload_a_trace_plan_a_sweep_and_download_the_assignment(
        transactional_db, staff_user, celery_worker_process, live_server, page, shot):
    call_command("seed_reference", stdout=io.StringIO())
    login(page, live_server)
    page.goto(f"{live_server.url}/workloads/upload/")
    page.fill("#id_name", "Conversation trace")
    page.set_input_files("#id_file", str(TRACE))
    shot(page, "upload-form")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(lambda url: "/workloads/upload/" not in url, timeout=60000)
    wl = Workload.objects.get(name="Conversation trace")
    with open(TRACE, newline="") as fh:
        expected = sum(1 for _ in csv.DictReader(fh))
    assert wl.n_queries == expected and wl.has_timestamps
    _rendered(page, "hist-tin")
    shot(page, "workload")

    page.click("text=Plan this workload")
    page.wait_for_url(lambda url: "/plans/new/" in url)
    page.check("#id_add_reference")
    page.check("#id_sweep")
    page.fill("#id_zeta", "0.5")
    shot(page, "plan-form")
    page.click("#plan-form button[type=submit]")
    page.wait_for_url(lambda url: "/plans/new/" not in url)
    page.wait_for_selector("#job-status:has-text('succeeded')", timeout=120000)
    job = ScheduleJob.objects.get()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert len(job.results["plans"]) == 11
    for canvas in CHARTS:
        _rendered(page, canvas)
    # The reference models are valid fitted ones: nothing is planned as free.
    assert not any("CLAMPED" in w for w in job.results["warnings"])
    savings = page.locator("#savings-table").inner_text()
    assert "round-robin" in savings
    shot(page, "plan-with-charts")

    with page.expect_download() as info:
        page.click(f"a[href='/plans/{job.pk}/assignment.csv']")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert len(rows) == wl.n_queries
    keys = set(job.results["deployments"])
    assert {r["deployment"] for r in rows} <= keys
    primary = job.results["plans"][job.results["primary_index"]]
    for key, n in primary["counts"].items():
        assert sum(r["deployment"] == key for r in rows) == n
    assert not page.console_log.errors()
