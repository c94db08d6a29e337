"""The web server `make run` (runstack), the benchmarks and the slow-client test start.

Why gunicorn's asyncio ASGI worker and not its sync workers: a sync worker is held by one
connection from accept to response, so two clients trickling a header line every 5 s held
both workers and /health/ answered nothing for two minutes. In the ASGI worker a
connection still sending its headers is a socket and a parser on the event loop; no
worker or thread is committed until the request is complete (Django's ASGI handler then
runs the sync view in a thread of its own per request, asgiref's ThreadSensitiveContext).
So it needs no buffering proxy in front for the embedded default; docker/compose.yaml
puts nginx in front anyway, as a deployment on the internet should have.

Timeouts: gunicorn bounds each wait for body data by ``--timeout`` and an idle keep-alive
connection by ``--keep-alive``, but the headers of a connection's *first* request have no
deadline; ``HeaderTimeoutProtocol`` adds one (``ENERGYWEB_WEB_HEADER_TIMEOUT_S``), so a
trickler is cut off instead of keeping its socket for ever.
"""

from __future__ import annotations

import sys

from energyweb.env import env_bool, env_int

WORKER_CLASS = "energyweb.webserver.ASGIWorker"


def header_timeout_s() -> int:
    return env_int("ENERGYWEB_WEB_HEADER_TIMEOUT_S", 15, minimum=1)


def gunicorn_argv(host: str, port: int, *, workers: int | None = None) -> list[str]:
    workers = workers or env_int("ENERGYWEB_WEB_WORKERS", 2, minimum=1)
    # --timeout: no request of this app should take two minutes (long work runs as jobs); it is
    # also the longest wait for the next chunk of a request body. --max-requests (+ jitter, so
    # workers do not all restart at once): a worker that grew on a large import or download
    # hands its memory back by being recycled. --worker-connections bounds the sockets one
    # worker holds open (each costs a file descriptor and a few KB, never a thread).
    return [sys.executable, "-m", "gunicorn", "energyweb.asgi:application", "--bind", f"{host}:{port}",
            "--worker-class", WORKER_CLASS, "--workers", str(workers),
            "--worker-connections", str(env_int("ENERGYWEB_WEB_MAX_CONNECTIONS", 1000, minimum=10)),
            "--timeout", str(env_int("ENERGYWEB_WEB_TIMEOUT_S", 120, minimum=10)),
            "--keep-alive", "5", "--graceful-timeout", "10",
            "--max-requests", str(env_int("ENERGYWEB_WEB_MAX_REQUESTS", 1000, minimum=0)),
            "--max-requests-jitter", "100",
            # An access line per request costs ~0.4 ms of CPU in this worker (measured on
            # POST /api/v1/route, whose own work is ~0.4 ms): on by default, as operators
            # expect; a deployment behind nginx (which logs too) may turn it off.
            *(["--access-logfile", "-"] if env_bool("ENERGYWEB_WEB_ACCESS_LOG", True) else []),
            # The control socket is one per user ($HOME/.gunicorn): a second server (tests,
            # benchmarks) would take it over; nothing here uses gunicornc.
            "--no-control-socket"]


# --- the gunicorn worker (imported only inside gunicorn) -----------------------------------

try:
    from gunicorn.asgi import protocol as _protocol
    from gunicorn.workers import gasgi as _gasgi
except ImportError:  # pragma: no cover - gunicorn is in requirements.txt
    _protocol = _gasgi = None

if _gasgi is not None:

    class HeaderTimeoutProtocol(_protocol.ASGIProtocol):
        """gunicorn's HTTP/1 protocol with a deadline for the first request's headers."""

        _header_deadline = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self._header_deadline = self.worker.loop.call_later(header_timeout_s(), self._header_timeout)

        def _on_headers_complete(self):
            self._cancel_header_deadline()
            return super()._on_headers_complete()

        def connection_lost(self, exc):
            self._cancel_header_deadline()
            super().connection_lost(exc)

        def _cancel_header_deadline(self):
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _header_timeout(self):
            self._header_deadline = None
            if self._current_request is None and not self._closed:
                self.log.info("closing a connection whose request headers took over %s s",
                              header_timeout_s())
                # The same path as gunicorn's keep-alive timeout: close, then wake the
                # connection task so it sees the connection closed and ends.
                self._keepalive_timeout()

    class ASGIWorker(_gasgi.ASGIWorker):
        def init_process(self):
            # gunicorn's worker builds its protocol by the module-level name ASGIProtocol and
            # offers no setting for another class; this runs in the worker process only.
            _gasgi.ASGIProtocol = HeaderTimeoutProtocol
            super().init_process()


if __name__ == "__main__":
    # `python -m energyweb.webserver HOST PORT`: the container's web command, the same server as make run.
    import os

    host, port = (sys.argv[1:3] + ["0.0.0.0", "8000"][len(sys.argv[1:3]):])[:2]
    argv = gunicorn_argv(host, int(port))
    os.execv(argv[0], argv)
