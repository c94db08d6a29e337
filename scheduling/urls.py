from scheduling.views import deployments, executions, plans, routing, workloads

app_name = "scheduling"

urlpatterns = (workloads.urlpatterns + deployments.urlpatterns + plans.urlpatterns + executions.urlpatterns
               + routing.urlpatterns)
