from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from profiling.choices import FitTarget
from profiling.models import LLM, EnergyModelFit, Hardware
from profiling.services import terms
from profiling.views.inventory import fit_rows, latest_fits

# The dashboard chart compares LLMs at one query shape: 512 tokens in, 512 out.
CHART_TIN = CHART_TOUT = 512
DASHBOARD_HOSTS = 15


def _energy_per_token_rows():
    """Energy per output token of each LLM on the system with the most selected energy models."""
    # One curve per LLM: its fit to use, else the published one (labelled by source).
    fits = EnergyModelFit.objects.filter(target=FitTarget.ENERGY).select_related("llm", "hardware").shown()
    by_hardware: dict[int, list] = {}
    for fit in fits:
        by_hardware.setdefault(fit.hardware_id, []).append(fit)
    if not by_hardware:
        return None, []
    # Most models first, then reference systems, then name: stable and favours Swing.
    chosen = sorted(by_hardware.values(),
                    key=lambda fs: (-len(fs), not fs[0].hardware.is_reference, fs[0].hardware.name))[0]
    rows = []
    for fit in sorted(chosen, key=lambda f: f.llm.name):
        try:
            energy = float(terms.predict(fit.coefficients, [CHART_TIN], [CHART_TOUT])[0])
        except KeyError:
            continue
        rows.append({"llm": fit.llm.name, "hardware": fit.hardware.name, "input_tokens": CHART_TIN,
                     "output_tokens": CHART_TOUT, "energy_j": round(energy, 2),
                     "energy_per_output_token_j": round(energy / CHART_TOUT, 4),
                     "source": fit.source, "estimated": fit.uses_estimated_energy,
                     "accuracy": fit.llm.accuracy})
    return chosen[0].hardware, rows


@login_required
def dashboard(request):
    hardware = list(Hardware.objects.order_by("-is_reference", "name"))
    chart_hardware, chart_rows = _energy_per_token_rows()
    context = {
        "hardware_count": len(hardware),
        "reference_count": sum(h.is_reference for h in hardware),
        # Hosts are machines a worker registered; a system described by hand is not an offline host.
        "host_count": sum(h.is_host for h in hardware),
        "manual_count": sum(h.kind == "no worker" for h in hardware),
        "llm_count": LLM.objects.count(),
        "fit_count": EnergyModelFit.objects.count(),
        "published_count": EnergyModelFit.objects.filter(source="published").count(),
        "online_hosts": [h for h in hardware if h.is_online],
        "host_total": sum(h.is_host for h in hardware),
        # Online hosts first, then the most recently seen; the hardware page lists all.
        "registered_hosts": sorted(
            (h for h in hardware if h.is_host),
            key=lambda h: (not h.is_online, -(h.last_heartbeat.timestamp() if h.last_heartbeat else 0), h.name),
        )[:DASHBOARD_HOSTS],
        "latest_fits": fit_rows(latest_fits()),
        "chart_hardware": chart_hardware,
        "chart_rows": chart_rows,
        "chart_tin": CHART_TIN,
        "chart_tout": CHART_TOUT,
    }
    return render(request, "dashboard.html", context)


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
