"""POST /api/v1/route's lean path: no query once warm, the same answers as the DRF path, token
cache invalidation within its documented bound, and the per-user rate (issue 19)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from energyweb.api import token_cache
from energyweb.api.throttling import RouteThrottle
from scheduling.models import RoutingPolicy
from scheduling.services.reference_deployments import ensure_reference_deployments


@pytest.fixture(autouse=True)
def _fresh_caches():
    token_cache.clear()
    RouteThrottle._buckets.clear()
    yield
    token_cache.clear()
    RouteThrottle._buckets.clear()


@pytest.fixture
def policy(routed, staff_api):
    deps = ensure_reference_deployments()
    r = staff_api.post("/api/v1/routing-policies", {
        "workload": routed["train"].pk, "deployments": [d.pk for d in deps],
        "parameters": {"zeta": 0.5}}, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def token_client(user) -> tuple[APIClient, Token]:
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client, token


def route(client, policy, **extra):
    return client.post("/api/v1/route", {"policy": policy["id"], "input_tokens": 500, **extra}, format="json")


def test_a_warm_route_request_sends_no_query_and_answers_as_the_drf_path(policy, plain_user, user_api):
    client, _ = token_client(plain_user)
    first = route(client, policy)  # fills the token cache and the process's router
    assert first.status_code == 200, first.json()
    with CaptureQueriesContext(connection) as queries:
        warm = route(client, policy, max_tokens=64)
    assert warm.status_code == 200, warm.json()
    assert len(queries) == 0, [q["sql"] for q in queries.captured_queries]
    # The session/forced-auth client takes the DRF path: same fields, same predictions.
    drf = route(user_api, policy, max_tokens=64)
    assert drf.status_code == 200
    assert warm.json().keys() == drf.json().keys()
    assert warm["Content-Type"] == drf["Content-Type"] == "application/json"
    if warm.json()["deployment"] == drf.json()["deployment"]:
        assert warm.json() == drf.json()
    pol = RoutingPolicy.objects.get(pk=policy["id"])
    index = pol.policy["keys"].index(warm.json()["deployment"])
    assert warm.json()["deployment_index"] == index
    assert warm.json()["queue"] == pol.queues[warm.json()["deployment"]]


def test_bad_input_on_a_warm_token_still_gets_field_keyed_400s(policy, plain_user):
    client, _ = token_client(plain_user)
    assert route(client, policy).status_code == 200
    bad = client.post("/api/v1/route", {"policy": policy["id"], "input_tokens": -3}, format="json")
    assert bad.status_code == 400 and "input_tokens" in bad.json()
    gone = client.post("/api/v1/route", {"policy": 999999, "input_tokens": 5}, format="json")
    assert gone.status_code == 400 and "policy" in gone.json()
    nan = client.post("/api/v1/route", data=b'{"policy": %d, "input_tokens": NaN}' % policy["id"],
                      content_type="application/json")
    assert nan.status_code == 400
    nested = "[" * 40 + "1" + "]" * 40
    deep = client.post("/api/v1/route", data=f'{{"policy": {policy["id"]}, "input_tokens": 5, "x": {nested}}}'.encode(),
                       content_type="application/json")
    assert deep.status_code == 400


def test_a_deleted_or_rotated_token_is_refused_at_once_in_this_process(policy, plain_user, client):
    api, token = token_client(plain_user)
    assert route(api, policy).status_code == 200
    # Rotation through the account page deletes the old row and makes a new one.
    client.force_login(plain_user)
    assert client.post("/accounts/profile/", {"action": "token"}).status_code in (200, 302)
    new = Token.objects.get(user=plain_user)
    assert new.key != token.key
    assert route(api, policy).status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {new.key}")
    assert route(fresh, policy).status_code == 200
    Token.objects.filter(user=plain_user).delete()
    assert route(fresh, policy).status_code == 401


def test_a_deactivated_user_is_refused_at_once(policy, plain_user):
    api, _ = token_client(plain_user)
    assert route(api, policy).status_code == 200
    plain_user.is_active = False
    plain_user.save()
    assert route(api, policy).status_code == 401


def test_a_change_no_signal_reports_is_seen_within_the_cache_time(policy, plain_user, settings):
    """Another web process's delete sends no signal here: the entry then lives at most
    API_TOKEN_CACHE_S (a raw delete stands in for the other process)."""
    settings.API_TOKEN_CACHE_S = 1
    api, token = token_client(plain_user)
    assert route(api, policy).status_code == 200
    Token.objects.filter(pk=token.pk)._raw_delete(connection.alias)
    assert route(api, policy).status_code == 200  # still trusted: inside the bound
    time.sleep(1.1)
    assert route(api, policy).status_code == 401


def test_the_cache_can_be_turned_off(policy, plain_user, settings):
    settings.API_TOKEN_CACHE_S = 0
    api, _ = token_client(plain_user)
    assert route(api, policy).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert route(api, policy).status_code == 200
    assert len(queries) >= 1  # the token lookup


def test_route_requests_are_rate_limited_per_user(policy, plain_user, staff_user, settings):
    settings.ROUTE_RATE = "3/min"
    api, _ = token_client(plain_user)
    assert [route(api, policy).status_code for _ in range(3)] == [200, 200, 200]
    refused = route(api, policy)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    other, _ = token_client(staff_user)
    assert route(other, policy).status_code == 200  # per user
