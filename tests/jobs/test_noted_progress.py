"""Progress noted inside a long transaction is published by the lease keeper on its own connection.

An import runs in one transaction; a progress write of its own would be invisible until the commit (the
page's bar would sit at zero) and would lock the job row against the keeper's lease renewals."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from scheduling.models import ScheduleJob
from tests.conftest import wait_for
from tests.jobs.helpers import small_plan

pytestmark = pytest.mark.django_db(transaction=True)


def _seen_by_another_connection(pk: int) -> dict:
    """The row as a separate session sees it (what the progress page's request would read)."""
    out = {}

    def read():
        try:
            out.update(ScheduleJob.objects.filter(pk=pk).values("steps_done", "status").first())
        finally:
            connections.close_all()

    t = threading.Thread(target=read)
    t.start()
    t.join()
    return out


def test_noted_progress_is_visible_to_others_before_the_body_commits(reference, tmp_path, settings):
    """PostgreSQL: visible within a second while the body's transaction is still open. SQLite has one
    writer and the body's transaction holds it (BEGIN IMMEDIATE), so nobody can publish before the commit:
    there the property is that the body never waits on the keeper and the note shows within a second of
    the commit (before the fix the keeper held the handle's lock through a 30 s busy wait, stalling the
    body's next note, and then dropped the note)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    job = small_plan(reference, n=50, zetas=[0.5], tmp_dir=tmp_path)
    handle = job_service.claim(ScheduleJob, job.pk, "w1")
    one_writer = connection.vendor == "sqlite"
    with job_service.LeaseKeeper(handle, interval=5.0):
        with transaction.atomic():
            job.workload.__class__.objects.filter(pk=job.workload_id).update(description="written in the body")
            handle.note(done=1)
            if one_writer:
                time.sleep(2.5)  # two keeper ticks inside the transaction
                started = time.monotonic()
                handle.note(done=2)
                assert time.monotonic() - started < 0.5, "note() waited on the keeper"
                assert _seen_by_another_connection(job.pk)["steps_done"] == 0  # nothing committed yet
            else:
                wait_for(lambda: _seen_by_another_connection(job.pk)["steps_done"] == 1, 5,
                         "the keeper to publish the noted step (within a second, not at its 5 s renewal)")
                handle.note(done=2)
                wait_for(lambda: _seen_by_another_connection(job.pk)["steps_done"] == 2, 5, "the second step")
        if one_writer:
            wait_for(lambda: _seen_by_another_connection(job.pk)["steps_done"] == 2, 3,
                     "the keeper to publish the noted step within a second of the commit")
    assert handle.noted == {}
    assert ScheduleJob.objects.get(pk=job.pk).lease_owner == handle.token


def test_a_cancel_reaches_a_body_that_only_notes_its_progress(reference, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    job = small_plan(reference, n=50, zetas=[0.5], tmp_dir=tmp_path)
    handle = job_service.claim(ScheduleJob, job.pk, "w1")
    with job_service.LeaseKeeper(handle, interval=5.0) as keeper:
        assert job_service.cancel(ScheduleJob.objects.get(pk=job.pk))
        handle.note(done=1)  # the keeper's next publication finds the job no longer ours
        wait_for(lambda: keeper.lost, 5, "the keeper to find the job cancelled")
        with pytest.raises(job_service.JobCancelled):
            handle.note(done=2)
    assert ScheduleJob.objects.get(pk=job.pk).status == JobStatus.CANCELLED
