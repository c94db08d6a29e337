"""Secrets at rest (modes of the var dir, key, database, uploads), sign-in and token throttling,
and the generated admin password kept out of logs."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _embedded_env(var: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL")}
    env.update(ENERGYWEB_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="energyweb.settings")
    return env


def _manage(run_python, var: Path, *args: str) -> subprocess.CompletedProcess:
    return run_python("manage.py", *args, env=_embedded_env(var))


def test_embedded_defaults_create_private_files_and_use_wal(tmp_path, run_python):
    var = tmp_path / "var"
    sql = ("from django.db import connection; c = connection.cursor(); c.execute('PRAGMA journal_mode'); "
           "print('journal', c.fetchone()[0]); c.execute('PRAGMA busy_timeout'); print('busy', c.fetchone()[0])")
    done = _manage(run_python, var, "shell", "-c", sql)
    assert done.returncode == 0, done.stderr
    assert "journal wal" in done.stdout
    assert "busy 30000" in done.stdout
    assert _mode(var) == 0o700
    assert _mode(var / "secret_key") == 0o600
    assert _mode(var / "energyweb.sqlite3") == 0o600


def test_an_existing_world_readable_database_is_tightened(tmp_path, run_python):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    db = var / "energyweb.sqlite3"
    db.touch(mode=0o644)
    db.chmod(0o644)
    assert _manage(run_python, var, "check").returncode == 0
    assert _mode(db) == 0o600 and _mode(var) == 0o700


def test_uploads_are_stored_private(db, settings, tmp_path):
    from scheduling.services.generator import generate_workload

    settings.MEDIA_ROOT = tmp_path / "media"
    wl = generate_workload("w", 10, "constant:value=5", "constant:value=5", 0)
    stored = Path(settings.MEDIA_ROOT) / wl.data_file.name
    assert _mode(stored) == 0o600
    assert _mode(stored.parent) == 0o700


def test_create_api_token_without_the_var_dir_explains_and_leaves_nothing(tmp_path, run_python):
    var = tmp_path / "no-such-var"
    done = _manage(run_python, var, "create_api_token", "admin")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "No energyweb database" in done.stderr and "ENERGYWEB_VAR_DIR" in done.stderr
    assert not var.exists()


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_login_page_locks_after_repeated_failures(db, settings, fresh_cache):
    settings.AXES_FAILURE_LIMIT = 5
    get_user_model().objects.create_user("alice", password="right-password-123")
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        r = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert r.status_code in (200, 429)
    r = client.post("/accounts/login/", {"username": "alice", "password": "right-password-123"})
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session
    # The same account from another address is not locked out by the guesser.
    other = Client(REMOTE_ADDR="198.51.100.7")
    r = other.post("/accounts/login/", {"username": "alice", "password": "right-password-123"})
    assert r.status_code == 302 and "_auth_user_id" in other.session


def test_a_success_before_the_limit_resets_the_count(db, settings, fresh_cache):
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("bob", password="right-password-123")
    client = Client(REMOTE_ADDR="203.0.113.10")
    for _ in range(2):
        client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "bob", "password": "right-password-123"}).status_code == 302


def test_api_token_guessing_is_throttled(db, settings, fresh_cache):
    settings.AXES_FAILURE_LIMIT = 5
    user = get_user_model().objects.create_user("carol")
    key = Token.objects.create(user=user).key
    client = Client(REMOTE_ADDR="203.0.113.11")
    for i in range(5):
        r = client.get("/api/v1/llms/", HTTP_AUTHORIZATION=f"Token {i:040x}")
        assert r.status_code == 401
    r = client.get("/api/v1/llms/", HTTP_AUTHORIZATION=f"Token {key}")
    assert r.status_code == 429
    assert Client(REMOTE_ADDR="198.51.100.8").get("/api/v1/llms/", HTTP_AUTHORIZATION=f"Token {key}"
                                                  ).status_code == 200


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_generated_admin_password_never_reaches_a_log(db, settings, tmp_path, monkeypatch):
    monkeypatch.delenv("ENERGYWEB_ADMIN_USER", raising=False)
    monkeypatch.delenv("ENERGYWEB_ADMIN_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    log = StringIO()  # what make run's output becomes when CI keeps it in a file
    call_command("ensure_admin", stdout=log)
    secret_file = tmp_path / "initial-admin-password"
    password = secret_file.read_text().strip()
    assert password and password not in log.getvalue()
    assert str(secret_file) in log.getvalue()
    assert _mode(secret_file) == 0o600
    user = get_user_model().objects.get(username="admin")
    assert user.check_password(password)


def test_generated_admin_password_is_shown_on_a_terminal(db, monkeypatch):
    monkeypatch.delenv("ENERGYWEB_ADMIN_USER", raising=False)
    monkeypatch.delenv("ENERGYWEB_ADMIN_PASSWORD", raising=False)
    out = _Terminal()
    call_command("ensure_admin", stdout=out)
    password = re.search(r"password: (\S+)", out.getvalue()).group(1)
    assert get_user_model().objects.get(username="admin").check_password(password)
