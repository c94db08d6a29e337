"""The execute endpoint, the execution API and pages: refusals, permissions, field-keyed errors.

No worker is needed here: a refused execution never reaches one, and the report of an execution
run in this process is read back through the API and the pages.
"""

from __future__ import annotations

import pytest

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from scheduling.models import Execution, ExecutionJob
from scheduling.services import execution as ex

pytestmark = pytest.mark.django_db


def test_an_offline_hardware_queue_is_refused_naming_it(plan, host, staff_api):
    type(host).objects.filter(pk=host.pk).update(last_heartbeat=None)
    r = staff_api.post(f"/api/v1/schedule-jobs/{plan.pk}/execute/", {"batch_size": 4}, format="json")
    assert r.status_code == 400
    assert "hw.test-host" in r.json()["deployments"][0] and "no worker" in r.json()["deployments"][0]
    assert not Execution.objects.exists()


BAD = [({"batch_size": 0}, "batch_size"), ({"batch_size": "many"}, "batch_size"), ({"plan_index": 9}, "plan_index"),
       ({"drift_threshold_pct": -5}, "drift_threshold_pct"), ({"backend": "tgi"}, "backend")]


def test_bad_input_is_a_field_keyed_400(plan, staff_api):
    # One test for all cases: the fitted plan behind them takes seconds to build.
    for body, field in BAD:
        r = staff_api.post(f"/api/v1/schedule-jobs/{plan.pk}/execute/", body, format="json")
        assert r.status_code == 400 and field in r.json(), (body, r.content)
    assert not Execution.objects.exists()


def test_only_staff_execute_and_an_unknown_plan_is_404(plan, user_api, staff_api):
    assert user_api.post(f"/api/v1/schedule-jobs/{plan.pk}/execute/", {}, format="json").status_code == 403
    assert staff_api.post("/api/v1/schedule-jobs/999999/execute/", {}, format="json").status_code == 404


def test_a_queued_execution_has_a_part_per_deployment_on_its_hosts_queue(plan, staff_api, user_api):
    r = staff_api.post(f"/api/v1/schedule-jobs/{plan.pk}/execute/", {"batch_size": 4}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "pending" and [j["queue"] for j in body["jobs"]] == ["hw.test-host"] * 2
    assert sum(j["queries_total"] for j in body["jobs"]) == body["queries_planned"] == 24
    # Another signed-in user may read it but not cancel it.
    assert user_api.get(f"/api/v1/executions/{body['id']}/").status_code == 200
    assert user_api.post(f"/api/v1/executions/{body['id']}/cancel/").status_code == 403
    r = staff_api.post(f"/api/v1/executions/{body['id']}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert staff_api.post(f"/api/v1/executions/{body['id']}/cancel/").status_code == 400


def test_the_report_page_and_downloads_of_a_finished_execution(plan, client, staff_user):
    execution = ex.create_execution(plan, batch_size=6, foreground=True, drift_threshold_pct=0.01)
    for child in execution.jobs.all():
        assert job_service.run_claimed(ExecutionJob, child.pk, ex.run_body) == "done"
    client.force_login(staff_user)
    page = client.get(f"/executions/{execution.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'class="badge estimated"' in html
    # A threshold of 0.01 % flags every deployment whose error is not exactly zero.
    assert html.count("badge error drift") == 2
    assert "execution-report" in html and "scatter-chart" in html
    rep = client.get(f"/executions/{execution.pk}/report.json").json()
    assert rep["status"] == JobStatus.SUCCEEDED and len(rep["drifted"]) == 2
    csv_text = client.get(f"/executions/{execution.pk}/report.csv").content.decode().splitlines()
    assert csv_text[0].startswith("deployment,status,") and len(csv_text) == 4
    r = client.post(f"/executions/{execution.pk}/threshold/", {"drift_threshold_pct": "1000"})
    assert r.status_code == 302 and client.get(f"/executions/{execution.pk}/report.json").json()["drifted"] == []
    r = client.post(f"/executions/{execution.pk}/threshold/", {"drift_threshold_pct": "-1"})
    assert r.status_code == 302 and Execution.objects.get(pk=execution.pk).drift_threshold_pct == 1000
    plan_page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="execute-button"' in plan_page and f"/executions/{execution.pk}/" in plan_page


def test_refit_from_the_report_includes_the_executed_queries(plan, staff_api):
    from profiling.models import EnergyModelFit
    from profiling.tasks import refit_pair

    execution = ex.create_execution(plan, batch_size=6, foreground=True)
    for child in execution.jobs.all():
        job_service.run_claimed(ExecutionJob, child.pk, ex.run_body)
    r = staff_api.post(f"/api/v1/executions/{execution.pk}/refit/")
    assert r.status_code == 202 and len(r.json()["refit_pairs"]) == 2
    # The refit task (sent to the default queue) run here: its fit now counts the executed queries.
    child = execution.jobs.first()
    before = EnergyModelFit.objects.get(llm=child.llm, hardware=child.hardware, target="energy", is_selected=True)
    refit_pair(child.llm_id, child.hardware_id, include_estimated=True)
    after = EnergyModelFit.objects.get(llm=child.llm, hardware=child.hardware, target="energy", is_selected=True)
    assert after.n == before.n + child.queries_total and after.uses_estimated_energy
