"""A new operator signs in, registers this host, profiles the tiny model on it and sees the fit."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from energyweb.jobs.choices import JobStatus
from profiling.models import EnergyModelFit, Hardware, ProfilingRun
from tests.conftest import login, start_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]


def test_sign_in_register_profile_and_see_the_fit(transactional_db, staff_user, broker_url, tmp_path, live_server,
                                                  page, shot):
    from io import StringIO

    call_command("seed_reference", stdout=StringIO())
    login(page, live_server)
    shot(page, "signed-in")
    # Registering a host is a shell step on that host (it reads NVML, RAPL, the CPU).
    call_command("register_host", "--name", "journey host", stdout=StringIO())
    host = Hardware.objects.get(name="journey host")
    worker = start_worker(broker_url, tmp_path, queues=f"default,hw.{host.slug}")
    try:
        page.goto(f"{live_server.url}/hardware/")
        page.click("text=journey host")
        shot(page, "host-page")
        page.click("#profile-host")
        page.wait_for_url(lambda url: "/profiling/new/" in url)
        assert page.locator("#id_llm option:checked").inner_text() == "tiny-random-llama"
        page.select_option("#id_design", "custom")
        page.fill("#id_input_tokens", "8,32")
        page.fill("#id_output_tokens", "4,16")
        page.fill("#id_min_trials", "2")
        page.fill("#id_max_trials", "2")
        shot(page, "new-run-form")
        page.click("#start-run")
        page.wait_for_url(lambda url: "/profiling/new/" not in url)
        run = ProfilingRun.objects.get()
        page.wait_for_selector("#run-status:has-text('succeeded')", timeout=120000)
        run.refresh_from_db()
        assert run.status == JobStatus.SUCCEEDED, run.error
        page.wait_for_function("() => document.getElementById('trials-chart').dataset.points === '8'")
        assert page.locator("h1 .badge.estimated").is_visible()
        shot(page, "run-finished")
        fit = None
        for _ in range(120):
            fit = EnergyModelFit.objects.filter(llm=run.llm, hardware=host, target="energy", source="fitted").first()
            if fit:
                break
            page.wait_for_timeout(500)
        assert fit is not None, "the pair was not refitted after the run"
    finally:
        worker.stop()
    page.click("#explorer-link")
    page.wait_for_url(lambda url: "/explorer/" in url)
    page.wait_for_load_state("networkidle")
    assert "estimated" in page.content().lower()
    shot(page, "fit-in-explorer")
    assert not page.console_log.errors()
