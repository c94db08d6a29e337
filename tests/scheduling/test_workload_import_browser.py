"""In Chromium: a large workload upload goes to its progress page, which polls the job while a real
Celery worker imports it, and ends on the workload's link."""

import pytest

from scheduling.models import Workload, WorkloadImportJob
from tests.conftest import start_worker
from tests.scheduling.conftest import small_csv

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def slow_worker(transactional_db, broker_url, tmp_path):
    """A real worker that waits 3 s before committing the workload, so the page has to poll."""
    worker = start_worker(broker_url, tmp_path, env={"ENERGYWEB_FAULT_STEP_DELAY_S": "3"}, name="slow-import-worker")
    yield worker
    worker.stop()


def test_background_upload_progress_page_ends_on_the_workload(slow_worker, logged_in_page, live_server,
                                                               tmp_path, settings):
    settings.IMPORT_SYNC_MAX_BYTES = 0  # the live server runs in this process: every upload goes to a job
    csv = tmp_path / "trace.csv"
    csv.write_bytes(small_csv([(100, 20), (250, 64), (40, 300)] * 50))
    page = logged_in_page
    page.goto(f"{live_server.url}/workloads/upload/")
    page.fill("#id_name", "background trace")
    page.set_input_files("#id_file", str(csv))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(lambda url: "/workloads/import-jobs/" in url)
    job = WorkloadImportJob.objects.get()
    assert page.locator("#job-status").inner_text() in ("pending", "running")
    # The page polls status.json and reloads when the worker is done.
    page.wait_for_selector("#job-status:has-text('succeeded')", timeout=90000)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, slow_worker.log.read_text()[-3000:])
    assert page.locator("#job-progress").get_attribute("value") == "100"
    page.click("#workload-link")
    wl = Workload.objects.get(name="background trace")
    page.wait_for_url(lambda url: url.endswith(f"/workloads/{wl.pk}/"))
    assert wl.n_queries == 150
    assert page.console_log.errors() == []
