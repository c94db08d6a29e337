"""Request latency of the inventory pages and API on a seeded catalogue.

Runs in-process through Django's test client on a throwaway SQLite database
(or DATABASE_URL when set, which must name a database it may write to), so it
measures the application's own work: queries, serialisation, templates.

    .venv/bin/python benchmarks/foundation_pages.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=200, help="extra registered hosts in the inventory")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="energyweb-bench-")
    if not os.environ.get("ENERGYWEB_VAR_DIR"):
        os.environ["ENERGYWEB_VAR_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from profiling.models import Hardware
    from profiling.services import catalogue

    setup_test_environment()
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    catalogue.seed()
    seed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    catalogue.seed()
    reseed_s = time.perf_counter() - t0
    Hardware.objects.bulk_create(
        [Hardware(name=f"bench-host-{i:04d}", slug=f"bench-host-{i:04d}", hostname=f"h{i}",
                  cpu_model="x86", cpu_cores=64, rapl_domains=["package-0"]) for i in range(args.hosts)],
        ignore_conflicts=True)
    user = get_user_model().objects.create_user("bench", password="bench-pass-123", is_staff=True)
    client = Client()
    client.force_login(user)

    urls = ["/", "/hardware/", "/hardware/swing-amd-a100/", "/llms/", "/llms/llama-2-7b/",
            "/api/v1/hardware/?limit=50", "/api/v1/llms/", "/api/v1/fits/?hardware=swing-amd-a100",
            "/api/v1/schema/"]
    print(f"seed_reference: first {seed_s * 1000:.0f} ms, again {reseed_s * 1000:.0f} ms; "
          f"{Hardware.objects.count()} hardware rows; {args.repeat} requests per URL")
    print(f"{'URL':45} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'KiB':>6}")
    for url in urls:
        times, size, status = [], 0, 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            status, size = response.status_code, len(response.content)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{url:45} {status:>6} {statistics.median(times):>10.1f} {p95:>8.1f} {size / 1024:>6.1f}")


if __name__ == "__main__":
    main()
