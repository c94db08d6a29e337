"""Token authentication that stops a client guessing tokens.

django-axes throttles password sign-in; a token is never a password, so the
login-failure machinery never sees a bad one. Here each client address may send
AXES_FAILURE_LIMIT invalid tokens per cool-off period; after that every token
request from it gets 429 until the period ends (the correct token included, so the
guesser learns nothing from a late hit).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled


def _key(request) -> str:
    return f"energyweb:token-failures:{request.META.get('REMOTE_ADDR', '')}"


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        if not request.META.get("HTTP_AUTHORIZATION", "").lower().startswith(self.keyword.lower()):
            return None  # no token offered: nothing to count
        window = int(settings.AXES_COOLOFF_TIME.total_seconds())
        if cache.get(_key(request), 0) >= settings.AXES_FAILURE_LIMIT:
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
