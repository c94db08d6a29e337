"""Token authentication that stops a client guessing tokens.

django-axes throttles password sign-in; a token is never a password, so the
login-failure machinery never sees a bad one. Here each client address may send
AXES_FAILURE_LIMIT invalid tokens per cool-off period; after that every token
request from it gets 429 until the period ends (the correct token included, so the
guesser learns nothing from a late hit).

A valid token is remembered per process for API_TOKEN_CACHE_S (energyweb/api/token_cache.py,
where the bound on staleness after a token is deleted or rotated is documented), so a token
request usually sends no query at all.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled

from energyweb.api import token_cache


def _key(request) -> str:
    return f"energyweb:token-failures:{request.META.get('REMOTE_ADDR', '')}"


def address_locked_out(request) -> bool:
    """Too many invalid tokens from this client address in the cool-off period."""
    return cache.get(_key(request), 0) >= settings.AXES_FAILURE_LIMIT


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        if not request.META.get("HTTP_AUTHORIZATION", "").lower().startswith(self.keyword.lower()):
            return None  # no token offered: nothing to count
        window = int(settings.AXES_COOLOFF_TIME.total_seconds())
        if address_locked_out(request):
            raise Throttled(wait=window, detail="Too many invalid API tokens from this address.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            key = _key(request)
            cache.add(key, 0, timeout=window)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=window)
            raise

    def authenticate_credentials(self, key):
        hit = token_cache.get(key)
        if hit is not None:
            return hit
        user, token = super().authenticate_credentials(key)
        token_cache.put(key, user, token)
        return user, token
