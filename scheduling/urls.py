from scheduling.views import deployments, executions, plans, workloads

app_name = "scheduling"

urlpatterns = workloads.urlpatterns + deployments.urlpatterns + plans.urlpatterns + executions.urlpatterns
