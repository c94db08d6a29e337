"""Executions in this process: the real tiny models on the CPU, the real (estimate) meter of this VM.

The worker tests (test_worker.py) run the same body through Celery; these check the service's
rules and records without a broker.
"""

from __future__ import annotations

import pytest

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from profiling.models import Measurement
from scheduling.models import ExecutedBatch, ExecutedQuery, ExecutionJob
from scheduling.services import execution as ex
from scheduling.services import execution_report
from scheduling.services.jobs import load_assignment

pytestmark = pytest.mark.django_db


def _run_all(execution):
    for child in execution.jobs.order_by("deployment_index"):
        assert job_service.run_claimed(ExecutionJob, child.pk, ex.run_body) == "done"


def test_a_plan_over_two_tiny_deployments_executes_each_query_once(plan):
    execution = ex.create_execution(plan, batch_size=5, foreground=True)
    assignment = load_assignment(plan)
    assert execution.jobs.count() == 2 and execution.queries_planned == assignment.shape[0]
    _run_all(execution)
    assert execution.status == JobStatus.SUCCEEDED
    rows = ExecutedQuery.objects.filter(execution=execution)
    # Every planned query exactly once, on the deployment the plan gave it.
    assert sorted(rows.values_list("query_index", flat=True)) == list(range(assignment.shape[0]))
    assert all(assignment[q] == d for q, d in rows.values_list("query_index", "deployment_index"))
    for child in execution.jobs.all():
        n = child.queries_total
        assert child.steps_done == child.steps_total == -(-n // 5)
    # Per-query energy is a share of its batch: the shares add up to the batch's reading.
    for batch in ExecutedBatch.objects.filter(execution=execution):
        assert batch.sources == {"cpu": "estimate-tdp"} and batch.is_estimated and batch.energy_j > 0
        assert sum(batch.executed_queries.values_list("energy_j", flat=True)) == pytest.approx(batch.energy_j)
    # Executed queries become measurements marked as coming from the execution, labelled estimated.
    ms = Measurement.objects.filter(executed_link__batch__execution=execution)
    assert ms.count() == rows.count() and all(m.is_estimated and m.cpu_energy_source == "estimate-tdp" for m in ms)
    rep = execution_report.report(execution)
    assert rep["queries_done"] == rep["queries_planned"] == assignment.shape[0]
    assert rep["predicted_energy_j"] > 0 and rep["measured_energy_j"] > 0
    assert rep["energy_error_pct"] == pytest.approx(
        100 * (rep["predicted_energy_j"] - rep["measured_energy_j"]) / rep["measured_energy_j"])
    assert rep["energy_sources"] == ["estimate-tdp"] and rep["estimated"] is True
    assert set(rep["per_deployment"]) == {d["key"] for d in plan.deployment_specs}
    assert len(rep["batches"]) == ExecutedBatch.objects.filter(execution=execution).count()
    # Every deployment of the plan was executed, so each baseline's saving can use measured rates.
    assert rep["savings"] and all(s["measured_saved_pct"] is not None for s in rep["savings"])


def test_a_resumed_part_serves_only_its_missing_batches(plan):
    execution = ex.create_execution(plan, batch_size=3, foreground=True)
    child = execution.jobs.order_by("-queries_total").first()
    _run_all(execution)
    keep = set(ExecutedBatch.objects.filter(job=child).values_list("pk", flat=True))
    # As if the worker had died after its first batch: drop the others and hand the part back.
    first = ExecutedBatch.objects.filter(job=child).order_by("batch_index").first()
    ExecutedBatch.objects.filter(job=child).exclude(pk=first.pk).delete()
    ExecutionJob.objects.filter(pk=child.pk).update(status=JobStatus.PENDING, steps_done=1)
    assert job_service.run_claimed(ExecutionJob, child.pk, ex.run_body) == "done"
    batches = ExecutedBatch.objects.filter(job=child)
    assert batches.count() == child.steps_total and first.pk in set(batches.values_list("pk", flat=True))
    assert len(keep) == child.steps_total
    assert set(batches.exclude(pk=first.pk).values_list("attempt", flat=True)) == {2}
    assert ExecutedQuery.objects.filter(execution=execution).count() == execution.queries_planned


BAD = [({"batch_size": 0}, "batch_size"), ({"batch_size": "x"}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
       ({"plan_index": 7}, "plan_index"), ({"drift_threshold_pct": -1}, "drift_threshold_pct"),
       ({"drift_threshold_pct": float("nan")}, "drift_threshold_pct"), ({"backend": "nope"}, "backend")]


def test_bad_input_is_refused_naming_the_field(plan):
    # One test for all cases: the fitted plan behind them takes seconds to build.
    for kwargs, field in BAD:
        with pytest.raises(ex.ExecutionError) as err:
            ex.create_execution(plan, **{"batch_size": 4, **kwargs})
        assert err.value.field == field, kwargs
    assert not plan.executions.exists()


def test_a_deployment_whose_hardware_has_no_worker_is_refused_naming_its_queue(plan, host):
    type(host).objects.filter(pk=host.pk).update(last_heartbeat=None)
    with pytest.raises(ex.ExecutionError) as err:
        ex.create_execution(plan, batch_size=4)
    assert err.value.field == "deployments" and "hw.test-host" in str(err.value)
    # The foreground command runs here, so it needs no worker.
    assert ex.create_execution(plan, batch_size=4, foreground=True).jobs.count() == 2


def test_execute_plan_command_prints_the_report_as_json(plan, capsys):
    import json

    from django.core.management import call_command

    call_command("execute_plan", str(plan.pk), "--batch-size", "6", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded" and out["queries_done"] == out["queries_planned"] == 24
    assert out["predicted_energy_j"] > 0 and out["measured_energy_j"] > 0
    assert out["energy_error_pct"] is not None and out["energy_sources"] == ["estimate-tdp"]
    assert len(out["per_deployment"]) == 2
    for d in out["per_deployment"].values():
        assert {"queries_planned", "queries_done", "predicted_energy_j", "measured_energy_j", "energy_error_pct",
                "energy_sources"} <= set(d) and d["queries_done"] == d["queries_planned"] > 0


def test_execute_plan_command_refuses_a_plan_that_has_not_finished(plan):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    type(plan).objects.filter(pk=plan.pk).update(status=JobStatus.RUNNING)
    with pytest.raises(CommandError, match="schedule_job"):
        call_command("execute_plan", str(plan.pk))


def test_a_deployment_whose_worker_lacks_the_backend_is_refused_with_the_reason(plan, host):
    type(host).objects.filter(pk=host.pk).update(backends={"hf": "hf: torch not installed", "vllm": "ok"})
    with pytest.raises(ex.ExecutionError) as err:
        ex.create_execution(plan, batch_size=4)
    assert err.value.field == "backend" and "torch not installed" in str(err.value)
    assert not plan.executions.exists()


def test_an_execution_records_the_window_warm_up_with_each_batch(plan):
    execution = ex.create_execution(plan, batch_size=4, foreground=True)
    _run_all(execution)
    batches = list(ExecutedBatch.objects.filter(execution=execution).order_by("deployment_index", "batch_index"))
    # Every KV length a stored query touches was walked, unmetered, before its window; a walk starts and
    # ends at lengths not walked before (one backend per part, so one record of what it has seen).
    for part in {b.deployment_index for b in batches}:
        covered: set[int] = set()
        mine = [b for b in batches if b.deployment_index == part]
        assert mine[0].meter["warmup"]["new_lengths"] > 0
        for b in mine:
            for lo, n, _ in b.meter["warmup"]["walks"]:
                assert lo not in covered and lo + n - 1 not in covered
                covered |= set(range(lo, lo + n))
            for q in ExecutedQuery.objects.filter(batch=b):
                assert set(range(q.input_tokens, q.input_tokens + q.output_tokens)) <= covered
    m = Measurement.objects.filter(executed_link__batch__execution=execution).first()
    assert m.meter["warmup"] is not None and m.is_estimated and m.cpu_energy_source == "estimate-tdp"
