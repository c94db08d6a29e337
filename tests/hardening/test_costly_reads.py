"""Costly reads are bounded: pairs per predict call, per-user rates (429 + Retry-After) on predict
and on job creation, the length of ?search=, and deep pages (keyset paging instead of OFFSET)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from profiling.models import EnergyModelFit, ImportBatch, Measurement
from scheduling.models import ScheduleJob
from scheduling.services.generator import generate_workload
from scheduling.services.reference_deployments import ensure_reference_deployments

PREDICT = "/api/v1/predict/"


def _predict_body(catalogue, n=2):
    hw, llm = catalogue
    return {"llm": llm.slug, "hardware": hw.slug, "pairs": [[64, 32]] * n}


def test_predict_pairs_are_capped_by_default(user_api, catalogue, settings):
    assert settings.PREDICT_MAX_PAIRS == 100_000
    r = user_api.post(PREDICT, _predict_body(catalogue, 100_001), format="json")
    assert r.status_code == 400
    assert "limit of 100000" in r.json()["pairs"][0]


def test_predict_is_rate_limited_per_user(user_api, staff_api, catalogue, settings):
    settings.PREDICT_RATE = "3/min"
    codes = [user_api.post(PREDICT, _predict_body(catalogue), format="json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = user_api.post(PREDICT, _predict_body(catalogue), format="json")
    assert r.status_code == 429
    assert 0 < int(r["Retry-After"]) <= 60
    # Another user has a count of their own.
    assert staff_api.post(PREDICT, _predict_body(catalogue), format="json").status_code == 200


@pytest.fixture
def planning(catalogue):
    deps = ensure_reference_deployments()
    wl = generate_workload("w", 20, "constant:value=5", "constant:value=5", 0)
    return wl, deps


def test_job_creation_is_rate_limited_per_user(user_api, planning, settings):
    settings.JOB_CREATE_RATE = "2/min"
    settings.MAX_ACTIVE_JOBS_PER_USER = 100
    wl, deps = planning
    body = {"workload": wl.pk, "deployments": [deps[0].pk]}
    codes = [user_api.post("/api/v1/schedule-jobs/", body, format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert ScheduleJob.objects.count() == 2
    # Reading and following jobs is never throttled.
    assert user_api.get("/api/v1/schedule-jobs/").status_code == 200
    job = ScheduleJob.objects.first()
    assert user_api.post(f"/api/v1/schedule-jobs/{job.pk}/cancel/").status_code == 200
    r = user_api.post("/api/v1/schedule-jobs/", body, format="json")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0


def test_workload_import_counts_as_job_creation(staff_api, catalogue, settings):
    from tests.hardening.conftest import upload

    settings.JOB_CREATE_RATE = "1/min"
    first = staff_api.post("/api/v1/workloads/", {"name": "a", "file": upload(b"input_tokens,output_tokens\n5,5\n")})
    second = staff_api.post("/api/v1/workloads/", {"name": "b", "file": upload(b"input_tokens,output_tokens\n6,6\n")})
    assert (first.status_code, second.status_code) == (201, 429)


@pytest.mark.parametrize("url", ["/api/v1/fits/", "/api/v1/llms/", "/api/v1/hardware/", "/api/v1/workloads/"])
def test_long_search_terms_are_a_400(user_api, catalogue, url):
    r = user_api.get(url, {"search": "a" * 4000})
    assert r.status_code == 400
    assert "at most 200" in r.json()["search"][0]
    r = user_api.get(url, {"search": " ".join(["x"] * 9)})
    assert r.status_code == 400 and "search" in r.json()
    assert user_api.get(url, {"search": "llama"}).status_code == 200


@pytest.fixture
def measurements(catalogue):
    hw, llm = catalogue
    batch = ImportBatch.objects.create(filename="m.csv", content_hash="x" * 64, row_count=25)
    Measurement.objects.bulk_create([
        Measurement(llm=llm, hardware=hw, import_batch=batch, input_tokens=8 + i, output_tokens=8, batch_size=1,
                    runtime_s=1.0, gpu_energy_j=10.0, total_energy_j=10.0, iteration=0)
        for i in range(25)])
    return list(Measurement.objects.order_by("id").values_list("id", flat=True))


def test_measurements_page_by_key(user_api, measurements):
    seen, url, pages = [], "/api/v1/measurements/?limit=10", 0
    while url:
        body = user_api.get(url).json()
        assert body["count"] == 25
        seen += [m["id"] for m in body["results"]]
        url, pages = body["next"], pages + 1
        if url:
            assert "after=" in url and "offset=" not in url
    assert seen == measurements and pages == 3
    r = user_api.get("/api/v1/measurements/", {"after": measurements[9], "limit": 5})
    assert [m["id"] for m in r.json()["results"]] == measurements[10:15]


@pytest.mark.parametrize("params, field", [
    ({"offset": 10_001}, "offset"), ({"offset": 1_999_990}, "offset"), ({"after": "abc"}, "after"),
    ({"after": "9" * 30}, "after"), ({"after": 1, "ordering": "-runtime_s"}, "after"),
])
def test_deep_offsets_and_bad_keys_are_a_400(user_api, measurements, params, field):
    r = user_api.get("/api/v1/measurements/", params)
    assert r.status_code == 400
    assert field in r.json()


def test_offset_paging_still_works_with_another_order(user_api, measurements):
    body = user_api.get("/api/v1/measurements/", {"ordering": "-input_tokens", "limit": 10, "offset": 10}).json()
    assert len(body["results"]) == 10 and "offset=20" in body["next"]
    assert user_api.get("/api/v1/fits/", {"offset": 20_000}).status_code == 400


def test_fits_page_by_key_in_id_order(user_api, catalogue):
    ids = list(EnergyModelFit.objects.order_by("id").values_list("id", flat=True))
    body = user_api.get("/api/v1/fits/", {"ordering": "id", "limit": 2}).json()
    assert "after=" in body["next"]
    rest = user_api.get(body["next"]).json()
    assert [f["id"] for f in body["results"] + rest["results"]] == ids[:4]


# --- one trailing-slash rule, and predict in the root ---------------------------------------------

def test_every_api_path_works_with_and_without_its_slash(user_api, staff_api, catalogue):
    body = _predict_body(catalogue)
    assert user_api.post("/api/v1/predict", body, format="json").status_code == 200
    assert user_api.post("/api/v1/predict/", body, format="json").status_code == 200
    for path in ("hardware", "llms", "fits", "measurements", "workloads", "deployments", "schedule-jobs",
                 "executions", "import-batches", "profiling-runs"):
        assert user_api.get(f"/api/v1/{path}").status_code == 200, path
        assert user_api.get(f"/api/v1/{path}/").status_code == 200, path
    hw, _ = catalogue
    assert user_api.get(f"/api/v1/hardware/{hw.slug}").json()["slug"] == hw.slug
    assert user_api.get("/api/v1/nothing-here").status_code == 404


def test_api_root_lists_predict_and_every_link_ends_in_a_slash(user_api, db):
    root = user_api.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    assert root["predict"].endswith("/api/v1/predict/")
    assert "measurements/import" in root
    assert all(url.endswith("/") for url in root.values()), root


# --- the account page's API token -----------------------------------------------------------------

def test_account_page_creates_a_token_shown_once(plain_user, catalogue):
    from django.test import Client
    from rest_framework.authtoken.models import Token

    web = Client(enforce_csrf_checks=True)
    web.force_login(plain_user)
    page = web.get("/accounts/profile/")
    assert page.status_code == 200 and b"Create API token" in page.content
    assert web.post("/accounts/profile/").status_code == 403  # no CSRF token: refused
    csrf = page.cookies["csrftoken"].value
    created = web.post("/accounts/profile/", {"csrfmiddlewaretoken": csrf})
    key = Token.objects.get(user=plain_user).key
    assert key.encode() in created.content and created["Cache-Control"] == "no-store"
    assert key.encode() not in web.get("/accounts/profile/").content  # shown once
    api = APIClient()
    assert api.get("/api/v1/llms/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    # A second press replaces it.
    web.post("/accounts/profile/", {"csrfmiddlewaretoken": csrf})
    assert api.get("/api/v1/llms/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_api_docs_say_how_to_get_a_token(user_web, db):
    schema = user_web.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    text = schema.content.decode() if not schema.streaming else b"".join(schema.streaming_content).decode()
    assert "Create API token" in text and "/accounts/profile/" in text
    assert "openapi" in text
