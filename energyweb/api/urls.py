"""/api/v1/: one router per app; this root lists every app's endpoints."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from profiling.api.urls import router as profiling_router
from scheduling.api.urls import router as scheduling_router

# Only for the browsable root view; each app's own urls serve its routes.
root = DefaultRouter()
root.registry.extend(profiling_router.registry)
root.registry.extend(scheduling_router.registry)

urlpatterns = [
    path("", root.get_api_root_view(), name="api-root"),
    path("", include("profiling.api.urls")),
    path("", include("scheduling.api.urls")),
]
