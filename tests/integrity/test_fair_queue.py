"""Fair use of the shared queue: one user's jobs beyond JOB_USER_RUNNING_CAP (1) wait in pending while
other users' jobs run, and start when that user's running job ends; the DB row decides, not the broker.
Run against a real Celery worker; plus the zeta-count cap."""

from __future__ import annotations

import time

import pytest

from energyweb.jobs import recovery
from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from scheduling.models import Deployment, ScheduleJob
from scheduling.services import jobs
from scheduling.services.workloads import import_workload
from tests.conftest import wait_for
from tests.scheduling.conftest import make_reference


def _plan(user, name, zetas=(0.5,)):
    hw, llms = make_reference()
    wl = import_workload(b"input_tokens,output_tokens\n" + b"".join(b"%d,%d\n" % (10 + i, 64 + i) for i in range(50)),
                         name)
    deps = [Deployment.objects.get_or_create(llm=llm, hardware=hw)[0] for llm in llms.values()]
    return jobs.create_job(wl, deps, "paper-energy-accuracy", {"zetas": list(zetas)}, user=user)


def _status(job):
    return ScheduleJob.objects.get(pk=job.pk).status


@pytest.mark.worker
def test_a_users_second_job_waits_while_others_run_then_starts_when_the_first_ends(
        celery_worker_process, django_user_model):
    # MEDIA_ROOT stays the var dir's: the worker process reads the workload files from there.
    hog = django_user_model.objects.create_user("hog", password="hog-pass-123456")
    other = django_user_model.objects.create_user("other", password="other-pass-123456")
    first = _plan(hog, "hog 1")
    # Another worker holds the hog's first plan (a live lease): the cap of one is reached.
    held = job_service.claim(ScheduleJob, first.pk, "elsewhere:1")
    assert held is not None
    second = _plan(hog, "hog 2")
    theirs = _plan(other, "other 1")
    wait_for(lambda: _status(theirs) in JobStatus.final(), 60, "the other user's plan to run")
    assert _status(theirs) == JobStatus.SUCCEEDED, (ScheduleJob.objects.get(pk=theirs.pk).error,
                                                    celery_worker_process.log.read_text()[-3000:])
    # The worker got the hog's second wake-up too, claimed it, found the cap reached and left it pending.
    time.sleep(1.0)
    assert _status(second) == JobStatus.PENDING, celery_worker_process.log.read_text()[-2000:]
    assert ScheduleJob.job_is_waiting(ScheduleJob.objects.get(pk=second.pk))
    assert recovery.recover()["scheduling.ScheduleJob"]["resent"] == 0  # waiting, not lost: no re-send
    # The first ends (as run_claimed ends it): the hog's next job is woken and runs.
    assert held.finish()
    job_service.wake_next(ScheduleJob, ScheduleJob.objects.get(pk=first.pk))
    wait_for(lambda: _status(second) == JobStatus.SUCCEEDED, 60, "the hog's second plan after the first")


@pytest.mark.django_db
def test_jobs_without_a_user_and_a_cap_of_zero_are_not_held(settings, tmp_path, django_user_model):
    settings.MEDIA_ROOT = tmp_path / "media"
    user = django_user_model.objects.create_user("u", password="u-pass-123456")
    a, b = _plan(user, "a"), _plan(user, "b")
    assert job_service.claim(ScheduleJob, a.pk, "w1") is not None
    assert job_service.claim(ScheduleJob, b.pk, "w2") is None  # capped: stays pending
    assert _status(b) == JobStatus.PENDING
    settings.JOB_USER_RUNNING_CAP = 0
    assert job_service.claim(ScheduleJob, b.pk, "w2") is not None
    c, d = _plan(None, "c"), _plan(None, "d")
    assert job_service.claim(ScheduleJob, c.pk, "w3") and job_service.claim(ScheduleJob, d.pk, "w4")


@pytest.mark.django_db
def test_zeta_count_is_capped(settings):
    settings.PLAN_MAX_ZETAS = 51
    with pytest.raises(jobs.JobParameterError) as err:
        jobs.normalise_parameters("paper-energy-accuracy", {"zetas": [i / 100 for i in range(101)]})
    assert err.value.field == "zetas" and "At most 51" in str(err.value)
    assert len(jobs.normalise_parameters("paper-energy-accuracy", {"zetas": [i / 50 for i in range(51)]})["zetas"]) == 51
