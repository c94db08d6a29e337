"""Read for signed-in users, write for staff, nothing for anonymous; token and session auth."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

NEW_LLM = {"name": "Tiny test LM", "parameters_b": 0.1, "weights": "sshleifer/tiny-gpt2"}


@pytest.mark.parametrize("url", ["/api/v1/hardware/", "/api/v1/llms/", "/api/v1/fits/",
                                 "/api/v1/hardware/swing-amd-a100/"])
def test_anonymous_is_refused(api_client, seeded, url):
    response = api_client.get(url)
    assert response.status_code in (401, 403)
    assert api_client.post("/api/v1/llms/", NEW_LLM, format="json").status_code in (401, 403)


def test_plain_user_reads_but_cannot_write(user_api, seeded):
    response = user_api.get("/api/v1/llms/")
    assert response.status_code == 200
    assert response.json()["count"] == 7
    assert user_api.post("/api/v1/llms/", NEW_LLM, format="json").status_code == 403
    assert user_api.patch("/api/v1/llms/falcon-7b/", {"accuracy": 1}, format="json").status_code == 403
    assert user_api.delete("/api/v1/hardware/m1-pro/").status_code == 403


def test_staff_writes(staff_api, seeded):
    response = staff_api.post("/api/v1/llms/", NEW_LLM, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "tiny-test-lm"
    response = staff_api.patch("/api/v1/hardware/m1-pro/", {"idle_power_cpu_w": 3.5}, format="json")
    assert response.status_code == 200 and response.json()["idle_power_cpu_w"] == 3.5
    assert staff_api.delete("/api/v1/llms/tiny-test-lm/").status_code == 204


def test_fits_are_read_only_even_for_staff(staff_api, seeded):
    fit_id = staff_api.get("/api/v1/fits/").json()["results"][0]["id"]
    assert staff_api.post("/api/v1/fits/", {}, format="json").status_code == 405
    assert staff_api.delete(f"/api/v1/fits/{fit_id}/").status_code == 405


def test_token_auth(seeded, staff_user, plain_user):
    from io import StringIO

    out = StringIO()
    call_command("create_api_token", "viewer", stdout=out)
    key = out.getvalue().strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/hardware/").status_code == 200
    assert client.post("/api/v1/llms/", NEW_LLM, format="json").status_code == 403
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    refused = client.get("/api/v1/hardware/")
    # Token auth is listed first, so a bad token is a 401 with WWW-Authenticate.
    assert refused.status_code == 401 and refused.json()["detail"] == "Invalid token."
    assert refused.headers["WWW-Authenticate"].startswith("Token")
    # The same key is printed again; --reset replaces it.
    again = StringIO()
    call_command("create_api_token", "viewer", stdout=again)
    assert again.getvalue().strip() == key
    call_command("create_api_token", "viewer", "--reset", stdout=again)
    assert again.getvalue().split()[-1] != key


def test_session_auth(client, seeded, plain_user):
    # Through the sign-in page: django-axes' backend needs the request, which client.login() omits.
    r = client.post("/accounts/login/", {"username": "viewer", "password": "viewer-pass-123"})
    assert r.status_code == 302
    assert client.get("/api/v1/llms/").status_code == 200


def test_filters_ordering_search(user_api, seeded):
    fits = user_api.get("/api/v1/fits/", {"llm": "mistral-7b", "target": "runtime"}).json()
    assert fits["count"] == 1
    row = fits["results"][0]
    assert row["hardware"] == "swing-amd-a100" and row["llm_name"] == "Mistral (7B)"
    assert row["diagnostics"]["warnings"]
    assert user_api.get("/api/v1/fits/", {"source": "fitted"}).json()["count"] == 0
    # Published fits are chosen explicitly, never "selected" (one selected fit per pair and target).
    assert user_api.get("/api/v1/fits/", {"source": "published", "hardware": "swing-amd-a100"}).json()[
        "count"] == 14
    assert user_api.get("/api/v1/fits/", {"is_selected": "true", "hardware": "swing-amd-a100"}).json()[
        "count"] == 0
    names = [r["name"] for r in user_api.get("/api/v1/llms/", {"ordering": "-accuracy"}).json()["results"]]
    assert names[0] == "Mixtral (8x7B)" and names[-1] == "Falcon (7B)"
    found = user_api.get("/api/v1/hardware/", {"search": "argonne-swing"}).json()
    assert [r["name"] for r in found["results"]] == ["Swing AMD+A100"]
    page = user_api.get("/api/v1/llms/", {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
