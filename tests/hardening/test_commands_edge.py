"""The management commands reach the same rules as the pages and the API: a clear CommandError."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from profiling.models import Measurement
from scheduling.models import Workload


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "seed"),
    (["--tin", "poisson:lam=1e300"], "lam"),
    (["--tin", "uniform:low=1,high=nan"], "high"),
])
def test_generate_workload_command(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_workload", "--name", "g", "-n", "10", *args)
    assert not Workload.objects.exists()


def test_import_measurements_command_refuses_implausible_values(catalogue, tmp_path):
    hw, llm = catalogue
    path = tmp_path / "m.csv"
    path.write_text("llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j\n"
                    f"{llm.name},{hw.name},5,5,1e300,1e300\n")
    with pytest.raises(CommandError, match="implausibly large"):
        call_command("import_measurements", str(path))
    assert not Measurement.objects.exists()
