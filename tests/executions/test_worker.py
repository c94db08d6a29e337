"""Executions through real Celery workers on the real broker: API to worker to report to Chromium.

The two tiny weight-free LLMs are fitted on this host (see helpers.py) and a plan over both is
executed on its queue hw.test-host. Energy is the labelled TDP estimate (this VM has no
counter). A worker is killed with SIGKILL mid-execution and a new one finishes it with every
query exactly once; a cancel stops it before its next batch.
"""

from __future__ import annotations

import time

import pytest

from energyweb.jobs.choices import JobStatus
from scheduling.models import ExecutedBatch, ExecutedQuery, Execution, ExecutionJob
from tests.conftest import FAST_RECOVERY, login, start_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]

QUEUES = "default,hw.test-host"
HOST = {"ENERGYWEB_HARDWARE_SLUG": "test-host"}  # the worker's heartbeat keeps the host online



def _finished(execution_id):
    e = Execution.objects.get(pk=execution_id)
    return e if e.status not in JobStatus.active() else None


def _once(execution) -> bool:
    keys = list(ExecutedQuery.objects.filter(execution=execution).values_list("query_index", flat=True))
    return sorted(keys) == list(range(execution.queries_planned))


@pytest.mark.browser
def test_execute_a_plan_through_the_api_on_a_real_worker_then_read_the_report_in_chromium(
        transactional_db, plan, staff_api, broker_url, tmp_path, live_server, page):
    worker = start_worker(broker_url, tmp_path, queues=QUEUES, env=HOST)
    try:
        r = staff_api.post(f"/api/v1/schedule-jobs/{plan.pk}/execute/", {"batch_size": 5}, format="json")
        assert r.status_code == 201, r.content
        body = r.json()
        assert {j["queue"] for j in body["jobs"]} == {"hw.test-host"} and len(body["jobs"]) == 2
        done = wait_for(lambda: _finished(body["id"]), 150, "the execution to finish")
    finally:
        worker.stop()
    assert done.status == JobStatus.SUCCEEDED, [j.error for j in done.jobs.all()]
    assert _once(done) and done.queries_planned == 24
    rep = staff_api.get(f"/api/v1/executions/{done.pk}/report/").json()
    assert rep["queries_done"] == 24 and rep["predicted_energy_j"] > 0 and rep["measured_energy_j"] > 0
    assert rep["energy_sources"] == ["estimate-tdp"] and rep["estimated"] is True
    csv_text = staff_api.get(f"/api/v1/executions/{done.pk}/report/?download=csv").content.decode()
    assert csv_text.splitlines()[-1].startswith("TOTAL,succeeded,24,24,")
    queries = b"".join(staff_api.get(f"/api/v1/executions/{done.pk}/queries/").streaming_content).decode()
    assert len(queries.strip().splitlines()) == 25 and "estimate-tdp" in queries
    login(page, live_server)
    page.goto(f"{live_server.url}/executions/{done.pk}/")
    assert page.locator("#execution-status").inner_text() == "succeeded"
    assert page.locator("#queries-text").inner_text() == "24 / 24"
    assert page.locator("#predicted-energy").inner_text() == f"{rep['predicted_energy_j']:.3f} J"
    assert page.locator("#measured-energy").inner_text() == f"{rep['measured_energy_j']:.3f} J"
    assert page.locator("h1 .badge.estimated").is_visible()
    assert page.locator("#report-table tbody tr").count() == 3  # two deployments and the total
    n_batches = ExecutedBatch.objects.filter(execution=done).count()
    page.wait_for_function(f"document.getElementById('scatter-chart').dataset.points === '{n_batches}'")
    page.screenshot(path=str(tmp_path / "execution-report.png"), full_page=True)
    page.goto(f"{live_server.url}/plans/{plan.pk}/")
    assert page.locator("#execute-button").is_visible()
    assert page.locator(f"#executions a[href='/executions/{done.pk}/']").is_visible()
    assert not page.console_log.errors()


def test_an_execution_survives_kill_9_of_its_worker(transactional_db, plan, staff_api, broker_url, tmp_path):
    from scheduling.services import execution as ex

    slow = start_worker(broker_url, tmp_path, queues=QUEUES, name="slow-worker",
                        env=HOST | FAST_RECOVERY | {"ENERGYWEB_FAULT_STEP_DELAY_S": "0.5"})
    try:
        execution = ex.create_execution(plan, batch_size=2)
        wait_for(lambda: ExecutedBatch.objects.filter(execution=execution).count() >= 3, 120, "three batches")
    finally:
        slow.kill()
    before = set(ExecutedBatch.objects.filter(execution=execution).values_list("pk", flat=True))
    killed = ExecutionJob.objects.get(execution=execution, status=JobStatus.RUNNING)
    worker = start_worker(broker_url, tmp_path, queues=QUEUES, env=HOST | FAST_RECOVERY, purge=False,
                          name="second-worker")
    try:
        done = wait_for(lambda: _finished(execution.pk), 180, "the execution to finish on the second worker")
    finally:
        worker.stop()
    assert done.status == JobStatus.SUCCEEDED, [j.error for j in done.jobs.all()]
    batches = ExecutedBatch.objects.filter(execution=execution)
    # Exactly the planned batches and queries: none lost, none twice, the first worker's kept.
    assert batches.count() == sum(j.steps_total for j in done.jobs.all()) and _once(done)
    assert before <= set(batches.values_list("pk", flat=True))
    # The killed part was taken over: its first attempt's batches are exactly those stored before the kill.
    assert set(batches.filter(job=killed, attempt=1).values_list("pk", flat=True)) == before & set(
        batches.filter(job=killed).values_list("pk", flat=True))
    assert ExecutionJob.objects.get(pk=killed.pk).attempts == 2


def test_cancel_through_the_api_stops_before_the_next_batch(transactional_db, plan, staff_api, broker_url,
                                                            tmp_path):
    worker = start_worker(broker_url, tmp_path, queues=QUEUES, env=HOST | {"ENERGYWEB_FAULT_STEP_DELAY_S": "1"})
    try:
        r = staff_api.post(f"/api/v1/schedule-jobs/{plan.pk}/execute/", {"batch_size": 2}, format="json")
        assert r.status_code == 201, r.content
        execution = Execution.objects.get(pk=r.json()["id"])
        wait_for(lambda: ExecutedBatch.objects.filter(execution=execution).exists(), 90, "a first batch")
        r = staff_api.post(f"/api/v1/executions/{execution.pk}/cancel/")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        kept = ExecutedBatch.objects.filter(execution=execution).count()
        # The running part sees the cancel at its next batch; give it time to have stored more.
        wait_for(lambda: not ExecutionJob.objects.filter(execution=execution, status=JobStatus.RUNNING,
                                                      lease_owner__gt="").exists(), 30, "the part to stop")
        time.sleep(3)
    finally:
        worker.stop()
    assert ExecutedBatch.objects.filter(execution=execution).count() == kept < 12
    assert set(execution.jobs.values_list("status", flat=True)) == {JobStatus.CANCELLED}
    assert ExecutedQuery.objects.filter(execution=execution).count() == sum(
        ExecutedBatch.objects.filter(execution=execution).values_list("queries", flat=True))
