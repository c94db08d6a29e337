"""Feedback from executed queries stored in the database (ExecutedQuery rows, as an execution writes them).

The rows are written here directly, standing in for an execution on a GPU host (none here):
what is under test is how the service reads them, folds them into the policy and re-solves.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.utils import timezone

from profiling.fitting import terms
from profiling.models import LLM, Hardware
from scheduling.models import (
    ExecutedBatch,
    ExecutedQuery,
    Execution,
    ExecutionJob,
    RoutingPolicy,
    ScheduleJob,
)
from scheduling.models.deployment_specs import specs_from_entries
from scheduling.routing.buckets import bucket_of
from scheduling.services import routing
from tests.scheduling.conftest import SWING


def _stand_in_execution(workload, key: str, tin, tout, measured) -> Execution:
    llm_name = key.split(" @ ")[0]
    job = ScheduleJob.objects.create(workload=workload, status="succeeded")
    ex = Execution.objects.create(schedule_job=job, plan_index=0, batch_size=len(tin))
    child = ExecutionJob.objects.create(execution=ex, deployment_index=0, deployment_key=key,
                                        llm=LLM.objects.get(name=llm_name), hardware=Hardware.objects.get(name=SWING),
                                        queries_total=len(tin), status="succeeded")
    batch = ExecutedBatch.objects.create(
        execution=ex, job=child, deployment_index=0, batch_index=0, queries=len(tin),
        input_tokens=int(sum(tin)), output_tokens=int(sum(tout)), predicted_energy_j=0.0, predicted_runtime_s=0.0,
        energy_j=float(sum(measured)), runtime_s=1.0, window_s=1.0, measured_at=timezone.now())
    ExecutedQuery.objects.bulk_create([
        ExecutedQuery(execution=ex, batch=batch, query_index=i, deployment_index=0, input_tokens=int(a),
                      output_tokens=int(b), predicted_energy_j=0.0, predicted_runtime_s=0.0, energy_j=float(m),
                      runtime_s=0.1)
        for i, (a, b, m) in enumerate(zip(tin, tout, measured, strict=True))])
    return ex


def test_executed_queries_correct_a_deployment_and_bump_the_version(routed):
    specs = specs_from_entries(json.loads(routed["deployments"].read_text()))
    row = routing.make_policy(routed["train"], specs, params={"zeta": 0.5})
    key = row.policy["keys"][0]
    spec = next(s for s in specs if s.key == key)
    rng = np.random.default_rng(2)
    tin, tout = rng.integers(100, 1500, 300), rng.integers(20, 300, 300)
    modelled = terms.predict(spec.energy_coefs, tin.astype(float), tout.astype(float))
    ex = _stand_in_execution(routed["train"], key, tin, tout, 1.3 * modelled)  # it really costs 30% more

    result = routing.apply_feedback(row)
    assert result["readings"] == 300 and result["executions"] == [ex.pk] and result["version"] == 2
    assert key not in result["under_observed"] and len(result["under_observed"]) == 2
    row = RoutingPolicy.objects.get(pk=row.pk)
    factors = np.asarray(row.policy["corrections"])
    seen = np.unique(bucket_of(tin, row.policy["edges"]))
    assert np.all(factors[seen, 0] > 1.0) and np.all(factors[seen, 0] < 1.3)
    assert np.all(factors[:, 1:] == 1.0)  # no readings on the others: their models stand
    # Routing sees the new version at once (the per-process router is rebuilt).
    answer = routing.route(row.pk, [(500, None)])[0]
    assert answer["deployment"] in row.policy["keys"]
    # Folding in again adds nothing: each execution is read once.
    again = routing.apply_feedback(row)
    assert again["readings"] == 0 and RoutingPolicy.objects.get(pk=row.pk).version == 2


def test_feedback_needs_the_training_workload(routed):
    specs = specs_from_entries(json.loads(routed["deployments"].read_text()))
    row = routing.make_policy(routed["train"], specs, params={"zeta": 0.5})
    routed["train"].delete()
    row.refresh_from_db()
    with pytest.raises(routing.RoutingError) as err:
        routing.apply_feedback(row)
    assert err.value.field == "training_workload"
    # The policy still routes: it does not need its training data for that.
    assert routing.route(row.pk, [(10, 5)])[0]["deployment"] in row.policy["keys"]
