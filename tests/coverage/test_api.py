"""POST /api/v1/profiling-runs/ with cover_workload: a coverage run, or a field-keyed 400."""

from __future__ import annotations

import pytest

from profiling.models import ProfilingRun
from tests.coverage.conftest import make_workload

URL = "/api/v1/profiling-runs/"


def _post(api, tiny, host, **body):
    return api.post(URL, {"llm": tiny.slug, "hardware": host.slug, **body}, format="json")


def test_cover_workload_queues_a_coverage_run_and_the_summary_says_before(staff_api, measured_pair, workload):
    tiny, host = measured_pair
    r = _post(staff_api, tiny, host, cover_workload=workload.pk, budget_trials=60)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["design"] == "coverage" and body["queue"] == "hw.test-host" and body["status"] == "pending"
    s = staff_api.get(f"{URL}{body['id']}/summary/").json()
    assert s["workload"] == workload.name and s["extrapolated_share_before"] > 0.5
    assert s["projected_share"] <= 0.05 and s["extrapolated_share_after"] is None
    assert len(s["cells"]) == body["cells_total"] and s["trials_planned"] == 3 * len(s["cells"]) + 1


@pytest.mark.parametrize("body, field", [
    ({"cover_workload": 999999}, "cover_workload"),
    ({"cover_workload": "many"}, "cover_workload"),
    ({"design": "coverage"}, "cover_workload"),
    ({"cover_workload": 1, "target_share": 1.5}, "target_share"),
    ({"cover_workload": 1, "budget_trials": 2}, "budget_trials"),
])
def test_bad_coverage_requests_are_field_keyed_400s(staff_api, measured_pair, workload, body, field):
    tiny, host = measured_pair
    body = {k: (workload.pk if k == "cover_workload" and v == 1 else v) for k, v in body.items()}
    r = _post(staff_api, tiny, host, **body)
    assert r.status_code == 400, r.content
    assert field in r.json(), r.json()
    assert not ProfilingRun.objects.exists()


def test_llm_without_context_and_covered_workload_are_400s(staff_api, measured_pair, media):
    from scheduling.services.generator import generate_workload

    tiny, host = measured_pair
    inside = generate_workload("inside", 300, "uniform:low=8,high=64", "uniform:low=8,high=64")
    r = _post(staff_api, tiny, host, cover_workload=inside.pk)
    assert r.status_code == 400 and "nothing to measure" in r.json()["cover_workload"][0]
    tiny.architecture_config = {"hidden_size": 64}
    tiny.save()
    r = _post(staff_api, tiny, host, cover_workload=make_workload("w2", n=50).pk)
    assert r.status_code == 400 and "context length" in r.json()["llm"][0]
    assert not ProfilingRun.objects.exists()


def test_reference_hardware_and_non_staff_are_refused(staff_api, user_api, tiny, workload):
    from profiling.models import Hardware

    ref = Hardware.objects.create(name="Paper box", slug="paper-box", is_reference=True)
    r = _post(staff_api, tiny, ref, cover_workload=workload.pk)
    assert r.status_code == 400 and "hardware" in r.json()
    assert _post(user_api, tiny, ref, cover_workload=workload.pk).status_code == 403
