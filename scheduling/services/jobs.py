"""Planning jobs: validate parameters, run the planner and the baselines, keep the results.

``execute`` is the one code path behind the Celery task (``run_job``) and the
``schedule`` management command: it takes token arrays and DeploymentSpecs and
returns JSON-ready results plus the per-query assignments. The solver itself is
scheduling/planner/solver.py; this module only orchestrates it.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction

from energyweb.jobs import service as job_service
from energyweb.validation import INT64_MAX, FieldError, boolean_field, number_field, whole_field
from scheduling.models.deployment_specs import spec_for_deployment, spec_from_json, spec_to_json
from scheduling.planner import forked, objective_registry
from scheduling.planner import solver as solver_service
from scheduling.planner.assignment_file import open_rows, read_row, write_class_rows
from scheduling.planner.baselines import baselines_for_problem
from scheduling.planner.npzstream import NpzArray, write_rows
from scheduling.planner.objectives import build_problem, unit_costs
from scheduling.planner.types import ClassPlan, DeploymentSpec, PlanningError
from scheduling.services.workloads import log_bins

log = logging.getLogger(__name__)

MAX_DEADLINE_S = 1e9
DEFAULT_ZETAS = tuple(round(0.1 * i, 1) for i in range(11))
METRIC_KEYS = ("status", "objective", "zeta", "objective_value", "bound", "gap", "total_energy_j",
               "total_energy_low_j", "total_energy_high_j",
               "total_runtime_s", "mean_runtime_s", "accuracy", "counts", "solve_seconds", "method",
               "warnings", "energy_estimated")


class JobParameterError(FieldError):
    """Bad input; ``field`` names it."""


def _number(params: dict, key: str, *, positive=True, minimum=None, maximum=None):
    value = params.get(key)
    if value in (None, ""):
        return None
    # Parsed by energyweb.validation: JSON true is no number (float(True) made it 1.0).
    value = number_field(value, key, 0.0 if positive else -math.inf, math.inf, error=JobParameterError)
    if positive and value <= 0:
        raise JobParameterError(f"{key} must be a number above zero.", key)
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise JobParameterError(f"{key} must be between {minimum or 0:g} and {maximum:g}.", key)
    return value


def normalise_parameters(objective: str, params: dict | None) -> dict:
    """Checked, complete parameters for a job; raises JobParameterError naming the field."""
    params = dict(params or {})
    try:
        kind = objective_registry.get(objective)
    except PlanningError:
        raise JobParameterError(f"Unknown objective {objective!r}: one of {', '.join(objective_registry.names())}.",
                                "objective") from None
    out: dict = {}
    # Strict parsing (energyweb/validation.py): "false" is false, and a zeta that is no number
    # is a 400 naming it, not a 500 from float().
    sweep = boolean_field(params.get("sweep"), "sweep", default=False, error=JobParameterError)
    primary = params.get("zeta")
    primary = None if primary in (None, "") else number_field(primary, "zeta", 0.0, 1.0, error=JobParameterError)
    zetas = params.get("zetas")
    if zetas in (None, "", []):
        zeta = 0.5 if primary is None else primary
        zetas = [zeta] if not sweep else [*DEFAULT_ZETAS, zeta]
    if isinstance(zetas, str):
        zetas = [z for z in zetas.replace(";", ",").split(",") if z.strip()]
    if not isinstance(zetas, (list, tuple)) or any(isinstance(z, bool) for z in zetas):
        raise JobParameterError("zetas must be a list of numbers between 0 and 1.", "zetas")
    try:
        zetas = sorted({round(float(z), 6) for z in zetas})
    except (TypeError, ValueError, OverflowError) as exc:
        raise JobParameterError("zeta values must be numbers between 0 and 1.", "zetas") from exc
    if not zetas or any(not 0.0 <= z <= 1.0 for z in zetas):
        raise JobParameterError("zeta values must be between 0 and 1.", "zetas")
    cap = settings.PLAN_MAX_ZETAS  # each zeta re-solves the workload: a cap keeps one plan's worker time bounded
    if len(zetas) > cap:
        raise JobParameterError(f"At most {cap} zeta values (ENERGYWEB_PLAN_MAX_ZETAS); this asks for {len(zetas)}.",
                                "zetas")
    if not kind.uses_zeta:
        zetas = [zetas[0]] if len(zetas) == 1 else [0.5]
    out["zetas"] = zetas
    if primary is None:
        primary = 0.5 if 0.5 in zetas else zetas[len(zetas) // 2]
    out["zeta"] = min(zetas, key=lambda z: abs(z - primary))
    out["accuracy_target"] = _number(params, "accuracy_target", minimum=0, maximum=100)
    out["energy_budget_j"] = _number(params, "energy_budget_j")
    # At most ~30 years, as a deployment's horizon (scheduling.models.MAX_HORIZON_S): 1e100 was
    # accepted and then failed in the worker on capacity.
    out["deadline_s"] = _number(params, "deadline_s", maximum=MAX_DEADLINE_S)
    out["time_limit_s"] = _number(params, "time_limit_s") or 60.0
    if out["time_limit_s"] > 3600:
        raise JobParameterError("time_limit_s must be at most 3600 seconds.", "time_limit_s")
    # Whole and non-negative (numpy's generators refuse a negative seed; int(2.7) silently made it 2).
    out["seed"] = whole_field(params.get("seed"), "seed", 0, INT64_MAX, default=0, error=JobParameterError)
    out["paper_default_shares"] = boolean_field(params.get("paper_default_shares"), "paper_default_shares",
                                                default=True, error=JobParameterError)
    # Off by default: a model predicting <= 0 for a query is refused rather than made free.
    out["allow_clamping"] = boolean_field(params.get("allow_clamping"), "allow_clamping", default=False,
                                          error=JobParameterError)
    for need in kind.requires:
        if out[need.field] is None:
            raise JobParameterError(need.message, need.field)
    return out


@dataclass
class Execution:
    results: dict
    plan_results: list = field(default_factory=list, repr=False)  # solver PlanResults, one per zeta
    solver_stats: dict = field(default_factory=dict)
    # The aggregated problem the plans were solved on: the assignment file is written per class.
    problem: object = field(default=None, repr=False)

    @property
    def assignments(self) -> np.ndarray:
        """(plans, queries) deployment index per query. Expanded here, on first read, so
        that callers who need only the results (``schedule --json``) never touch every query."""
        if getattr(self, "_assignments", None) is None:
            self._assignments = np.vstack([np.asarray(r.assignment, dtype=np.int16) for r in self.plan_results])
        return self._assignments

    def write_assignments(self, fileobj) -> None:
        """The assignment file: each plan's deployment per class, the class of each query once, and
        the queries of split classes (scheduling/planner/assignment_file.py; ``load_assignment`` and
        the download expand a row to queries). Without the problem, the per-query rows."""
        zetas = np.array(self.results["parameters"]["zetas"])
        if self.problem is None:
            n = int(self.results["n_queries"])
            rows = (r.expanded_assignment() for r in self.plan_results)
            write_rows(fileobj, "assignment", (len(self.plan_results), n), np.int16, rows, {"zetas": zetas})
            return
        p = self.problem
        plans = [r.class_plan for r in self.plan_results]
        D = len(p.deployments)
        label = (np.arange(D) if p.caller_index is None else p.caller_index).astype(np.int16)
        # The queries of every plan's split classes, found in one pass over the queries.
        split = [x.split for x in plans if x is not None and x.split.size]
        candidates = None
        if split:
            mark = np.zeros(len(p.class_count), dtype=bool)
            mark[np.concatenate(split)] = True
            candidates = np.flatnonzero(mark[p.inverse])

        def class_rows():
            for x in plans:  # no solution (status "error"): no query is placed, as the -1 row says
                yield np.full(len(p.class_count), -1, dtype=np.int16) if x is None else label[x.choice]

        def split_rows():
            for x in plans:
                if x is None or not x.split.size:
                    yield np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int16)
                else:
                    members, deployment = solver_service.split_queries(p, x, candidates)
                    yield members, label[deployment]

        write_class_rows(fileobj, class_rows(), len(plans), p.inverse, split_rows(), zetas)


def _metrics(d: dict) -> dict:
    return {k: d.get(k) for k in METRIC_KEYS}


def _savings(plan: dict, baselines: dict) -> list[dict]:
    rows = []
    for name, b in baselines.items():
        be, pe = b["total_energy_j"], plan["total_energy_j"]
        rows.append({
            "baseline": name,
            "baseline_energy_j": be,
            "plan_energy_j": pe,
            "energy_saved_j": be - pe,
            "energy_saved_pct": (100.0 * (be - pe) / be) if be else None,
            "baseline_accuracy": b["accuracy"],
            "accuracy_delta": plan["accuracy"] - b["accuracy"],
            "baseline_mean_runtime_s": b["mean_runtime_s"],
            "mean_runtime_delta_s": plan["mean_runtime_s"] - b["mean_runtime_s"],
        })
    return rows


def _split_histograms(problem, x, keys) -> dict:
    """Per-deployment token histograms of a plan, from its class counts ``x`` (a ClassPlan):
    a class's queries share their token counts, so each class is one weighted value.

    Each class's bin is found once and one bincount over (deployment, bin) fills every
    deployment's histogram (np.histogram per deployment sorted every class 2D times).
    """
    tin, tout = problem.class_tin, problem.class_tout
    edges_in = log_bins(int(tin.max()), min_value=int(tin.min()))
    edges_out = log_bins(int(tout.max()), min_value=int(tout.min()))
    D = len(problem.keys)
    whole = x.count.astype(np.float64)
    whole[x.split] = 0.0
    labels = x.choice.astype(np.intp)
    grids = {}
    for name, values, edges in (("tin", tin, edges_in), ("tout", tout, edges_out)):
        nb = edges.size - 1
        idx = _bin_index(values, edges)
        ok = idx >= 0
        grid = np.bincount(labels[ok] * nb + idx[ok], weights=whole[ok], minlength=D * nb).reshape(D, nb)
        split_ok = x.split[ok[x.split]]
        if split_ok.size:
            np.add.at(grid.T, idx[split_ok], x.split_x[ok[x.split]].astype(np.float64))
        # Integer weights: the float sums are exact, so these are the per-query counts.
        grids[name] = np.rint(grid).astype(np.int64)
    # x's rows follow the problem's canonical order of deployments; keys the caller's.
    column = {key: i for i, key in enumerate(problem.keys)}
    by = {key: {"tin": grids["tin"][column[key]].tolist(), "tout": grids["tout"][column[key]].tolist()}
          for key in keys}
    return {"tin_edges": edges_in.tolist(), "tout_edges": edges_out.tolist(), "by_deployment": by}


def _bin_index(values, edges) -> np.ndarray:
    """np.histogram's bin of each value ([e_i, e_i+1), the last bin closed), -1 outside the edges."""
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = edges.size - 2
    idx[(idx < 0) | (idx >= edges.size - 1)] = -1
    return idx


def execute(tin, tout, specs: list[DeploymentSpec], objective: str, params: dict,
            progress=None) -> Execution:
    """Plan each zeta, then the baselines; ``progress(done, total)`` after each step."""
    tin = np.asarray(tin, dtype=np.int64)
    tout = np.asarray(tout, dtype=np.int64)
    params = normalise_parameters(objective, params)
    if not specs:
        raise PlanningError("Choose at least one deployment.")
    keys = [s.key for s in specs]
    total = len(params["zetas"]) + 1
    started = time.perf_counter()
    # One class aggregation shared by every zeta and the baselines (as solver.sweep does),
    # solved zeta by zeta so that progress can be reported.
    problem = build_problem(tin, tout, specs, paper_default_shares=params["paper_default_shares"],
                            deadline_s=params["deadline_s"], allow_clamping=params["allow_clamping"])
    plans, plan_results = [], []
    warm: dict = {}  # what the zeta points share (the dual path's price bins)
    # One zeta (`schedule`, a plain job): the plan and the baselines, priced at that zeta,
    # share one cost matrix (~0.3 s a million classes). A sweep's costs live in the solver's
    # reused buffer, so its baselines build their own.
    shared = None
    if list(params["zetas"]) == [params["zeta"]]:
        shared = np.asfortranarray(unit_costs(problem, objective, params["zeta"]))

    def solve_zetas(zetas, tick):
        # A forked part has its own ``warm`` (price bins, affine costs, running sums): the
        # running metrics restart at the part's first zeta (last-bit differences, <= 1e-14).
        part_warm = warm if not forking else {}
        out = []
        for zeta in zetas:
            result = solver_service.plan_problem(
                problem, objective=objective, zeta=zeta, accuracy_target=params["accuracy_target"],
                energy_budget_j=params["energy_budget_j"], time_limit_s=params["time_limit_s"], warm=part_warm,
                costs=shared)
            d = result.to_dict()
            d["zeta"] = zeta
            out.append((d, _portable(result, problem)))
            tick()
        return out

    zetas = list(params["zetas"])
    # A sweep on a large problem uses both cores: contiguous runs of zetas in forked processes
    # (scheduling/planner/forked.py); the answers do not depend on it, only the wall time.
    forking = len(zetas) > 1 and len(problem.class_count) * len(zetas) >= FORK_MIN_WORK
    solved, fork_stats = forked.map_chunks(
        solve_zetas, zetas, processes=None if forking else 1,
        progress=(lambda done: progress(done, total)) if progress else None)
    for d, result in solved:
        plans.append(d)
        plan_results.append(_attach(result, problem))
    base = baselines_for_problem(problem, seed=params["seed"], objective=objective, zeta=params["zeta"],
                                 costs=shared)
    shared = None  # the cost matrix goes before the results are built
    baselines = {name: r.to_dict() for name, r in base.items()}
    if progress:
        progress(total, total)
    primary_index = params["zetas"].index(params["zeta"])
    primary = plans[primary_index]
    warnings = list(dict.fromkeys(w for p in plans for w in p.get("warnings", [])))
    estimated = [s.key for s in specs if s.energy_estimated]
    if estimated and not any("estimated" in w for w in warnings):
        warnings.append("Energy of " + ", ".join(estimated) + " is estimated (TDP x time), not measured.")
    results = {
        "objective": objective,
        "parameters": params,
        "deployments": keys,
        # The fewest queries each deployment must get (the paper's at-least-one rule, or its
        # minimum share): the plan page says so where a count sits exactly on it.
        "minimum_counts": dict(zip(keys, (int(v) for v in problem.lo), strict=True)),
        "energy_estimated": estimated,
        "n_queries": int(tin.shape[0]),
        "plans": plans,
        "primary_index": primary_index,
        "baselines": baselines,
        "savings": _savings(primary, baselines),
        "histograms": _split_histograms(problem, _class_counts(plan_results[primary_index], problem), keys),
        "warnings": warnings,
    }
    stats = {
        "wall_seconds": time.perf_counter() - started,
        "solve_seconds": sum(p["solve_seconds"] for p in plans),
        "methods": sorted({p["method"] for p in plans}),
        "statuses": [p["status"] for p in plans],
        "gaps": [p["gap"] for p in plans],
        "plan_stats": [p.get("stats", {}) for p in plans],
        "processes": fork_stats["processes"],
    }
    return Execution(results=_finite(results), plan_results=plan_results, solver_stats=_finite(stats),
                     problem=problem)


# Class-zetas (classes x zetas) from which a sweep is split over forked processes: below it
# (~0.5 s of solves on this project's 2-core box) a fork and the results' pickling cost more
# than they save, and small jobs stay in one process.
FORK_MIN_WORK = 2_000_000


def _portable(result, problem):
    """The result without what cannot or need not cross a pipe from a forked part: the lazy
    per-query expansion (a closure over the problem) and the class counts (the problem's own
    array); ``_attach`` puts them back in the parent."""
    if callable(result._assignment):
        result._assignment = None
    x = result.class_plan
    if x is not None and x.count is problem.class_count:
        x.count = None
    return result


def _attach(result, problem):
    x = result.class_plan
    if x is not None:
        if x.count is None:
            x.count = problem.class_count
        if result._assignment is None:
            result._assignment = partial(solver_service.expand, problem, x, in_caller_order=True)
    return result


def _class_counts(result, problem) -> ClassPlan:
    if result.class_plan is not None:
        return result.class_plan
    # No solution (status "error"): every query is unassigned, as the -1 assignment says.
    C, D = len(problem.class_count), len(problem.deployments)
    return ClassPlan(np.zeros(C, dtype=np.int16), np.zeros(C, dtype=np.int64), np.zeros(0, dtype=np.int64),
                     np.zeros((0, D), dtype=np.int64))


def _finite(value):
    """JSON has no NaN or infinity (PostgreSQL's jsonb refuses them): store None instead."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def summary(results: dict) -> dict:
    """The one JSON object of ``schedule --json`` and the summary download: the primary plan's
    metrics, the sweep and every baseline with the same metric keys."""
    primary = results["plans"][results["primary_index"]]
    out = _metrics(primary)
    out["per_deployment"] = primary.get("per_deployment", {})
    out["warnings"] = results["warnings"]
    out["n_queries"] = results["n_queries"]
    out["deployments"] = results["deployments"]
    out["energy_estimated_deployments"] = results["energy_estimated"]
    out["baselines"] = {name: _metrics(b) for name, b in results["baselines"].items()}
    out["savings"] = results["savings"]
    if len(results["plans"]) > 1:
        out["sweep"] = [_metrics(p) for p in results["plans"]]
    return out


def energy_csv(results: dict) -> str:
    """The primary plan's energy per deployment and in total, with its 95% interval, as CSV.

    The bounds are the sums of each query's interval (errors of one model are systematic,
    so they add); empty where a model carries no interval (a published one). A deployment
    whose energy model was made from TDP estimates says so in the ``energy`` column.
    """
    import csv
    import io

    primary = results["plans"][results["primary_index"]]
    estimated = set(results.get("energy_estimated") or [])
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["deployment", "queries", "energy", "energy_j", "energy_low_j", "energy_high_j",
                  "extrapolated_queries"])

    def num(v):
        return "" if v is None else f"{v:.6g}"

    for key, d in (primary.get("per_deployment") or {}).items():
        out.writerow([_csv(key), d.get("queries", 0), "estimated" if key in estimated else "measured",
                      num(d.get("energy_j")), num(d.get("energy_low_j")), num(d.get("energy_high_j")),
                      d.get("extrapolated_queries", "")])
    out.writerow(["total", sum((primary.get("counts") or {}).values()),
                  "estimated" if estimated else "measured", num(primary.get("total_energy_j")),
                  num(primary.get("total_energy_low_j")), num(primary.get("total_energy_high_j")), ""])
    return buf.getvalue()


# --- jobs ---------------------------------------------------------------------------


def create_job(workload, deployments, objective: str, params: dict, user=None):
    """Validate, snapshot the deployment specs and save a pending job; wake a worker after commit."""
    from scheduling.models import ScheduleJob

    deployments = list(deployments)
    if not deployments:
        raise JobParameterError("Choose at least one deployment.", "deployments")
    params = normalise_parameters(objective, params)
    specs = [spec_for_deployment(d) for d in deployments]
    with transaction.atomic():
        job = ScheduleJob.objects.create(
            workload=workload, objective=objective, parameters=params,
            deployment_specs=[spec_to_json(s) for s in specs], steps_total=len(params["zetas"]) + 1,
            created_by=user if (user is not None and user.is_authenticated) else None,
        )
        job.deployments.set(deployments)
        job_service.submit(job)
    return job


def cancel(job) -> bool:
    """Cancel a pending or running job; a running one stops after its current step."""
    return job_service.cancel(job)


def assignment_name(job_pk: int, attempt: int) -> str:
    """One file name per claim: a worker fenced off after saving cannot delete its successor's file."""
    return f"assignments/job-{job_pk}-{attempt}.npz"


def remove_orphaned_assignments(job_pk: int, attempt: int) -> int:
    """Delete assignment files that earlier claims of this unfinished job saved before they were lost.

    A worker killed between saving its file and recording it leaves the file behind; the claim that
    takes over removes it before saving its own (attempt numbers of lost claims are never reused; a
    released claim stopped before handing back, so nothing still writes these names)."""
    removed = 0
    for name in [f"assignments/job-{job_pk}.npz"] + [assignment_name(job_pk, k) for k in range(1, attempt + 1)]:
        if default_storage.exists(name):
            default_storage.delete(name)
            removed += 1
    if removed:
        log.info("schedule job %s: removed %d assignment file(s) left by lost workers", job_pk, removed)
    return removed


def run_job(job, handle: job_service.JobHandle) -> None:
    """Solve a claimed job and record results, or the error, on its row.

    Every write goes through the claim's handle, so a job cancelled meanwhile stays
    cancelled and a worker whose job was taken over cannot overwrite it.
    """

    def progress(done, total):
        handle.progress(done, total)
        job_service.fault_delay()

    try:
        arrays = job.workload.load_arrays()
        specs = [spec_from_json(s) for s in job.deployment_specs]
        execution = execute(arrays.tin, arrays.tout, specs, job.objective, job.parameters, progress)
    except job_service.JobInterrupted:
        raise
    except (PlanningError, ValueError, OSError) as exc:
        log.info("schedule job %s failed: %s", job.pk, exc)
        handle.fail(str(exc))
        return
    except (OperationalError, InterfaceError):
        raise  # transient: the task hands the job back and retries
    except Exception as exc:
        # A bug must not leave the job "running" for ever: record it, keep the traceback in the log.
        log.exception("schedule job %s crashed", job.pk)
        handle.fail(f"Internal error ({type(exc).__name__}): {exc}")
        return
    with tempfile.TemporaryFile() as tmp:
        execution.write_assignments(tmp)
        tmp.seek(0)
        remove_orphaned_assignments(job.pk, handle.attempt)
        name = default_storage.save(assignment_name(job.pk, handle.attempt), File(tmp))
    if not handle.finish(results=execution.results, solver_stats=execution.solver_stats,
                         assignment_file=name, steps_done=job.steps_total or 1):
        default_storage.delete(name)  # cancelled or taken over during the last step


def load_assignment(job, plan_index: int | None = None) -> np.ndarray:
    """One plan's per-query deployment index (int16), from an assignment file of either form."""
    index = job.results.get("primary_index", 0) if plan_index is None else plan_index
    with default_storage.open(job.assignment_file.name, "rb") as fh:
        return read_row(fh, index)


def assignment_csv_lines(job, plan_index: int | None = None, chunk: int = 100_000):
    """CSV lines (query, input_tokens, output_tokens, deployment) for streaming.

    Streams: one chunk of the chosen plan's row and of the workload's columns is in
    memory at a time (npzstream), so 10M queries never sit in memory whole. Raises
    IndexError for a plan index out of range before the first line. (Formatting stays
    a Python f-string per row: numpy's string ufuncs and a digit-matrix formatter
    measured no faster, ~0.7-3 us a row against ~0.9.)
    """
    index = job.results.get("primary_index", 0) if plan_index is None else plan_index
    keys = job.results.get("deployments") or [s["key"] for s in job.deployment_specs]
    names = [_csv(k) for k in keys] + [""]  # index -1: a plan without a solution places no query
    with ExitStack() as stack:
        fh = stack.enter_context(default_storage.open(job.assignment_file.name, "rb"))
        assignment = stack.enter_context(open_rows(fh))
        if len(assignment.shape) != 2 or not 0 <= index < assignment.shape[0]:
            raise IndexError(f"No plan {index}; this job has {assignment.shape[0]}.")
        workload = job.workload.data_file.name
        tin, tout = _open_array(stack, workload, "tin"), _open_array(stack, workload, "tout")
        try:
            ids = _open_array(stack, workload, "ids").chunks(chunk)
        except KeyError:
            ids = None
        yield "query,input_tokens,output_tokens,deployment\n"
        start = 0
        for a, b, c in zip(assignment.chunks(chunk, row=index), tin.chunks(chunk), tout.chunks(chunk),
                           strict=True):
            if ids is not None:
                query = [_csv(q) for q in next(ids).tolist()]
            else:
                query = range(start + 1, start + 1 + a.size)
            start += a.size
            yield "".join(f"{q},{x},{y},{names[d]}\n"
                          for q, x, y, d in zip(query, b.tolist(), c.tolist(), a.tolist(), strict=True))


def _open_array(stack: ExitStack, name: str, member: str) -> NpzArray:
    fh = stack.enter_context(default_storage.open(name, "rb"))
    return stack.enter_context(NpzArray(fh, member))


# Query ids and deployment names come from uploads: quoted and formula-escaped (OWASP).
from energyweb.csvsafe import csv_field as _csv  # noqa: E402
