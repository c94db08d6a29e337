"""Pages for measurements (issue 3)."""

urlpatterns = []
