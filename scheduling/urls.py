from scheduling.views import deployments, plans, workloads

app_name = "scheduling"

urlpatterns = workloads.urlpatterns + deployments.urlpatterns + plans.urlpatterns
