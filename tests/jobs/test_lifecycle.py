"""The job service on the database: claims, leases, fencing, takeover, recovery.

These run the service functions directly against the real database; the crash
tests beside this file do the same through real workers that get killed.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from energyweb.jobs import recovery
from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from scheduling.models import ScheduleJob
from scheduling.services import jobs
from tests.jobs.helpers import small_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(reference, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return small_plan(reference, n=200, zetas=[0.2, 0.5])


def _expire(job):
    ScheduleJob.objects.filter(pk=job.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))


def test_claim_is_exclusive_while_the_lease_is_alive(plan):
    first = job_service.claim(ScheduleJob, plan.pk, "w1")
    assert first is not None and first.attempt == 1
    # A re-delivered message finds the job held by a live worker.
    assert job_service.claim(ScheduleJob, plan.pk, "w2") is None
    plan.refresh_from_db()
    assert plan.status == JobStatus.RUNNING and plan.worker == "w1" and plan.lease_expires > timezone.now()


def test_an_expired_lease_is_taken_over_and_the_old_worker_is_fenced_off(plan):
    old = job_service.claim(ScheduleJob, plan.pk, "w1")
    old.progress(1, 3)
    _expire(plan)
    new = job_service.claim(ScheduleJob, plan.pk, "w2")
    assert new is not None and new.attempt == 2
    plan.refresh_from_db()
    # A plan cannot resume: it restarts from its first step.
    assert plan.steps_done == 0 and plan.worker == "w2"
    # The old worker wakes up: every write it tries is refused, and it learns why.
    assert not old.renew()
    with pytest.raises(job_service.JobLost):
        old.progress(2, 3)
    assert not old.finish(results={"stale": True})
    new.progress(3, 3)
    assert new.finish()
    plan.refresh_from_db()
    assert plan.status == JobStatus.SUCCEEDED and "stale" not in plan.results


def test_cancel_reaches_the_worker_at_its_next_progress_report(plan):
    handle = job_service.claim(ScheduleJob, plan.pk)
    assert jobs.cancel(plan)
    with pytest.raises(job_service.JobCancelled):
        handle.progress(1)
    assert not handle.finish()
    plan.refresh_from_db()
    assert plan.status == JobStatus.CANCELLED and plan.lease_owner == ""


def test_after_max_attempts_a_lost_job_fails_with_the_reason(plan, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    for _ in range(2):
        assert job_service.claim(ScheduleJob, plan.pk) is not None
        _expire(plan)
    assert job_service.claim(ScheduleJob, plan.pk) is None
    plan.refresh_from_db()
    assert plan.status == JobStatus.FAILED
    assert "lost 2 times" in plan.error and plan.lease_expires is None


def test_release_hands_the_job_back_without_counting_an_attempt(plan):
    handle = job_service.claim(ScheduleJob, plan.pk)
    assert handle.release()
    plan.refresh_from_db()
    assert plan.status == JobStatus.PENDING and plan.attempts == 0 and plan.lease_owner == ""


@pytest.mark.django_db(transaction=True)  # the keeper's thread has its own connection
def test_lease_keeper_renews_while_the_body_works(plan, settings):
    settings.JOB_LEASE_S = 2
    handle = job_service.claim(ScheduleJob, plan.pk)
    first = ScheduleJob.objects.get(pk=plan.pk).lease_expires
    with job_service.LeaseKeeper(handle, interval=0.2) as keeper:
        import time

        time.sleep(1.0)
    later = ScheduleJob.objects.get(pk=plan.pk).lease_expires
    assert later > first and not keeper.lost


def test_recovery_takes_back_expired_jobs_and_resends_lost_wakeups(plan, settings, monkeypatch):
    sent = []
    monkeypatch.setattr("energyweb.queue.send_now",
                        lambda task, args=(), kwargs=None, queue="default": sent.append((task, args, queue)) or True)
    settings.JOB_RESEND_AFTER_S = 60
    # A running job whose worker died, and a pending job whose message died with Redis.
    lost = job_service.claim(ScheduleJob, plan.pk)
    assert lost is not None
    _expire(plan)
    other = ScheduleJob.objects.create(workload=plan.workload, deployment_specs=plan.deployment_specs,
                                       parameters=plan.parameters, steps_total=3)
    ScheduleJob.objects.filter(pk=other.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    fresh = ScheduleJob.objects.create(workload=plan.workload, deployment_specs=plan.deployment_specs,
                                       parameters=plan.parameters, steps_total=3, enqueued_at=timezone.now())
    report = recovery.recover()["scheduling.ScheduleJob"]
    assert report == {"failed": 0, "requeued": 1, "resent": 2}
    assert sorted(a[0] for _, a, _ in sent) == sorted([plan.pk, other.pk])
    assert all(t == ScheduleJob.job_task == "scheduling.schedulejob.run" and q == "default" for t, _, q in sent)
    plan.refresh_from_db()
    assert plan.status == JobStatus.PENDING and plan.enqueued_at is not None
    # The job that was sent a moment ago is left alone; a second pass resends nothing.
    assert fresh.pk not in [a[0] for _, a, _ in sent]
    assert recovery.recover()["scheduling.ScheduleJob"]["resent"] == 0


def test_a_whole_plan_runs_through_the_service_and_records_its_attempt(plan):
    from scheduling.tasks import run_schedule_job

    assert run_schedule_job(plan.pk) == "done"
    plan.refresh_from_db()
    assert plan.status == JobStatus.SUCCEEDED and plan.attempts == 1
    assert plan.steps_done == plan.steps_total == 3
    assert plan.lease_owner == "" and plan.lease_expires is None
    assert np.isfinite(plan.results["plans"][0]["total_energy_j"])
    # A late duplicate message is a no-op.
    assert run_schedule_job(plan.pk) == "skipped"



def test_release_workers_hands_back_only_the_named_workers_jobs(plan, reference, tmp_path):
    other = small_plan(reference, n=50, zetas=[0.5], seed=3, tmp_dir=tmp_path)
    assert job_service.claim(ScheduleJob, plan.pk, "host:101") is not None
    assert job_service.claim(ScheduleJob, other.pk, "host:202") is not None
    assert job_service.release_workers(["host:101", "host:999"]) == 1
    plan.refresh_from_db()
    other.refresh_from_db()
    assert plan.status == JobStatus.PENDING and plan.enqueued_at is None and plan.lease_owner == ""
    assert other.status == JobStatus.RUNNING


def test_a_file_saved_by_a_lost_worker_is_removed_by_the_claim_that_takes_over(plan):
    """Killed between saving its assignment file and recording it, a worker leaves a file no row names."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    first = job_service.claim(ScheduleJob, plan.pk, "w1")
    orphan = default_storage.save(jobs.assignment_name(plan.pk, first.attempt), ContentFile(b"half a plan"))
    _expire(plan)  # the worker died there: its lease runs out
    second = job_service.claim(ScheduleJob, plan.pk, "w2")
    assert second.attempt == 2
    jobs.run_job(ScheduleJob.objects.get(pk=plan.pk), second)
    plan.refresh_from_db()
    assert plan.status == JobStatus.SUCCEEDED
    assert not default_storage.exists(orphan)
    assert plan.assignment_file.name == jobs.assignment_name(plan.pk, 2)
    assert jobs.load_assignment(plan).shape[-1] == 200
    assert default_storage.listdir("assignments")[1] == [f"job-{plan.pk}-2.npz"]
