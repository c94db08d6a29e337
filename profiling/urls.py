from django.urls import path

from profiling import views

app_name = "profiling"

urlpatterns = [
    path("hardware/", views.hardware_list, name="hardware-list"),
    path("hardware/<slug:slug>/", views.hardware_detail, name="hardware-detail"),
    path("llms/", views.llm_list, name="llm-list"),
    path("llms/<slug:slug>/", views.llm_detail, name="llm-detail"),
]
