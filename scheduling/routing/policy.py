"""A routing policy from a plan: per input-length bucket, a distribution over deployments.

How it is computed (exact, with the existing planner): the training workload's queries
are grouped by input-length bucket; each bucket becomes one class of the planning
problem whose count is its number of training queries and whose per-query energy,
runtime and tokens on each deployment are the expectations over the output lengths the
predictor gives for that bucket. Every cost of the planner is linear in a class's
count, so the expected objective of a bucket is its count times its expected cost, and
the planner's optimum on these classes is the best policy that sees only the bucket.

One detail keeps it the same objective: the paper's objectives divide energy, runtime
and accuracy by the largest value over (query, deployment) pairs. Bucket means are
smaller than the largest single query, so a zero-count class carrying the training
workload's largest per-query values is added: it sets the normalisers exactly as on the
query-level problem and takes no queries.

Exploration (``explore_share``, for feedback.py): a policy that sends a deployment only the
paper's one query cannot learn that deployment's model is wrong. Each deployment named in
``explore`` (those with fewer readings than the feedback prior, feedback.under_observed) gets
a minimum of ``explore_share`` of the queries, within its max share: the same exact planner
then places that traffic where it costs the objective least (the buckets where the deployment
is least bad), and the router holds it over live traffic like any minimum share. The budget
is bounded twice: at most explore_share per deployment, and only until the deployment has
enough readings, after which the re-solved policy drops it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from profiling.fitting import terms
from scheduling.planner.objectives import Problem, build_problem
from scheduling.planner.solver import plan_problem
from scheduling.planner.types import DeploymentSpec, PlanningError

from . import capped, predictors
from .buckets import DEFAULT_PER_OCTAVE, bucket_edges, bucket_of

# Output-length quantiles kept per bucket for the predictions a route answer carries:
# 20 equal masses (the midpoints 2.5%, 7.5%, ..., 97.5%).
QUANTILES = (np.arange(20) + 0.5) / 20


@dataclass
class Policy:
    keys: list[str]  # deployments, in the planner's canonical order (by key)
    specs: list[dict]  # the deployment specs planned with (spec_to_json), same order
    edges: list[int]
    shares: list[list[float]]  # (buckets, deployments) target fractions; rows of empty buckets copy their fallback
    counts: list[int]  # training queries per bucket
    fallback: list[int]  # the bucket whose shares each bucket routes with (itself when it saw training queries)
    tout_quantiles: list[list[float]]  # (buckets, len(QUANTILES)) predicted output lengths
    expected_energy_j: list[list[float]]  # (buckets, deployments) per query, corrections applied
    expected_runtime_s: list[list[float]]
    min_share: list[float]
    max_share: list[float]
    objective: str
    zeta: float
    parameters: dict
    predictor: str
    plan: dict  # the bucketed plan's status, objective value and expected totals on the training workload
    corrections: list[list[float]] | None = None  # (buckets, deployments) measured / modelled energy (feedback)
    warnings: list[str] = field(default_factory=list)
    # Per deployment key, {"energy": metrics, "runtime": metrics} of the fits (covariance etc.), for the
    # models' prediction intervals; empty when the specs came without fits (a deployments file of coefficients).
    fit_metrics: dict = field(default_factory=dict)
    # Queries with max_tokens (capped.py): lower edges of the cap buckets (the last is the longest
    # training output), and per bucket and cap bucket the deployment to use; empty where caps
    # cannot be priced (then shares apply).
    cap_edges: list[int] = field(default_factory=list)
    cap_choice: list[list[int]] = field(default_factory=list)
    # Per deployment, the least share it gets to be measured (module doc): 0 where it is not explored.
    explore_share: list[float] = field(default_factory=list)

    def route_min_share(self) -> list[float]:
        """The minimum shares the router holds: the bounds', raised where a deployment is explored."""
        explore = self.explore_share or [0.0] * len(self.keys)
        return [max(a, b) for a, b in zip(self.min_share, explore, strict=True)]

    @property
    def n_buckets(self) -> int:
        return len(self.edges)

    def deployment_specs(self) -> list[DeploymentSpec]:
        return [_spec_from_json(s) for s in self.specs]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Policy:
        return cls(**data)

    def predict(self, d: int, tin: int, max_tokens: int | None = None) -> dict:
        """Energy and runtime of one query of ``tin`` input tokens on deployment ``d`` (see predict_many)."""
        many = self.predict_many(d, [tin], None if max_tokens is None else [max_tokens])
        return {k: (v[0].tolist() if isinstance(v, np.ndarray) else v) for k, v in many.items()}

    def predict_many(self, d: int, tins, max_tokens=None) -> dict:
        """Energy and runtime on deployment ``d`` of queries with input lengths ``tins``, vectorised.

        The output length is unknown: its predicted quantiles for the bucket (clipped at
        ``max_tokens``, a list with None where a query gives none) give the mean and a 90% range;
        the models' own 95% intervals, when the policy carries the fits' metrics, widen that
        range at its ends. Energy includes the feedback correction of the bucket.
        """
        from .buckets import bucket_of

        tins = np.asarray(tins, dtype=np.float64)
        n = tins.size
        b = np.asarray(self.fallback)[bucket_of(tins, self.edges)]
        tout = np.asarray(self.tout_quantiles, dtype=np.float64)[b]  # (n, Q)
        if max_tokens is not None:
            caps = np.array([np.inf if m is None else m for m in max_tokens], dtype=np.float64)
            tout = np.minimum(tout, caps[:, None])
        spec = self.specs[d]
        factor = np.asarray(self.corrections)[b, d] if self.corrections else np.ones(n)
        fits = self.fit_metrics.get(self.keys[d]) or {}
        grid_tin = np.repeat(tins, tout.shape[1])
        out = {}
        for what, coefs_key, target, f in (("energy_j", "energy_coefs", "energy", factor),
                                           ("runtime_s", "runtime_coefs", "runtime", np.ones(n))):
            values = np.maximum(terms.predict(spec[coefs_key], grid_tin, tout.ravel()), 0.0).reshape(tout.shape)
            values = np.sort(values * f[:, None], axis=1)
            # The 7.5% and 92.5% output quantiles: a 90% range over the unknown output length.
            lo, hi = values[:, 1], values[:, -2]
            if fits.get(target):
                from profiling.fitting.regression import prediction_interval

                ends = np.concatenate([tout.min(axis=1), tout.max(axis=1)])
                _, lower, upper = prediction_interval(spec[coefs_key], fits[target], np.concatenate([tins, tins]),
                                                      ends)
                if lower is not None:
                    lo = np.minimum(lo, np.minimum(lower[:n], lower[n:]) * f)
                    hi = np.maximum(hi, np.maximum(upper[:n], upper[n:]) * f)
            out[what] = values.mean(axis=1)
            out[f"{what}_interval"] = np.column_stack([np.maximum(lo, 0.0), hi])
        return out


def build_policy(tin, tout, specs: list[DeploymentSpec], *, objective: str = "paper-energy-accuracy",
                 zeta: float = 0.5, accuracy_target: float | None = None, energy_budget_j: float | None = None,
                 deadline_s: float | None = None, paper_default_shares: bool = True, allow_clamping: bool = False,
                 time_limit_s: float = 60.0, predictor: str = "empirical", per_octave: int = DEFAULT_PER_OCTAVE,
                 corrections=None, fit_metrics: dict | None = None, explore_share: float = 0.0,
                 explore=None) -> Policy:
    """Solve the bucketed problem on a training workload; raises PlanningError on bad input.

    ``corrections`` (buckets, deployments) multiplies the modelled energy (feedback.py);
    its shape must match the buckets this training workload gives. ``explore``: deployment
    keys to give at least ``explore_share`` of the queries (None: every deployment).
    """
    pred = predictors.get(predictor)
    p = build_problem(tin, tout, specs, paper_default_shares=paper_default_shares, deadline_s=deadline_s,
                      allow_clamping=allow_clamping)
    edges = bucket_edges(p.class_tin, per_octave)
    B, D = len(edges), len(p.deployments)
    cb = bucket_of(p.class_tin, edges)
    factor = np.ones((B, D)) if corrections is None else np.asarray(corrections, np.float64)
    if factor.shape != (B, D):
        raise PlanningError(f"corrections have shape {factor.shape}, the policy has {B} buckets x {D} deployments")
    pts = pred.points(p.class_tin, p.class_tout, p.class_count, cb, B)
    energy = _at(pts, p.deployments, "energy_coefs") * factor[pts.bucket]
    runtime = _at(pts, p.deployments, "runtime_coefs")
    w = np.bincount(pts.bucket, weights=pts.weight, minlength=B)
    seen = np.flatnonzero(w > 0)

    def mean(values):  # (points, D) -> (seen buckets, D) weighted means
        sums = np.column_stack([np.bincount(pts.bucket, weights=pts.weight * values[:, j], minlength=B)
                                for j in range(values.shape[1])])
        return sums[seen] / w[seen, None]

    tokens = mean((pts.tin + pts.tout)[:, None])[:, 0]
    counts = np.bincount(cb, weights=p.class_count, minlength=B).astype(np.int64)
    bp = _bucket_problem(p, counts[seen], tokens, mean(energy), mean(runtime),
                         p.energy * factor[cb], p.runtime)
    explored = _explore(bp, p.keys, explore_share, explore)
    result = plan_problem(bp, objective=objective, zeta=zeta, accuracy_target=accuracy_target,
                          energy_budget_j=energy_budget_j, time_limit_s=time_limit_s)
    if result.class_counts is None or result.status in ("error", "infeasible"):
        raise PlanningError("; ".join(result.warnings) or f"the bucketed plan failed ({result.status})")
    x = result.class_counts[: len(seen)]
    shares = np.zeros((B, D))
    shares[seen] = x / counts[seen, None]
    fallback = _nearest(seen, B)
    shares = shares[fallback]
    full_e, full_r = np.zeros((B, D)), np.zeros((B, D))
    full_e[seen], full_r[seen] = mean(energy), mean(runtime)
    quant = _quantiles(pts, seen, B)
    caps = capped.cap_table(bp, result.class_counts, pts, seen, B, factor, objective, zeta, per_octave,
                            lambda points, key: _at(points, p.deployments, key))
    cap_choice = np.zeros((B, 0), dtype=np.int64)
    if caps is not None:
        cap_choice = np.zeros((B, len(caps[0]) - 1), dtype=np.int64)  # the last edge closes the range
        cap_choice[seen] = caps[1]
        cap_choice = cap_choice[fallback]
    return Policy(
        keys=p.keys, specs=[asdict(d) for d in p.deployments], edges=[int(e) for e in edges],
        shares=shares.tolist(), counts=counts.tolist(), fallback=fallback.tolist(),
        tout_quantiles=quant[fallback].tolist(), expected_energy_j=full_e[fallback].tolist(),
        expected_runtime_s=full_r[fallback].tolist(),
        min_share=[float(d.min_share) for d in p.deployments], max_share=[float(d.max_share) for d in p.deployments],
        objective=objective, zeta=float(zeta),
        parameters={"accuracy_target": accuracy_target, "energy_budget_j": energy_budget_j, "deadline_s": deadline_s,
                    "paper_default_shares": paper_default_shares, "allow_clamping": allow_clamping,
                    "time_limit_s": time_limit_s, "per_octave": per_octave, "explore_share": explore_share},
        predictor=pred.name,
        plan={"status": result.status, "objective_value": result.objective_value, "gap": result.gap,
              "expected_energy_j": result.total_energy_j, "expected_accuracy": result.accuracy,
              "expected_mean_runtime_s": result.mean_runtime_s, "training_queries": int(p.n),
              "buckets_seen": int(len(seen)), "solve_seconds": result.solve_seconds, "method": result.method},
        corrections=None if corrections is None else factor.tolist(),
        warnings=list(dict.fromkeys(result.warnings)),
        fit_metrics=dict(fit_metrics or {}),
        cap_edges=list(caps[0]) if caps else [], cap_choice=cap_choice.tolist(),
        explore_share=explored,
    )


def _explore(bp: Problem, keys: list[str], share: float, explore) -> list[float]:
    """Raise the explored deployments' minimum counts in ``bp`` (in place); their shares."""
    if not 0 <= share <= 0.5 or not math.isfinite(share):
        raise PlanningError(f"explore_share must lie in 0..0.5, not {share}")
    D = len(keys)
    if share == 0:
        return [0.0] * D
    wanted = set(keys if explore is None else explore)
    lo = bp.lo.copy()
    out = [0.0] * D
    for j, key in enumerate(keys):
        if key in wanted:
            # Within the deployment's max share (hi), and never above what the bounds allow.
            lo[j] = max(lo[j], min(math.ceil(share * bp.n), int(bp.hi[j])))
            out[j] = min(share, lo[j] / bp.n) if bp.n else 0.0
    if lo.sum() > bp.n:  # the other minima leave no room: explore nothing rather than fail
        bp.warnings.append(f"no exploration: {share:g} per deployment does not fit the minimum shares")
        return [0.0] * D
    bp.lo = lo
    return out


def _at(pts, deployments, key: str) -> np.ndarray:
    # Clamped at zero: a predictor's points may leave the training classes, where
    # build_problem has already refused (or knowingly clamped) negative predictions.
    return np.column_stack([np.maximum(terms.predict(getattr(d, key), pts.tin, pts.tout), 0.0)
                            for d in deployments])


def _bucket_problem(p: Problem, counts, tokens, energy, runtime, query_energy, query_runtime) -> Problem:
    """Buckets as classes, plus the zero-count class that fixes the normalisers (module doc)."""
    top = int(np.argmax(p.tokens))
    return Problem(
        deployments=p.deployments, n=int(counts.sum()),
        class_tin=np.append(tokens, p.tokens[top]), class_tout=np.zeros(len(counts) + 1),
        class_count=np.append(counts, 0).astype(np.int64), inverse=np.zeros(0, dtype=np.int64),
        energy=np.vstack([energy, query_energy.max(axis=0)]),
        runtime=np.vstack([runtime, query_runtime.max(axis=0)]),
        accuracy=p.accuracy, gpus=p.gpus, lo=p.lo, hi=p.hi, cap_runtime=p.cap_runtime,
        warnings=list(p.warnings),
    )


def _nearest(seen: np.ndarray, n_buckets: int) -> np.ndarray:
    """For each bucket the nearest bucket with training queries (the lower one on a tie)."""
    idx = np.arange(n_buckets)
    return seen[np.argmin(np.abs(idx[:, None] - seen[None, :]), axis=1)]


def _quantiles(pts, seen, n_buckets: int) -> np.ndarray:
    out = np.zeros((n_buckets, len(QUANTILES)))
    for b in seen:
        sel = pts.bucket == b
        order = np.argsort(pts.tout[sel], kind="stable")
        values, cum = pts.tout[sel][order], np.cumsum(pts.weight[sel][order])
        out[b] = values[np.minimum(np.searchsorted(cum, QUANTILES * cum[-1]), len(values) - 1)]
    return out


def _spec_from_json(data: dict) -> DeploymentSpec:
    # As scheduling.models.deployment_specs.spec_from_json, which this pure package cannot import
    # (it sits beside the ORM lookups): JSON turned the tuples into lists.
    data = dict(data)
    for key in ("tin_range", "tout_range"):
        if data.get(key) is not None:
            data[key] = tuple(data[key])
    data["model_notes"] = tuple(data.get("model_notes") or ())
    return DeploymentSpec(**data)
