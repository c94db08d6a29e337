"""A job survives a lost worker: real Celery workers on the real broker, killed with SIGKILL.

The worker runs with a short lease and a fast recovery timer, and a fault-injection
delay after each planning step so that the kill lands in the middle of the job.
"""

from __future__ import annotations

import time

import pytest

from energyweb.jobs.choices import JobStatus
from scheduling.models import ScheduleJob
from tests.conftest import FAST_RECOVERY, start_worker, wait_for
from tests.jobs.helpers import small_plan

pytestmark = [pytest.mark.worker, pytest.mark.slow]




def test_plan_survives_kill_9_of_its_worker(transactional_db, reference, broker_url, tmp_path):
    slow = start_worker(broker_url, tmp_path, env=FAST_RECOVERY | {"ENERGYWEB_FAULT_STEP_DELAY_S": "1.5"},
                        name="slow-worker")
    try:
        job = small_plan(reference, n=300, zetas=[0.1, 0.3, 0.5, 0.7, 0.9], tmp_dir=tmp_path)
        wait_for(lambda: ScheduleJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, steps_done__gte=2).exists(),
              60, "the job to be running past its second step")
    finally:
        slow.kill()
    killed_at = time.monotonic()
    # Nothing finishes it while no worker lives: the row still says running, held by a dead lease.
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 1
    worker = start_worker(broker_url, tmp_path, env=FAST_RECOVERY, purge=False, name="second-worker")
    try:
        done = wait_for(lambda: ScheduleJob.objects.filter(pk=job.pk).exclude(status__in=JobStatus.active()).first(),
                     180, "the job to finish on the second worker")
        recovered_s = time.monotonic() - killed_at
    finally:
        worker.stop()
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.attempts == 2 and done.steps_done == done.steps_total == 6
    assert len(done.results["plans"]) == 5 and done.assignment_file
    assert done.lease_owner == "" and done.lease_expires is None
    print(f"recovered in {recovered_s:.1f}s after kill -9")


def test_pending_job_whose_message_was_lost_is_sent_again(transactional_db, reference, broker_url, tmp_path):
    """As after a Redis restart that lost the queue: the row is pending, no message exists."""
    from energyweb.celery import app

    job = small_plan(reference, n=100, zetas=[0.5], tmp_dir=tmp_path)
    # The message was published on commit; drop it as a broker restart without persistence would.
    app.conf.broker_url = broker_url
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("default")
    worker = start_worker(broker_url, tmp_path, env=FAST_RECOVERY, purge=False)
    try:
        done = wait_for(lambda: ScheduleJob.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).first(), 120,
                     "the lost job to be re-sent and run")
    finally:
        worker.stop()
    assert done.attempts == 1 and done.steps_done == done.steps_total


def test_ctrl_c_warm_shutdown_then_restart_runs_the_job(transactional_db, reference, broker_url, tmp_path):
    """What `make run`'s Ctrl-C does to a worker: SIGTERM to the master only, a soft shutdown
    that cuts the long task off, the job handed back at once; the next worker restarts it."""
    import psutil

    from energyweb.jobs import service as job_service

    worker = start_worker(broker_url, tmp_path, name="stopping-worker",
                          env=FAST_RECOVERY | {"ENERGYWEB_FAULT_STEP_DELAY_S": "3", "ENERGYWEB_WORKER_SOFT_SHUTDOWN_S": "1"})
    job = small_plan(reference, n=100, zetas=[0.2, 0.4, 0.6, 0.8], tmp_dir=tmp_path)
    wait_for(lambda: ScheduleJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists(), 60, "the job to start")
    names = [f"{__import__('socket').gethostname()}:{p.pid}"
             for p in [psutil.Process(worker.proc.pid), *psutil.Process(worker.proc.pid).children(recursive=True)]]
    worker.proc.terminate()  # SIGTERM to the master, as runstack does
    assert worker.proc.wait(timeout=30) is not None
    worker.stop()
    held = ScheduleJob.objects.get(pk=job.pk)
    if held.status == JobStatus.RUNNING:  # cut off mid-sweep: runstack hands it back
        assert job_service.release_workers(names) == 1
    second = start_worker(broker_url, tmp_path, env=FAST_RECOVERY, purge=False, name="restarted-worker")
    try:
        done = wait_for(lambda: ScheduleJob.objects.filter(pk=job.pk).exclude(status__in=JobStatus.active()).first(),
                     120, "the job to finish after the restart")
    finally:
        second.stop()
    assert done.status == JobStatus.SUCCEEDED and done.steps_done == done.steps_total == 5
