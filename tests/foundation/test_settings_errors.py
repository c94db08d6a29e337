"""Bad configuration values stop start-up with a clear ImproperlyConfigured message."""

import os
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from energyweb import env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("Yes", True), ("off", False), ("", False)])
def test_env_bool(monkeypatch, value, expected):
    monkeypatch.setenv("X_FLAG", value)
    assert env.env_bool("X_FLAG") is expected


@pytest.mark.parametrize(("helper", "value", "message"), [
    (lambda: env.env_bool("X_VAR"), "maybe", "X_VAR='maybe' is not a boolean"),
    (lambda: env.env_int("X_VAR", 1), "ten", "X_VAR='ten' is not a whole number"),
    (lambda: env.env_int("X_VAR", 1, minimum=5), "2", "X_VAR=2 must be at least 5"),
])
def test_env_helpers_reject(monkeypatch, helper, value, message):
    monkeypatch.setenv("X_VAR", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        helper()


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://x", "unsupported scheme 'mysql'"),
    ("postgres://u@host:5432/", "no database name"),
    ("postgres://u@host:port/db", "the port is not a number"),
    ("sqlite://", "no database file path"),
])
def test_database_url_rejects(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        env.database_from_url("DATABASE_URL", url)


def test_database_url_parses_postgres():
    cfg = env.database_from_url("DATABASE_URL", "postgres://me:pw@db.example:6543/energy")
    assert (cfg["ENGINE"], cfg["NAME"], cfg["USER"], cfg["PASSWORD"], cfg["HOST"], cfg["PORT"]) == (
        "django.db.backends.postgresql", "energy", "me", "pw", "db.example", "6543")


def _start(run_python, tmp_path, **overrides):
    """Import the settings in a fresh process, as a deployment would."""
    environ = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")}
    environ.update(ENERGYWEB_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="energyweb.settings", **overrides)
    return run_python("-c", "import django; django.setup()", env=environ, timeout=60)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL='mysql://x': unsupported scheme 'mysql'"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters long"),
    ({"REDIS_URL": "http://localhost"}, "REDIS_URL='http://localhost': use redis://"),
    ({"ENERGYWEB_HEARTBEAT_INTERVAL_S": "1"}, "ENERGYWEB_HEARTBEAT_INTERVAL_S=1 must be at least 5"),
])
def test_settings_import_fails_clearly(tmp_path, run_python, overrides, message):
    proc = _start(run_python, tmp_path, **overrides)
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert message in proc.stderr


def test_embedded_defaults_start_and_keep_a_secret_key(tmp_path, run_python):
    proc = _start(run_python, tmp_path)
    assert proc.returncode == 0, proc.stderr
    key_file = tmp_path / "secret_key"
    assert len(key_file.read_text().strip()) >= 32
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
