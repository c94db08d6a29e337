"""The OpenAPI schema is generated without warnings and validates; the docs page is offline."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_schema_validates_without_warnings(tmp_path, run_python):
    out = tmp_path / "schema.yaml"
    proc = run_python("manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for path in ("/api/v1/hardware/{slug}/", "/api/v1/llms/", "/api/v1/fits/"):
        assert path in text


@pytest.mark.django_db
def test_schema_endpoint_serves_openapi(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_docs_page_loads_assets_locally(client):
    html = client.get("/api/v1/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in s for s in sources), html[:2000]
    for src in sources:
        assert not src.startswith(("http://", "https://", "//")), src
        if src.startswith("/static/"):
            assert client.get(src).status_code == 200, src
