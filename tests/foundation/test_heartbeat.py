"""A worker's heartbeat marks its host online in the inventory."""

from datetime import timedelta

import pytest
from django.utils import timezone

from profiling.models import Hardware
from profiling.services.host import beat
from tests.conftest import start_worker


@pytest.mark.django_db
def test_beat_marks_online_and_staleness_marks_offline(settings):
    hw = Hardware.objects.create(name="gpu-node-1", hostname="gpu-node-1")
    assert not hw.is_online
    assert beat("gpu-node-1")
    hw.refresh_from_db()
    assert hw.is_online
    hw.last_heartbeat = timezone.now() - timedelta(seconds=settings.HOST_OFFLINE_AFTER_S + 1)
    assert not hw.is_online
    assert beat("no-such-host") is False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_heartbeat(broker_url, tmp_path, monkeypatch):
    import time

    from kombu import pools

    from profiling.worker import heartbeat

    # kombu caches producer pools per broker URL; an earlier test on the same URL left
    # one bound to a connection pool that start_worker's client reset closes.
    pools.reset()
    Hardware.objects.create(name="Bench host", hostname="bench-host")
    monkeypatch.setenv("ENERGYWEB_HARDWARE_SLUG", "bench-host")
    worker = start_worker(broker_url, tmp_path, queues="default,hw.bench-host")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if Hardware.objects.get(slug="bench-host").is_online:
                break
            time.sleep(0.5)
        assert Hardware.objects.get(slug="bench-host").is_online, worker.log.read_text()[-2000:]
        # The heartbeat task routed to the host's own queue also reaches it.
        Hardware.objects.filter(slug="bench-host").update(last_heartbeat=None)
        assert heartbeat.apply_async(args=["bench-host"], queue="hw.bench-host").get(timeout=30) is True
        assert Hardware.objects.get(slug="bench-host").is_online
    finally:
        worker.stop()
