"""A job row deleted under its worker is reported as deleted (not "taken over"), and the shutdown
hand-back survives a PostgreSQL restart by retrying on a fresh connection."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from scheduling.models import ScheduleJob
from tests.jobs.helpers import small_plan


@pytest.fixture
def plan(reference, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return small_plan(reference, n=50, zetas=[0.5])


@pytest.mark.django_db
def test_a_deleted_row_is_reported_as_deleted(plan, caplog):
    def body(job, handle):
        ScheduleJob.objects.filter(pk=job.pk).delete()
        handle.progress(1)

    with caplog.at_level(logging.INFO, logger="energyweb.jobs.service"):
        assert job_service.run_claimed(ScheduleJob, plan.pk, body) == "deleted"
    text = caplog.text
    assert "was deleted while it ran" in text and "taken over" not in text


@pytest.mark.django_db
def test_progress_on_a_deleted_row_raises_job_deleted(plan):
    handle = job_service.claim(ScheduleJob, plan.pk, "w1")
    ScheduleJob.objects.filter(pk=plan.pk).delete()
    with pytest.raises(job_service.JobDeleted):
        handle.check()


@pytest.mark.django_db(transaction=True)
def test_hand_back_retries_on_a_fresh_connection_after_the_server_dropped_ours(plan):
    if connection.vendor != "postgresql":
        pytest.skip("terminating a server backend needs PostgreSQL")
    import psycopg

    assert job_service.claim(ScheduleJob, plan.pk, "host:4242") is not None
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    # What a PostgreSQL restart does to this process's connection: the server ends it.
    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"] or None,
                         dbname=s["NAME"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert job_service.release_workers(["host:4242"]) == 1
    assert ScheduleJob.objects.get(pk=plan.pk).status == JobStatus.PENDING
