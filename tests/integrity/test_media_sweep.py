"""The media sweep removes files no row refers to once they are a day old, and nothing else."""

from __future__ import annotations

import os
import time
from io import StringIO

import pytest
from django.core.management import call_command

from energyweb.jobs.choices import JobStatus
from profiling.models import MeasurementImportJob
from scheduling.services.workloads import import_workload

pytestmark = pytest.mark.django_db
DAY = 24 * 3600


def _file(media, name, age_s):
    path = media / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def _age(path, age_s):
    then = time.time() - age_s
    os.utime(path, (then, then))


def test_sweep_removes_old_orphans_only(media):
    wl = import_workload(b"input_tokens,output_tokens\n10,20\n", "kept")
    kept = media / wl.data_file.name
    _age(kept, 2 * DAY)
    orphan = _file(media, "workloads/left-by-a-killed-worker.npz", 2 * DAY)
    young = _file(media, "imports/being-written.upload", 60)
    pending = _file(media, "imports/pending.upload", 2 * DAY)
    finished = _file(media, "imports/finished.upload", 2 * DAY)
    MeasurementImportJob.objects.create(filename="p.csv", stored_file="imports/pending.upload", content_hash="a")
    MeasurementImportJob.objects.create(filename="f.csv", stored_file="imports/finished.upload", content_hash="b",
                                        status=JobStatus.CANCELLED)
    out = StringIO()
    call_command("sweep_media", "--dry-run", stdout=out)
    assert "would remove 2 orphan file(s)" in out.getvalue() and orphan.exists()
    call_command("sweep_media", stdout=StringIO())
    assert not orphan.exists() and not finished.exists()
    assert kept.exists() and young.exists() and pending.exists()


def test_the_periodic_task_sweeps_and_is_sent_when_due(media, settings):
    from energyweb.jobs.recovery import _maybe_sweep
    from energyweb.tasks import sweep_media

    _file(media, "assignments/orphan.npz", 2 * DAY)
    assert sweep_media() == 1
    settings.MEDIA_SWEEP_INTERVAL_S = 3600
    due = _maybe_sweep(0.0)
    assert due > time.monotonic() + 3000  # sent now, the next one in an hour
    assert _maybe_sweep(due) == due  # not due yet: nothing sent
