"""A task travels through a real broker to a real worker process and back."""

import pytest

from energyweb.tasks import ping
from profiling.models import Hardware
from tests.conftest import start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("broker", ["embedded_redis", "server_redis"])
def test_round_trip_through_real_worker(broker, request, tmp_path):
    url = request.getfixturevalue(broker)
    Hardware.objects.create(name="Round trip box")
    worker = start_worker(url, tmp_path)
    try:
        result = ping.delay({"hello": "worker"}).get(timeout=30)
    finally:
        worker.stop()
    assert result["payload"] == {"hello": "worker"}
    # The worker read the test database through its own connection.
    assert result["hardware_count"] == 1
    assert result["worker"].startswith("pytest-")
