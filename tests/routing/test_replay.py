"""Replay against the offline oracle on synthetic cases where the answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scheduling.routing.policy import build_policy
from scheduling.routing.replay import replay
from tests.routing.helpers import two_deployments


def test_regret_of_a_policy_that_cannot_see_outputs_is_what_hand_arithmetic_says():
    # Same prompt length, outputs 2 or 30 alternating. Offline: 2 -> B (4 J), 30 -> A (40 J),
    # 44 J a pair. Online, knowing only the prompt: all to A (26 J on average against B's 32 J),
    # 12 + 40 = 52 J a pair. Regret 8/44; round-robin puts the 2s on A and the 30s on B: 72 J a pair.
    tin = np.full(200, 64)
    tout = np.tile([2, 30], 100)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    r = replay(pol, tin, tout)
    assert r["oracle_energy_j"] == pytest.approx(100 * 44.0)
    assert r["energy_j"] == pytest.approx(100 * 52.0)
    assert r["regret_pct"] == pytest.approx(100 * 8 / 44)
    assert r["round_robin_energy_j"] == pytest.approx(100 * 72.0)
    assert r["shares"] == {"A": 1.0, "B": 0.0}
    assert r["shares_within_bounds"] is True


def test_no_regret_when_the_input_length_determines_the_output():
    tin = np.array([10, 1000] * 100)
    tout = np.array([2, 40] * 100)
    pol = build_policy(tin[:100], tout[:100], two_deployments(), zeta=1.0, paper_default_shares=False)
    r = replay(pol, tin[100:], tout[100:])
    assert r["regret_pct"] == pytest.approx(0.0, abs=1e-9)
    assert r["energy_j"] == pytest.approx(50 * (4 + 50))


def test_replay_keeps_per_query_readings_for_feedback():
    tin = np.full(20, 64)
    tout = np.tile([2, 30], 10)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    r = replay(pol, tin, tout, keep_queries=True)
    assert r["charged_j"].sum() == pytest.approx(r["energy_j"])
    assert np.allclose(r["charged_j"], r["predicted_j"])


def test_readings_follow_the_policys_order_whatever_order_the_truth_is_given_in():
    # Keys out of alphabetical order: the assignment indexes the canonical (sorted) order.
    from tests.routing.helpers import spec

    deps = [spec("Z", {"intercept": 10.0, "tout": 1.0}), spec("M", {"tout": 2.0})]
    tin = np.array([10, 1000] * 50)
    tout = np.array([2, 40] * 50)
    pol = build_policy(tin, tout, deps, zeta=1.0, paper_default_shares=False)
    assert pol.keys == ["M", "Z"]
    r = replay(pol, tin, tout, truth=deps, keep_queries=True)
    assert np.allclose(r["charged_j"], r["predicted_j"])
    assert r["charged_j"].sum() == pytest.approx(r["energy_j"])


def test_replay_with_caps_routes_capped_queries_by_their_capped_cost():
    # Outputs 2 or 30; the queries that generate 2 come with max_tokens 4 (a client that knows
    # it wants a short answer). Uncapped, everything goes to A; with the caps, those go to B:
    # the oracle's placement exactly (2 -> B at 4 J, 30 -> A at 40 J).
    tin = np.full(200, 64)
    tout = np.tile([2, 30], 100)
    pol = build_policy(tin, tout, two_deployments(), zeta=1.0, paper_default_shares=False)
    caps = [4 if o == 2 else None for o in tout]
    r = replay(pol, tin, tout, max_tokens=caps)
    assert r["energy_j"] == pytest.approx(r["oracle_energy_j"]) == pytest.approx(100 * 44.0)
    assert r["regret_pct"] == pytest.approx(0.0, abs=1e-9)
