"""Exploration: a deployment the plan starves gets a bounded share until feedback has measured it."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.planner.types import PlanningError
from scheduling.routing import feedback
from scheduling.routing.policy import build_policy
from scheduling.routing.replay import replay
from scheduling.routing.router import Router
from tests.routing.helpers import spec

# Two buckets; C is dearer than A everywhere, so without exploration it gets the paper's one query.
TIN = np.array([10] * 300 + [1000] * 300)
TOUT = np.array([40] * 300 + [5] * 300)


def deployments(c_energy=3.0, **c_kw):
    return [spec("A", {"tout": 1.0}), spec("C", {"tout": c_energy}, **c_kw)]


def test_an_explored_deployment_gets_its_share_and_no_more():
    plain = build_policy(TIN, TOUT, deployments(), zeta=1.0)
    assert replay(plain, TIN, TOUT)["counts"]["C"] == 1
    explored = build_policy(TIN, TOUT, deployments(), zeta=1.0, explore_share=0.05)
    assert explored.explore_share == [0.05, 0.05]
    order = np.random.default_rng(0).permutation(600)  # live traffic mixes the buckets
    r = replay(explored, TIN[order], TOUT[order])
    assert r["counts"]["C"] == pytest.approx(0.05 * 600, abs=2)  # the minimum and no more: it costs energy
    # Traffic sorted by bucket: the guard holds the minimum over the whole stream from the start
    # (C takes queries in the bucket where it is dear), then the bucket's own share adds its part.
    ordered = replay(explored, TIN, TOUT)["counts"]["C"]
    assert 0.05 * 600 <= ordered <= 2 * 0.05 * 600
    # The planner puts that traffic where C costs least: the short outputs (bucket of tin 1000).
    long_prompts = Router(explored).route_many(TIN[300:])
    assert np.count_nonzero(long_prompts == 1) == pytest.approx(30, abs=1)
    assert explored.parameters["explore_share"] == 0.05


def test_exploration_stays_within_the_max_share_and_only_where_asked():
    capped = build_policy(TIN, TOUT, deployments(max_share=0.02), zeta=1.0, explore_share=0.05)
    r = replay(capped, TIN, TOUT)
    assert r["counts"]["C"] <= 0.02 * 600 + 1
    assert r["shares_within_bounds"]
    only_a = build_policy(TIN, TOUT, deployments(), zeta=1.0, explore_share=0.05, explore=["A"])
    assert replay(only_a, TIN, TOUT)["counts"]["C"] == 1
    with pytest.raises(PlanningError, match="explore_share"):
        build_policy(TIN, TOUT, deployments(), zeta=1.0, explore_share=0.9)


def test_exploration_lets_feedback_learn_a_starved_deployments_bias_then_stops():
    # C's model says 2.0 J per token; it really costs 1.4x that. Without exploration it is measured once.
    truth, biased = deployments(c_energy=2.8), deployments(c_energy=2.0)
    for share, learnt in ((0.0, False), (0.1, True)):
        pol = build_policy(TIN, TOUT, biased, zeta=1.0, explore_share=share)
        first = replay(pol, TIN, TOUT, truth=truth, keep_queries=True)
        obs = feedback.observations(pol.edges, 2, TIN, first["assignment"], first["charged_j"], first["predicted_j"])
        factors = feedback.bounded_step(feedback.corrections(obs), pol.corrections)
        c_factor = float(np.max(factors[:, 1]))
        assert (c_factor > 1.25) is learnt, c_factor  # 60 readings at 1.4 against a prior of 50 at 1
        still = [pol.keys[j] for j in feedback.under_observed(obs, 2)]
        assert ("C" in still) is not learnt
        again = build_policy(TIN, TOUT, biased, zeta=1.0, corrections=factors, explore_share=share, explore=still)
        # Measured enough: the exploration is over and C is back to the paper's one query.
        assert again.explore_share[1] == (0.0 if learnt else share)


def test_a_round_of_feedback_moves_a_factor_by_a_bounded_step():
    new = np.array([[3.0, 0.5, 1.2]])
    assert feedback.bounded_step(new, None).tolist() == [[1.5, 1 / 1.5, 1.2]]
    assert feedback.bounded_step(new, [[2.5, 0.6, 1.0]]).tolist() == [[3.0, 0.5, 1.2]]
    assert feedback.bounded_step([[9.0]], [[3.0]]).tolist() == [[feedback.CLIP[1]]]


def test_skipping_the_guard_until_a_minimum_is_near_changes_no_decision():
    tin = np.array([10] * 50 + [1000] * 50)
    tout = np.array([40] * 50 + [2] * 50)
    deps = [spec("A", {"intercept": 10.0, "tout": 1.0}), spec("B", {"tout": 2.0}), spec("C", {"tout": 5.0})]
    pol = build_policy(tin, tout, deps, zeta=1.0, explore_share=0.03)
    # Live traffic mostly in one bucket, so the minima bind and the guard must act.
    stream = np.where(np.random.default_rng(2).random(20_000) < 0.97, 10, 1000)
    fast, always = Router(pol, seed=1), Router(pol, seed=1)
    always._max_bound = True  # forces the guard on every decision (the behaviour before the shortcut)
    a = fast.route_many(stream)
    b = always.route_many(stream)
    assert np.array_equal(a, b)
    assert min(fast.shares()) >= 0.03 - 1 / len(stream)


def test_stored_policies_explore_by_default_and_refuse_a_bad_share_by_name(routed, staff_api):
    from scheduling.services.reference_deployments import ensure_reference_deployments

    deps = [d.pk for d in ensure_reference_deployments()]
    made = staff_api.post("/api/v1/routing-policies", {"workload": routed["train"].pk, "deployments": deps,
                                                       "parameters": {"zeta": 0.5}}, format="json")
    assert made.status_code == 201, made.json()
    assert set(made.json()["summary"]["explore_share"].values()) <= {feedback.EXPLORE_SHARE}
    for bad in (0.9, -0.1, "x", True):
        r = staff_api.post("/api/v1/routing-policies", {"workload": routed["train"].pk, "deployments": deps,
                                                        "parameters": {"zeta": 0.5, "explore_share": bad}},
                           format="json")
        assert r.status_code == 400 and "explore_share" in r.json(), (bad, r.json())
