"""POST /api/v1/route under locust users (run by bench_routing.py --load, which prepares the database).

1. In-process CPU per request (Django's WSGI handler called directly, no server, no network):
   the lean path, the DRF path, the DRF path with its token lookup query, and the lean path
   without middleware, so each layer's cost shows.
2. Starts the server the README ships (energyweb/webserver.py: gunicorn's asyncio ASGI
   worker, ENERGYWEB_WEB_WORKERS, default 2; ``--server sync`` for the old sync workers) on
   127.0.0.1, then drives it with locust users that each wait 0.5-1.5 s between requests (as
   bench_load.py), one level of users at a time, for a bounded duration. Each request routes
   one query from the Azure trace's input lengths. Prints req/s, p50/p99 and the server's CPU
   per request (its processes' user+sys over the level / requests), the honest figure on a
   box shared with other work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("info")
    ap.add_argument("--users", default="1,10,50")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--server", choices=("asgi", "sync"), default="asgi")
    ap.add_argument("--in-process", type=int, default=2000, help="requests per in-process variant (0: skip)")
    ap.add_argument("--in-process-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--nice", type=int, default=0,
                    help="run the server at this niceness (negative: ahead of other work on a shared box)")
    args = ap.parse_args()
    info = json.loads(Path(args.info).read_text())
    if args.in_process_only:
        in_process(info, args.in_process)
        return
    if args.in_process:
        # Its own process: Django set up before locust's gevent patching would run on patched sockets.
        subprocess.run([sys.executable, __file__, args.info, "--in-process", str(args.in_process),
                        "--in-process-only"], check=True)
    import gevent
    import psutil
    from bench_load import free_port
    from locust import HttpUser, between, task
    from locust.env import Environment

    sys.path.insert(0, str(ROOT))
    from energyweb.webserver import gunicorn_argv

    port = free_port()
    workers = os.environ.get("ENERGYWEB_WEB_WORKERS", "2")
    if args.server == "asgi":
        argv = gunicorn_argv("127.0.0.1", port, workers=int(workers))
    else:
        argv = [sys.executable, "-m", "gunicorn", "energyweb.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", workers, "--timeout", "120"]
    if args.nice:
        argv = ["nice", "-n", str(args.nice), *argv]
    web = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Token {info['token']}"}
    tins = [374, 396, 879, 91, 91, 381, 1288, 1020, 2148, 1000, 13, 511]
    rows = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=2)
                break
            except OSError:
                time.sleep(0.3)

        class Route(HttpUser):
            wait_time = between(0.5, 1.5)

            @task
            def route(self):
                self.i = getattr(self, "i", 0) + 1
                self.client.post("/api/v1/route", json={"policy": info["policy"], "input_tokens": tins[self.i % 12]},
                                 headers=headers, name="POST route")

        for users in (int(u) for u in args.users.split(",")):
            env = Environment(user_classes=[Route], host=base)
            runner = env.create_local_runner()
            runner.start(users, spawn_rate=users)
            gevent.sleep(min(3.0, args.duration / 4))
            env.stats.reset_all()
            seen = server_cpu(psutil, web.pid)
            first = dict(seen)
            end = time.monotonic() + args.duration
            while time.monotonic() < end:  # sampled: a recycled worker (--max-requests) takes its CPU with it
                gevent.sleep(min(0.5, max(end - time.monotonic(), 0)))
                seen.update(server_cpu(psutil, web.pid))
            cpu = sum(v - first.get(pid, v) for pid, v in seen.items())
            started = len(set(seen) - set(first))
            runner.quit()
            total = env.stats.total
            rows.append((users, total.num_requests / args.duration, total.get_response_time_percentile(0.5),
                         total.get_response_time_percentile(0.99), total.num_failures,
                         1000 * cpu / max(total.num_requests, 1), started))
    finally:
        web.terminate()
        web.wait(20)
    load = os.getloadavg()[0]
    nice = f", server at nice {args.nice}" if args.nice else ""
    print(f"\n## 4. POST /api/v1/route ({args.server} gunicorn, {workers} workers{nice}, {os.cpu_count()} cores shared "
          f"with other work, load average {load:.1f} at the end, {args.duration:.0f} s per level, "
          "users wait 0.5-1.5 s)\n")
    print("server CPU: user+sys of the master and workers over the level, sampled every 0.5 s, per request;\n"
          "a worker started during the level (recycled by --max-requests) counts from its first sample, so\n"
          "most of its start-up is left out: 'restarts' says how many\n")
    print(f"{'users':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fails':>5} {'server CPU ms/req':>17} "
          f"{'restarts':>8}")
    for users, rps, p50, p99, fails, cpu, started in rows:
        print(f"{users:5d} {rps:7.1f} {p50:7.0f} {p99:7.0f} {fails:5d} {cpu:17.2f} {started:8d}")


def server_cpu(psutil, pid: int) -> dict[int, float]:
    """user+sys seconds so far of each of the server's processes (master and workers), by pid."""
    out = {}
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for proc in procs:
        try:
            t = proc.cpu_times()
            out[proc.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


def in_process(info: dict, n: int) -> None:
    """CPU per request inside Django (no server, no socket): which layer costs what."""
    import io

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    from energyweb.api import token_cache
    from scheduling.api.routing import RouteView

    body = json.dumps({"policy": info["policy"], "input_tokens": 500}).encode()

    def environ(path="/api/v1/route"):
        return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
                "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
                "HTTP_AUTHORIZATION": f"Token {info['token']}", "wsgi.input": io.BytesIO(body),
                "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1"}

    def measure(handler, path="/api/v1/route") -> tuple[float, float]:
        def start(status, headers):
            assert status.startswith("200"), status

        for _ in range(20):  # warm: token cache, router, predictions
            b"".join(handler(environ(path), start))
        c, t = time.process_time(), time.perf_counter()
        for _ in range(n):
            b"".join(handler(environ(path), start))
        return 1000 * (time.process_time() - c) / n, 1000 * (time.perf_counter() - t) / n

    lifted = override_settings(ROUTE_RATE="1000000000/min")  # the rate is measured, never reached
    lifted.enable()
    rows = [("lean path (token cached, policy held)", measure(WSGIHandler()))]
    lean = RouteView._fast
    RouteView._fast = lambda self, request: None  # every request through DRF
    try:
        rows.append(("DRF path, token cached", measure(WSGIHandler())))
        with override_settings(API_TOKEN_CACHE_S=0):
            token_cache.clear()
            rows.append(("DRF path, token looked up (one query)", measure(WSGIHandler())))
    finally:
        RouteView._fast = lean
    rows.append(("lean path, canonical path (ends in /)", measure(WSGIHandler(), "/api/v1/route/")))
    with override_settings(MIDDLEWARE=[]):  # no ApiOptionalSlashMiddleware either: the canonical path
        rows.append(("lean path, no middleware", measure(WSGIHandler(), "/api/v1/route/")))
    lifted.disable()
    print(f"\n## 4a. POST /api/v1/route in-process, {n:,} requests per row (load average "
          f"{os.getloadavg()[0]:.1f})\n")
    print(f"{'variant':42} {'CPU ms/req':>10} {'wall ms/req':>11}")
    for name, (cpu, wall) in rows:
        print(f"{name:42} {cpu:10.3f} {wall:11.3f}")


if __name__ == "__main__":
    main()
