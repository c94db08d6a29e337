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

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import UserRateThrottle

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
