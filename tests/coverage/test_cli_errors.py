"""``profile --cover-workload``: bad input is a CommandError naming the field, and nothing is queued."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from profiling.models import ProfilingRun


@pytest.mark.parametrize("args, field", [
    (["--cover-workload", "no-such-workload"], "cover_workload"),
    (["--design", "coverage"], "cover_workload"),
    (["--cover-workload", "cover-256-96", "--target-share", "1.2"], "target_share"),
    (["--cover-workload", "cover-256-96", "--budget-trials", "3"], "budget_trials"),
])
def test_bad_coverage_arguments(measured_pair, workload, args, field):
    tiny, host = measured_pair
    with pytest.raises(CommandError, match=field):
        call_command("profile", "--llm", tiny.slug, "--hardware", host.slug, *args)
    assert not ProfilingRun.objects.exists()


def test_nothing_to_measure_says_so(measured_pair, media):
    from scheduling.services.generator import generate_workload

    tiny, host = measured_pair
    generate_workload("inside", 100, "uniform:low=8,high=64", "uniform:low=8,high=64")
    with pytest.raises(CommandError, match="nothing to measure"):
        call_command("profile", "--llm", tiny.slug, "--hardware", host.slug, "--cover-workload", "inside")
