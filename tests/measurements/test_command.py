"""manage.py import_measurements: summary, JSON, errors as CommandError."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiling.models import Measurement
from tests.measurements.conftest import own_csv


def run(*args):
    out = StringIO()
    call_command("import_measurements", *args, stdout=out)
    return out.getvalue()


def test_reference_file_summary(wilkins_dir, reference_catalogue):
    out = run(str(wilkins_dir / "swing-input-sweep.csv"))
    assert "Imported 442 measurement(s) from swing-input-sweep.csv as batch #" in out
    assert "skipped non-inference phases: 14" in out
    assert "warm-ups flagged (iteration 0): 63" in out
    assert "Mixtral (8x7B) @ Swing AMD+A100: 63 row(s)" in out
    assert Measurement.objects.count() == 442


def test_json_output(tmp_path, pair):
    path = tmp_path / "gpu.csv"
    path.write_bytes(own_csv("32,64,1.5,100,0", "32,64,1.4,98,1",
                             header="input_tokens,output_tokens,runtime_s,gpu_energy_j,iteration"))
    body = json.loads(run(str(path), "--llm", "Tiny LM (1B)", "--hardware", "Test Box", "--json"))
    assert body["rows"] == 2 and body["warmups"] == 1
    assert body["pairs"][0]["hardware"] == "Test Box"


def test_errors_exit_non_zero_with_row_and_column(tmp_path, pair):
    path = tmp_path / "bad.csv"
    path.write_bytes(own_csv("Tiny LM (1B),Test Box,32,abc,1,1.5,100,10,1"))
    with pytest.raises(CommandError) as info:
        run(str(path))
    assert "row 1 (line 2), column 'output_tokens': 'abc' is not a whole number" in str(info.value)
    assert Measurement.objects.count() == 0


def test_duplicate_exits_non_zero(tmp_path, pair):
    path = tmp_path / "ok.csv"
    path.write_bytes(own_csv("Tiny LM (1B),Test Box,32,64,1,1.5,100,10,1"))
    run(str(path))
    with pytest.raises(CommandError, match="already imported as batch #"):
        run(str(path))
    assert Measurement.objects.count() == 1


def test_missing_file(pair):
    with pytest.raises(CommandError, match="No such file"):
        run("/nonexistent/file.csv")


def test_create_missing_flag(tmp_path, db):
    path = tmp_path / "new.csv"
    path.write_bytes(own_csv("Brand New (3B),Rack 9,32,64,1,1.5,100,10,1"))
    with pytest.raises(CommandError, match="Unknown LLM name"):
        run(str(path))
    out = run(str(path), "--create-missing")
    assert "created LLMs: Brand New (3B)" in out and "created hardware: Rack 9" in out
