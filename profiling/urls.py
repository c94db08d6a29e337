from profiling.views import coverage, explorer, inventory, measurements, runs

app_name = "profiling"

# Each page module owns its routes; this file only joins them.
urlpatterns = (inventory.urlpatterns + measurements.urlpatterns + explorer.urlpatterns + runs.urlpatterns
               + coverage.urlpatterns)
