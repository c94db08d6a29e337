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
"""

from __future__ import annotations

import asyncio
import os
import tempfile

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
os.environ.setdefault("ENERGYWEB_DB_CONN_MAX_AGE", "0")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from energyweb.env import env_int  # noqa: E402

django_application = get_asgi_application()
CONCURRENCY = env_int("ENERGYWEB_WEB_CONCURRENCY", 8, minimum=1)
CHUNK = 1 << 20
_slots: asyncio.Semaphore | None = None


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
            await django_application(scope, _replay(body, receive), send)
    finally:
        body.close()


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
