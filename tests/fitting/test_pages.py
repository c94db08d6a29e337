"""Explorer pages through Django's client (server side) and in Chromium (charts drawn)."""

import json

import pytest

from profiling.choices import FitSource
from profiling.fitting import regression
from profiling.models import EnergyModelFit
from profiling.services import fitting

pytestmark = pytest.mark.django_db


@pytest.fixture
def fitted(grid_pair):
    llm, hw = grid_pair
    fitting.fit_pair(llm, hw, "energy")
    fitting.fit_pair(llm, hw, "runtime")
    return llm, hw


def test_pages_need_login(client, fitted):
    llm, hw = fitted
    for url in ("/explorer/", f"/explorer/{llm.slug}/{hw.slug}/", "/explorer/compare/"):
        r = client.get(url)
        assert r.status_code == 302 and "/accounts/login" in r["Location"]


def test_pair_page_and_json(client, plain_user, fitted):
    llm, hw = fitted
    client.force_login(plain_user)
    r = client.get("/explorer/")
    assert r.status_code == 200 and llm.name.encode() in r.content
    r = client.get(f"/explorer/{llm.slug}/{hw.slug}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "R² (centered)" in html and "R² (uncentered)" in html and "CV MAPE" in html
    assert "Refit models" not in html  # staff only
    data = client.get(f"/explorer/{llm.slug}/{hw.slug}/data.json").json()
    energy = data["targets"]["energy"]
    assert energy["plot_fit"]["source"] == "fitted" and energy["curves"]
    assert {c["tin"] for c in energy["cells"]} == {8, 64, 512, 2048}
    assert all("predicted" in c for c in energy["cells"])
    assert energy["anova"]["available"]
    assert {f["form"] for f in data["fits"]["energy"]} == set(regression.FORMS)


def test_refit_is_staff_only_post(client, plain_user, fitted):
    llm, hw = fitted
    client.force_login(plain_user)
    r = client.post(f"/explorer/{llm.slug}/{hw.slug}/refit/")
    # The one permission rule (energyweb/permissions.py): signed-in non-staff get a 403 everywhere.
    assert r.status_code == 403
    assert client.get(f"/explorer/{llm.slug}/{hw.slug}/refit/").status_code == 405


def test_compare_uses_fitted_else_published_and_validates(client, plain_user, fitted, hardware):
    from profiling.models import LLM

    big = LLM.objects.create(name="Big LLM (70B)", parameters_b=70, weights="x/y")
    EnergyModelFit.objects.create(llm=big, hardware=hardware, target="energy", form="paper",
                                  source=FitSource.PUBLISHED, is_selected=True,
                                  coefficients={"tin": 1.0, "tout": 400.0, "tin_tout": 0.3})
    client.force_login(plain_user)
    body = client.get("/explorer/compare/?tin=100&tout=50&format=json").json()
    rows = {r["llm"]: r for r in body["rows"]}
    assert rows["Big LLM (70B)"]["source"] == "published"
    assert rows["Big LLM (70B)"]["energy_j"] == pytest.approx(100 + 400 * 50 + 0.3 * 5000)
    assert rows["Big LLM (70B)"]["energy_per_token_j"] == pytest.approx(rows["Big LLM (70B)"]["energy_j"] / 150)
    assert rows["Test LLM (7B)"]["source"] == "fitted"
    r = client.get("/explorer/compare/?tin=abc&tout=0&format=json")
    assert r.status_code == 400 and set(r.json()["errors"]) == {"tin", "tout"}
    assert client.get("/explorer/compare/?tin=100&tout=50").status_code == 200


@pytest.mark.browser
def test_explorer_and_compare_render_charts_in_chromium(transactional_db, logged_in_page, live_server, llm,
                                                         hardware):
    from tests.fitting.conftest import add_grid

    add_grid(llm, hardware)
    fitting.fit_pair(llm, hardware, "energy")
    fitting.fit_pair(llm, hardware, "runtime")
    page = logged_in_page
    page.goto(f"{live_server.url}/explorer/")
    page.click(f"text={llm.name}")
    page.wait_for_selector("#chart-heatmap[data-rendered=true]")
    for cid in ("chart-energy", "chart-runtime", "chart-parity", "chart-residuals", "chart-heatmap"):
        assert page.eval_on_selector(f"#{cid}", "c => c.dataset.rendered") == "true", cid
    assert page.locator(".downloads").count() == 5
    assert "input tokens" in page.inner_text("#anova-energy")
    assert page.locator("#fit-table-energy > tbody > tr").count() == len(regression.FORMS)
    # The JSON download carries the chart's rows.
    with page.expect_download() as dl:
        page.locator(".downloads a[data-fmt=json]").first.click()
    rows = json.loads(open(dl.value.path()).read())
    assert rows and {"series", "tin", "tout", "value"} <= set(rows[0])
    # A pair known only from the literature: its published curves, with the negative-energy warning.
    from profiling.models import LLM

    other = LLM.objects.create(name="Llama-2 (7B)", parameters_b=7, weights="meta-llama/Llama-2-7b-hf")
    EnergyModelFit.objects.create(
        llm=other, hardware=hardware, target="energy", form="paper", source=FitSource.PUBLISHED, is_selected=True,
        coefficients={"tin": -3.89, "tout": 31.52, "tin_tout": 4.27e-02}, tin_min=8, tin_max=2048, tout_min=8,
        tout_max=2048, citation="Wilkins et al. 2024, Table 5.2",
        diagnostics={"warnings": regression.model_warnings("paper", {"tin": -3.89, "tout": 31.52, "tin_tout": 4.27e-02},
                                                        (8, 2048), (8, 2048))})
    page.goto(f"{live_server.url}/explorer/")
    page.click("text=Llama-2 (7B)")
    page.wait_for_selector("#chart-energy[data-rendered=true]")
    assert "published" in page.inner_text("#energy-fit-note")
    assert "Physically invalid" in page.inner_text("#fit-table-energy")
    page.goto(f"{live_server.url}/explorer/compare/?tin=2000&tout=8")
    page.wait_for_selector("#chart-compare[data-rendered=true]")
    table = page.inner_text("#compare-table")
    assert llm.name in table and "negative: physically invalid" in table
    assert page.console_log.errors() == []


def test_estimated_fit_is_labelled_on_the_page_and_in_the_data(client, plain_user, llm, hardware):
    from tests.fitting.conftest import add_grid

    add_grid(llm, hardware, estimated=True)
    fitting.fit_pair(llm, hardware, "energy", include_estimated=True)
    client.force_login(plain_user)
    html = client.get(f"/explorer/{llm.slug}/{hardware.slug}/").content.decode()
    assert html.count('badge estimated">estimated') >= 3  # every form's row
    data = client.get(f"/explorer/{llm.slug}/{hardware.slug}/data.json").json()
    energy = data["targets"]["energy"]
    assert energy["plot_fit"]["estimated"] and energy["estimated_points"]
    assert "estimated" in energy["plot_fit"]["label"]
    assert "estimated" in client.get("/explorer/").content.decode()
