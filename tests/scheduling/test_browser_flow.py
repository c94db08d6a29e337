"""End to end in Chromium: upload a workload through the page, plan it through the form, a real
Celery worker solves the job, and the result page draws every chart without console errors."""

import pytest

from energyweb.jobs.choices import JobStatus
from scheduling.models import ScheduleJob, Workload
from tests.scheduling.conftest import make_reference, small_csv

pytestmark = [pytest.mark.browser, pytest.mark.worker]

RESULT_CHARTS = ("chart-energy", "chart-runtime", "chart-accuracy", "chart-pareto", "chart-counts",
                 "chart-hist-tin", "chart-hist-tout")


def _rendered(page, canvas_id, timeout=30000):
    page.wait_for_function(
        f"document.getElementById('{canvas_id}') && document.getElementById('{canvas_id}').dataset.rendered === 'true'",
        timeout=timeout)


def test_upload_plan_and_see_the_charts(celery_worker_process, logged_in_page, live_server, tmp_path):
    make_reference()
    page = logged_in_page
    csv = tmp_path / "trace.csv"
    rows = [(100, 20), (250, 64), (40, 300), (900, 12), (12, 8), (512, 128), (2000, 400), (64, 64)] * 25
    csv.write_bytes(small_csv(rows))

    page.goto(f"{live_server.url}/workloads/upload/")
    page.fill("#id_name", "browser trace")
    # Drag and drop: a file dropped on the zone lands in the form's file input.
    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["input_tokens,output_tokens\\n1,2\\n"], "dropped.csv", {type: "text/csv"}));
        document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
    }""")
    assert page.locator("#dropzone-file").inner_text().startswith("dropped.csv")
    page.set_input_files("#id_file", str(csv))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(lambda url: "/workloads/upload/" not in url)
    wl = Workload.objects.get(name="browser trace")
    assert wl.n_queries == 200
    _rendered(page, "hist-tin")
    _rendered(page, "hist-tout")

    page.click("text=Plan this workload")
    page.wait_for_url(lambda url: "/plans/new/" in url)
    assert page.locator("#id_workload").input_value() == str(wl.pk)
    page.check("#id_add_reference")
    page.fill("#id_zeta", "0.5")
    page.click("#plan-form button[type=submit]")
    page.wait_for_url(lambda url: "/plans/new/" not in url)
    job = ScheduleJob.objects.get()
    # The page polls the status endpoint and reloads when the worker is done.
    page.wait_for_selector("#job-status:has-text('succeeded')", timeout=90000)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.error, celery_worker_process.log.read_text()[-3000:])
    for canvas in RESULT_CHARTS:
        _rendered(page, canvas)
    savings = page.locator("#savings-table").inner_text()
    assert "round-robin" in savings and "accuracy-first" in savings
    assert page.locator("#plan-downloads a").count() >= 2
    assert page.locator(".downloads a[data-fmt=csv]").count() == len(RESULT_CHARTS)
    assert page.console_log.errors() == []
