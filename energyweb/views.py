from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from profiling.models import LLM, EnergyModelFit, Hardware


@login_required
def dashboard(request):
    hardware = list(Hardware.objects.all())
    context = {
        "hardware_count": len(hardware),
        "llm_count": LLM.objects.count(),
        "fit_count": EnergyModelFit.objects.count(),
        "online_hosts": [h for h in hardware if h.is_online],
        "latest_fits": EnergyModelFit.objects.select_related("llm", "hardware").order_by("-created")[:10],
    }
    return render(request, "dashboard.html", context)


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
