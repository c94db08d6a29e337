"""Profiling through real Celery workers on the real broker: API to worker to measurements to fit to page.

The tiny weight-free LLM runs on this host's CPU; energy is the labelled TDP estimate
(this VM has no energy counter). A worker is killed with SIGKILL mid-run and a new
one finishes the run with exactly its planned trials.
"""

from __future__ import annotations

import pytest

from energyweb.jobs.choices import JobStatus
from profiling.models import EnergyModelFit, Measurement, ProfilingRun
from tests.conftest import FAST_RECOVERY, login, start_worker, wait_for
from tests.runs.conftest import SMALL

pytestmark = [pytest.mark.worker, pytest.mark.slow]

QUEUES = "default,hw.test-host"



def _api(staff_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff_user)
    return client


def _unique_keys(run) -> bool:
    keys = list(Measurement.objects.filter(profiling_run=run).values_list("cell_index", "trial_index"))
    return len(keys) == len(set(keys))


@pytest.mark.browser
def test_profile_through_the_api_on_a_real_worker_then_see_it_in_chromium(
        transactional_db, host, tiny, staff_user, broker_url, tmp_path, live_server, page):
    worker = start_worker(broker_url, tmp_path, queues=QUEUES)
    try:
        r = _api(staff_user).post("/api/v1/profiling-runs/", {"llm": tiny.slug, "hardware": host.slug,
                                                              "design": "grid-small"}, format="json")
        assert r.status_code == 201, r.content
        assert r.json()["queue"] == "hw.test-host" and r.json()["status"] == "pending"
        run = ProfilingRun.objects.get(pk=r.json()["id"])
        done = wait_for(lambda: ProfilingRun.objects.filter(pk=run.pk).exclude(status__in=JobStatus.active()).first(),
                     120, "the run to finish")
        assert done.status == JobStatus.SUCCEEDED, done.error
        # grid-small: 16 cells x 3 trials, plus one warm-up.
        assert Measurement.objects.filter(profiling_run=run, is_warmup=False).count() == 48
        assert done.steps_done == done.steps_total == 49 and _unique_keys(run)
        # The pair is refitted on the default queue; estimated energy gives a fit labelled so.
        fit = wait_for(lambda: EnergyModelFit.objects.filter(llm=tiny, hardware=host, target="energy",
                                                          is_selected=True).first(), 60, "the refit")
        assert fit.uses_estimated_energy
        body = _api(staff_user).get(f"/api/v1/profiling-runs/{run.pk}/summary/").json()
        assert body["status"] == "succeeded" and body["trials_done"] == 49 and body["measurements"] == 48
        assert body["energy_sources"] == ["estimate-tdp"] and body["estimated"] is True
    finally:
        worker.stop()
    login(page, live_server)
    page.goto(f"{live_server.url}/profiling/{run.pk}/")
    assert page.locator("#run-status").inner_text() == "succeeded"
    assert page.locator("#progress-text").inner_text() == "49 / 49"
    assert page.locator("h1 .badge.estimated").is_visible()
    page.wait_for_function("() => document.getElementById('trials-chart').dataset.points === '48'")
    page.screenshot(path=str(tmp_path / "profiling-run.png"), full_page=True)
    page.goto(f"{live_server.url}/hardware/{host.slug}/")
    assert page.locator(f"#profiling-runs a[href='/profiling/{run.pk}/']").is_visible()
    assert not page.console_log.errors()


def test_profiling_run_survives_kill_9_of_its_worker(transactional_db, host, tiny, broker_url, tmp_path):
    from profiling.services import profiling_runs

    slow = start_worker(broker_url, tmp_path, queues=QUEUES, name="slow-worker",
                        env=FAST_RECOVERY | {"ENERGYWEB_FAULT_STEP_DELAY_S": "0.4"})
    try:
        run = profiling_runs.create_run(tiny, host, design="custom", params=SMALL | {"max_trials": 3,
                                                                                    "min_trials": 3})
        wait_for(lambda: Measurement.objects.filter(profiling_run=run).count() >= 4, 90, "four trials")
    finally:
        slow.kill()
    before = set(Measurement.objects.filter(profiling_run=run).values_list("pk", flat=True))
    assert ProfilingRun.objects.get(pk=run.pk).status == JobStatus.RUNNING
    worker = start_worker(broker_url, tmp_path, queues=QUEUES, env=FAST_RECOVERY, purge=False,
                          name="second-worker")
    try:
        done = wait_for(lambda: ProfilingRun.objects.filter(pk=run.pk).exclude(status__in=JobStatus.active()).first(),
                     180, "the run to finish on the second worker")
    finally:
        worker.stop()
    assert done.status == JobStatus.SUCCEEDED, done.error
    rows = Measurement.objects.filter(profiling_run=run)
    # 4 cells x 3 trials + 1 warm-up: exactly the plan, none twice, none lost.
    assert rows.count() == 13 and _unique_keys(run) and done.attempts == 2
    assert before <= set(rows.values_list("pk", flat=True))
    assert set(rows.filter(run_attempt=1).values_list("pk", flat=True)) == before


def test_cancel_through_the_api_stops_the_run(transactional_db, host, tiny, staff_user, broker_url, tmp_path):
    from profiling.services import profiling_runs

    worker = start_worker(broker_url, tmp_path, queues=QUEUES, env={"ENERGYWEB_FAULT_STEP_DELAY_S": "0.5"})
    try:
        run = profiling_runs.create_run(tiny, host, design="custom", params=SMALL)
        second = profiling_runs.create_run(tiny, host, design="custom", params=SMALL)
        wait_for(lambda: Measurement.objects.filter(profiling_run=run).count() >= 2, 90, "two trials")
        # The second run on the same hardware waits while the first runs.
        assert ProfilingRun.objects.get(pk=second.pk).status == JobStatus.PENDING
        r = _api(staff_user).post(f"/api/v1/profiling-runs/{run.pk}/cancel/")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        # Cancelling wakes the next run on the hardware.
        wait_for(lambda: ProfilingRun.objects.filter(pk=second.pk, status=JobStatus.SUCCEEDED).exists(), 90,
              "the waiting run to run after the cancel")
    finally:
        worker.stop()
    kept = Measurement.objects.filter(profiling_run=run).count()
    assert 2 <= kept < 9
    assert ProfilingRun.objects.get(pk=run.pk).status == JobStatus.CANCELLED
