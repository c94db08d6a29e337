"""The policy from a plan: buckets, expected costs, empty buckets, the planner's constraints."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner.types import PlanningError
from scheduling.routing import buckets, predictors
from scheduling.routing.policy import Policy, build_policy
from tests.routing.helpers import spec, two_deployments


def test_bucket_edges_are_log_spaced_and_cover_every_length():
    edges = buckets.bucket_edges(np.array([1, 5, 1000]))
    assert edges[0] == 0 and edges[-1] <= 1000
    assert list(edges) == sorted(set(edges))
    ratios = edges[3:] / edges[2:-1]
    assert ratios.max() <= 1.5 + 1e-9  # two per octave: sqrt(2), rounded
    # Edge cases: zero, a value on an edge, one past the largest training length.
    idx = buckets.bucket_of(np.array([0, edges[5], edges[5] - 1, 10**9]), edges)
    assert list(idx) == [0, 5, 4, len(edges) - 1]
    assert buckets.bucket_of_one(int(edges[5]), list(edges)) == 5


def test_buckets_where_output_length_follows_input_split_exactly():
    # Short prompts get short answers (B is cheaper), long prompts long answers (A is cheaper).
    tin = np.array([10] * 50 + [1000] * 50)
    tout = np.array([2] * 50 + [40] * 50)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    short, long_ = buckets.bucket_of_one(10, pol.edges), buckets.bucket_of_one(1000, pol.edges)
    assert pol.shares[short] == [0.0, 1.0]
    assert pol.shares[long_] == [1.0, 0.0]
    # Expected energy per query of the bucket on each deployment (A, B).
    assert pol.expected_energy_j[short] == pytest.approx([12.0, 4.0])
    assert pol.expected_energy_j[long_] == pytest.approx([50.0, 80.0])


def test_expectation_over_outputs_decides_when_the_input_says_nothing():
    # Same prompt length, outputs 2 or 30: A costs 26 J on average, B 32 J, so all go to A.
    tin = np.full(100, 64)
    tout = np.tile([2, 30], 50)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    b = buckets.bucket_of_one(64, pol.edges)
    assert pol.expected_energy_j[b] == pytest.approx([26.0, 32.0])
    assert pol.shares[b] == [1.0, 0.0]
    assert pol.tout_quantiles[b][0] == 2 and pol.tout_quantiles[b][-1] == 30


def test_empty_buckets_route_like_the_nearest_bucket_with_training_queries():
    tin = np.array([4] * 20 + [4000] * 20)
    tout = np.array([2] * 20 + [40] * 20)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    b4, b4000 = buckets.bucket_of_one(4, pol.edges), buckets.bucket_of_one(4000, pol.edges)
    assert pol.counts[b4] == 20 and pol.counts[b4000] == 20
    near_low = buckets.bucket_of_one(6, pol.edges)
    near_high = buckets.bucket_of_one(3000, pol.edges)
    assert pol.counts[near_low] == 0 and pol.fallback[near_low] == b4
    assert pol.fallback[near_high] == b4000
    assert pol.shares[near_high] == pol.shares[b4000]
    assert pol.fallback[b4] == b4


def test_share_bounds_bind_the_bucketed_plan():
    tin = np.full(100, 64)
    tout = np.tile([2, 30], 50)
    deps = [spec("A", {"intercept": 10.0, "tout": 1.0}, max_share=0.7), spec("B", {"tout": 2.0})]
    pol = build_policy(tin, tout, deps, zeta=1.0)
    b = buckets.bucket_of_one(64, pol.edges)
    assert pol.shares[b] == pytest.approx([0.7, 0.3])
    assert pol.max_share == [0.7, 1.0]


def test_paper_normalisation_matches_the_query_level_problem():
    # The zero-count class holds the largest per-query energy, so zeta weighs energy against
    # accuracy as the offline plan does, not against the (smaller) bucket means.
    rng = np.random.default_rng(1)
    tin = rng.integers(1, 2000, 500)
    tout = rng.integers(1, 500, 500)
    deps = [spec("big", {"intercept": 5.0, "tout": 3.0}, accuracy=70.0),
            spec("small", {"intercept": 1.0, "tout": 0.5}, accuracy=40.0)]
    pol = build_policy(tin, tout, deps, zeta=0.5)
    assert pol.plan["status"] == "optimal"
    assert pol.plan["training_queries"] == 500


def test_policy_round_trips_through_json_and_rejects_bad_input():
    tin = np.full(10, 64)
    tout = np.arange(1, 11)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0)
    again = Policy.from_dict(pol.to_dict())
    assert again.shares == pol.shares and again.deployment_specs()[0].key == "A"
    with pytest.raises(ValueError, match="predictor"):
        build_policy(tin, tout, two_deployments(), predictor="crystal-ball")
    with pytest.raises(PlanningError, match="corrections"):
        build_policy(tin, tout, two_deployments(), corrections=np.ones((1, 1)))
    with pytest.raises(PlanningError):
        build_policy(tin, tout, [spec("A", {"tout": 1.0}, min_share=0.8), spec("B", {"tout": 1.0}, min_share=0.8)])


def test_bucket_median_predictor_is_registered_and_ignores_the_spread():
    assert {"empirical", "bucket-median"} <= set(predictors.PREDICTORS)
    tin = np.full(100, 64)
    tout = np.array([2] * 60 + [30] * 40)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, predictor="bucket-median", paper_default_shares=False)
    b = buckets.bucket_of_one(64, pol.edges)
    # The median output is 2: B looks cheaper (4 J vs 12 J), though on average A is (21.2 vs 25.6).
    assert pol.expected_energy_j[b] == pytest.approx([12.0, 4.0])
    assert pol.shares[b] == [0.0, 1.0]


def test_predict_gives_mean_and_range_over_outputs_clipped_at_max_tokens():
    tin = np.full(100, 64)
    tout = np.tile([2, 30], 50)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0)
    p = pol.predict(0, 64)
    assert p["energy_j"] == pytest.approx(26.0)
    assert p["energy_j_interval"] == pytest.approx([12.0, 40.0])
    capped = pol.predict(0, 64, max_tokens=5)
    assert capped["energy_j"] == pytest.approx((12.0 + 15.0) / 2)


def test_vectorised_predictions_equal_one_at_a_time():
    rng = np.random.default_rng(4)
    tin = rng.integers(1, 3000, 300)
    tout = rng.integers(1, 400, 300)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0)
    tins, caps = [0, 5, 64, 900, 2999, 10**6], [None, 3, None, 50, 1, None]
    many = pol.predict_many(1, tins, caps)
    for i, (t, c) in enumerate(zip(tins, caps, strict=True)):
        one = pol.predict(1, t, c)
        assert one["energy_j"] == pytest.approx(many["energy_j"][i])
        assert one["runtime_s_interval"] == pytest.approx(list(many["runtime_s_interval"][i]))
    assert pol.predict(1, 64, 1)["energy_j"] == pytest.approx(2.0)  # B: 2 J per output token, capped at 1
