"""The real web server (energyweb/webserver.py, as `make run` starts it) against slow clients.

Before issue #16, two connections trickling one header line every 5 s held both gunicorn sync
workers and /health/ answered nothing for two minutes. Here a single worker serves /health/ in
well under a second while ten trickling connections are open, cuts a trickler off at its
header deadline, still takes a large upload, streams files, and `runstack` stops on Ctrl-C
with slow connections open. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from energyweb.webserver import gunicorn_argv

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HEADER_DEADLINE_S = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, timeout: float = 10.0, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_until_serving(port: int, proc, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            return _get(port, "/health/", timeout=2)
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the server did not start")


def _env(var: Path, broker_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ENERGYWEB_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="energyweb.settings", REDIS_URL=broker_url,
               ENERGYWEB_WEB_HEADER_TIMEOUT_S=str(HEADER_DEADLINE_S), ENERGYWEB_IMPORT_SYNC_MAX_KB="1024",
               # One request in Django at a time: anything holding that slot would block /health/.
               ENERGYWEB_WEB_CONCURRENCY="1")
    return env


def _manage(env, *args, stdin: str | None = None) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin, text=True,
                          capture_output=True, check=True, timeout=300).stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory, broker_url):
    """One gunicorn worker (so a single held worker would block everything) on a migrated SQLite
    var dir with a staff user and an API token."""
    var = tmp_path_factory.mktemp("web")
    env = _env(var, broker_url)
    _manage(env, "migrate", "-v0")
    _manage(env, "shell", "-c", "from django.contrib.auth import get_user_model as U; "
                                "U().objects.create_user('op', password='op-pass-12345', is_staff=True)")
    token = _manage(env, "create_api_token", "op").strip()
    port = _free_port()
    log = open(var / "web.log", "wb")
    proc = subprocess.Popen(gunicorn_argv("127.0.0.1", port, workers=1), cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(port, proc)
        yield {"port": port, "token": token, "log": var / "web.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


class Trickler:
    """A client sending a request line, then one header line every ``interval`` seconds."""

    def __init__(self, port: int, interval: float = 1.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        self.interval = interval
        self.closed_after: float | None = None
        self._stop = threading.Event()
        self._started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        n = 0
        self.sock.settimeout(self.interval)
        while not self._stop.is_set():
            try:
                data = self.sock.recv(1024)
                if data == b"":
                    self.closed_after = time.monotonic() - self._started
                    return
            except TimeoutError:
                pass
            except OSError:
                self.closed_after = time.monotonic() - self._started
                return
            n += 1
            try:
                self.sock.sendall(f"X-Slow-{n}: a\r\n".encode())
            except OSError:
                self.closed_after = time.monotonic() - self._started
                return

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def test_trickling_clients_do_not_block_health(server):
    slow = [Trickler(server["port"]) for _ in range(10)]
    try:
        time.sleep(1.5)  # every trickler connected and has sent a header line or two
        for _ in range(5):
            started = time.perf_counter()
            status, body = _get(server["port"], "/health/", timeout=5)
            assert status == 200 and b'"redis": "ok"' in body
            assert time.perf_counter() - started < 1.0
        assert all(t.closed_after is None for t in slow)  # still open: they did not block anything
    finally:
        for t in slow:
            t.stop()


def test_a_slowly_sent_body_does_not_hold_the_only_slot(server):
    """energyweb/asgi.py reads a body whole before the request enters Django."""
    sock = socket.create_connection(("127.0.0.1", server["port"]), timeout=30)
    try:
        sock.sendall(b"POST /api/v1/predict/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{")
        for _ in range(3):
            time.sleep(0.5)
            sock.sendall(b" ")
            started = time.perf_counter()
            status, _ = _get(server["port"], "/health/", timeout=5)
            assert status == 200 and time.perf_counter() - started < 1.0
    finally:
        sock.close()


def test_header_deadline_closes_a_trickler(server):
    t = Trickler(server["port"])
    try:
        t.thread.join(timeout=HEADER_DEADLINE_S + 10)
        assert t.closed_after is not None, "the server kept a connection whose headers never ended"
        assert HEADER_DEADLINE_S - 0.5 <= t.closed_after <= HEADER_DEADLINE_S + 5
    finally:
        t.stop()


def test_a_quick_client_on_a_kept_alive_connection_is_not_cut_off(server):
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/health/")
            assert conn.getresponse().read()
    finally:
        conn.close()


def test_a_large_upload_still_works(server):
    rows = b"input_tokens,output_tokens\n" + b"512,128\n" * (3 * 1024 * 1024)  # 24 MB
    boundary = "energywebboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbig\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + rows + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=120)
    try:
        conn.request("POST", "/api/v1/workloads", body=body, headers={
            "Authorization": f"Token {server['token']}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    # Above ENERGYWEB_IMPORT_SYNC_MAX_KB: stored whole and queued as a background import.
    assert response.status == 202, answer[:500]
    assert json.loads(answer)["size_bytes"] == len(rows)


def test_files_are_streamed_whole_under_asgi(server):
    status, body = _get(server["port"], "/static/css/app.css")
    assert status == 200
    assert body == (ROOT / "static" / "css" / "app.css").read_bytes()
    assert b"must consume synchronous iterators" not in server["log"].read_bytes()


def test_runstack_stops_on_ctrl_c_with_slow_clients_open(tmp_path, broker_url):
    env = _env(tmp_path, broker_url)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "manage.py", "runstack", "--no-worker", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    slow = []
    try:
        _wait_until_serving(port, proc)
        children = psutil.Process(proc.pid).children(recursive=True)
        slow = [Trickler(port) for _ in range(3)]
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
        assert proc.wait(timeout=40) == 0
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
    finally:
        for t in slow:
            t.stop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
