"""API for predict."""


def register(router):
    """Register this module's viewsets on the app router."""


urlpatterns = []
