"""Routing pages: the list with its form, a policy's page (chart data, replays), downloads, feedback."""

from __future__ import annotations

import csv
import io
import json

import pytest

from scheduling.models import RoutingPolicy
from scheduling.services.reference_deployments import ensure_reference_deployments


@pytest.fixture
def signed_in(client, staff_user):
    client.force_login(staff_user)
    return client


def test_make_replay_download_from_the_pages(routed, signed_in):
    deps = ensure_reference_deployments()
    r = signed_in.post("/routing/", {"workload": routed["train"].pk, "deployments": [d.pk for d in deps],
                                     "zeta": "0.5", "name": "from the page"})
    assert r.status_code == 302, r.content.decode()[:2000]
    row = RoutingPolicy.objects.get()
    page = signed_in.get(f"/routing/{row.pk}/")
    assert page.status_code == 200
    chart = page.context["chart"]
    assert chart["keys"] == row.policy["keys"] and len(chart["buckets"]) == len(row.policy["edges"])
    assert b"chart-shares" in page.content and b"estimated" in page.content
    r = signed_in.post(f"/routing/{row.pk}/", {"workload": routed["live"].pk, "seed": "0"})
    assert r.status_code == 302
    page = signed_in.get(f"/routing/{row.pk}/")
    assert b"live" in page.content and page.context["replays"][0]["queries"] == 200
    listing = signed_in.get("/routing/")
    assert b"from the page" in listing.content
    data = signed_in.get(f"/routing/{row.pk}/shares.json").json()
    assert data["policy"]["id"] == row.pk
    rows = list(csv.DictReader(io.StringIO(signed_in.get(f"/routing/{row.pk}/shares.csv").content.decode())))
    assert len(rows) == len(row.policy["edges"])
    for r in rows:
        assert sum(float(r[k]) for k in row.policy["keys"]) == pytest.approx(1.0)
    json.dumps(data)


def test_bad_form_input_is_shown_against_its_field(routed, signed_in):
    deps = ensure_reference_deployments()
    r = signed_in.post("/routing/", {"workload": routed["train"].pk, "deployments": [d.pk for d in deps],
                                     "zeta": "3"})
    assert r.status_code == 400
    assert "zeta" in r.context["form"].errors
    assert not RoutingPolicy.objects.exists()


def test_feedback_without_executions_changes_nothing(routed, signed_in):
    deps = ensure_reference_deployments()
    signed_in.post("/routing/", {"workload": routed["train"].pk, "deployments": [d.pk for d in deps], "zeta": "0.5"})
    row = RoutingPolicy.objects.get()
    r = signed_in.post(f"/routing/{row.pk}/feedback/", follow=True)
    assert r.status_code == 200 and b"Folded in 0 executed queries" in r.content
    row.refresh_from_db()
    assert row.version == 1
