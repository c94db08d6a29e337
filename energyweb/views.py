import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from profiling.choices import FitTarget
from profiling.fitting import terms
from profiling.models import LLM, EnergyModelFit, Hardware
from profiling.views.inventory import fit_rows, latest_fits

# The dashboard chart compares LLMs at one query shape: 512 tokens in, 512 out.
CHART_TIN = CHART_TOUT = 512
DASHBOARD_HOSTS = 15
# /health/ must answer fast even when a dependency hangs.
HEALTH_TIMEOUT_S = 2

log = logging.getLogger(__name__)


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


def _redis_client():
    import redis

    url = settings.REDIS_URL
    # Kombu's spelling of the embedded Redis's unix socket; redis-py calls it unix://.
    if url.startswith("redis+socket://"):
        url = "unix://" + url[len("redis+socket://"):]
    return redis.Redis.from_url(url, socket_timeout=HEALTH_TIMEOUT_S, socket_connect_timeout=HEALTH_TIMEOUT_S)


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure of a dependency is "degraded", never a 500
        log.warning("health: %s", exc)
        return "degraded"
    return "ok"


def _ping_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _ping_redis():
    client = _redis_client()
    try:
        client.ping()
    finally:
        client.close()


def health(request):
    """Each dependency on its own line: the database and Redis (the job broker), "ok" or "degraded".

    Degraded answers 503 so that a load balancer or `docker compose` healthcheck takes the
    process out of service; ``database`` keeps naming the engine (sqlite or postgresql).
    """
    checks = {"database": _check(_ping_database), "redis": _check(_ping_redis)}
    ok = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ok else "degraded", "database": connection.vendor, "checks": checks}
    return JsonResponse(body, status=200 if ok else 503)


@login_required
def account(request):
    """The signed-in user's account: create (or replace) an API token, shown once.

    POST only (with CSRF), and the key is rendered in that response alone: it is never shown
    again on a later visit, so a token seen over someone's shoulder cannot be re-read here.
    """
    from rest_framework.authtoken.models import Token

    new_key = None
    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
        new_key = Token.objects.create(user=request.user).key
    has_token = new_key is not None or Token.objects.filter(user=request.user).exists()
    response = render(request, "registration/account.html", {"new_key": new_key, "has_token": has_token})
    if new_key:
        response["Cache-Control"] = "no-store"
    return response
