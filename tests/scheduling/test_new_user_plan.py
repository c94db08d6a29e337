"""A new user's first plan: `make run` seeds the reference deployments, the plan form starts with them
ticked, and the page explains a deployment that only got the paper's at-least-one query (#16)."""

from __future__ import annotations

import re
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from scheduling.models import Deployment, ScheduleJob
from scheduling.services.workloads import import_workload
from scheduling.tasks import run_schedule_job
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    """What `make run` does before serving: the catalogue, then the reference deployments."""
    call_command("seed_reference", stdout=StringIO())
    out = StringIO()
    call_command("seed_reference_deployments", stdout=out)
    return out.getvalue()


def _workload(n=400, seed=0):
    rng = np.random.default_rng(seed)
    rows = "".join(f"{a},{b}\n" for a, b in zip(rng.integers(16, 1024, n), rng.integers(64, 512, n), strict=True))
    return import_workload(("input_tokens,output_tokens\n" + rows).encode(), "first plan")


def test_make_run_seeds_the_reference_deployments_and_the_form_starts_with_them_ticked(client, staff_user,
                                                                                       seeded):
    deployments = Deployment.objects.count()
    assert deployments >= 5 and f"{deployments} reference deployments are available" in seeded
    call_command("seed_reference_deployments", stdout=StringIO())
    assert Deployment.objects.count() == deployments  # idempotent: make run runs it at every start
    run_target = (ROOT / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]
    assert "manage.py seed_reference\n" in run_target and "manage.py seed_reference_deployments" in run_target
    client.force_login(staff_user)
    page = client.get("/plans/new/").content.decode()
    box = re.search(r'<input[^>]*id="id_add_reference"[^>]*>', page).group(0)
    assert "checked" in box
    assert "at-least-one rule" in page


def test_a_first_plan_explains_deployments_held_at_their_minimum(client, staff_user, seeded, media):
    client.force_login(staff_user)
    wl = _workload()
    # The form as it comes: the box ticked, zeta 0.5, no deployment chosen by hand.
    r = client.post("/plans/new/", {"workload": wl.pk, "add_reference": "on", "objective": "paper-energy-accuracy",
                                    "zeta": "0.5", "time_limit_s": "60", "seed": "0"})
    assert r.status_code == 302, r.content.decode()[:2000]
    job = ScheduleJob.objects.get(workload=wl)
    run_schedule_job(job.pk)
    job.refresh_from_db()
    counts = job.results["plans"][job.results["primary_index"]]["counts"]
    assert job.results["minimum_counts"] == dict.fromkeys(job.results["deployments"], 1)
    held = sorted(k for k, n in counts.items() if n == 1)
    assert held, counts  # at zeta 0.5 the rule bites on the reference catalogue
    page = client.get(f"/plans/{job.pk}/").content.decode()
    assert page.count('class="badge warn at-minimum"') == len(held)
    note = re.search(r'<p class="muted" id="at-minimum-note">(.*?)</p>', page, re.S).group(1)
    assert f"{len(held)} deployment" in note and "at-least-one rule" in note


def test_a_reader_plans_on_the_existing_reference_deployments_without_creating_any(client, plain_user, seeded,
                                                                                   media):
    client.force_login(plain_user)
    before = Deployment.objects.count()
    wl = _workload(n=50, seed=1)
    r = client.post("/plans/new/", {"workload": wl.pk, "add_reference": "on", "objective": "paper-energy-accuracy",
                                    "zeta": "0.5", "time_limit_s": "60", "seed": "0"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Deployment.objects.count() == before
    assert ScheduleJob.objects.get(workload=wl).deployments.count() == before
