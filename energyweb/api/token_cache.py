"""An in-process cache of API token -> user, so a token request need not query the database.

Why: on the hot API paths (``POST /api/v1/route``) the token lookup was the one database
round trip left per request, and under the ASGI server (no persistent connections) it also
opened a PostgreSQL connection per request: most of the request's CPU.

What it keeps: per web process, a token key -> (user, token, expiry) for ``API_TOKEN_CACHE_S``
seconds (``ENERGYWEB_API_TOKEN_CACHE_S``, default 10; 0 turns the cache off), at most
MAX_ENTRIES of them. Only a valid token of an active user is kept; a bad token is never
cached (each one is counted by ThrottledTokenAuthentication).

How stale it may be (the bound): a token deleted or rotated (the account page and
``create_api_token --rotate`` delete the old row) or a user saved inactive, deleted, or
changed in any way through ``save()`` is dropped *at once* in the process that made the
change (the signals below), and in every other web process when its entry expires, so
within API_TOKEN_CACHE_S. A bulk ``QuerySet.update()`` sends no signal: it too is seen within
API_TOKEN_CACHE_S. The user object is a snapshot of that moment (is_staff included), with
the same bound.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

MAX_ENTRIES = 10_000
_entries: dict[str, tuple[object, object, float]] = {}
_lock = threading.Lock()


def ttl_s() -> float:
    return float(settings.API_TOKEN_CACHE_S)


def get(key: str):
    """(user, token) for a cached, unexpired key, else None."""
    hit = _entries.get(key)
    if hit is None:
        return None
    if hit[2] <= time.monotonic():
        with _lock:
            _entries.pop(key, None)
        return None
    return hit[0], hit[1]


def put(key: str, user, token) -> None:
    ttl = ttl_s()
    if ttl <= 0 or user is None or not user.is_active:
        return
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()  # crude but bounded; refilled from the database on the next requests
        _entries[key] = (user, token, time.monotonic() + ttl)


def forget_key(key: str) -> None:
    with _lock:
        _entries.pop(key, None)


def forget_user(user_id) -> None:
    with _lock:
        for key in [k for k, (u, _, _) in _entries.items() if u.pk == user_id]:
            del _entries[key]


def clear() -> None:
    with _lock:
        _entries.clear()


def connect_signals() -> None:
    """Called from EnergywebConfig.ready()."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save
    from rest_framework.authtoken.models import Token

    def token_changed(sender, instance, **kwargs):
        forget_key(instance.key)
        forget_user(instance.user_id)

    def user_changed(sender, instance, **kwargs):
        forget_user(instance.pk)

    post_save.connect(token_changed, sender=Token, weak=False, dispatch_uid="energyweb-token-cache-save")
    post_delete.connect(token_changed, sender=Token, weak=False, dispatch_uid="energyweb-token-cache-delete")
    user = get_user_model()
    post_save.connect(user_changed, sender=user, weak=False, dispatch_uid="energyweb-token-cache-user-save")
    post_delete.connect(user_changed, sender=user, weak=False, dispatch_uid="energyweb-token-cache-user-delete")
