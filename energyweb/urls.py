from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from energyweb import redoc, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("health/", views.health, name="health"),
    # Browsers ask for /favicon.ico on pages that name no icon (the API's JSON, the docs).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("accounts/profile/", views.account, name="account"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("profiling.urls")),
    path("", include("scheduling.urls")),
    path("api/v1/", include("energyweb.api.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/redoc/redoc.standalone.js", redoc.bundle, name="api-redoc-bundle"),
    path("api/v1/redoc/", redoc.OfflineRedocView.as_view(url_name="schema"), name="api-redoc"),
]
