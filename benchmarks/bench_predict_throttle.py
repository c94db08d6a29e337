"""What the predict API's bounds cost and save: the pair cap and the per-user rate.

    .venv/bin/python benchmarks/bench_predict_throttle.py [--calls 300]

In-process (Django's test client, a throwaway SQLite database unless DATABASE_URL is set) on
the published Llama-2 (7B) fits on Swing AMD+A100. Prints two tables:

1. one call at the cap (100,000 pairs) against the 1M pairs the issue sent, and one call over
   the cap (refused before any evaluation);
2. one user sending ``--calls`` 10-pair predictions back to back under the default rate
   (ENERGYWEB_PREDICT_RATE, 120/min): how many were answered, how many refused with 429,
   the Retry-After given, and the time of an answered and of a refused call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    import os

    os.environ.setdefault("ALLOWED_HOSTS", "testserver")  # the test client's host name
    vendor = _django.setup()

    import logging

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.test import APIClient

    logging.getLogger("django.request").setLevel(logging.ERROR)  # one WARNING per refused call otherwise
    call_command("seed_reference", verbosity=0, stdout=open("/dev/null", "w"))
    user = get_user_model().objects.create_user("bench-predict", password="bench-pass-123")
    client = APIClient()
    client.force_authenticate(user)

    def post(n_pairs: int):
        body = {"llm": "Llama-2 (7B)", "hardware": "Swing AMD+A100",
                "pairs": {"tin": [512] * n_pairs, "tout": [128] * n_pairs}}
        raw = json.dumps(body)
        t0 = time.perf_counter()
        r = client.generic("POST", "/api/v1/predict/", raw, content_type="application/json")
        return r, time.perf_counter() - t0, len(raw)

    print(f"\nPredict bounds ({vendor}, in-process, {settings.PREDICT_MAX_PAIRS:,} pairs per call at most, "
          f"rate {settings.PREDICT_RATE} per user)\n")
    print(f"{'call':38} {'status':>6} {'seconds':>8} {'request MB':>10} {'response MB':>11}")
    settings.PREDICT_RATE = "1000000/min"  # table 1 measures the work, not the rate
    for label, n in (("100,000 pairs (the cap)", 100_000), ("100,001 pairs (over the cap)", 100_001),
                     ("1,000,000 pairs (the issue's call)", 1_000_000)):
        r, seconds, size = post(n)
        print(f"{label:38} {r.status_code:>6} {seconds:8.3f} {size / 1e6:10.1f} {len(r.content) / 1e6:11.1f}")

    from django.core.cache import caches

    caches["throttle"].clear()
    settings.PREDICT_RATE = "120/min"
    ok, refused, retry = [], [], set()
    started = time.perf_counter()
    for _ in range(args.calls):
        r, seconds, _ = post(10)
        if r.status_code == 200:
            ok.append(seconds)
        elif r.status_code == 429:
            refused.append(seconds)
            retry.add(int(r["Retry-After"]))
    elapsed = time.perf_counter() - started
    print(f"\n{args.calls} back-to-back 10-pair calls by one user in {elapsed:.1f} s")
    print(f"{'answered (200)':>15} {'refused (429)':>14} {'Retry-After s':>14} {'200 median ms':>14} "
          f"{'429 median ms':>14}")
    med = lambda xs: f"{1000 * statistics.median(xs):.1f}" if xs else "-"  # noqa: E731
    retry_text = f"{min(retry)}-{max(retry)}" if retry else "-"
    print(f"{len(ok):>15} {len(refused):>14} {retry_text:>14} {med(ok):>14} {med(refused):>14}")


if __name__ == "__main__":
    main()
