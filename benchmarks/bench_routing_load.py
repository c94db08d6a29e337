"""POST /api/v1/route under locust users (run by bench_routing.py --load, which prepares the database).

Starts gunicorn on 127.0.0.1 as `make run` does (ENERGYWEB_WEB_WORKERS, default 2), then drives
it with locust users that each wait 0.5-1.5 s between requests (as bench_load.py), one level of
users at a time, for a bounded duration. Each request routes one query from the Azure trace's
input lengths. Prints p50/p99 per level.
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
    args = ap.parse_args()
    info = json.loads(Path(args.info).read_text())
    import gevent
    from bench_load import free_port
    from locust import HttpUser, between, task
    from locust.env import Environment

    port = free_port()
    workers = os.environ.get("ENERGYWEB_WEB_WORKERS", "2")
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "energyweb.wsgi", "--bind", f"127.0.0.1:{port}",
                            "--workers", workers, "--timeout", "120"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
            gevent.sleep(args.duration)
            runner.quit()
            total = env.stats.total
            rows.append((users, total.num_requests / args.duration, total.get_response_time_percentile(0.5),
                         total.get_response_time_percentile(0.99), total.num_failures))
    finally:
        web.terminate()
        web.wait(20)
    print(f"\n## 4. POST /api/v1/route (gunicorn {workers} workers, {os.cpu_count()} cores shared with other work, "
          f"{args.duration:.0f} s per level, users wait 0.5-1.5 s)\n")
    print(f"{'users':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fails':>5}")
    for users, rps, p50, p99, fails in rows:
        print(f"{users:5d} {rps:7.1f} {p50:7.0f} {p99:7.0f} {fails:5d}")


if __name__ == "__main__":
    main()
