"""Execute a finished plan: serve its queries on each deployment's hardware and meter them.

``create_execution`` validates and saves an Execution with one ExecutionJob per deployment
(see scheduling/models/executions.py for why a child job per deployment) and wakes each on its
hardware's queue. ``run_body`` is the worker side, shared by the Celery task and the
``execute_plan`` command: it loads the meter and the backend once per attempt, then serves
the deployment's queries batch by batch. A batch is its queries run one after another with
exact token counts (as in profiling) inside one meter window; each query gets its runtime
and its share of the window's energy in proportion to its runtime (power is taken as
constant across a batch). Each batch is stored with its queries and their Measurements in
one transaction together with the fenced progress update, so a batch exists once or not at
all, and a resumed job starts at its first missing batch.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from energyweb.jobs import service as job_service
from energyweb.jobs.choices import JobStatus
from energyweb.validation import FieldError, whole_field
from profiling.choices import InferenceBackend
from profiling.fitting import terms

log = logging.getLogger(__name__)

MAX_BATCH_SIZE = 1024


class ExecutionError(FieldError):
    """Bad execution input or a plan that cannot be executed; ``field`` names the input."""


def default_drift_pct() -> float:
    return float(settings.EXECUTION_DRIFT_PCT)


def _whole(value, field: str, lo: int, hi: int, default: int | None = None) -> int:
    return whole_field(value, field, lo, hi, default=default, error=ExecutionError)


def _threshold(value) -> float:
    if value in (None, ""):
        return default_drift_pct()
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ExecutionError("drift_threshold_pct must be a number.", "drift_threshold_pct") from exc
    if not math.isfinite(number) or not 0 < number <= 1000:
        raise ExecutionError("drift_threshold_pct must be a percentage above 0 and at most 1000.",
                             "drift_threshold_pct")
    return number


def plan_deployments(job) -> list:
    """The Deployment row behind each of the plan's deployment specs, in the plan's order."""
    by_key = {d.key: d for d in job.deployments.select_related("llm", "hardware")}
    rows = []
    for spec in job.deployment_specs:
        dep = by_key.get(spec["key"])
        if dep is None:
            raise ExecutionError(f"The plan's deployment {spec['key']!r} is no longer stored (it was planned "
                                 "from a file or deleted), so no worker can serve it.", "deployments")
        rows.append(dep)
    return rows


def create_execution(job, batch_size=None, *, plan_index=None, backend: str = InferenceBackend.HF,
                     drift_threshold_pct=None, user=None, foreground: bool = False):
    """Validate and save an execution of ``job``'s plan; queue one job per deployment after commit.

    Refused (ExecutionError naming the field): a plan that has not succeeded, bad numbers, and,
    unless run in the foreground on this host, a deployment whose hardware has no online worker.
    """
    from scheduling.models import Execution, ExecutionJob
    from scheduling.services.jobs import load_assignment

    if job.status != JobStatus.SUCCEEDED or not job.assignment_file:
        raise ExecutionError(f"Plan #{job.pk} has not succeeded (it is {job.status}); only a finished plan "
                             "can be executed.", "schedule_job")
    batch_size = _whole(batch_size, "batch_size", 1, MAX_BATCH_SIZE, default=8)
    n_plans = len(job.results.get("plans") or [])
    primary = job.results.get("primary_index", 0)
    plan_index = _whole(plan_index, "plan_index", 0, max(n_plans - 1, 0), default=primary)
    if backend not in InferenceBackend.values:
        raise ExecutionError(f"Unknown backend {backend!r}: one of {', '.join(InferenceBackend.values)}.",
                             "backend")
    threshold = _threshold(drift_threshold_pct)
    deployments = plan_deployments(job)
    assignment = load_assignment(job, plan_index)
    counts = np.bincount(assignment, minlength=len(deployments))
    used = [(i, d) for i, d in enumerate(deployments) if counts[i]]
    for _, dep in used:
        hw = dep.hardware
        if hw.is_reference:
            raise ExecutionError(f"{dep.key}: {hw} is a reference system from the literature; no worker runs "
                                 "there, so its queries cannot be executed.", "deployments")
        if backend == InferenceBackend.VLLM and not hw.gpu_count:
            raise ExecutionError(f"{dep.key}: vLLM needs a CUDA GPU and {hw} has none.", "backend")
        missing = hw.backend_unavailable(backend)
        if missing:
            raise ExecutionError(f"{dep.key}: {hw}'s worker cannot run this backend: {missing}.", "backend")
        if not foreground and not hw.is_online:
            raise ExecutionError(
                f"{dep.key}: no worker consumes queue {hw.queue_name} (no heartbeat from {hw} in the last "
                f"{settings.HOST_OFFLINE_AFTER_S} s). Start a worker on that host (make run), or run "
                f"`python manage.py execute_plan {job.pk}` there.", "deployments")
    with transaction.atomic():
        execution = Execution.objects.create(
            schedule_job=job, plan_index=plan_index, batch_size=batch_size, backend=backend,
            drift_threshold_pct=threshold, foreground=foreground, queries_planned=int(counts.sum()),
            created_by=user if (user is not None and getattr(user, "is_authenticated", False)) else None)
        for i, dep in used:
            child = ExecutionJob.objects.create(
                execution=execution, deployment_index=i, deployment_key=dep.key, llm=dep.llm,
                hardware=dep.hardware, queries_total=int(counts[i]),
                steps_total=math.ceil(int(counts[i]) / batch_size))
            if not foreground:
                job_service.submit(child)
    return execution


def cancel(execution) -> bool:
    """Cancel every unfinished part; a running one stops before its next batch."""
    return sum(job_service.cancel(j) for j in execution.jobs.filter(status__in=JobStatus.active())) > 0


def request_refit(execution) -> list[tuple[int, int]]:
    """Refit each executed (LLM, hardware) pair on the default queue, now with the executed queries."""
    from profiling.models import Measurement
    from profiling.services.refits import request_refit

    pairs = []
    for llm_id, hardware_id in execution.jobs.values_list("llm_id", "hardware_id").distinct():
        rows = Measurement.objects.filter(executed_link__batch__execution=execution, llm_id=llm_id,
                                          hardware_id=hardware_id)
        if not rows.exists():
            continue
        # Estimated energy is fitted only when that is all the pair has, and the fit then says so.
        estimated = not Measurement.objects.filter(llm_id=llm_id, hardware_id=hardware_id,
                                                   is_estimated=False).exists()
        request_refit(llm_id, hardware_id, include_estimated=estimated, reason=f"execution #{execution.pk}")
        pairs.append((llm_id, hardware_id))
    type(execution).objects.filter(pk=execution.pk).update(refit_requested=timezone.now())
    return pairs


# --- the worker side ---------------------------------------------------------------


def predicted(spec: dict, tin, tout) -> tuple[np.ndarray, np.ndarray]:
    """Per-query energy and runtime from the plan's snapshot of the models, clamped at 0 as the planner does."""
    e = np.maximum(terms.predict(spec["energy_coefs"], tin, tout), 0.0)
    r = np.maximum(terms.predict(spec["runtime_coefs"], tin, tout), 0.0)
    return e, r


def batches(child) -> list[np.ndarray]:
    """The child's query indices in workload order, cut into batches (the same on every attempt)."""
    from scheduling.services.jobs import load_assignment

    execution = child.execution
    assignment = load_assignment(execution.schedule_job, execution.plan_index)
    idx = np.flatnonzero(assignment == child.deployment_index)
    size = execution.batch_size
    return [idx[i:i + size] for i in range(0, idx.shape[0], size)]


def _meter_for(hardware):
    from profiling.services.profiling_runs import meter_for

    return meter_for(hardware)


def idle_baseline(meter):
    from profiling.services.profiling_runs import idle_baseline

    return idle_baseline(meter)


def _llm_spec(llm, backend_options: dict | None = None):
    from profiling.backends import spec_for_llm

    return spec_for_llm(llm, options=dict(backend_options or {}))


def serve_batch(backend, meter, tin: np.ndarray, tout: np.ndarray, *, idle=None, repeats: int = 1):
    """Run the batch's queries, one after another, in the one metering window profiling runs use
    (profiling/meters/window.py: their KV lengths warmed up, device synced, repeated until the meter
    resolves the window, idle power recorded). Returns (WindowResult, mean runtime per query per pass)."""
    from profiling.meters.window import MeteringWindow, Shape

    n = tin.shape[0]

    def one_pass() -> np.ndarray:
        runtimes = np.zeros(n)
        for k in range(n):
            t0 = time.perf_counter()
            backend.generate(int(tin[k]), int(tout[k]), 1)
            runtimes[k] = time.perf_counter() - t0
        return runtimes

    shapes = [Shape(int(a), int(b), 1) for a, b in zip(tin, tout, strict=True)]
    result = MeteringWindow(meter, idle=idle, backend=backend).measure(one_pass, shapes, repeats)
    return result, np.mean(result.outputs, axis=0)


def _rows(child, handle, b: int, idx, tin, tout, pe, pr, window, runtimes, meter_name):
    """The batch, its queries and their Measurements; each query's share of the pass's energy is in
    proportion to its runtime (power taken as constant across the batch)."""
    from profiling.meters.window import measurement_fields
    from profiling.models import Measurement
    from scheduling.models import ExecutedBatch, ExecutedQuery

    reading = window.reading  # per pass
    runtime = float(runtimes.sum())
    share = runtimes / runtime if runtime > 0 else np.full(runtimes.shape[0], 1.0 / runtimes.shape[0])
    now = datetime.now(UTC)
    batch = ExecutedBatch(
        execution_id=child.execution_id, job=child, deployment_index=child.deployment_index, batch_index=b,
        queries=int(idx.shape[0]), input_tokens=int(tin.sum()), output_tokens=int(tout.sum()),
        predicted_energy_j=float(pe.sum()), predicted_runtime_s=float(pr.sum()), energy_j=reading.total_j,
        runtime_s=runtime, window_s=window.window_s, repeats=window.repeats,
        energy_by_component={k: float(v) for k, v in reading.energy_j.items()}, sources=dict(reading.sources),
        is_estimated=reading.is_estimated, attempt=handle.attempt, measured_at=now,
        meter={"name": meter_name, **window.record()})
    queries, measurements = [], []
    for k in range(idx.shape[0]):
        fields = measurement_fields(
            reading.scaled(float(share[k])), runtime_s=float(runtimes[k]), input_tokens=int(tin[k]),
            output_tokens=int(tout[k]), idle=window.idle_power_w,
            meter={"execution": child.execution_id, "query_index": int(idx[k]), "share_of_batch": float(share[k]),
                   "repeats": window.repeats, "window_s": window.window_s, "warmup": window.warmup})
        queries.append(ExecutedQuery(
            execution_id=child.execution_id, batch=batch, query_index=int(idx[k]),
            deployment_index=child.deployment_index, input_tokens=int(tin[k]), output_tokens=int(tout[k]),
            predicted_energy_j=float(pe[k]), predicted_runtime_s=float(pr[k]),
            energy_j=fields["total_energy_j"], runtime_s=float(runtimes[k])))
        measurements.append(Measurement(llm_id=child.llm_id, hardware_id=child.hardware_id,
                                        measured_at=now, iteration=k, **fields))
    return batch, queries, measurements


def run_body(child, handle: job_service.JobHandle) -> None:
    """Serve (or resume) one deployment's batches under ``handle``; each batch stored once, fenced."""
    from profiling.backends import load_backend
    from scheduling.models import ExecutedBatch, ExecutedMeasurement, ExecutedQuery

    wall0 = time.perf_counter()
    execution = child.execution
    job = execution.schedule_job
    spec = job.deployment_specs[child.deployment_index]
    arrays = job.workload.load_arrays()
    plan = batches(child)
    done = set(ExecutedBatch.objects.filter(execution=execution, deployment_index=child.deployment_index)
               .values_list("batch_index", flat=True))
    handle.progress(len(done), len(plan))
    todo = [b for b in range(len(plan)) if b not in done]
    meter, reasons = _meter_for(child.hardware)
    t0 = time.perf_counter()
    backend = load_backend(execution.backend, _llm_spec(child.llm))
    load_s = time.perf_counter() - t0
    timing = {"load_s": load_s, "idle_s": 0.0, "warmup_s": 0.0, "inference_s": 0.0, "window_s": 0.0,
              "store_s": 0.0}
    meter_name = getattr(meter, "name", type(meter).__name__)
    try:
        idle = None
        if todo:
            # The same baseline as a profiling run, so predictions and readings mean the same thing.
            t0 = time.perf_counter()
            idle = idle_baseline(meter)
            timing["idle_s"] = time.perf_counter() - t0
            # One unstored query first, so the first stored batch does not carry the time since load
            # (the KV-length warm-up of each batch is the window's).
            first = plan[todo[0]][0]
            t0 = time.perf_counter()
            backend.generate(int(arrays.tin[first]), int(arrays.tout[first]), 1)
            timing["warmup_s"] = time.perf_counter() - t0
        for b in todo:
            handle.check()  # a cancel is seen before the next batch starts
            idx = plan[b]
            tin, tout = arrays.tin[idx], arrays.tout[idx]
            pe, pr = predicted(spec, tin, tout)
            window, runtimes = serve_batch(backend, meter, tin, tout, idle=idle)
            timing["inference_s"] += float(runtimes.sum()) * window.repeats
            timing["window_s"] += window.window_s
            timing["warmup_s"] += window.warmup.get("seconds", 0.0)
            t0 = time.perf_counter()
            batch, queries, measurements = _rows(child, handle, b, idx, tin, tout, pe, pr, window, runtimes,
                                                 meter_name)
            try:
                with transaction.atomic():
                    # Fenced: raises, and stores nothing, if the job was cancelled or taken over.
                    handle.progress(len(done) + 1)
                    batch.save()
                    ExecutedQuery.objects.bulk_create(queries)
                    type(measurements[0]).objects.bulk_create(measurements)
                    ExecutedMeasurement.objects.bulk_create(
                        ExecutedMeasurement(batch=batch, iteration=k, measurement=m) for k, m in enumerate(measurements))
            except IntegrityError:
                # Already stored: cannot happen while claims are fenced; never stored twice.
                log.warning("batch %s of execution %s deployment %s exists; skipping", b, execution.pk,
                            child.deployment_index)
            done.add(b)
            timing["store_s"] += time.perf_counter() - t0
            job_service.fault_delay()
        timing["wall_s"] = time.perf_counter() - wall0
        summary = dict(child.summary or {})
        summary.update(meter=meter_name, meter_unavailable=reasons,
                       idle_power_w=idle.power_w if idle is not None else None, attempts={
            **summary.get("attempts", {}), str(handle.attempt): {k: round(v, 4) for k, v in timing.items()}},
            backend={k: str(v) for k, v in (backend.info or {}).items()})
        handle.finish(summary=summary, steps_done=len(done), steps_total=len(plan))
    finally:
        backend.close()
