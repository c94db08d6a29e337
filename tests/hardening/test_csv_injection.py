"""Every CSV download escapes formula-like text cells and leaves numbers alone (OWASP)."""

from __future__ import annotations

import csv
import io

import pytest

from energyweb.csvsafe import csv_field, safe_cell
from profiling.choices import EnergySource
from profiling.models import LLM, Measurement
from scheduling.models import Deployment
from scheduling.services import jobs
from scheduling.services.workloads import import_workload
from scheduling.tasks import run_schedule_job

ATTACK = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize("text", [ATTACK, "+SUM(A1)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tHYPER", "\rX",
                                  "=1+2", "-", "+"])
def test_formula_cells_are_prefixed(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-5", "-1.5e3", "+7", "42", -5, -3.25, 0, None, True, "llama", "a=b"])
def test_numbers_and_plain_text_are_untouched(value):
    assert safe_cell(value) == value


def test_csv_field_quotes_after_escaping():
    assert csv_field('=HYPERLINK("x")') == '"\'=HYPERLINK(""x"")"'
    assert csv_field("-12") == "-12"


def _rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


def test_measurement_download_escapes_names(staff_web, catalogue):
    hw, _ = catalogue
    evil = LLM.objects.create(name=ATTACK, parameters_b=1, weights="x/y")
    Measurement.objects.create(llm=evil, hardware=hw, input_tokens=5, output_tokens=7, runtime_s=1.5,
                               gpu_energy_j=2.0, gpu_energy_source=EnergySource.IMPORTED, total_energy_j=2.0)
    r = staff_web.get("/measurements/download.csv")
    assert r.status_code == 200
    header, row = _rows(r)
    cells = dict(zip(header, row, strict=True))
    assert cells["llm"] == "'" + ATTACK
    assert cells["input_tokens"] == "5" and cells["runtime_s"] == "1.5"


def test_assignment_download_escapes_query_ids(staff_web, catalogue, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    hw, llm = catalogue
    ids = [ATTACK, "-5", "+SUM(A1)", "@x", "plain"]
    data = "id,input_tokens,output_tokens\n" + "".join(f'"{i}",{10 + n},{5 + n}\n' for n, i in enumerate(ids))
    wl = import_workload(data.encode(), "evil ids")
    dep = Deployment.objects.create(llm=llm, hardware=hw)
    job = jobs.create_job(wl, [dep], "paper-energy-accuracy", {"zeta": 0.5})
    assert run_schedule_job(job.pk) == "done"
    r = staff_web.get(f"/plans/{job.pk}/assignment.csv")
    assert r.status_code == 200
    rows = _rows(r)
    assert rows[0] == ["query", "input_tokens", "output_tokens", "deployment"]
    assert [row[0] for row in rows[1:]] == ["'" + ATTACK, "-5", "'+SUM(A1)", "'@x", "plain"]
    assert [row[1] for row in rows[1:]] == ["10", "11", "12", "13", "14"]
