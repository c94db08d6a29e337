"""Small real plans for the lifecycle tests (published Swing models, a seeded workload)."""

from __future__ import annotations

import numpy as np

from scheduling.models import Deployment
from scheduling.services import jobs
from scheduling.services.workloads import import_workload


def small_plan(reference, n=200, zetas=(0.5,), seed=0, tmp_dir=None):
    """A pending planning job over the three Llama-2 with the published fits.

    Output lengths of 64 tokens and more keep every published model positive on
    these inputs, so no clamping is involved.
    """
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(seed)
    tin, tout = rng.integers(8, 512, n), rng.integers(64, 512, n)
    folder = Path(tmp_dir or tempfile.mkdtemp(prefix="ew-jobs-"))
    path = folder / f"w{seed}.csv"
    path.write_text("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in zip(tin, tout, strict=True)))
    workload = import_workload(path, f"lifecycle {seed} {n}")
    hw, llms = reference
    deps = [Deployment.objects.get_or_create(llm=llm, hardware=hw, energy_fit_choice="published",
                                             runtime_fit_choice="published")[0] for llm in llms.values()]
    params = {"zetas": list(zetas), "zeta": list(zetas)[0]}
    return jobs.create_job(workload, deps, "paper-energy-accuracy", params)
