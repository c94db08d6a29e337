"""seed_reference gives each of the paper's seven LLMs a valid fitted model, with no ../shared.

The Swing measurements ship in profiling/fixtures/; nothing here reads ../shared.
"""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from profiling.choices import FitSource
from profiling.fitting import terms as term_defs
from profiling.models import LLM, EnergyModelFit, Measurement
from profiling.services import catalogue, fitting

pytestmark = pytest.mark.django_db


def test_seven_llms_get_valid_fitted_models_and_reseed_is_a_no_op():
    out = StringIO()
    call_command("seed_reference", stdout=out)
    assert "1558 rows imported" in out.getvalue()
    assert Measurement.objects.count() == 1558
    for spec in catalogue.LLMS:
        llm = LLM.objects.get(name=spec["name"])
        for target in ("energy", "runtime"):
            fit = EnergyModelFit.objects.get(llm=llm, target=target, source=FitSource.FITTED, is_selected=True)
            assert fit.identifiable and fit.diagnostics["eligible"], (llm, target)
            assert all(v >= 0 for v in fit.coefficients.values())
            assert fit.metrics["cv_mape"] < 10.0, (llm, target, fit.metrics["cv_mape"])
            assert 0.90 <= fit.metrics["cv_coverage_95"] <= 0.98
            # Never negative over the whole planning range, not only where measured.
            tin, tout = np.meshgrid(np.geomspace(1, 8192, 40), np.geomspace(1, 8192, 40))
            assert term_defs.predict(fit.coefficients, tin.ravel(), tout.ravel()).min() > 0
            if target == "energy":
                # Grids carry GPU energy only: an LLM with a grid is fitted on GPU energy
                # over all its rows; the two sweeps-only LLMs on GPU + CPU.
                expected = "gpu+cpu" if spec["name"] in ("Falcon (40B)", "Llama-2 (70B)") else "gpu"
                assert fit.energy_components == expected
            else:
                assert fit.energy_components == ""
    fits_before = set(EnergyModelFit.objects.values_list("id", flat=True))
    again = StringIO()
    call_command("seed_reference", stdout=again)
    assert "0 rows imported" in again.getvalue() and "14 already current" in again.getvalue()
    assert set(EnergyModelFit.objects.values_list("id", flat=True)) == fits_before


def test_energy_of_mixed_component_rows_sums_the_shared_component():
    call_command("seed_reference", stdout=StringIO())
    llm = LLM.objects.get(name="Llama-2 (7B)")
    data = fitting.load_pair(llm, llm.measurements.first().hardware, "energy")
    gpu = np.array(Measurement.objects.filter(llm=llm, is_warmup=False).order_by()
                   .values_list("gpu_energy_j", flat=True), dtype=float)
    assert data.components == "gpu"
    assert sorted(data.y) == pytest.approx(sorted(gpu))


def test_dashboard_shows_each_llm_once_with_its_fit_to_use(client, django_user_model):
    """Published and fitted fits of one pair used to give two dashboard rows per LLM."""
    call_command("seed_reference", stdout=StringIO())
    client.force_login(django_user_model.objects.create_user("viewer", password="viewer-pass-123"))
    rows = client.get("/").context["chart_rows"]
    assert sorted(r["llm"] for r in rows) == sorted(s["name"] for s in catalogue.LLMS)
    assert {r["source"] for r in rows} == {"fitted"}
    pair = client.get("/explorer/llama-2-7b/swing-amd-a100/data.json").json()
    assert sum(f["is_selected"] for f in pair["fits"]["energy"]) == 1
