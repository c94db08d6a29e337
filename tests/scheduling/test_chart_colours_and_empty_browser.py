"""Charts in Chromium: a chart with no data says so instead of bare 1-10 axes, and a plan's deployments
get clearly different colours, the same in every chart of the page (#16)."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from energyweb.jobs.choices import JobStatus
from profiling.models import LLM, Hardware, ProfilingRun
from scheduling.models import ScheduleJob
from scheduling.services.workloads import import_workload
from scheduling.tasks import run_schedule_job
from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _rgb(colour: str) -> tuple[float, float, float]:
    if colour.startswith("#"):
        return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(float(v) for v in colour[colour.index("(") + 1:].split(",")[:3])


def _lab(rgb) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB colour, for a perceptual distance (CIE76 delta E)."""
    c = np.array(rgb, dtype=float) / 255
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_a_failed_run_without_trials_says_no_data(live_server, page, staff_user):
    hw = Hardware.objects.create(name="Test host", hostname="test-host")
    llm = LLM.objects.create(name="Tiny LM", parameters_b=0.001)
    run = ProfilingRun.objects.create(llm=llm, hardware=hw, status=JobStatus.FAILED, finished=timezone.now(),
                                      error="the backend could not load the model")
    login(page, live_server)
    page.goto(f"{live_server.url}/profiling/{run.pk}/")
    note = page.locator(".chart-box .chart-empty")
    note.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('.chart-empty')?.textContent.includes('failed')")
    assert note.inner_text() == "No data: no trial was recorded before the run failed."
    assert page.locator("#trials-chart").evaluate("(c) => getComputedStyle(c).visibility") == "hidden"
    assert page.console_log.errors() == []


def test_plan_charts_give_each_deployment_a_distinct_colour_everywhere(live_server, page, staff_user, settings,
                                                                     tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_reference", stdout=StringIO())
    call_command("seed_reference_deployments", stdout=StringIO())
    rng = np.random.default_rng(0)
    rows = "".join(f"{a},{b}\n" for a, b in zip(rng.integers(16, 1024, 300), rng.integers(64, 512, 300), strict=True))
    wl = import_workload(("input_tokens,output_tokens\n" + rows).encode(), "colours")
    login(page, live_server)
    page.goto(f"{live_server.url}/plans/new/?workload={wl.pk}")
    page.click("#plan-form button[type=submit]")  # as the form comes: reference deployments ticked
    page.wait_for_url(lambda url: "/plans/new/" not in url)
    job = ScheduleJob.objects.get(workload=wl)
    run_schedule_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    page.reload()
    for canvas in ("chart-counts", "chart-hist-tin", "chart-hist-tout"):
        page.wait_for_function(f"() => document.getElementById('{canvas}')?.dataset.rendered === 'true'")
    colours = {canvas: page.evaluate(
        f"Object.fromEntries(Chart.getChart(document.getElementById('{canvas}')).data.datasets"
        ".map((d) => [d.label, d.backgroundColor]))") for canvas in ("chart-counts", "chart-hist-tin",
                                                                     "chart-hist-tout")}
    keys = job.results["deployments"]
    assert len(keys) >= 5 and set(colours["chart-counts"]) == set(keys)
    # Each deployment has one colour on the whole page.
    for key in keys:
        assert len({_rgb(colours[c][key]) for c in colours}) == 1, key
    # And no two are near-identical: CIE76 delta E above 20 for every pair (the old palette: 19 among its first seven, 7 among all).
    labs = {key: _lab(_rgb(colours["chart-counts"][key])) for key in keys}
    closest = min(float(np.linalg.norm(labs[a] - labs[b])) for i, a in enumerate(keys) for b in keys[i + 1:])
    assert closest > 20, closest
    assert page.locator("#chart-counts").evaluate("(c) => c.dataset.empty") == "false"
    assert page.console_log.errors() == []
