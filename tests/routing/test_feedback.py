"""Feedback: measured energy corrects a biased model, slowly enough to stay stable."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.routing import feedback
from scheduling.routing.policy import build_policy
from scheduling.routing.replay import replay
from tests.routing.helpers import spec, two_deployments


def test_a_model_30_percent_low_is_corrected_after_one_replay():
    tin = np.full(200, 64)
    tout = np.tile([2, 30], 100)
    truth = two_deployments()
    # B's model says 1.4 J per output token; it really costs 2: B looks cheapest on average (22.4 J vs 26).
    wrong = [truth[0], spec("B", {"tout": 1.4})]
    pol = build_policy(tin, tout, wrong, zeta=1.0, paper_default_shares=False)
    first = replay(pol, tin, tout, truth=truth, keep_queries=True)
    assert first["shares"]["B"] == 1.0
    best_online = 100 * 52.0  # everything on A (test_replay)
    assert first["energy_j"] == pytest.approx(100 * 64.0)

    obs = feedback.observations(pol.edges, 2, tin, first["assignment"], first["charged_j"], first["predicted_j"])
    factors = feedback.corrections(obs)
    b = int(np.flatnonzero(np.asarray(obs["n"]).sum(axis=1))[0])
    # 200 readings at 1/0.7, all in one bucket, against a prior of 50 queries at 1 (the model).
    assert factors[b][1] == pytest.approx((50 + 200 / 0.7) / 250)
    assert factors[b][0] == 1.0  # no readings on A: the model stands

    fixed = build_policy(tin, tout, wrong, zeta=1.0, paper_default_shares=False, corrections=factors)
    second = replay(fixed, tin, tout, truth=truth)
    assert second["energy_j"] == pytest.approx(best_online)
    assert second["regret_pct"] < first["regret_pct"]


def test_a_few_wild_readings_barely_move_the_estimate():
    edges = [0, 1, 2, 3]
    obs = feedback.observations(edges, 2, [2, 2, 2], [0, 0, 0], [100.0, 100.0, 100.0], [10.0, 10.0, 10.0])
    r = feedback.corrections(obs)
    bucket = 2
    assert r[bucket][0] == pytest.approx((50 * 10 + 300) / (50 * 10 + 30))
    assert r[bucket][0] < 1.6  # ten times the model in three readings moves it by well under 2x
    assert r[bucket][1] == 1.0  # the other deployment has no readings
    # Buckets without readings take the deployment's pooled factor.
    assert r[0][0] == pytest.approx((50 * 10 + 300) / (50 * 10 + 30))


def test_factors_are_clipped_so_a_broken_meter_cannot_make_a_deployment_free():
    obs = feedback.observations([0, 10], 1, [5] * 10_000, [0] * 10_000, [0.0] * 10_000, [10.0] * 10_000)
    assert feedback.corrections(obs).min() == feedback.CLIP[0]
    merged = feedback.merge(obs, obs)
    assert np.asarray(merged["n"]).sum() == 20_000


def test_deployments_with_few_readings_are_named():
    obs = feedback.observations([0, 10], 3, [5] * 60 + [5] * 3, [0] * 60 + [2] * 3, [1.0] * 63, [1.0] * 63)
    assert feedback.under_observed(obs, 3) == [1, 2]
    assert feedback.under_observed(None, 2) == [0, 1]
