"""POST /api/v1/predict with 100,000 (tin, tout) pairs in one call.

Target (issue 3): under 1 s on this machine. Times the whole request through
Django's test client (JSON parse, validation, both targets with 95%
intervals, JSON rendering) and, separately, the numpy evaluation alone.

    .venv/bin/python benchmarks/bench_predict.py [--pairs 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import _django
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    vendor = _django.setup()

    from django.contrib.auth import get_user_model
    from django.test import Client

    from profiling.choices import EnergySource
    from profiling.models import LLM, Hardware, Measurement
    from profiling.services import fitting

    llm = LLM.objects.create(name="Bench LLM", parameters_b=7, weights="bench/llm")
    hw = Hardware.objects.create(name="Bench box", gpu_model="A100", gpu_count=1)
    rng = np.random.default_rng(0)
    grid = 2 ** np.arange(3, 12)
    ms = []
    for a in grid:
        for b in grid:
            for _ in range(3):
                e = (150 + 0.4 * a + 30 * b + 0.04 * a * b) * rng.lognormal(0, 0.05)
                ms.append(Measurement(llm=llm, hardware=hw, input_tokens=a, output_tokens=b, runtime_s=e / 300,
                                      gpu_energy_j=e, total_energy_j=e, gpu_energy_source=EnergySource.NVML_COUNTER))
    Measurement.objects.bulk_create(ms)
    for target in ("energy", "runtime"):
        fitting.fit_pair(llm, hw, target)
    user = get_user_model().objects.create_user("bench", password="bench-pass-123")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    pairs = np.column_stack([rng.integers(1, 4096, args.pairs), rng.integers(1, 4096, args.pairs)]).tolist()
    body = json.dumps({"llm": llm.name, "hardware": hw.name, "pairs": pairs})
    # One small request first: URL resolution, DRF and numpy set-up are one-time costs.
    client.post("/api/v1/predict", json.dumps({"llm": llm.name, "hardware": hw.name, "pairs": [[8, 8]]}),
                content_type="application/json")
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        r = client.post("/api/v1/predict", body, content_type="application/json")
        payload = r.content
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.content[:500]
    out = json.loads(payload)
    assert len(out["energy_j"]) == args.pairs

    fit = fitting.choose_fit(llm, hw, "energy")
    tin, tout = np.array(pairs, dtype=float).T
    t = time.perf_counter()
    fitting.predict_with_fit(fit, tin, tout)
    t_np = time.perf_counter() - t

    print(f"# bench_predict on {platform.machine()}, {vendor}; energy fit: {fit.form}")
    print(f"{'step':52s} {'pairs':>8s} {'seconds':>8s}")
    print(f"{'POST /api/v1/predict, best of ' + str(args.repeat):52s} {args.pairs:8d} {min(times):8.3f}")
    print(f"{'POST /api/v1/predict, median':52s} {args.pairs:8d} {sorted(times)[len(times) // 2]:8.3f}")
    print(f"{'POST /api/v1/predict, worst':52s} {args.pairs:8d} {max(times):8.3f}")
    print(f"{'predict_with_fit (numpy, one target, with interval)':52s} {args.pairs:8d} {t_np:8.3f}")
    print(f"request body {len(body) / 1e6:.1f} MB, response {len(payload) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
