"""The router: deterministic given a seed, shares on target, bounds held over long streams."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.routing import buckets
from scheduling.routing.policy import Policy, build_policy
from scheduling.routing.router import Router
from tests.routing.helpers import spec, two_deployments


def _split_policy(**kw):
    # One bucket, split 70/30 by A's maximum share.
    deps = [spec("A", {"intercept": 10.0, "tout": 1.0}, max_share=0.7), spec("B", {"tout": 2.0}), *kw.pop("extra", [])]
    return build_policy(np.full(100, 64), np.tile([2, 30], 50), deps, zeta=1.0, **kw)


def test_same_seed_same_decisions_other_seed_same_shares():
    pol = _split_policy()
    stream = np.random.default_rng(0).integers(1, 5000, 2000)
    first = Router(pol, seed=7).route_many(stream)
    again = Router(pol, seed=7).route_many(stream)
    other = Router(pol, seed=8).route_many(stream)
    assert np.array_equal(first, again)
    assert np.bincount(first, minlength=2)[0] == pytest.approx(1400, abs=2)
    assert abs(int(np.bincount(other, minlength=2)[0]) - int(np.bincount(first, minlength=2)[0])) <= 2


def test_deficit_accounting_keeps_every_prefix_close_to_target_unlike_coin_flips():
    pol = _split_policy()
    router = Router(pol, seed=3)
    worst = 0.0
    for i in range(1, 20001):
        router.route(64)
        worst = max(worst, abs(router.counts[0] - 0.7 * i))
    assert worst <= 2.0  # coin flips with p = 0.7 would drift by ~sqrt(20000 * 0.21) = 65 queries
    assert router.shares()[0] <= 0.7 + 1 / router.total


def test_bounds_hold_over_a_long_stream_whose_bucket_mix_differs_from_training():
    # Trained on two buckets of equal size; live traffic is 95% the bucket where A is cheap,
    # which the per-bucket targets alone would push far past A's maximum share of 0.6.
    tin = np.array([10] * 50 + [1000] * 50)
    tout = np.array([40] * 50 + [2] * 50)
    deps = [spec("A", {"intercept": 10.0, "tout": 1.0}, max_share=0.6),
            spec("B", {"tout": 2.0}, min_share=0.2)]
    pol = build_policy(tin, tout, deps, zeta=1.0)
    assert pol.shares[buckets.bucket_of_one(10, pol.edges)][0] > 0.9
    stream = np.where(np.random.default_rng(5).random(50_000) < 0.95, 10, 1000)
    router = Router(pol, seed=0)
    n = 0
    for t in stream:
        router.route(int(t))
        n += 1
        if n % 1000 == 0:
            a, b = router.shares()
            assert a <= 0.6 + 1.0 / n + 1e-12 and b >= 0.2 - 1.0 / n - 1e-12


def test_lengths_outside_training_and_empty_buckets_route_sensibly():
    tin = np.array([10] * 50 + [1000] * 50)
    tout = np.array([2] * 50 + [40] * 50)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    router = Router(pol)
    assert router.route(0) == 1  # below every training length: the short bucket, B
    assert router.route(12) == 1  # an empty bucket next to the short one
    assert router.route(10**7) == 0  # far above: the last (open) bucket falls back to the long one
    with pytest.raises(ValueError, match="negative"):
        router.route(-1)


def test_a_policy_read_back_from_json_routes_identically():
    pol = _split_policy()
    stream = np.arange(1, 3000) % 4000
    a = Router(pol, seed=1).route_many(stream)
    b = Router(Policy.from_dict(pol.to_dict()), seed=1).route_many(stream)
    assert np.array_equal(a, b)


def test_a_tight_max_tokens_changes_the_choice_where_it_changes_the_cost():
    # Outputs 2 or 30: uncapped, A is cheaper on average (26 J vs 32 J). Capped at 5 tokens the
    # outputs are 2 or 5: A costs 13.5 J, B 7 J, so a capped query goes to B. No bound binds, so
    # the share constraints' prices are zero and the cheaper capped cost decides.
    tin = np.full(100, 64)
    tout = np.tile([2, 30], 50)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    assert pol.cap_edges[-1] == 30
    router = Router(pol)
    assert router.route(64) == 0
    assert router.route(64, max_tokens=5) == 1
    assert router.route(64, max_tokens=30) == 0  # at the longest training output: no change
    assert router.route(64, max_tokens=10**6) == 0
    assert router.counts == [3, 1]


def test_capped_queries_still_respect_the_bounds():
    tin = np.full(100, 64)
    tout = np.tile([2, 30], 50)
    deps = [spec("A", {"intercept": 10.0, "tout": 1.0}), spec("B", {"tout": 2.0}, max_share=0.2)]
    pol = build_policy(tin, tout, deps, zeta=1.0)
    router = Router(pol)
    for _ in range(1000):
        router.route(64, max_tokens=3)
    assert router.shares()[1] <= 0.2 + 1 / 1000 + 1e-12
    assert router.counts[1] > 150  # capped queries do go to B, up to its bound
