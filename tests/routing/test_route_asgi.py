"""The web server's ASGI application answers POST /api/v1/route through Django's WSGI handler on a
persistent thread (energyweb/asgi.py): same middleware, same answers as Django's ASGI handler."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.authtoken.models import Token

from energyweb import asgi
from scheduling.models.deployment_specs import spec_for_deployment
from scheduling.services.reference_deployments import ensure_reference_deployments
from scheduling.services.routing import make_policy


def call(app, body: bytes, *, path="/api/v1/route", token=None, content_type=b"application/json"):
    headers = [(b"host", b"testserver"), (b"content-type", content_type),
               (b"content-length", str(len(body)).encode())]
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 40000), "server": ("testserver", 80)}
    sent, messages = [], [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Future()  # the client stays connected (Django listens for a disconnect)

    async def send(message):
        sent.append(message)

    # A loop of its own in a thread of its own: a browser test earlier in the session may have left
    # an event loop running in this one (Playwright's sync API), where async_to_sync refuses to run.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result(timeout=60)
    start = sent[0]
    content = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content


@pytest.fixture
def served(routed, transactional_db, plain_user, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    deps = ensure_reference_deployments()
    row = make_policy(routed["train"], [spec_for_deployment(d) for d in deps], params={"zeta": 0.5}, deployments=deps)
    yield row, Token.objects.create(user=plain_user).key
    _close_lean_threads()


def _close_lean_threads():
    """The server's route threads keep their database connections (tests run with persistent
    connections, the server does not): close each thread's, or the test database cannot be dropped."""
    pool = asgi._lean_pool
    if pool is None:
        return
    barrier = threading.Barrier(asgi.CONCURRENCY)

    def close():
        barrier.wait(timeout=30)  # every task holds a thread of its own until all have one
        connections.close_all()

    for f in [pool.submit(close) for _ in range(asgi.CONCURRENCY)]:
        f.result(timeout=60)


def test_the_lean_server_path_answers_as_djangos_asgi_handler(served):
    row, key = served
    body = json.dumps({"policy": row.pk, "input_tokens": 500}).encode()
    lean = call(asgi.application, body, token=key)
    plain = call(asgi.django_application, body, token=key)
    assert lean[0] == plain[0] == 200, (lean, plain)
    same = ("content-type", "x-content-type-options", "referrer-policy", "x-frame-options", "vary", "allow")
    for name in same:
        assert lean[1].get(name) == plain[1].get(name), name
    assert "content-security-policy" in lean[1]
    a, b = json.loads(lean[2]), json.loads(plain[2])
    assert a.keys() == b.keys() and a["policy"] == row.pk
    assert call(asgi.application, body, path="/api/v1/route/", token=key)[0] == 200


def test_the_lean_server_path_refuses_as_django_does(served):
    row, key = served
    assert call(asgi.application, json.dumps({"policy": row.pk, "input_tokens": 5}).encode())[0] == 401
    status, _, content = call(asgi.application, json.dumps({"policy": row.pk, "input_tokens": "x"}).encode(),
                              token=key)
    assert status == 400 and "input_tokens" in json.loads(content)
    status, _, _ = call(asgi.application, b"{not json", token=key)
    assert status == 400
