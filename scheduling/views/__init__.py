"""Browser pages; each module defines ``urlpatterns`` (joined in scheduling/urls.py)."""
