"""Every CSV download in the URLconf escapes a formula-like name (OWASP CSV injection) via energyweb/csvsafe.py.

The URLconf is walked for CSV routes so that a new download cannot be added without being covered here."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from energyweb.csvsafe import FORMULA_START, _is_number
from profiling.models import ProfilingRun
from scheduling.models import RoutingPolicy
from tests.integrity.conftest import ATTACK, executed_plan

pytestmark = pytest.mark.django_db


def _routes(patterns=None, prefix="") -> list[tuple[str, str]]:
    out = []
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            out += _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            out.append((prefix + str(p.pattern), p.name or ""))
    return out


# Route name -> URL (format() with the rows built below), for each CSV download: routes that end in .csv
# or take a format, and the API actions that answer text/csv.
DOWNLOADS = {
    "execution-report-csv": "/executions/{ex}/report.csv",
    "execution-queries": "/executions/{ex}/queries.csv",
    "execution-report": "/api/v1/executions/{ex}/report/?download=csv",
    "execution-queries-api": "/api/v1/executions/{ex}/queries/",
    "plan-assignment": "/plans/{plan}/assignment.csv",
    "schedulejob-assignment": "/api/v1/schedule-jobs/{plan}/assignment/",
    "measurement-download": "/measurements/download.csv",
    "workload-stats": "/workloads/{wl}/stats.csv",
    "run-measurements": "/profiling/{run}/measurements.json?format=csv",
    "plan-energy-csv": "/plans/{plan}/energy.csv",
    "routing-policy-download": "/routing/{pol}/shares.csv",
}
API_CSV_ACTIONS = {"execution-report", "execution-queries", "schedulejob-assignment"}


def test_every_csv_route_is_covered():
    found = {name for route, name in _routes()
             if ".csv" in route or "fmt" in route or name in API_CSV_ACTIONS or name == "run-measurements"}
    found = {("execution-queries-api" if n == "execution-queries" and "api" in r else n)
             for r, n in _routes() if n in found}
    assert found <= set(DOWNLOADS), f"CSV downloads not covered here: {sorted(found - set(DOWNLOADS))}"
    assert {"execution-report-csv", "execution-queries", "plan-assignment"} <= found


def test_every_csv_download_escapes_a_formula_name(staff_web, media):
    hw, llm, plan, ex = executed_plan(llm_name=ATTACK)
    run = ProfilingRun.objects.create(llm=llm, hardware=hw, design="custom", grid={"cells": []})
    # A routing policy whose deployment key is the attack: its share columns are headed by keys.
    pol = RoutingPolicy.objects.create(policy={
        "edges": [0, 16], "counts": [3, 1], "fallback": [0, 1], "shares": [[1.0], [1.0]], "keys": [ATTACK]})
    ids = {"ex": ex.pk, "plan": plan.pk, "wl": plan.workload_id, "run": run.pk, "pol": pol.pk}
    seen_attack = 0
    for name, url in DOWNLOADS.items():
        r = staff_web.get(url.format(**ids))
        assert r.status_code == 200, (name, r.status_code)
        body = b"".join(r.streaming_content) if r.streaming else r.content
        for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))):
            for cell in row:
                assert not (cell.startswith(FORMULA_START) and not _is_number(cell)), (name, cell)
                seen_attack += cell == "'" + ATTACK or cell.startswith("'" + ATTACK)
    # The name reached the execution, plan and measurement downloads, escaped.
    assert seen_attack >= 5
