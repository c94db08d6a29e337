"""Stored workloads and reference deployments for the routing tests (real database, real files)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.scheduling.conftest import SWING, make_reference


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fresh_routers():
    from scheduling.services import routing

    routing.clear_cache()
    yield
    routing.clear_cache()


def store(name: str, tin, tout, tmp_path):
    from scheduling.services.workloads import import_workload

    path = tmp_path / f"{name}.csv"
    path.write_text("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in zip(tin, tout, strict=True)))
    return import_workload(path, name)


@pytest.fixture
def routed(db, tmp_path):
    """Three Llama-2 deployments (valid stand-ins for Table 5.2), a training and a replay workload."""
    make_reference()
    rng = np.random.default_rng(0)
    tin = rng.integers(8, 2000, 400)
    tout = np.maximum((tin * rng.uniform(0.05, 0.5, 400)).astype(int), 1)
    train = store("train", tin[:200], tout[:200], tmp_path)
    live = store("live", tin[200:], tout[200:], tmp_path)
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps([{"llm": n, "hardware": SWING}
                                for n in ("Llama-2 (7B)", "Llama-2 (13B)", "Llama-2 (70B)")]))
    return {"train": train, "live": live, "deployments": path}
