"""Server-rendered scheduling pages: forms, errors, downloads (the browser test covers charts)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling.models import EnergyModelFit
from scheduling.models import Deployment, ScheduleJob, Workload
from scheduling.services.workloads import import_workload
from scheduling.tasks import run_schedule_job
from tests.scheduling.conftest import small_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user, media):
    client.force_login(staff_user)
    return client


@pytest.fixture
def viewer(client, plain_user, media):
    client.force_login(plain_user)
    return client


def test_upload_page_imports_and_redirects_to_the_charts(staff):
    assert staff.get("/workloads/upload/").status_code == 200
    r = staff.post("/workloads/upload/", {"name": "page wl", "file": SimpleUploadedFile("w.csv", small_csv())})
    wl = Workload.objects.get(name="page wl")
    assert r.status_code == 302 and r["Location"] == f"/workloads/{wl.pk}/"
    page = staff.get(r["Location"]).content.decode()
    assert 'id="hist-tin"' in page and 'id="workload-hist"' in page
    assert staff.get("/workloads/").content.decode().count("page wl") == 1


def test_upload_page_lists_row_and_column_errors(staff):
    data = b"input_tokens,output_tokens\n" + b"".join(b"%d,x\n" % (i + 1) for i in range(60))
    r = staff.post("/workloads/upload/", {"name": "bad", "file": SimpleUploadedFile("bad.csv", data)})
    assert r.status_code == 400
    page = r.content.decode()
    assert "Row 2, column “output_tokens”: not a number: &#x27;x&#x27;" in page
    assert "… and 10 more errors not shown." in page
    assert not Workload.objects.exists()


def test_upload_page_refuses_oversize_with_the_limit(staff, settings):
    settings.MAX_UPLOAD_MB = 1
    data = b"input_tokens,output_tokens\n" + b"1000,1000\n" * 120_000
    r = staff.post("/workloads/upload/", {"name": "big", "file": SimpleUploadedFile("big.csv", data)})
    assert r.status_code == 400
    assert "above the upload limit of 1 MB" in r.content.decode()


def test_viewer_may_look_but_not_upload(viewer):
    assert viewer.get("/workloads/").status_code == 200
    assert viewer.get("/workloads/upload/").status_code == 403
    assert viewer.get("/workloads/generate/").status_code == 403


def test_generate_form_makes_a_labelled_synthetic_workload(staff):
    r = staff.post("/workloads/generate/", {"name": "demo", "n": 500, "tin": "uniform:low=1,high=100",
                                            "tout": "constant:value=7", "seed": 4})
    wl = Workload.objects.get(name="demo")
    assert r.status_code == 302 and wl.is_synthetic
    assert 'class="badge warn"' in staff.get(f"/workloads/{wl.pk}/").content.decode()
    bad = staff.post("/workloads/generate/", {"name": "demo2", "n": 5, "tin": "gamma", "tout": "constant:value=7",
                                              "seed": 0})
    assert bad.status_code == 400 and "Unknown distribution" in bad.content.decode()


def test_workload_stats_downloads(staff):
    wl = import_workload(small_csv(), "dl")
    j = json.loads(staff.get(f"/workloads/{wl.pk}/stats.json").content)
    assert j["stats"]["n"] == 6
    csv = staff.get(f"/workloads/{wl.pk}/stats.csv").content.decode().splitlines()
    assert csv[0] == "column,bin_low,bin_high,count"
    assert sum(int(line.split(",")[3]) for line in csv[1:] if line.startswith("tin")) == 6


def test_deployment_page_adds_and_flags_unplannable(staff, reference):
    hw, llms = reference
    r = staff.post("/deployments/", {"llm": llms["Llama-2 (7B)"].pk, "hardware": hw.pk, "energy_fit_choice": "published",
                                     "runtime_fit_choice": "published", "min_share": 0, "max_share": 1, "instances": 1})
    assert r.status_code == 302
    assert Deployment.objects.count() == 1
    EnergyModelFit.objects.filter(llm=llms["Llama-2 (7B)"], target="energy").update(is_selected=False)
    r = staff.post("/deployments/", {"llm": llms["Llama-2 (7B)"].pk, "hardware": hw.pk, "energy_fit_choice": "selected",
                                     "runtime_fit_choice": "published", "min_share": 0, "max_share": 1, "instances": 1})
    assert r.status_code == 400 and "No selected energy model" in r.content.decode()
    staff.post("/deployments/reference/")
    # Reference deployments are made for pairs with selected fits: 13B and 70B here.
    assert Deployment.objects.count() == 3


def test_plan_form_creates_a_job_and_the_result_page_renders(staff, reference):
    wl = import_workload(small_csv(), "plan wl")
    r = staff.post("/plans/new/", {"workload": wl.pk, "add_reference": "on", "objective": "paper-energy-accuracy",
                                   "zeta": 0.5, "sweep": "on", "time_limit_s": 30, "seed": 0})
    assert r.status_code == 302, r.content.decode()[:2000]
    job = ScheduleJob.objects.get()
    assert job.deployments.count() == 3 and len(job.parameters["zetas"]) == 11
    pending = staff.get(f"/plans/{job.pk}/").content.decode()
    assert 'id="job-progress"' in pending
    run_schedule_job(job.pk)
    status = json.loads(staff.get(f"/plans/{job.pk}/status.json").content)
    assert status["status"] == "succeeded" and status["percent"] == 100
    page = staff.get(f"/plans/{job.pk}/").content.decode()
    for canvas in ("chart-energy", "chart-runtime", "chart-accuracy", "chart-pareto", "chart-counts",
                   "chart-hist-tin", "chart-hist-tout", "savings-table"):
        assert f'id="{canvas}"' in page
    summary = json.loads(staff.get(f"/plans/{job.pk}/summary.json").content)
    assert summary["workload"] == "plan wl" and len(summary["sweep"]) == 11
    assert "plan wl" in staff.get("/plans/").content.decode()
    assert staff.get(f"/plans/{job.pk}/assignment.csv?plan=99").status_code == 404


def test_plan_form_errors_are_shown(staff, reference):
    wl = import_workload(small_csv(), "plan wl")
    r = staff.post("/plans/new/", {"workload": wl.pk, "objective": "min-energy-accuracy-target", "zeta": 0.5,
                                   "add_reference": "on", "time_limit_s": 30, "seed": 0})
    assert r.status_code == 400 and "needs an accuracy target" in r.content.decode()
    r = staff.post("/plans/new/", {"workload": wl.pk, "objective": "paper-energy-accuracy", "zeta": 0.5,
                                   "time_limit_s": 30, "seed": 0})
    assert r.status_code == 400 and "Choose at least one deployment" in r.content.decode()
    assert not ScheduleJob.objects.exists()


def test_result_page_labels_clamped_and_estimated_energy(staff, reference):
    from profiling.choices import FitForm, FitSource, FitTarget
    from profiling.models import EnergyModelFit

    hw, llms = reference
    # A long prompt with a one-token answer: the published a0 < 0 predicts negative energy.
    wl = import_workload(small_csv(((4000, 1), (100, 50), (30, 200))), "clamp")
    EnergyModelFit.objects.filter(llm=llms["Llama-2 (13B)"], target="energy").update(is_selected=False)
    EnergyModelFit.objects.create(
        llm=llms["Llama-2 (13B)"], hardware=hw, target=FitTarget.ENERGY, form=FitForm.NNLS,
        source=FitSource.FITTED, coefficients={"tout": 50.0, "tin": 1.0}, is_selected=True,
        uses_estimated_energy=True)
    deps = [Deployment.objects.create(llm=llms["Llama-2 (7B)"], hardware=hw, energy_fit_choice="published"),
            Deployment.objects.create(llm=llms["Llama-2 (13B)"], hardware=hw, energy_fit_choice="selected")]
    # The published model goes negative on the long prompt: planned only with allow_clamping.
    r = staff.post("/plans/new/", {"workload": wl.pk, "deployments": [d.pk for d in deps], "allow_clamping": "on",
                                   "objective": "paper-energy-accuracy", "zeta": 0.5, "time_limit_s": 30, "seed": 0})
    assert r.status_code == 302
    job = ScheduleJob.objects.get()
    run_schedule_job(job.pk)
    page = staff.get(f"/plans/{job.pk}/").content.decode()
    warnings = page[page.index('id="warnings"'):]
    assert "clamp" in warnings.lower()
    assert '<span class="badge estimated">estimated</span>' in warnings
    job.refresh_from_db()
    assert job.results["energy_estimated"] == [deps[1].key]


def test_admin_pages_for_scheduling_models(staff, reference):
    wl = import_workload(small_csv(), "admin wl")
    hw, llms = reference
    Deployment.objects.create(llm=llms["Llama-2 (7B)"], hardware=hw)
    for url in ("/admin/scheduling/workload/", f"/admin/scheduling/workload/{wl.pk}/change/",
                "/admin/scheduling/deployment/", "/admin/scheduling/deployment/add/",
                "/admin/scheduling/schedulejob/"):
        assert staff.get(url).status_code == 200, url


def test_plan_page_cancel_button(staff, reference):
    wl = import_workload(small_csv(), "cancel wl")
    staff.post("/plans/new/", {"workload": wl.pk, "add_reference": "on", "objective": "paper-energy-accuracy",
                               "zeta": 0.5, "time_limit_s": 30, "seed": 0})
    job = ScheduleJob.objects.get()
    assert 'id="cancel-button"' in staff.get(f"/plans/{job.pk}/").content.decode()
    assert staff.post(f"/plans/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert "was cancelled" in staff.get(f"/plans/{job.pk}/").content.decode()
