"""Published deployments and the Azure trace, shared by the scheduling benchmarks and tests.

The coefficients are the published figures of Wilkins, Mortier & Keshav
(2024, arXiv 2407.04014): Table 5.2 (OLS on Swing AMD+A100, energy in J,
runtime in s, model a0*tin + a1*tout + a2*tin*tout) and Table 4.1 (accuracy,
Open LLM Leaderboard average in %, and the minimum number of A100s).

Note: every published a0 is negative, so for long prompts with short answers
the predicted energy goes below zero; the planner refuses such models unless
``allow_clamping`` (then it clamps those at zero and says so in its warnings). Mistral (7B)'s b2 is printed as 8.10e-02 in the
paper (almost certainly a typo for ~8e-05); we keep the published figure, so
its runtimes, not its energies, are inflated.
"""

from __future__ import annotations

import csv
import os
import platform
from pathlib import Path

import numpy as np

from scheduling.planner.types import DeploymentSpec

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("ENERGYWEB_REFERENCE", ROOT.parent / "shared" / "reference"))
AZURE_CONV = REFERENCE / "azure-llm-2023" / "AzureLLMInferenceTrace_conv.csv"

SYSTEM = "Swing AMD+A100"

# name: (accuracy %, min A100s, a0, a1, a2, b0, b1, b2)
PUBLISHED = {
    "Falcon (7B)": (44.17, 1, -8.81, 41.28, 8.91e-02, -2.45e-02, 1.07e-01, 2.42e-04),
    "Falcon (40B)": (58.07, 3, -20.76, 197.37, 2.35e-01, -3.61e-02, 3.62e-01, 4.02e-04),
    "Llama-2 (7B)": (50.97, 1, -3.89, 31.52, 4.27e-02, -1.00e-02, 8.35e-02, 1.07e-04),
    "Llama-2 (13B)": (55.69, 1, -6.79, 56.01, 7.29e-02, -1.74e-02, 1.43e-01, 1.85e-04),
    "Llama-2 (70B)": (64.52, 4, -12.03, 414.82, 3.15e-01, -3.12e-02, 7.03e-01, 5.33e-04),
    "Mistral (7B)": (60.97, 1, -3.12, 31.69, 3.53e-02, -7.80e-03, 8.10e-02, 8.10e-02),
    "Mixtral (8x7B)": (68.47, 3, -8.48, 105.54, 9.86e-02, -1.34e-02, 2.96e-01, 1.50e-04),
}

CASE_STUDY = ("Llama-2 (7B)", "Llama-2 (13B)", "Llama-2 (70B)")


def published_deployment(name: str, **kw) -> DeploymentSpec:
    acc, gpus, a0, a1, a2, b0, b1, b2 = PUBLISHED[name]
    return DeploymentSpec(
        key=f"{name} @ {SYSTEM}",
        accuracy=acc,
        energy_coefs={"tin": a0, "tout": a1, "tin_tout": a2},
        runtime_coefs={"tin": b0, "tout": b1, "tin_tout": b2},
        gpus=gpus,
        **kw,
    )


def published_deployments(names=None, **kw) -> list[DeploymentSpec]:
    return [published_deployment(n, **kw) for n in (names or PUBLISHED)]


def load_azure(path: Path = AZURE_CONV) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    tin = np.array([int(r["ContextTokens"]) for r in rows], dtype=np.int64)
    tout = np.array([int(r["GeneratedTokens"]) for r in rows], dtype=np.int64)
    return tin, tout


def resample(tin, tout, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    idx = np.random.default_rng(seed).integers(0, len(tin), size=n)
    return tin[idx], tout[idx]


def azure_workload(n: int, seed: int = 0):
    """n queries resampled from the Azure conversation trace, or None when it is absent."""
    if not AZURE_CONV.exists():
        return None
    tin, tout = load_azure()
    return resample(tin, tout, n, seed)


def machine() -> str:
    return f"{os.cpu_count()}-core {platform.machine()} ({platform.python_implementation()} {platform.python_version()})"


def print_table(headers, rows) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in cells:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
