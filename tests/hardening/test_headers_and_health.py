"""/health/ reports the database and Redis separately; every page has a Content-Security-Policy whose
nonce is the only way an inline script runs; HSTS with SECURE_COOKIES; ReDoc's logo is local; the
password reset works on the embedded default (mail written under var/mail/)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

from scheduling.services import jobs
from scheduling.services.generator import generate_workload
from scheduling.services.reference_deployments import ensure_reference_deployments

ROOT = Path(__file__).resolve().parents[2]


# --- health -----------------------------------------------------------------------------------------

def test_health_ok_with_database_and_redis(client, db, broker_url, settings):
    settings.REDIS_URL = broker_url
    r = client.get("/health/")
    assert r.status_code == 200
    body = r.json()
    assert body == {"status": "ok", "database": body["database"], "checks": {"database": "ok", "redis": "ok"}}
    assert body["database"] in ("sqlite", "postgresql")


def test_health_degraded_when_redis_is_down(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    r = client.get("/health/")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "redis": "degraded"}


def test_health_keeps_the_engine_name_the_smoke_test_greps(client, db, broker_url, settings):
    settings.REDIS_URL = broker_url
    text = client.get("/health/").content.decode()
    assert re.search(r'"database": "(sqlite|postgresql)"', text)


# --- Content-Security-Policy --------------------------------------------------------------------------

@pytest.fixture
def pages(catalogue, staff_user):
    hw, llm = catalogue
    deps = ensure_reference_deployments()
    wl = generate_workload("w", 20, "constant:value=5", "constant:value=5", 0)
    job = jobs.create_job(wl, deps[:1], "paper-energy-accuracy", {"zeta": 0.5}, user=staff_user)
    return ["/", "/hardware/", f"/hardware/{hw.slug}/", "/llms/", f"/llms/{llm.slug}/", "/measurements/",
            "/profiling/", "/explorer/", f"/explorer/{llm.slug}/{hw.slug}/", "/workloads/", f"/workloads/{wl.pk}/",
            "/workloads/upload/", "/deployments/", "/plans/", "/plans/new/", job.get_absolute_url(),
            "/accounts/profile/", "/admin/", "/api/v1/", "/api/v1/docs/"]


def _nonce(policy: str) -> str:
    match = re.search(r"script-src 'self' 'nonce-([\w-]+)'", policy)
    assert match, policy
    return match.group(1)


def test_every_page_has_a_policy_and_inline_scripts_carry_its_nonce(staff_web, pages):
    for url in pages:
        r = staff_web.get(url)
        assert r.status_code == 200, url
        policy = r["Content-Security-Policy"]
        assert "'unsafe-inline'" not in policy.split("style-src")[0], (url, policy)  # never for scripts
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        nonce = _nonce(policy)
        html = r.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" in tag or 'type="application/json"' in tag:
                continue
            assert f'nonce="{nonce}"' in tag, (url, tag)
        if not url.startswith(("/api/", "/admin/")):
            assert not re.search(r"<[^>]+\son[a-z]+=", html), url  # no inline event handlers
            assert not re.search(r"<[^>]+\sstyle=", html), url      # no inline style attributes
            assert f"style-src 'self' 'nonce-{nonce}'" in policy


def test_nonce_differs_per_request(staff_web, catalogue):
    assert _nonce(staff_web.get("/").headers["Content-Security-Policy"]) != \
        _nonce(staff_web.get("/").headers["Content-Security-Policy"])


def test_login_and_static_files_have_the_policy(client, db):
    assert "default-src 'self'" in client.get("/accounts/login/")["Content-Security-Policy"]


def test_redoc_bundle_names_the_local_logo(user_web, db):
    from django.templatetags.static import static

    page = user_web.get("/api/v1/redoc/").content.decode()
    src = re.search(r'<script src="([^"]*redoc[^"]*\.js)"', page).group(1)
    bundle = user_web.get(src)
    assert bundle.status_code == 200 and bundle["Content-Type"].startswith("text/javascript")
    text = bundle.content.decode()
    assert "cdn.redoc.ly" not in text and static("redoc/logo-mini.svg") in text
    logo = user_web.get(static("redoc/logo-mini.svg"))
    assert logo.status_code == 200


# --- HSTS and the mail setting, read from a fresh settings import ------------------------------------

PROBE = """
import django, json, os
django.setup()
from django.conf import settings
from django.test import Client
r = Client().get("/favicon.ico", secure=True)
print(json.dumps({"hsts": r.headers.get("Strict-Transport-Security"), "secure_cookie": settings.SESSION_COOKIE_SECURE,
                  "backend": settings.EMAIL_BACKEND, "path": str(getattr(settings, "EMAIL_FILE_PATH", ""))}))
"""


def _probe(run_python, tmp_path, **env) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECURE_COOKIES",
                                                                "EMAIL_HOST")}
    environ.update(ENERGYWEB_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="energyweb.settings",
                   ALLOWED_HOSTS="testserver", **env)
    # A fresh interpreter (settings are read at import): run_python, so the test is marked slow.
    out = run_python("-c", PROBE, env=environ, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_hsts_only_with_secure_cookies_and_mail_to_files_by_default(tmp_path, run_python):
    secure = _probe(run_python, tmp_path, SECURE_COOKIES="1")
    assert secure["secure_cookie"] is True and secure["hsts"].startswith("max-age=86400")
    plain = _probe(run_python, tmp_path)
    assert plain["hsts"] is None
    assert plain["backend"] == "django.core.mail.backends.filebased.EmailBackend"
    assert plain["path"] == str(tmp_path / "var" / "mail")


# --- password reset on the embedded default ------------------------------------------------------------

def test_password_reset_works_with_the_file_backend(plain_user, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    web = Client()
    form = web.get("/accounts/password_reset/")
    assert form.status_code == 200
    r = web.post("/accounts/password_reset/", {"email": plain_user.email})
    assert r.status_code == 302 and r["Location"].endswith("/accounts/password_reset/done/")
    files = list((tmp_path / "mail").iterdir())
    assert len(files) == 1
    message = files[0].read_text()
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message).group(1)
    page = web.get(link, follow=True)
    assert page.status_code == 200
    done = web.post(page.redirect_chain[-1][0], {"new_password1": "a-new-pass-4567",
                                                 "new_password2": "a-new-pass-4567"})
    assert done.status_code == 302
    plain_user.refresh_from_db()
    assert plain_user.check_password("a-new-pass-4567")
    assert mail.outbox == []  # it went to the file, not to the test mailbox


def test_login_page_explains_where_reset_mail_goes(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert "/accounts/password_reset/" in html and "var/mail/" in html
