from rest_framework.routers import SimpleRouter

from profiling.api import inventory, measurements, predict, runs

router = SimpleRouter()
for module in (inventory, measurements, predict, runs):
    module.register(router)

# Non-viewset endpoints (actions such as import and predict) come first.
urlpatterns = inventory.urlpatterns + measurements.urlpatterns + predict.urlpatterns + router.urls
