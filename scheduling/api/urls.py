from django.urls import re_path
from rest_framework.routers import SimpleRouter

from scheduling.api.executions import ExecutePlanView, ExecutionViewSet
from scheduling.api.views import (
    DeploymentViewSet,
    ScheduleJobViewSet,
    WorkloadImportJobCancelView,
    WorkloadImportJobView,
    WorkloadViewSet,
)


class OptionalSlashRouter(SimpleRouter):
    """``POST /api/v1/workloads`` and ``/api/v1/workloads/`` both work: a client posting a file
    without the slash would otherwise get a redirect that drops the body."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("workloads", WorkloadViewSet, basename="workload")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("schedule-jobs", ScheduleJobViewSet, basename="schedulejob")
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = router.urls + [
    re_path(r"^schedule-jobs/(?P<pk>\d+)/execute/?$", ExecutePlanView.as_view(), name="schedulejob-execute"),
    re_path(r"^workload-import-jobs/(?P<pk>\d+)/?$", WorkloadImportJobView.as_view(), name="workload-import-job"),
    re_path(r"^workload-import-jobs/(?P<pk>\d+)/cancel/?$", WorkloadImportJobCancelView.as_view(),
            name="workload-import-job-cancel"),
]
