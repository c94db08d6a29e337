"""Fixtures for executions: this host with the two tiny LLMs fitted on it and a finished plan over both."""

from __future__ import annotations

import pytest

from tests.executions import helpers


@pytest.fixture
def host(db):
    return helpers.this_host()


@pytest.fixture
def tiny_deployments(host, torch):
    """Profiled here on the hf backend (torch): every test over them is marked slow by the fixture."""
    return helpers.tiny_deployments(host)


@pytest.fixture
def plan(tiny_deployments):
    return helpers.finished_plan(tiny_deployments)
