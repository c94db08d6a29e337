"""Fixtures for profiling runs: this host as a registered (non-reference) hardware, the tiny LLMs."""

from __future__ import annotations

import pytest


@pytest.fixture
def host(db):
    from profiling.models import Hardware

    return Hardware.objects.create(name="Test host", slug="test-host", hostname="test-host", cpu_cores=2,
                                   cpu_model="test CPU")


@pytest.fixture
def tiny(db):
    from profiling.models import LLM
    from profiling.services.tiny_llms import seed_tiny_llms

    seed_tiny_llms()
    return LLM.objects.get(name="tiny-random-llama")


SMALL = {"input_tokens": [4, 8], "output_tokens": [2, 4], "min_trials": 2, "max_trials": 2, "warmup_trials": 1}
