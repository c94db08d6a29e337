"""/api/v1/: one router per app; this root lists every app's endpoints."""

from django.urls import include, path
from rest_framework.routers import APIRootView, DefaultRouter

from profiling.api.urls import router as profiling_router
from scheduling.api.urls import router as scheduling_router

# Only for the browsable root view; each app's own urls serve its routes.
root = DefaultRouter()
root.registry.extend(profiling_router.registry)
root.registry.extend(scheduling_router.registry)

# The root lists every resource and the actions a client looks for first (predict, imports),
# each by the URL name its path is reversed from, so every link has the canonical slash.
ROOT_ENTRIES = {prefix: root.routes[0].name.format(basename=basename) for prefix, _, basename in root.registry}
ROOT_ENTRIES.update({"predict": "predict", "measurements/import": "measurement-import"})

urlpatterns = [
    path("", APIRootView.as_view(api_root_dict=ROOT_ENTRIES), name="api-root"),
    path("", include("profiling.api.urls")),
    path("", include("scheduling.api.urls")),
]
