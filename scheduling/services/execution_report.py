"""The report of an execution: predicted against measured energy and runtime, per deployment and in total.

Conventions: a prediction error is ``100 x (predicted - measured) / measured``, so a positive
figure means the model over-predicted. MAPE and bias are the mean absolute and the mean signed
error over batches (a batch is the metered unit; per-query energy is a share of it, so a
per-query error would only restate the runtime split). A deployment drifts when its energy or
runtime MAPE exceeds the operator's threshold. Energy from a TDP estimate is reported with its
source (``estimate-tdp``) and ``estimated: true`` on every level.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from django.db.models import Count, Sum

from energyweb.csvsafe import safe_row
from energyweb.jobs.choices import JobStatus
from profiling.choices import EnergySource

SCATTER_POINTS = 5000


def _pct(predicted: float | None, measured: float | None) -> float | None:
    if predicted is None or not measured:
        return None
    return 100.0 * (predicted - measured) / measured


def _errors(pairs: list[tuple[float, float]]) -> tuple[float | None, float | None]:
    """(MAPE, bias) in percent over (predicted, measured) pairs with a measured value above zero."""
    errs = [(p - m) / m for p, m in pairs if m > 0]
    if not errs:
        return None, None
    return 100.0 * sum(abs(e) for e in errs) / len(errs), 100.0 * sum(errs) / len(errs)


def _figures(agg: dict, pairs_e, pairs_r) -> dict:
    e_mape, e_bias = _errors(pairs_e)
    r_mape, r_bias = _errors(pairs_r)
    return {
        "predicted_energy_j": agg["pe"] or 0.0, "measured_energy_j": agg["me"] or 0.0,
        "energy_error_pct": _pct(agg["pe"], agg["me"]), "energy_mape_pct": e_mape, "energy_bias_pct": e_bias,
        "predicted_runtime_s": agg["pr"] or 0.0, "measured_runtime_s": agg["mr"] or 0.0,
        "runtime_error_pct": _pct(agg["pr"], agg["mr"]), "runtime_mape_pct": r_mape, "runtime_bias_pct": r_bias,
    }


def _savings(plan: dict, baselines: dict, rates: dict[str, float]) -> list[dict]:
    """Savings against each baseline, predicted (the plan's) and recomputed with the measured energy per
    token of each deployment; None where a baseline sends queries to a deployment that was not executed."""
    def at_rates(per_deployment: dict):
        total, missing = 0.0, []
        for key, d in per_deployment.items():
            if not d.get("queries"):
                continue
            if key not in rates:
                missing.append(key)
                continue
            total += d.get("tokens", 0) * rates[key]
        return (None if missing else total), missing

    plan_measured, plan_missing = at_rates(plan.get("per_deployment", {}))
    rows = []
    for name, b in baselines.items():
        base_measured, missing = at_rates(b.get("per_deployment", {}))
        be, pe = b.get("total_energy_j"), plan.get("total_energy_j")
        row = {"baseline": name, "predicted_baseline_energy_j": be, "predicted_plan_energy_j": pe,
               "predicted_saved_pct": (100.0 * (be - pe) / be) if be else None,
               "measured_rate_baseline_energy_j": base_measured, "measured_rate_plan_energy_j": plan_measured,
               "measured_saved_pct": None, "note": ""}
        if base_measured and plan_measured is not None:
            row["measured_saved_pct"] = 100.0 * (base_measured - plan_measured) / base_measured
        else:
            row["note"] = "not executed: " + ", ".join(sorted(set(missing + plan_missing)))
        rows.append(row)
    return rows


def report(execution, *, scatter: bool = True) -> dict:
    from scheduling.models import ExecutedBatch

    job = execution.schedule_job
    results = job.results or {}
    plans = results.get("plans") or [{}]
    plan = plans[min(execution.plan_index, len(plans) - 1)]
    children = list(execution.jobs.select_related("llm", "hardware").order_by("deployment_index"))
    batches = ExecutedBatch.objects.filter(execution=execution)
    agg_rows = {r["deployment_index"]: r for r in batches.values("deployment_index").annotate(
        pe=Sum("predicted_energy_j"), me=Sum("energy_j"), pr=Sum("predicted_runtime_s"), mr=Sum("runtime_s"),
        q=Sum("queries"), tin=Sum("input_tokens"), tout=Sum("output_tokens"), n=Count("id"))}
    points = list(batches.order_by("deployment_index", "batch_index").values_list(
        "deployment_index", "batch_index", "predicted_energy_j", "energy_j", "predicted_runtime_s", "runtime_s",
        "queries", "sources", "is_estimated", "attempt"))
    by_dep_e, by_dep_r, sources = defaultdict(list), defaultdict(list), defaultdict(set)
    for d, _b, pe, me, pr, mr, _q, src, _est, _a in points:
        by_dep_e[d].append((pe, me))
        by_dep_r[d].append((pr, mr))
        sources[d].update((src or {}).values())
    per, rates, eta_by_hw = {}, {}, defaultdict(float)
    eta_known = True
    for c in children:
        a = agg_rows.get(c.deployment_index, {"pe": 0.0, "me": 0.0, "pr": 0.0, "mr": 0.0, "q": 0, "tin": 0,
                                              "tout": 0, "n": 0})
        planned = plan.get("per_deployment", {}).get(c.deployment_key, {})
        srcs = sorted(sources[c.deployment_index])
        row = {"deployment": c.deployment_key, "llm": c.llm.name, "hardware": c.hardware.name,
               "queue": c.job_queue(), "status": c.status, "attempts": c.attempts, "error": c.error,
               "queries_planned": c.queries_total, "queries_done": a["q"] or 0,
               "batches_total": c.steps_total, "batches_done": a["n"], "progress_percent": c.progress_percent,
               "plan_energy_j": planned.get("energy_j"), "plan_runtime_s": planned.get("runtime_s"),
               **_figures(a, by_dep_e[c.deployment_index], by_dep_r[c.deployment_index]),
               "energy_sources": srcs, "estimated": any(s in EnergySource.estimated() for s in srcs)}
        row["drift"] = any(row[k] is not None and row[k] > execution.drift_threshold_pct
                           for k in ("energy_mape_pct", "runtime_mape_pct"))
        eta = _eta(c, row)
        row["eta_seconds"] = eta
        if eta is None:
            eta_known = False
        else:
            eta_by_hw[c.hardware_id] += eta  # one job per host at a time: a host's parts add up
        tokens = (a["tin"] or 0) + (a["tout"] or 0)
        if tokens and a["me"]:
            rates[c.deployment_key] = a["me"] / tokens
        per[c.deployment_key] = row
    total_agg = {k: sum(agg_rows[d][k] or 0 for d in agg_rows) for k in ("pe", "me", "pr", "mr")}
    all_sources = sorted(set().union(*sources.values())) if sources else []
    status = execution.status
    out = {
        "id": execution.pk, "schedule_job": job.pk, "plan_index": execution.plan_index, "zeta": plan.get("zeta"),
        "status": status, "batch_size": execution.batch_size, "backend": execution.backend,
        "drift_threshold_pct": execution.drift_threshold_pct, "queries_planned": execution.queries_planned,
        "queries_done": sum(r["queries_done"] for r in per.values()),
        "batches_total": sum(r["batches_total"] for r in per.values()),
        "batches_done": sum(r["batches_done"] for r in per.values()),
        **_figures(total_agg, [p for v in by_dep_e.values() for p in v], [p for v in by_dep_r.values() for p in v]),
        "energy_sources": all_sources, "estimated": any(s in EnergySource.estimated() for s in all_sources),
        "eta_seconds": (max(eta_by_hw.values(), default=0.0) if eta_known else None)
        if status in JobStatus.active() else 0.0,
        "drifted": [k for k, r in per.items() if r["drift"]],
        "refit_requested": execution.refit_requested.isoformat() if execution.refit_requested else None,
        "per_deployment": per,
        "savings": _savings(plan, results.get("baselines") or {}, rates),
    }
    if scatter:
        keys = {c.deployment_index: c.deployment_key for c in children}
        step = max(1, len(points) // SCATTER_POINTS)
        out["batches"] = [
            {"deployment": keys.get(d), "batch_index": b, "predicted_energy_j": pe, "measured_energy_j": me,
             "predicted_runtime_s": pr, "measured_runtime_s": mr, "queries": q, "energy_sources": src,
             "estimated": est, "attempt": att}
            for d, b, pe, me, pr, mr, q, src, est, att in points[::step]]
    return out


def _eta(child, row) -> float | None:
    """Seconds left: the lifecycle's pace while running; the plan's predicted runtime while pending."""
    if child.status in JobStatus.final():
        return 0.0
    if child.status == JobStatus.RUNNING and child.eta_seconds is not None:
        return child.eta_seconds
    if row["plan_runtime_s"] is None:
        return None
    return max(row["plan_runtime_s"] - row["predicted_runtime_s"], 0.0)


def summary(execution) -> dict:
    """``execute_plan --json``: the report without the per-batch points."""
    return report(execution, scatter=False)


REPORT_COLUMNS = ["deployment", "status", "queries_planned", "queries_done", "predicted_energy_j",
                  "measured_energy_j", "energy_error_pct", "energy_mape_pct", "energy_bias_pct",
                  "predicted_runtime_s", "measured_runtime_s", "runtime_error_pct", "runtime_mape_pct",
                  "runtime_bias_pct", "energy_sources", "estimated", "drift"]


def report_csv(rep: dict) -> str:
    """One row per deployment and a total row; the energy sources column says when energy is estimated."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(REPORT_COLUMNS)
    total = {**rep, "deployment": "TOTAL", "drift": bool(rep["drifted"])}
    for row in [*rep["per_deployment"].values(), total]:
        # A deployment key is a user's LLM and hardware names: escaped like every CSV download (csvsafe).
        writer.writerow(safe_row(";".join(row[c]) if c == "energy_sources" else row.get(c) for c in REPORT_COLUMNS))
    return buf.getvalue()


QUERY_COLUMNS = ["query_index", "deployment", "batch_index", "input_tokens", "output_tokens",
                 "predicted_energy_j", "measured_energy_j", "predicted_runtime_s", "measured_runtime_s",
                 "energy_sources", "estimated"]


def queries_csv_lines(execution, chunk: int = 5000):
    """Per-query results as CSV lines, streamed in query order."""
    from scheduling.models import ExecutedQuery

    keys = dict(execution.jobs.values_list("deployment_index", "deployment_key"))
    yield ",".join(QUERY_COLUMNS) + "\n"
    qs = ExecutedQuery.objects.filter(execution=execution).order_by("query_index").values_list(
        "query_index", "deployment_index", "batch__batch_index", "input_tokens", "output_tokens",
        "predicted_energy_j", "energy_j", "predicted_runtime_s", "runtime_s", "batch__sources",
        "batch__is_estimated")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, (q, d, b, tin, tout, pe, me, pr, mr, src, est) in enumerate(qs.iterator(chunk_size=chunk)):
        writer.writerow(safe_row([q, keys.get(d), b, tin, tout, pe, me, pr, mr,
                                  ";".join(sorted((src or {}).values())), est]))
        if i % chunk == chunk - 1:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
