"""A plan's total energy is a 95% interval on its page, in its API results and in a CSV, and
the plan repeats, by deployment, every flag its models carry (#15).

The models are fitted on a measured grid (tests.fitting.conftest.add_grid), so each
carries its measured cells and its distance inflation; the workload reaches four times
past the largest measured input, so part of it is extrapolated and its band is wider.
"""

import csv
import io

import numpy as np
import pytest

from profiling.models import LLM, Hardware
from profiling.services import fitting
from scheduling.models import Deployment
from scheduling.services import jobs
from scheduling.services.workloads import import_workload
from scheduling.tasks import run_schedule_job
from tests.fitting.conftest import add_grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    hw = Hardware.objects.create(name="Interval box", gpu_model="A100", gpu_count=1)
    deps = []
    # B's energy comes from TDP estimates: a flag its fit carries, which the plan must repeat.
    for name, acc, estimated in (("Interval LLM A (7B)", 50.0, False), ("Interval LLM B (7B)", 60.0, True)):
        llm = LLM.objects.create(name=name, parameters_b=7, accuracy=acc, weights=f"t/{name}")
        add_grid(llm, hw, seed=len(deps), estimated=estimated)
        fitting.fit_pair(llm, hw, "energy", include_estimated=estimated)
        fitting.fit_pair(llm, hw, "runtime")
        deps.append(Deployment.objects.create(llm=llm, hardware=hw))
    rng = np.random.default_rng(3)
    tin, tout = rng.integers(8, 8192, 200), rng.integers(8, 2048, 200)
    body = "input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in zip(tin, tout, strict=True))
    wl = import_workload(body.encode(), "interval wl")
    job = jobs.create_job(wl, deps, "paper-energy-accuracy", {"zeta": 0.5})
    assert run_schedule_job(job.pk) == "done"
    job.refresh_from_db()
    return job


def test_api_page_and_csv_show_the_total_energy_interval(job, client, staff_user, user_client):
    primary = job.results["plans"][job.results["primary_index"]]
    low, total, high = primary["total_energy_low_j"], primary["total_energy_j"], primary["total_energy_high_j"]
    assert 0 < low < total < high
    per = primary["per_deployment"]
    assert sum(d["energy_low_j"] for d in per.values()) == pytest.approx(low)
    assert sum(d["extrapolated_queries"] for d in per.values()) > 0

    api = user_client.get(f"/api/v1/schedule-jobs/{job.pk}/results/").json()
    assert api["summary"]["total_energy_low_j"] == pytest.approx(low)
    assert api["summary"]["total_energy_high_j"] == pytest.approx(high)

    client.force_login(staff_user)
    page = client.get(f"/plans/{job.pk}/").content.decode()
    assert 'id="energy-interval"' in page and "95% interval" in page
    # The flag of B's fit, by deployment, on the page and in the API; A carries none.
    assert any(w.startswith("Interval LLM B (7B) @ Interval box: ") and "Uses estimated energy" in w
               for w in api["summary"]["warnings"]), api["summary"]["warnings"]
    assert not any(w.startswith("Interval LLM A (7B) @ Interval box: ") and "model:" in w
                   for w in api["summary"]["warnings"])
    assert "Uses estimated energy" in page and "Interval LLM B (7B) @ Interval box" in page

    r = client.get(f"/plans/{job.pk}/energy.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert rows[-1]["deployment"] == "total" and rows[-1]["energy"] == "estimated"
    assert {r["deployment"]: r["energy"] for r in rows[:-1]} == {
        "Interval LLM A (7B) @ Interval box": "measured", "Interval LLM B (7B) @ Interval box": "estimated"}
    assert float(rows[-1]["energy_low_j"]) == pytest.approx(low, rel=1e-5)
    assert float(rows[-1]["energy_high_j"]) == pytest.approx(high, rel=1e-5)
    assert int(rows[-1]["queries"]) == 200
