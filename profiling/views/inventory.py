from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import path

from profiling.models import LLM, Hardware


@login_required
def hardware_list(request):
    return render(request, "profiling/hardware_list.html", {"hardware": Hardware.objects.all()})


@login_required
def hardware_detail(request, slug):
    hw = get_object_or_404(Hardware, slug=slug)
    return render(request, "profiling/hardware_detail.html", {"hw": hw})


@login_required
def llm_list(request):
    return render(request, "profiling/llm_list.html", {"llms": LLM.objects.all()})


@login_required
def llm_detail(request, slug):
    llm = get_object_or_404(LLM, slug=slug)
    return render(request, "profiling/llm_detail.html", {"llm": llm})


urlpatterns = [
    path("hardware/", hardware_list, name="hardware-list"),
    path("hardware/<slug:slug>/", hardware_detail, name="hardware-detail"),
    path("llms/", llm_list, name="llm-list"),
    path("llms/<slug:slug>/", llm_detail, name="llm-detail"),
]
