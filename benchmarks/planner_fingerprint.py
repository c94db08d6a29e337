"""A fingerprint of the planner's answers: one hash over a fixed set of problems.

Run it before and after a refactor of the planner (objectives, solver, job service,
reference MIP); equal hashes mean the assignments, objective values, bounds, metrics
and error messages did not change by one bit. Every case is seeded: random specs
(tests/solver/conftest.py), the published deployments on the Azure trace (when present),
every objective, with and without share bounds, capacity, deadline, accuracy target,
energy budget, zeta sweeps, every method, the baselines, the job service's parameter
normalisation and execute(), and the per-query reference MIP on tiny instances.
Timings and other run-dependent stats are left out of the hash, and so is everything but
the status, objective, zeta and method of a "feasible" result (SCIP stopped at its gap or
its time limit before proving optimality): what it found depends on how far SCIP got
before the clock ran out (the base commit gave three different answers in three runs on
the loaded box for one such case). Those rows are counted and named (-v) as clock-bound.

Usage: python benchmarks/planner_fingerprint.py [-v] [--dump FILE]   (-v: one hash per case)
       python benchmarks/planner_fingerprint.py --compare OLD NEW

--dump keeps the answers themselves (a pickle); --compare reads two dumps and says, per case,
whether anything but float rounding changed (assignments, statuses, messages, integers) and the
largest relative difference of the floats: the test for a change that is meant to move the
planner's answers by rounding only (a faster summation order), where the hashes must differ.
"""

# The lambdas below run at once inside _guard, so late binding of the loop variables cannot bite.
# ruff: noqa: B023

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ENERGYWEB_VAR_DIR", tempfile.mkdtemp(prefix="ew-fp-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
import django  # noqa: E402

django.setup()

from benchmarks.bench_schedule_common import azure_workload, published_deployments  # noqa: E402
from scheduling.planner import solver  # noqa: E402
from scheduling.services import jobs  # noqa: E402
from tests.solver.conftest import random_deployments, random_workload  # noqa: E402

try:  # the reference MIP moved under tests/ (issue 17); the fingerprint reads either place
    from tests.oracles import paper_mip
except ImportError:  # pragma: no cover - the base commit
    from tests.oracles import paper_mip

OBJECTIVES = ["paper-energy-accuracy", "paper-energy-runtime", "min-energy-accuracy-target",
              "max-accuracy-energy-budget"]
# Stats that depend on the clock or on the machine, not on the answer.
VOLATILE_STATS = {"solve_seconds", "build_seconds"}


def _canon(value):
    """JSON-able, bit-exact: floats as their hex form."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, (np.floating,)):
        return float(value).hex()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes() + str(value.dtype).encode()).hexdigest()
    if isinstance(value, dict):
        if value.get("status") == "feasible":
            value = {k: v for k, v in value.items() if k in ("status", "objective", "zeta", "method", "name")}
        return {str(k): _canon(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
                if not (isinstance(k, str) and ("seconds" in k or k in VOLATILE_STATS))}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    return value


def _result(r) -> dict:
    d = r.to_dict()
    d.pop("solve_seconds", None)
    d["assignment"] = np.asarray(r.assignment, dtype=np.int64)
    return d


def _guard(fn):
    """The answer, or the error's type and message (messages are behaviour too)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - every refusal is part of the fingerprint
        return {"error": type(exc).__name__, "message": str(exc)}


def cases():
    rng = np.random.default_rng(20240917)
    out = []
    for i in range(6):
        D = int(rng.integers(2, 6))
        deps = random_deployments(rng, D)
        tin, tout = random_workload(rng, int(rng.integers(30, 400)))
        out.append((f"random{i}", tin, tout, deps))
    # Explicit share bounds (no paper default), and capacities.
    rng = np.random.default_rng(7)
    deps = random_deployments(rng, 4)
    shares = [(0.1, 0.5), (0.0, 0.4), (0.2, 1.0), (0.0, 1.0)]
    deps = [replace(d, min_share=a, max_share=b) for d, (a, b) in zip(deps, shares, strict=True)]
    tin, tout = random_workload(rng, 500)
    out.append(("shares", tin, tout, deps))
    caps = [replace(d, capacity_gpu_s=c) for d, c in zip(deps, [150.0, None, 200.0, 90.0], strict=True)]
    out.append(("shares+capacity", tin, tout, caps))
    trace = azure_workload(3000, seed=42)
    if trace is not None:
        out.append(("azure-published", trace[0], trace[1], published_deployments()))
    return out


def objective_params(objective: str, deps, tin, tout) -> list[dict]:
    """Parameter sets per objective: feasible and infeasible targets and budgets."""
    accs = sorted(d.accuracy for d in deps)
    if objective == "min-energy-accuracy-target":
        mid = (accs[0] + accs[-1]) / 2
        return [{"accuracy_target": mid}, {"accuracy_target": accs[-1] - 0.01}, {"accuracy_target": accs[-1] + 1},
                {}]
    if objective == "max-accuracy-energy-budget":
        free = [replace(d, capacity_gpu_s=None) for d in deps]
        base = solver.plan(tin, tout, free, objective="min-energy-accuracy-target",
                           accuracy_target=accs[0], allow_clamping=True)
        e = base.total_energy_j
        return [{"energy_budget_j": e * 1.3}, {"energy_budget_j": e * 1.02}, {"energy_budget_j": e * 0.5}, {}]
    return [{"zeta": 0.0}, {"zeta": 0.3}, {"zeta": 1.0}]


def run() -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for name, tin, tout, deps in cases():
        clamp = name.startswith("azure")
        for objective in OBJECTIVES:
            for k, prm in enumerate(objective_params(objective, deps, tin, tout)):
                methods = ["auto", "mip"] if objective.startswith("paper") else ["auto"]
                if objective.startswith("paper") and not name.endswith("capacity"):
                    methods += ["flow", "dual", "lp"]
                for method in methods:
                    rows.append((f"{name}/{objective}/{k}/{method}", _guard(lambda prm=prm, method=method: _result(
                        solver.plan(tin, tout, deps, objective=objective, method=method, allow_clamping=clamp,
                                    **prm)))))
                if objective.startswith("paper"):
                    continue
            # A deadline on every objective (capacity rows for all deployments).
            prm = objective_params(objective, deps, tin, tout)[0]
            rows.append((f"{name}/{objective}/deadline", _guard(lambda prm=prm: _result(
                solver.plan(tin, tout, deps, objective=objective, deadline_s=float(np.median(tout)) * 4,
                            allow_clamping=clamp, **prm)))))
            rows.append((f"{name}/{objective}/no-paper-shares", _guard(lambda prm=prm: _result(
                solver.plan(tin, tout, deps, objective=objective, paper_default_shares=False,
                            allow_clamping=clamp, **prm)))))
            rows.append((f"{name}/{objective}/baselines", _guard(lambda: [
                _result(b) for b in solver.baselines(tin, tout, deps, seed=3, objective=objective, zeta=0.4,
                                                     allow_clamping=clamp)])))
        for objective in OBJECTIVES[:2]:
            rows.append((f"{name}/{objective}/sweep", _guard(lambda objective=objective: [
                _result(r) for r in solver.sweep(tin, tout, deps, objective=objective, allow_clamping=clamp)])))
        # The job service: parameter normalisation and one whole execution per objective.
        for objective in OBJECTIVES + ["no-such-objective"]:
            for prm in ({}, {"zeta": "0.2", "sweep": "true"}, {"accuracy_target": 55, "energy_budget_j": 1e5},
                        {"zetas": "0.1,0.9"}):
                rows.append((f"{name}/{objective}/normalise/{sorted(prm)}", _guard(
                    lambda objective=objective, prm=prm: jobs.normalise_parameters(objective, prm))))
            accs = [d.accuracy for d in deps]
            prm = {"zetas": [0.2, 0.7], "accuracy_target": (min(accs) + max(accs)) / 2,
                   "energy_budget_j": 1e9, "allow_clamping": clamp}
            rows.append((f"{name}/{objective}/execute", _guard(lambda objective=objective, prm=prm: _execution(
                jobs.execute(tin, tout, deps, objective, prm)))))
    # The per-query reference MIP on tiny instances (CBC is deterministic).
    rng = np.random.default_rng(99)
    for i in range(2):
        deps = random_deployments(rng, 3)
        tin, tout = random_workload(rng, 24)
        for objective in OBJECTIVES:
            prm = {"zeta": 0.6}
            if objective == "min-energy-accuracy-target":
                prm = {"accuracy_target": float(np.mean([d.accuracy for d in deps]))}
            if objective == "max-accuracy-energy-budget":
                prm = {"energy_budget_j": solver.plan(tin, tout, deps, objective="paper-energy-accuracy",
                                                      zeta=1.0).total_energy_j * 1.1}
            rows.append((f"mip{i}/{objective}", _guard(lambda objective=objective, prm=prm: _mip(
                paper_mip.solve(tin, tout, deps, objective=objective, time_limit_s=60, **prm)))))
    return rows


def _execution(ex) -> dict:
    res = dict(ex.results)
    return {"results": res, "plans": [_result(r) for r in ex.plan_results]}


def _mip(r) -> dict:
    return {"status": r.status, "value": r.objective_value, "bound": r.bound, "assignment": r.assignment,
            "variables": r.variables}


# Relative differences are taken against at least this much: a proven gap of 4e-16 against 0
# is rounding, not a 100% change.
FLOAT_FLOOR = 1e-9


def _diff(a, b, path="") -> tuple[list[str], float]:
    """(what differs beyond float rounding, largest relative float difference) between two answers."""
    if isinstance(a, (float, np.floating)) and isinstance(b, (float, np.floating)):
        a, b = float(a), float(b)
        if a == b or (np.isnan(a) and np.isnan(b)):
            return [], 0.0
        return [], abs(a - b) / max(abs(a), abs(b), FLOAT_FLOOR)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            return [f"{path}: array shape/kind"], 0.0
        if a.dtype.kind == "f":
            scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), FLOAT_FLOOR)
            rel = np.where(a == b, 0.0, np.abs(a - b) / scale)
            return [], float(rel.max()) if rel.size else 0.0
        return ([] if np.array_equal(a, b) else [f"{path}: array values"]), 0.0
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b), key=str)}"], 0.0
        out, worst = [], 0.0
        for k in a:
            if isinstance(k, str) and ("seconds" in k or k in VOLATILE_STATS):
                continue
            o, w = _diff(a[k], b[k], f"{path}.{k}")
            out += o
            worst = max(worst, w)
        return out, worst
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: length"], 0.0
        out, worst = [], 0.0
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            o, w = _diff(x, y, f"{path}[{i}]")
            out += o
            worst = max(worst, w)
        return out, worst
    return ([] if a == b else [f"{path}: {a!r} != {b!r}"[:200]]), 0.0


def compare(old_path: str, new_path: str) -> int:
    import pickle

    old = dict(pickle.loads(Path(old_path).read_bytes()))
    new = dict(pickle.loads(Path(new_path).read_bytes()))
    changed, worst_all, rounded = 0, 0.0, 0
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            print(f"only in one: {name}")
            changed += 1
            continue
        a, b = old[name], new[name]
        if '"feasible"' in json.dumps(_canon(a), default=str):
            continue  # clock-bound (module doc)
        diffs, worst = _diff(a, b)
        worst_all = max(worst_all, worst)
        rounded += worst > 0
        if diffs:
            changed += 1
            print(f"CHANGED {name}: {'; '.join(diffs[:3])}")
    print(f"cases {len(old)}: {changed} changed beyond float rounding, {rounded} differ by rounding only, "
          f"largest relative float difference {worst_all:.3g}")
    return 1 if changed else 0


def main() -> int:
    if "--compare" in sys.argv:
        i = sys.argv.index("--compare")
        return compare(sys.argv[i + 1], sys.argv[i + 2])
    verbose = "-v" in sys.argv
    t0, c0 = time.perf_counter(), time.process_time()
    rows = run()
    total = hashlib.sha256()
    # The planner's rows and the reference MIP's rows also get a hash each: the MIP takes its
    # costs from the objective registry, whose float order (zeta * E / E_max) differs from the
    # MIP's old own formula (zeta * (E / E_max)) in the last bits.
    parts = {"planner": hashlib.sha256(), "reference-mip": hashlib.sha256()}
    for name, value in rows:
        blob = json.dumps(_canon(value), sort_keys=True, default=str).encode()
        row = hashlib.sha256(blob).hexdigest()
        total.update(name.encode() + b"\0" + blob + b"\0")
        parts["reference-mip" if name.startswith("mip") else "planner"].update(f"{name} {row}\n".encode())
        if verbose:
            clock = "  (clock-bound: status only)" if '"feasible"' in blob.decode() else ""
            print(f"{row[:16]}  {name}{clock}")
    errors = sum(1 for _, v in rows if isinstance(v, dict) and "error" in v)
    clock = sum(1 for _, v in rows if '"feasible"' in json.dumps(_canon(v), default=str))
    print(f"cases {len(rows)} (of which refusals {errors}, clock-bound {clock})")
    print(f"fingerprint {total.hexdigest()}")
    for part, h in parts.items():
        print(f"  {part:14} {h.hexdigest()}")
    print(f"wall {time.perf_counter() - t0:.1f} s, cpu {time.process_time() - c0:.1f} s")
    if "--dump" in sys.argv:
        import pickle

        Path(sys.argv[sys.argv.index("--dump") + 1]).write_bytes(pickle.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
