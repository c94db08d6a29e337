"""Every page and API endpoint x anonymous / user / staff / creator, driven by one table.

The rule (energyweb/permissions.py): signed-in users read and compute (predict, plan);
inventory writes are staff only; a planning job may be cancelled by its creator too, and a
background workload import followed by its uploader, an execution cancelled by its creator.
Anonymous visitors are sent to sign in on pages (302) and get 401 from the API.
Each cell runs on a fresh database, so a write allowed in one cell cannot hide another.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from profiling.choices import EnergySource
from profiling.models import EnergyModelFit, Hardware, ImportBatch, Measurement, MeasurementImportJob
from profiling.services import profiling_runs
from scheduling.models import Deployment, Execution, ExecutionJob, ScheduleJob, WorkloadImportJob
from scheduling.services import jobs
from scheduling.services.generator import generate_workload
from tests.hardening.conftest import upload
from tests.scheduling.conftest import make_reference

ROLES = ("anon", "user", "creator", "staff")
CSV = b"llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j\nLlama-2 (7B),Swing AMD+A100,5,5,1.0,2.0\n"
# The world imports uploads above 4 KB in the background (IMPORT_SYNC_MAX_BYTES): these two fall either side.
SMALL_WORKLOAD = b"input_tokens,output_tokens\n1,2\n"
LARGE_WORKLOAD = b"input_tokens,output_tokens\n" + b"10,20\n" * 1000

# name, method, url, body (callable of the world -> dict, or None), expected {role: status}
# "json" bodies are sent as JSON, "form" bodies as form data, "file" as multipart.
PAGE_READ = {"anon": 302, "user": 200, "creator": 200, "staff": 200}
PAGE_STAFF_WRITE = {"anon": 302, "user": 403, "creator": 403, "staff": 302}
API_READ = {"anon": 401, "user": 200, "creator": 200, "staff": 200}
API_CREATE = {"anon": 401, "user": 403, "creator": 403, "staff": 201}
API_CHANGE = {"anon": 401, "user": 403, "creator": 403, "staff": 200}
API_DELETE = {"anon": 401, "user": 403, "creator": 403, "staff": 204}
# The world's LLM and hardware are held by fits, deployments and plans: staff may delete, and
# are told (409) what holds them; history is never cascaded away.
API_DELETE_HELD = {"anon": 401, "user": 403, "creator": 403, "staff": 409}

TABLE = [
    # --- pages ---------------------------------------------------------------------------
    ("dashboard", "get", "/", None, PAGE_READ),
    ("hardware list", "get", "/hardware/", None, PAGE_READ),
    ("hardware detail", "get", "/hardware/{hw}/", None, PAGE_READ),
    ("llm list", "get", "/llms/", None, PAGE_READ),
    ("llm detail", "get", "/llms/{llm}/", None, PAGE_READ),
    ("explorer", "get", "/explorer/", None, PAGE_READ),
    ("explorer pair", "get", "/explorer/{llm}/{hw}/", None, PAGE_READ),
    ("explorer refit", "post", "/explorer/{llm}/{hw}/refit/", None, PAGE_STAFF_WRITE),
    ("measurement list", "get", "/measurements/", None, PAGE_READ),
    ("measurement download", "get", "/measurements/download.csv", None, PAGE_READ),
    ("measurement import page", "get", "/measurements/import/", None,
     {"anon": 302, "user": 403, "creator": 403, "staff": 200}),
    ("measurement import post", "post", "/measurements/import/", ("file", lambda w: {"file": upload(CSV)}),
     {"anon": 302, "user": 403, "creator": 403, "staff": 200}),
    ("batch delete", "post", "/measurements/batches/{batch}/delete/", None, PAGE_STAFF_WRITE),
    ("import job page", "get", "/measurements/import/jobs/{imp}/", None,
     {"anon": 302, "user": 403, "creator": 403, "staff": 200}),
    ("import job status", "get", "/measurements/import/jobs/{imp}/status.json", None,
     {"anon": 302, "user": 403, "creator": 403, "staff": 200}),
    ("workload list", "get", "/workloads/", None, PAGE_READ),
    ("workload detail", "get", "/workloads/{wl}/", None, PAGE_READ),
    ("workload stats", "get", "/workloads/{wl}/stats.csv", None, PAGE_READ),
    ("workload upload page", "get", "/workloads/upload/", None,
     {"anon": 302, "user": 403, "creator": 403, "staff": 200}),
    ("workload generate", "post", "/workloads/generate/",
     ("form", lambda w: {"name": "gen", "n": "5", "tin": "constant:value=3", "tout": "constant:value=3",
                         "seed": "0"}), PAGE_STAFF_WRITE),
    ("workload delete", "post", "/workloads/{wl}/delete/", None, PAGE_STAFF_WRITE),
    ("workload upload post", "post", "/workloads/upload/",
     ("file", lambda w: {"name": "up", "description": "", "file": upload(SMALL_WORKLOAD)}), PAGE_STAFF_WRITE),
    ("workload upload post, background", "post", "/workloads/upload/",
     ("file", lambda w: {"name": "up", "description": "", "file": upload(LARGE_WORKLOAD)}), PAGE_STAFF_WRITE),
    # An import may be followed by staff and by its uploader (who was staff then).
    ("workload import job page", "get", "/workloads/import-jobs/{wimp}/", None,
     {"anon": 302, "user": 403, "creator": 200, "staff": 200}),
    ("workload import job status", "get", "/workloads/import-jobs/{wimp}/status.json", None,
     {"anon": 302, "user": 403, "creator": 200, "staff": 200}),
    ("deployment list", "get", "/deployments/", None, PAGE_READ),
    ("deployment add", "post", "/deployments/",
     ("form", lambda w: {"llm": w["llm_pk"], "hardware": w["hw_pk"], "energy_fit_choice": "published",
                         "runtime_fit_choice": "published", "min_share": "0", "max_share": "0.5",
                         "instances": "1"}), PAGE_STAFF_WRITE),
    ("deployment add reference", "post", "/deployments/reference/", None, PAGE_STAFF_WRITE),
    ("plan list", "get", "/plans/", None, PAGE_READ),
    ("plan new page", "get", "/plans/new/", None, PAGE_READ),
    ("plan new", "post", "/plans/new/",
     ("form", lambda w: {"workload": w["wl"], "deployments": [w["dep"]], "objective": "paper-energy-accuracy",
                         "zeta": "0.5", "time_limit_s": "60", "seed": "0"}),
     {"anon": 302, "user": 302, "creator": 302, "staff": 302}),
    ("plan new adding reference deployments", "post", "/plans/new/",
     ("form", lambda w: {"workload": w["wl"], "add_reference": "on", "objective": "paper-energy-accuracy",
                         "zeta": "0.5", "time_limit_s": "60", "seed": "0"}),
     {"anon": 302, "user": 403, "creator": 403, "staff": 302}),
    ("plan detail", "get", "/plans/{job}/", None, PAGE_READ),
    ("plan status", "get", "/plans/{job}/status.json", None, PAGE_READ),
    ("plan cancel", "post", "/plans/{job}/cancel/", None,
     {"anon": 302, "user": 403, "creator": 302, "staff": 302}),
    ("profiling run list", "get", "/profiling/", None, PAGE_READ),
    ("profiling run new page", "get", "/profiling/new/", None,
     {"anon": 302, "user": 403, "creator": 403, "staff": 200}),
    ("profiling run new", "post", "/profiling/new/",
     ("form", lambda w: {"llm": w["llm_pk"], "hardware": w["host_pk"], "backend": "hf", "design": "grid-small",
                         "dtype": "auto"}), PAGE_STAFF_WRITE),
    ("coverage run from a workload", "post", "/profiling/cover/workload/{wl}/",
     ("form", lambda w: {"llm": w["llm_pk"], "hardware": w["host_pk"]}), PAGE_STAFF_WRITE),
    ("coverage runs from a plan", "post", "/profiling/cover/plan/{job}/", None, PAGE_STAFF_WRITE),
    ("profiling run detail", "get", "/profiling/{run}/", None, PAGE_READ),
    ("profiling run status", "get", "/profiling/{run}/status.json", None, PAGE_READ),
    ("profiling run measurements", "get", "/profiling/{run}/measurements.json", None, PAGE_READ),
    ("profiling run cancel", "post", "/profiling/{run}/cancel/", None,
     {"anon": 302, "user": 403, "creator": 302, "staff": 302}),
    # Executions occupy the hosts: staff start them (the world's plan has not run, so staff are sent
    # back to it with the reason), anyone signed in reads them, staff or their creator cancel them.
    ("execution new", "post", "/plans/{job}/execute/", ("form", lambda w: {"batch_size": "4"}), PAGE_STAFF_WRITE),
    ("execution detail", "get", "/executions/{ex}/", None, PAGE_READ),
    ("execution report json", "get", "/executions/{ex}/report.json", None, PAGE_READ),
    ("execution report csv", "get", "/executions/{ex}/report.csv", None, PAGE_READ),
    ("execution queries csv", "get", "/executions/{ex}/queries.csv", None, PAGE_READ),
    ("execution cancel", "post", "/executions/{ex}/cancel/", None,
     {"anon": 302, "user": 403, "creator": 302, "staff": 302}),
    ("execution refit", "post", "/executions/{ex}/refit/", None, PAGE_STAFF_WRITE),
    ("execution threshold", "post", "/executions/{ex}/threshold/", ("form", lambda w: {"drift_threshold_pct": "10"}),
     PAGE_STAFF_WRITE),
    ("admin", "get", "/admin/", None, {"anon": 302, "user": 302, "creator": 302, "staff": 200}),
    # --- API -----------------------------------------------------------------------------
    ("api root", "get", "/api/v1/", None, API_READ),
    ("api hardware list", "get", "/api/v1/hardware/", None, API_READ),
    ("api hardware create", "post", "/api/v1/hardware/", ("json", lambda w: {"name": "New Box"}), API_CREATE),
    ("api hardware change", "patch", "/api/v1/hardware/{hw}/", ("json", lambda w: {"notes": "x"}), API_CHANGE),
    ("api hardware delete", "delete", "/api/v1/hardware/{hw}/", None, API_DELETE_HELD),
    ("api llm list", "get", "/api/v1/llms/", None, API_READ),
    ("api llm create", "post", "/api/v1/llms/",
     ("json", lambda w: {"name": "New LM (1B)", "parameters_b": 1, "weights": "x/y"}), API_CREATE),
    ("api llm change", "patch", "/api/v1/llms/{llm}/", ("json", lambda w: {"family": "x"}), API_CHANGE),
    ("api llm delete", "delete", "/api/v1/llms/{llm}/", None, API_DELETE_HELD),
    ("api fit list", "get", "/api/v1/fits/", None, API_READ),
    ("api fit detail", "get", "/api/v1/fits/{fit}/", None, API_READ),
    ("api fit delete", "delete", "/api/v1/fits/{fit}/", None,
     {"anon": 401, "user": 403, "creator": 403, "staff": 405}),
    ("api deployment list", "get", "/api/v1/deployments/", None, API_READ),
    ("api deployment create", "post", "/api/v1/deployments/",
     ("json", lambda w: {"llm": w["llm_pk"], "hardware": w["hw_pk"], "max_share": 0.5}), API_CREATE),
    ("api deployment change", "patch", "/api/v1/deployments/{dep}/", ("json", lambda w: {"notes": "x"}),
     API_CHANGE),
    ("api deployment delete", "delete", "/api/v1/deployments/{dep}/", None, API_DELETE),
    ("api measurement list", "get", "/api/v1/measurements/", None, API_READ),
    ("api measurement import", "post", "/api/v1/measurements/import", ("file", lambda w: {"file": upload(CSV)}),
     API_CREATE),
    ("api import job", "get", "/api/v1/measurements/import/jobs/{imp}", None,
     {"anon": 401, "user": 403, "creator": 403, "staff": 200}),
    ("api batch list", "get", "/api/v1/import-batches/", None, API_READ),
    ("api batch delete", "delete", "/api/v1/import-batches/{batch}/", None, API_DELETE),
    ("api predict", "post", "/api/v1/predict",
     ("json", lambda w: {"llm": w["llm"], "hardware": w["hw"], "pairs": [[10, 10]], "fit": "published"}),
     {"anon": 401, "user": 200, "creator": 200, "staff": 200}),
    ("api workload list", "get", "/api/v1/workloads/", None, API_READ),
    ("api workload stats", "get", "/api/v1/workloads/{wl}/stats/", None, API_READ),
    ("api workload upload", "post", "/api/v1/workloads/",
     ("file", lambda w: {"name": "up", "file": upload(b"input_tokens,output_tokens\n1,2\n")}), API_CREATE),
    ("api workload upload, background", "post", "/api/v1/workloads/",
     ("file", lambda w: {"name": "up", "file": upload(LARGE_WORKLOAD)}),
     {"anon": 401, "user": 403, "creator": 403, "staff": 202}),
    ("api workload import job", "get", "/api/v1/workload-import-jobs/{wimp}", None,
     {"anon": 401, "user": 403, "creator": 200, "staff": 200}),
    ("api workload generate", "post", "/api/v1/workloads/generate/", ("json", lambda w: {"name": "g", "n": 5}),
     API_CREATE),
    ("api workload delete", "delete", "/api/v1/workloads/{wl}/", None, API_DELETE),
    ("api job list", "get", "/api/v1/schedule-jobs/", None, API_READ),
    ("api job detail", "get", "/api/v1/schedule-jobs/{job}/", None, API_READ),
    ("api job results", "get", "/api/v1/schedule-jobs/{job}/results/", None, API_READ),
    ("api job create", "post", "/api/v1/schedule-jobs/",
     ("json", lambda w: {"workload": w["wl"], "deployments": [w["dep"]]}),
     {"anon": 401, "user": 201, "creator": 201, "staff": 201}),
    ("api job cancel", "post", "/api/v1/schedule-jobs/{job}/cancel/", None,
     {"anon": 401, "user": 403, "creator": 200, "staff": 200}),
    ("api job delete", "delete", "/api/v1/schedule-jobs/{job}/", None, API_DELETE),
    ("api profiling run list", "get", "/api/v1/profiling-runs/", None, API_READ),
    ("api profiling run detail", "get", "/api/v1/profiling-runs/{run}/", None, API_READ),
    ("api profiling run summary", "get", "/api/v1/profiling-runs/{run}/summary/", None, API_READ),
    ("api profiling run create", "post", "/api/v1/profiling-runs/",
     ("json", lambda w: {"llm": w["llm"], "hardware": w["host"], "design": "grid-small"}), API_CREATE),
    ("api profiling run cancel", "post", "/api/v1/profiling-runs/{run}/cancel/", None,
     {"anon": 401, "user": 403, "creator": 200, "staff": 200}),
    # Staff may ask; the world's plan has not run, so the answer is the field-keyed refusal.
    ("api execution create", "post", "/api/v1/schedule-jobs/{job}/execute/", ("json", lambda w: {"batch_size": 4}),
     {"anon": 401, "user": 403, "creator": 403, "staff": 400}),
    ("api execution list", "get", "/api/v1/executions/", None, API_READ),
    ("api execution detail", "get", "/api/v1/executions/{ex}/", None, API_READ),
    ("api execution report", "get", "/api/v1/executions/{ex}/report/", None, API_READ),
    ("api execution queries", "get", "/api/v1/executions/{ex}/queries/", None, API_READ),
    ("api execution cancel", "post", "/api/v1/executions/{ex}/cancel/", None,
     {"anon": 401, "user": 403, "creator": 200, "staff": 200}),
    ("api execution refit", "post", "/api/v1/executions/{ex}/refit/", None,
     {"anon": 401, "user": 403, "creator": 403, "staff": 202}),
]


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_SYNC_MAX_BYTES = 4096
    hw, llms = make_reference()
    llm = llms["Llama-2 (7B)"]
    users = {
        # No passwords: force_login needs none, and hashing three of them per cell was most of the time.
        "user": get_user_model().objects.create_user("someone"),
        "creator": get_user_model().objects.create_user("creator"),
        "staff": get_user_model().objects.create_user("boss", is_staff=True, is_superuser=True),
    }
    dep = Deployment.objects.create(llm=llm, hardware=hw)
    wl = generate_workload("w", 10, "constant:value=5", "constant:value=5", 0)
    job = jobs.create_job(wl, [dep], "paper-energy-accuracy", {"zeta": 0.5}, user=users["creator"])
    host = Hardware.objects.create(name="Matrix host", slug="matrix-host")
    # Made by a user who was staff then: the creator may still cancel it.
    run = profiling_runs.create_run(llm, host, params={"seed": 1}, user=users["creator"])
    batch = ImportBatch.objects.create(filename="f.csv", content_hash="0" * 64, row_count=1)
    Measurement.objects.create(llm=llm, hardware=hw, import_batch=batch, input_tokens=5, output_tokens=5,
                               runtime_s=1.0, gpu_energy_j=2.0, gpu_energy_source=EnergySource.IMPORTED,
                               total_energy_j=2.0)
    imp = MeasurementImportJob.objects.create(filename="big.csv", stored_file="imports/x.upload",
                                              content_hash="1" * 64)
    # An execution of the plan (as create_execution leaves it, one part queued on the host), by the creator.
    execution = Execution.objects.create(schedule_job=job, plan_index=0, batch_size=4, queries_planned=10,
                                         created_by=users["creator"])
    ExecutionJob.objects.create(execution=execution, deployment_index=0, deployment_key=dep.key, llm=llm,
                                hardware=host, queries_total=10)
    wimp = WorkloadImportJob.objects.create(filename="big.csv", stored_file="imports/y.upload",
                                            content_hash="2" * 64, name="queued", created_by=users["creator"])
    return {"ex": execution.pk, "imp": imp.pk, "wimp": wimp.pk, "hw": hw.slug, "hw_pk": hw.pk, "llm": llm.slug, "llm_pk": llm.pk, "dep": dep.pk, "wl": wl.pk,
            "job": job.pk, "batch": batch.pk, "run": run.pk, "host": host.slug, "host_pk": host.pk, "fit": EnergyModelFit.objects.filter(llm=llm).first().pk,
            "users": users}


@pytest.mark.parametrize("name, method, url, body, expected", TABLE, ids=[row[0] for row in TABLE])
def test_matrix(world, name, method, url, body, expected):
    got = {}
    for role in ROLES:  # staff last: its allowed writes (deletes) cannot hide a refusal
        client = Client(raise_request_exception=False)
        if role != "anon":
            client.force_login(world["users"][role])
        kwargs = {}
        if body is not None:
            kind, make = body
            data = make(world)
            kwargs = ({"data": json.dumps(data), "content_type": "application/json"} if kind == "json"
                      else {"data": data})
        # Each role's request runs in a savepoint rolled back afterwards, so every role meets
        # the same world (the creator's cancel does not leave the job cancelled for staff).
        with transaction.atomic():
            got[role] = getattr(client, method)(url.format(**world), **kwargs).status_code
            transaction.set_rollback(True)
    assert got == expected, name


def test_non_staff_cannot_create_reference_deployments_through_the_plan_form(world):
    client = Client()
    client.force_login(world["users"]["user"])
    before = Deployment.objects.count()
    r = client.post("/plans/new/", {"workload": world["wl"], "add_reference": "on",
                                    "objective": "paper-energy-accuracy", "zeta": "0.5", "time_limit_s": "60",
                                    "seed": "0"})
    assert r.status_code == 403
    assert b"Only staff may add the reference deployments" in r.content
    assert Deployment.objects.count() == before
    assert ScheduleJob.objects.count() == 1  # the fixture's job only
