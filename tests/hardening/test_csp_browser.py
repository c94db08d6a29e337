"""In Chromium, the main pages run under the Content-Security-Policy with no violation: every script
they need is a file or carries the nonce, no inline handler or style attribute is refused, and the
charts still draw (Chart.js from node_modules, served by us)."""

from __future__ import annotations

import pytest

from scheduling.services import jobs
from scheduling.services.generator import generate_workload
from scheduling.services.reference_deployments import ensure_reference_deployments
from tests.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture
def site(transactional_db, staff_user):
    from tests.scheduling.conftest import make_reference

    hw, llms = make_reference()
    llm = next(iter(llms.values()))
    deps = ensure_reference_deployments()
    wl = generate_workload("w", 50, "constant:value=5", "constant:value=5", 0)
    job = jobs.create_job(wl, deps[:1], "paper-energy-accuracy", {"zeta": 0.5}, user=staff_user)
    return {"hw": hw, "llm": llm, "wl": wl, "job": job}


def test_main_pages_have_no_csp_violation(page, live_server, site):
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    login(page, live_server)
    hw, llm = site["hw"], site["llm"]
    urls = ["/", "/hardware/", f"/hardware/{hw.slug}/", "/llms/", f"/llms/{llm.slug}/", "/measurements/",
            "/profiling/", "/explorer/", f"/explorer/{llm.slug}/{hw.slug}/", "/workloads/",
            f"/workloads/{site['wl'].pk}/", "/workloads/upload/", "/deployments/", "/plans/", "/plans/new/",
            site["job"].get_absolute_url(), "/accounts/profile/", "/api/v1/", "/api/v1/docs/", "/admin/"]
    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        assert "nonce-" in response.headers["content-security-policy"], url
        page.wait_for_load_state("networkidle")
        assert violations == [], (url, violations)
    # The dashboard chart still draws under the policy (Chart.js and its start-up script ran).
    page.goto(f"{live_server.url}/hardware/{hw.slug}/")
    page.wait_for_function("() => !!window.Chart && Object.keys(window.Chart.instances || {}).length > 0")
    assert page.console_log.errors() == []


def test_an_injected_inline_script_does_not_run(page, live_server, site):
    """A script tag without the nonce, as an escaping slip would let through, is refused."""
    login(page, live_server)
    page.goto(f"{live_server.url}/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                             document.body.appendChild(s); }""")
    assert page.evaluate("() => window.__ran") is None
    assert any("Content Security Policy" in m for _, m in page.console_log)
