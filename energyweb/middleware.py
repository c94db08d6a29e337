"""Refuse a NUL character anywhere in the URL before it reaches a view.

PostgreSQL text cannot hold NUL, so a lookup such as /api/v1/hardware/a%00b/ failed in the
database as a 500 (found by schema fuzzing). No name, slug or filter value of this app
contains one; forms and serializers already refuse it in bodies.
"""

from __future__ import annotations

from django.http import JsonResponse


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in v for v in values)
                                         for key, values in request.GET.lists()):
            return JsonResponse({"detail": "The URL contains a NUL character."}, status=400)
        return self.get_response(request)
