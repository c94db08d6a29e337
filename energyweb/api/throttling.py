"""Per-user rate limits on the costly API calls (DRF throttling): 429 with Retry-After.

``predict`` bounds predictions per user (each call evaluates up to PREDICT_MAX_PAIRS pairs);
``jobs`` bounds the creation of background work (plans, profiling runs, executions,
imports) per user, on top of the cap on jobs a user may have queued at once
(MAX_ACTIVE_JOBS_PER_USER), which a stream of short jobs never reaches.

The counts live in the "throttle" cache: local memory, so each web process counts on its
own (with the default 2 workers a user may reach up to twice the rate in the worst case).
A shared cache would make the limit exact but would make every API call depend on Redis.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle, UserRateThrottle

# Viewset actions that start background work (or a costly synchronous one, generate); None is a
# plain APIView whose POST does (execute a plan, import measurements).
CREATING_ACTIONS = ("create", "generate", "refit", None)


class _UserScopeThrottle(UserRateThrottle):
    cache = caches["throttle"]
    setting = ""

    def get_rate(self):
        # Read from the settings on each request (DRF reads its rates once, at import).
        return getattr(settings, self.setting)


class PredictThrottle(_UserScopeThrottle):
    scope = "predict"
    setting = "PREDICT_RATE"


class JobCreationThrottle(_UserScopeThrottle):
    """Counts only requests that create a job: POSTs to a view's create (or to a plain APIView
    whose POST creates one); reads, cancels and status polls are never throttled."""

    scope = "jobs"
    setting = "JOB_CREATE_RATE"

    def allow_request(self, request, view):
        if request.method != "POST" or getattr(view, "action", None) not in CREATING_ACTIONS:
            return True
        return super().allow_request(request, view)


class RouteThrottle(BaseThrottle):
    """``POST /api/v1/route``: ROUTE_RATE requests per user (``ENERGYWEB_ROUTE_RATE``), per process.

    A token bucket in this process's memory rather than the "throttle" cache: the route is the
    hottest API call and a cheap one (about 0.1 ms), and a cache-backed throttle pickles the
    user's whole request history on every call. Same limit semantics as the others: a user
    may burst up to the rate's number of requests, then is refilled at the rate (429 with
    Retry-After past it), counted per web process.
    """

    _buckets: dict[object, list[float]] = {}
    _lock = threading.Lock()
    MAX_USERS = 100_000

    def allow_request(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return True  # refused by the permission check anyway
        return self.allow_user(user.pk)

    def allow_user(self, user_id) -> bool:
        num, duration = SimpleRateThrottle.parse_rate(None, settings.ROUTE_RATE)
        rate = num / duration
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(user_id)
            if bucket is None:
                if len(self._buckets) >= self.MAX_USERS:
                    self._buckets.clear()
                bucket = self._buckets[user_id] = [float(num), now]
            tokens = min(float(num), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
            if tokens < 1.0:
                bucket[0] = tokens
                self._wait = (1.0 - tokens) / rate
                return False
            bucket[0] = tokens - 1.0
            return True

    def wait(self):
        return getattr(self, "_wait", None)
