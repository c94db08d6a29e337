"""Typed readers for settings that come from the environment.

Every helper fails with ``ImproperlyConfigured`` naming the variable and the
value it could not read, so a typo in a deployment stops the process at start
instead of surfacing later as odd behaviour (the healthchecks ``envbool`` idea).
"""

from __future__ import annotations

import math
import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ImproperlyConfigured(f"{name}={value!r} must be a finite number of at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


_DB_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}


def database_from_url(name: str, url: str) -> dict:
    """Turn ``postgres://user:pw@host:port/db`` or ``sqlite:///path`` into Django settings."""
    parsed = urlparse(url)
    engine = _DB_ENGINES.get(parsed.scheme)
    if engine is None:
        raise ImproperlyConfigured(
            f"{name}={url!r}: unsupported scheme {parsed.scheme!r}; "
            "use postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH."
        )
    if engine.endswith("sqlite3"):
        path = parsed.path
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        elif path.startswith("/"):
            path = path[1:]
        if not path:
            raise ImproperlyConfigured(f"{name}={url!r}: no database file path given.")
        return {"ENGINE": engine, "NAME": path}
    dbname = parsed.path.lstrip("/")
    if not dbname:
        raise ImproperlyConfigured(f"{name}={url!r}: no database name given after the host.")
    try:
        port = parsed.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={url!r}: the port is not a number.") from None
    return {
        "ENGINE": engine,
        "NAME": dbname,
        "USER": parsed.username or "",
        "PASSWORD": parsed.password or "",
        "HOST": parsed.hostname or "",
        "PORT": str(port or ""),
        # Persistent connections for the Celery workers and WSGI; the ASGI web server turns them
        # off (energyweb/asgi.py): each request runs in a thread of its own there, so a kept
        # connection would never be reused, only left open.
        "CONN_MAX_AGE": env_int("ENERGYWEB_DB_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
    }


def redis_url(name: str, url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss", "redis+socket"}:
        raise ImproperlyConfigured(
            f"{name}={url!r}: use redis://HOST:PORT/DB, rediss://... or redis+socket:///PATH."
        )
    if parsed.scheme != "redis+socket":
        try:
            _ = parsed.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}={url!r}: the port is not a number.") from None
    return url
