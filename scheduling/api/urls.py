from django.urls import re_path
from rest_framework.routers import SimpleRouter

from scheduling.api.executions import ExecutePlanView, ExecutionViewSet
from scheduling.api.routing import RouteView, RoutingPolicyViewSet
from scheduling.api.views import (
    DeploymentViewSet,
    ScheduleJobViewSet,
    WorkloadImportJobCancelView,
    WorkloadImportJobView,
    WorkloadViewSet,
)

# Canonical paths end in a slash; the same path without it is served too (for POST as well:
# energyweb.middleware.ApiOptionalSlashMiddleware), so a file posted to /api/v1/workloads works.
router = SimpleRouter()
router.register("workloads", WorkloadViewSet, basename="workload")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("schedule-jobs", ScheduleJobViewSet, basename="schedulejob")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("routing-policies", RoutingPolicyViewSet, basename="routingpolicy")

urlpatterns = router.urls + [
    re_path(r"^schedule-jobs/(?P<pk>\d+)/execute/$", ExecutePlanView.as_view(), name="schedulejob-execute"),
    re_path(r"^workload-import-jobs/(?P<pk>\d+)/$", WorkloadImportJobView.as_view(), name="workload-import-job"),
    re_path(r"^route/$", RouteView.as_view(), name="route"),
    re_path(r"^workload-import-jobs/(?P<pk>\d+)/cancel/$", WorkloadImportJobCancelView.as_view(),
            name="workload-import-job-cancel"),
]
