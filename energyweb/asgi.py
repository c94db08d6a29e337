"""The ASGI application the web server runs (energyweb/webserver.py).

Two things sit around Django's handler, both because the server now keeps many connections
open per worker (slow clients cost a socket, not a worker):

- Each request's body is read in full (spooled to disk past FILE_UPLOAD_MAX_MEMORY_SIZE)
  *before* the request takes one of the worker's ENERGYWEB_WEB_CONCURRENCY slots, so a client
  sending its upload slowly holds a socket and a file, never a thread or a database
  connection (the buffering a proxy such as nginx would do).
- At most ENERGYWEB_WEB_CONCURRENCY requests per worker run in Django at once; the rest wait
  on the event loop. Django runs each request in a thread of its own, with a database
  connection of its own: unbounded, 50 busy users opened a connection each and PostgreSQL ran
  out of them. Persistent connections are off for the same reason (Django's advice for ASGI).

One path, ``POST /api/v1/route`` (LEAN_PATHS), is handed to Django's *WSGI* handler on a
persistent pool of CONCURRENCY threads instead of the ASGI handler: same settings, same
middleware, same view, same response, but Django's ASGI handler starts a new thread for every
request (asgiref's ThreadSensitiveContext) and hops between the loop and threads several
times, ~2 ms of CPU per request, twenty times the route's own cost. The route answers a small
JSON body, never a stream, so nothing is lost by answering it whole.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
os.environ.setdefault("ENERGYWEB_DB_CONN_MAX_AGE", "0")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from energyweb.env import env_int  # noqa: E402

django_application = get_asgi_application()
CONCURRENCY = env_int("ENERGYWEB_WEB_CONCURRENCY", 8, minimum=1)
CHUNK = 1 << 20
LEAN_PATHS = frozenset({"/api/v1/route", "/api/v1/route/"})
_slots: asyncio.Semaphore | None = None
_lean_pool: ThreadPoolExecutor | None = None
_wsgi_handler = None


async def application(scope, receive, send):
    global _slots
    if scope["type"] != "http":
        return await django_application(scope, receive, send)
    body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its whole request
            body.write(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body.seek(0)
        if _slots is None:  # created inside the worker's running loop
            _slots = asyncio.Semaphore(CONCURRENCY)
        async with _slots:
            if scope["path"] in LEAN_PATHS and scope["method"] == "POST":
                await _lean(scope, body, send)
            else:
                await django_application(scope, _replay(body, receive), send)
    finally:
        body.close()


async def _lean(scope, body, send) -> None:
    """Django's WSGI handler on a persistent thread (module doc); the answer is sent whole."""
    global _lean_pool, _wsgi_handler
    if _lean_pool is None:
        from django.core.handlers.wsgi import WSGIHandler

        _wsgi_handler = WSGIHandler()
        _lean_pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="energyweb-lean")
    environ = _environ(scope, body)
    status, headers, content = await asyncio.get_running_loop().run_in_executor(_lean_pool, _run_wsgi, environ)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _run_wsgi(environ):
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    response = _wsgi_handler(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()  # request_finished: closes the database connection, as a WSGI server would
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in started["headers"]]
    return int(started["status"].split(" ", 1)[0]), headers, content


def _environ(scope, body) -> dict:
    client = scope.get("client") or ("", 0)
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"], "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": scope["path"], "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1] or 80),
        "REMOTE_ADDR": client[0], "REMOTE_PORT": str(client[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"), "wsgi.input": body,
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").upper().replace("-", "_")
        value = value.decode("latin-1")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _replay(body, receive):
    """A receive() that hands Django the buffered body, then the client's own messages (a disconnect)."""
    size = body.seek(0, os.SEEK_END)
    body.seek(0)
    done = False

    async def replayed():
        nonlocal done
        if done:
            return await receive()
        chunk = body.read(CHUNK)
        done = body.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return replayed
