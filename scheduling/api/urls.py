from rest_framework.routers import SimpleRouter

from scheduling.api.views import DeploymentViewSet, ScheduleJobViewSet, WorkloadViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("workloads", WorkloadViewSet, basename="workload")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("schedule-jobs", ScheduleJobViewSet, basename="schedulejob")

urlpatterns = router.urls
