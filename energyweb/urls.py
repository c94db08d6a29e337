from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from energyweb import views


class OfflineRedocView(SpectacularRedocView):
    """Redoc served so that it never contacts another host: its script is the sidecar's, its fonts
    the system's (templates/drf_spectacular/redoc.html), and this policy stops the one remaining
    request, the "API docs by Redocly" logo from cdn.redoc.ly (Redoc then drops the image)."""

    @extend_schema(exclude=True)  # as the parent's get: a page, not an API operation
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:")
        return response


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("health/", views.health, name="health"),
    # Browsers ask for /favicon.ico on pages that name no icon (the API's JSON, the docs).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("profiling.urls")),
    path("", include("scheduling.urls")),
    path("api/v1/", include("energyweb.api.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/redoc/", OfflineRedocView.as_view(url_name="schema"), name="api-redoc"),
]
