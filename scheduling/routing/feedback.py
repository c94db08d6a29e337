"""Feedback: measured energy updates a policy's per-bucket, per-deployment energy.

Each executed query gives (bucket, deployment, measured J, modelled J). The policy
keeps, per bucket and deployment, a correction factor = measured / modelled energy
(the same as measured / modelled energy per token, summed over the bucket's tokens),
and re-solves with the corrected costs.

Why it stays stable:
- Shrinkage with a prior weight: a bucket's factor is
  (w * P * r_d + M) / (w * P + sum P), with M and sum P the measured and modelled
  joules of its readings, P their mean modelled joules and r_d the deployment's factor
  over its other buckets (itself shrunk the same way toward 1, the model). With w = 50
  queries, 5 readings move a bucket by at most 5/55 of their error; the model stays in
  charge until the readings outnumber the prior.
- Pooling across buckets: a deployment whose model is biased everywhere is corrected
  in buckets that have no readings yet, through r_d; otherwise a policy that stopped
  sending a bucket to a deployment would never learn that it had become cheap or dear.
- Sums, not a moving average: readings accumulate, so the factor converges as they
  grow and one noisy batch cannot swing it; factors are also clipped to [0.25, 4] so a
  broken meter cannot make a deployment look free.
- A bounded step per round (``step``): a re-solve moves no factor by more than MAX_STEP
  (x1.5 or /1.5) from the policy's previous one, so even a large batch of bad readings
  changes the routing by a bounded amount per round (a 30% bias, x1.43, is learnt in one).
- Exploration (policy.py): a deployment the plan sends almost nothing would never be
  measured (the paper's one query cannot outweigh a prior of 50), so its model, however
  wrong, would stand for ever. Deployments with fewer than PRIOR_QUERIES readings
  (under_observed) get a bounded minimum share, EXPLORE_SHARE by default, until they have them.
"""

from __future__ import annotations

import numpy as np

from .buckets import bucket_of

PRIOR_QUERIES = 50.0
CLIP = (0.25, 4.0)
MAX_STEP = 1.5
EXPLORE_SHARE = 0.01


def observations(edges, n_deployments: int, tin, deployment, measured_j, modelled_j) -> dict:
    """Sums per (bucket, deployment) of a batch of readings, to add to a policy's."""
    B = len(edges)
    b = bucket_of(np.asarray(tin), edges)
    key = b * n_deployments + np.asarray(deployment, dtype=np.int64)
    size = B * n_deployments

    def total(w):
        return np.bincount(key, weights=np.asarray(w, np.float64), minlength=size).reshape(B, n_deployments)

    return {"n": total(np.ones(len(key))).tolist(), "measured_j": total(measured_j).tolist(),
            "modelled_j": total(modelled_j).tolist()}


def merge(a: dict | None, b: dict) -> dict:
    if not a:
        return b
    return {k: (np.asarray(a[k]) + np.asarray(b[k])).tolist() for k in ("n", "measured_j", "modelled_j")}


def corrections(obs: dict, prior_queries: float = PRIOR_QUERIES) -> np.ndarray:
    n = np.asarray(obs["n"], np.float64)
    m = np.asarray(obs["measured_j"], np.float64)
    p = np.asarray(obs["modelled_j"], np.float64)
    # Deployment level: shrunk toward 1 (the model).
    n_d, m_d, p_d = n.sum(axis=0), m.sum(axis=0), p.sum(axis=0)
    mean_d = np.divide(p_d, n_d, out=np.zeros_like(p_d), where=n_d > 0)
    r_d = (prior_queries * mean_d + m_d) / np.maximum(prior_queries * mean_d + p_d, 1e-300)
    r_d = np.where(n_d > 0, r_d, 1.0)
    # Bucket level: shrunk toward the deployment's factor over the *other* buckets, so a
    # bucket's own readings are not counted twice (once in the prior, once as data).
    others = (prior_queries * mean_d + m_d - m) / np.maximum(prior_queries * mean_d + p_d - p, 1e-300)
    others = np.where(n_d[None, :] > n, others, 1.0)
    mean_b = np.divide(p, n, out=np.zeros_like(p), where=n > 0)
    prior = prior_queries * mean_b
    r = (prior * others + m) / np.maximum(prior + p, 1e-300)
    r = np.where(n > 0, r, r_d[None, :])
    return np.clip(r, *CLIP)


def bounded_step(new, previous, step: float = MAX_STEP) -> np.ndarray:
    """``new`` factors moved at most ``step`` times (or 1/step) from ``previous`` (None: 1, the model)."""
    new = np.asarray(new, np.float64)
    prev = np.ones_like(new) if previous is None else np.asarray(previous, np.float64)
    return np.clip(np.clip(new, prev / step, prev * step), *CLIP)


def under_observed(obs: dict | None, n_deployments: int, prior_queries: float = PRIOR_QUERIES) -> list[int]:
    """Deployments with fewer readings than the prior weight: their factors still rest mostly on
    the model. A policy that sends a deployment little traffic learns little about it (a biased
    model there is corrected only as readings come), so the page and the API name them."""
    if not obs:
        return list(range(n_deployments))
    n = np.asarray(obs["n"], np.float64).sum(axis=0)
    return [int(j) for j in np.flatnonzero(n < prior_queries)]
