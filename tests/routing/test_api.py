"""The routing API: make a policy, route one query and a batch, replay, field-keyed 400s."""

from __future__ import annotations

import pytest

from scheduling.models import RoutingPolicy
from scheduling.services.reference_deployments import ensure_reference_deployments


@pytest.fixture
def policy(routed, staff_api):
    deps = ensure_reference_deployments()
    r = staff_api.post("/api/v1/routing-policies", {
        "workload": routed["train"].pk, "deployments": [d.pk for d in deps],
        "parameters": {"zeta": 0.5}}, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def test_create_route_one_and_a_batch(policy, user_api):
    assert policy["summary"]["plan"]["status"] == "optimal", policy["summary"]["plan"]
    r = user_api.post("/api/v1/route", {"policy": policy["id"], "input_tokens": 500, "max_tokens": 64},
                      format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["deployment"] in policy["summary"]["deployments"]
    assert body["queue"].startswith("hw.")
    lo, hi = body["energy_j_interval"]
    assert 0 <= lo <= body["energy_j"] <= hi
    assert body["runtime_s_interval"][0] <= body["runtime_s"] <= body["runtime_s_interval"][1]
    assert body["energy_estimated"] is False
    batch = user_api.post("/api/v1/route", {"policy": policy["id"], "queries": [
        {"input_tokens": t} for t in (10, 100, 1000, 5000)]}, format="json")
    assert batch.status_code == 200
    assert len(batch.json()["results"]) == 4


def test_bad_route_requests_get_field_keyed_400s(policy, user_api):
    cases = [
        ({"policy": 99999, "input_tokens": 5}, "policy"),
        ({"policy": "x", "input_tokens": 5}, "policy"),
        ({"policy": policy["id"], "input_tokens": -1}, "input_tokens"),
        ({"policy": policy["id"]}, "input_tokens"),
        ({"policy": policy["id"], "input_tokens": 5, "max_tokens": 0}, "max_tokens"),
        ({"policy": policy["id"], "input_tokens": 2.5}, "input_tokens"),
        ({"policy": policy["id"], "queries": []}, "queries"),
        ({"policy": policy["id"], "queries": [{"input_tokens": 3}, {"input_tokens": -4}]}, "queries[1].input_tokens"),
    ]
    for body, field in cases:
        r = user_api.post("/api/v1/route", body, format="json")
        assert r.status_code == 400, (body, r.content)
        assert field in r.json(), (body, r.json())


def test_routing_needs_a_signed_in_user(policy, api_client):
    r = api_client.post("/api/v1/route", {"policy": policy["id"], "input_tokens": 5}, format="json")
    assert r.status_code in (401, 403)


def test_replay_through_the_api_is_kept_on_the_policy(policy, routed, user_api):
    r = user_api.post(f"/api/v1/routing-policies/{policy['id']}/replay", {"workload": routed["live"].pk},
                      format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["queries"] == 200 and body["oracle_energy_j"] > 0
    assert RoutingPolicy.objects.get(pk=policy["id"]).replays[0]["energy_j"] == body["energy_j"]
    listed = user_api.get("/api/v1/routing-policies").json()
    assert listed["results"][0]["id"] == policy["id"]


def test_bad_policy_requests_are_refused_by_field(routed, staff_api):
    deps = ensure_reference_deployments()
    r = staff_api.post("/api/v1/routing-policies", {"workload": routed["train"].pk, "deployments": [d.pk for d in deps],
                                                    "parameters": {"zeta": 2}}, format="json")
    assert r.status_code == 400 and {"zeta", "zetas"} & set(r.json())
    r = staff_api.post("/api/v1/routing-policies", {"workload": routed["train"].pk, "deployments": [d.pk for d in deps],
                                                    "parameters": {"predictor": "oracle"}}, format="json")
    assert r.status_code == 400 and "predictor" in r.json()
    r = staff_api.post("/api/v1/routing-policies", {"workload": 9999, "deployments": [d.pk for d in deps]},
                       format="json")
    assert r.status_code == 400 and "workload" in r.json()
    assert not RoutingPolicy.objects.exists()


def test_who_may_change_a_policy(policy, user_api, staff_api, api_client):
    # Made by staff: an ordinary user reads and routes, but may not feed it or delete it.
    pk = policy["id"]
    assert user_api.get(f"/api/v1/routing-policies/{pk}").status_code == 200
    assert user_api.post(f"/api/v1/routing-policies/{pk}/feedback", {}, format="json").status_code == 403
    assert user_api.delete(f"/api/v1/routing-policies/{pk}").status_code == 403
    assert api_client.get(f"/api/v1/routing-policies/{pk}").status_code == 401
    fed = staff_api.post(f"/api/v1/routing-policies/{pk}/feedback", {}, format="json")
    assert fed.status_code == 200 and fed.json()["readings"] == 0
    assert staff_api.delete(f"/api/v1/routing-policies/{pk}").status_code == 204
    r = user_api.post("/api/v1/route", {"policy": pk, "input_tokens": 5}, format="json")
    assert r.status_code == 400 and "policy" in r.json()


def test_a_user_may_feed_the_policy_they_made(routed, user_api):
    deps = ensure_reference_deployments()
    r = user_api.post("/api/v1/routing-policies", {"workload": routed["train"].pk,
                                                   "deployments": [d.pk for d in deps]}, format="json")
    assert r.status_code == 201
    fed = user_api.post(f"/api/v1/routing-policies/{r.json()['id']}/feedback", {"executions": [12345]},
                        format="json")
    assert fed.status_code == 200 and fed.json()["readings"] == 0
