"""The refit task through a real Celery worker on a real broker."""

import time

import pytest

from energyweb.queue import send_now
from profiling.choices import FitSource
from profiling.fitting import regression
from profiling.models import EnergyModelFit
from tests.fitting.conftest import add_grid


@pytest.mark.worker
def test_refit_pair_through_a_real_worker(celery_worker_process, llm, hardware):
    add_grid(llm, hardware, reps=2)
    assert send_now("profiling.refit_pair", [llm.pk, hardware.pk])
    # A pair that no longer exists is a quiet no-op, and must not block the queue.
    assert send_now("profiling.refit_pair", [999999, 999999])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if EnergyModelFit.objects.filter(llm=llm, hardware=hardware, source=FitSource.FITTED).count() == 6:
            break
        time.sleep(0.5)
    fits = EnergyModelFit.objects.filter(llm=llm, hardware=hardware, source=FitSource.FITTED)
    assert {(f.target, f.form) for f in fits} == {(t, f) for t in ("energy", "runtime")
                                                  for f in regression.FORMS}, \
        celery_worker_process.log.read_text()[-3000:]
    selected = fits.filter(is_selected=True)
    assert {f.target for f in selected} == {"energy", "runtime"}
    assert all(f.identifiable and f.metrics["cv_mape"] is not None for f in selected)


@pytest.mark.browser
@pytest.mark.worker
def test_refit_button_queues_and_the_page_reports_done(celery_worker_process, logged_in_page, live_server,
                                                        llm, hardware):
    add_grid(llm, hardware, reps=1)
    page = logged_in_page
    page.goto(f"{live_server.url}/explorer/{llm.slug}/{hardware.slug}/")
    page.click("#refit-button")
    try:
        page.wait_for_selector("#refit-status[data-state=done]", timeout=60000)
    except Exception:
        raise AssertionError(page.inner_text("#refit-status") + "\n"
                             + celery_worker_process.log.read_text()[-3000:]) from None
    assert EnergyModelFit.objects.filter(llm=llm, source=FitSource.FITTED, is_selected=True).count() == 2
    assert page.console_log.errors() == []
