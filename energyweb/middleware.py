"""Refuse a NUL character anywhere in the URL before it reaches a view.

PostgreSQL text cannot hold NUL, so a lookup such as /api/v1/hardware/a%00b/ failed in the
database as a 500 (found by schema fuzzing). No name, slug or filter value of this app
contains one; forms and serializers already refuse it in bodies.
"""

from __future__ import annotations

import functools

from django.http import JsonResponse


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in v for v in values)
                                         for key, values in request.GET.lists()):
            return JsonResponse({"detail": "The URL contains a NUL character."}, status=400)
        return self.get_response(request)


LOOSER_STYLE_PREFIXES = ("/api/", "/admin/")


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every response that has none (Django 5.2 has no built-in one).

    Scripts and styles come from this site only; the few inline scripts that start a page's
    charts carry the per-request nonce (``request.csp_nonce`` in templates), so an injected
    ``<script>`` or event handler never runs even if escaping were missed somewhere. A view
    that needs another policy (ReDoc: inline styles, blob: workers) sets its own header.

    Under /api/ and /admin/ inline *styles* are allowed: Swagger UI, DRF's browsable API and
    the admin put style attributes in their own markup, which we do not control. Scripts stay
    nonce-only there too (Swagger UI's start-up script is a file: SpectacularSwaggerSplitView).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import secrets

        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            styles = "'unsafe-inline'" if request.path.startswith(LOOSER_STYLE_PREFIXES) else f"'nonce-{nonce}'"
            response["Content-Security-Policy"] = (
                f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' {styles}; "
                "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
                "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
        return response


class AsyncStreamingMiddleware:
    """Under ASGI, hand a streamed response to the server chunk by chunk.

    Django's ASGI handler reads a *synchronous* streaming body whole into a list before
    sending it (with a warning): a 10-million-row assignment CSV would then sit in memory.
    This wraps the iterator so that each chunk is produced in the request's own thread
    (thread_sensitive, inside the handler's per-request ThreadSensitiveContext, so the
    generator keeps its database connection) and sent as it comes. Under WSGI (runserver,
    the test client) it changes nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.core.handlers.asgi import ASGIRequest

        response = self.get_response(request)
        if isinstance(request, ASGIRequest) and getattr(response, "streaming", False) and not response.is_async:
            response.streaming_content = _chunks(iter(response.streaming_content))
        return response


_DONE = object()


async def _chunks(iterator):
    from asgiref.sync import sync_to_async

    step = sync_to_async(next, thread_sensitive=True)
    while (chunk := await step(iterator, _DONE)) is not _DONE:
        yield chunk


class ApiOptionalSlashMiddleware:
    """One trailing-slash rule for the API: every path is canonical with its slash (as reverse()
    and the API root give it), and the same path without the slash is served as if it had one,
    for every method. Not a redirect: a client re-sending a POST after a redirect loses its body
    (or turns it into a GET), so ``POST /api/v1/predict`` must work as it is.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/") and _needs_slash(path):
            request.path_info = path + "/"
            request.path = request.path + "/"
        return self.get_response(request)


@functools.lru_cache(maxsize=4096)
def _needs_slash(path: str) -> bool:
    """Whether ``path`` resolves only with a slash added. Remembered per path: a failed resolve()
    walks every URL pattern and builds its 404 report, 0.2 ms on each POST /api/v1/route (the
    URL configuration does not change while a process runs)."""
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
        return False
    except Resolver404:
        pass
    try:
        resolve(path + "/")
        return True
    except Resolver404:
        return False
