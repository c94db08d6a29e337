"""ReDoc served so that it never contacts another host.

Its script is drf-spectacular-sidecar's bundle, its fonts the system's
(templates/drf_spectacular/redoc.html). The bundle still names one remote file, the
"API docs by Redocly" logo on cdn.redoc.ly: blocked by the page's policy, it left a CSP
error in the console of every visit. ``bundle`` serves the sidecar's script with that one
address pointing at a logo under our static files instead.
"""

from __future__ import annotations

import functools
from pathlib import Path

import drf_spectacular_sidecar
from django.http import HttpResponse
from django.templatetags.static import static
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

REMOTE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
SIDECAR_BUNDLE = (Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
                  / "redoc" / "bundles" / "redoc.standalone.js")
POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
          "script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:; object-src 'none'; "
          "base-uri 'self'; frame-ancestors 'none'")


@functools.cache
def _bundle() -> bytes:
    text = SIDECAR_BUNDLE.read_text(encoding="utf-8")
    return text.replace(REMOTE_LOGO, static("redoc/logo-mini.svg")).encode()


@require_GET
def bundle(request):
    response = HttpResponse(_bundle(), content_type="text/javascript; charset=utf-8")
    # The sidecar's version is pinned in requirements.txt; a day's caching is safe.
    response["Cache-Control"] = "public, max-age=86400"
    return response


class OfflineRedocView(SpectacularRedocView):
    """ReDoc with the local bundle and its own policy (ReDoc injects styles and runs a blob: worker)."""

    @extend_schema(exclude=True)  # as the parent's get: a page, not an API operation
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = POLICY
        return response

    @staticmethod
    def _redoc_standalone():
        from django.urls import reverse

        return reverse("api-redoc-bundle")
