"""Pages for explorer (issue 3)."""

urlpatterns = []
