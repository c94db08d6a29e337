"""The API docs work offline (every asset from this server) and there is a favicon."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest


def test_redoc_page_names_no_external_asset(user_web, db):
    r = user_web.get("/api/v1/redoc/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(not urlparse(s).netloc for s in sources), sources
    assert "default-src 'self'" in r["Content-Security-Policy"]
    script = next(s for s in sources if "redoc" in s and s.endswith(".js"))
    assert user_web.get(script).status_code == 200


def test_favicon(user_web, db):
    r = user_web.get("/favicon.ico")
    assert r.status_code == 301
    icon = user_web.get(r["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content) if icon.streaming else b"<svg" in icon.content


@pytest.mark.browser
def test_redoc_renders_with_the_network_cut_off(page, live_server, staff_user):
    from tests.conftest import login

    login(page, live_server)
    outside = []

    def route(r):
        if urlparse(r.request.url).hostname not in ("localhost", "127.0.0.1"):
            outside.append(r.request.url)
            return r.abort()
        return r.continue_()

    page.route("**/*", route)
    page.goto(f"{live_server.url}/api/v1/redoc/")
    page.wait_for_selector("text=energyweb API", timeout=20000)
    page.wait_for_selector("[data-section-id]", timeout=20000)
    assert outside == []
    # Redocly's logo is served from here too (energyweb/redoc.py): no console complaint at all.
    assert page.console_log.errors() == []
