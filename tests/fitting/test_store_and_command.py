"""Fits stored from Measurement rows; the fit_models command and its --json output."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiling.choices import FitSource
from profiling.fitting import regression
from profiling.models import EnergyModelFit
from profiling.services import fitting
from tests.fitting.conftest import GRID, add_grid

pytestmark = pytest.mark.django_db


def _run(*args):
    out = StringIO()
    call_command("fit_models", *args, stdout=out)
    return out.getvalue()


def test_loader_excludes_warmups_and_estimates_by_default(llm, hardware):
    add_grid(llm, hardware, reps=2)
    add_grid(llm, hardware, reps=1, estimated=True, seed=1)
    cells = len(GRID) ** 2
    data = fitting.load_pair(llm, hardware, "energy")
    assert len(data.y) == cells * 2 and not data.uses_estimated_energy
    assert data.excluded_warmup == cells * 2 and data.excluded_estimated == cells
    data = fitting.load_pair(llm, hardware, "energy", include_estimated=True)
    assert len(data.y) == cells * 3 and data.uses_estimated_energy
    # Runtime fits are not affected by how energy was obtained.
    assert len(fitting.load_pair(llm, hardware, "runtime").y) == cells * 3
    assert len(fitting.load_pair(llm, hardware, "runtime", include_warmup=True).y) == cells * 5


def test_fit_pair_stores_every_form_and_selects_one(grid_pair):
    llm, hw = grid_pair
    published = EnergyModelFit.objects.create(
        llm=llm, hardware=hw, target="energy", form="paper", source=FitSource.PUBLISHED, is_selected=True,
        coefficients={"tin": -1.0, "tout": 30.0, "tin_tout": 0.04})
    out = fitting.fit_pair(llm, hw, "energy")
    assert set(out["fits"]) == set(regression.FORMS)
    assert out["selected"] in ("nnls", "extended")  # the data has a fixed overhead
    first = EnergyModelFit.objects.get(is_selected=True, source=FitSource.FITTED, llm=llm, target="energy")
    assert first.form == out["selected"] and first.identifiable
    assert first.metrics["cv_mape"] is not None and first.diagnostics["anova"]["available"]
    # A refit moves the selection to the new row and never touches the published fit.
    fitting.fit_pair(llm, hw, "energy")
    assert EnergyModelFit.objects.filter(is_selected=True, source=FitSource.FITTED, target="energy").count() == 1
    assert not EnergyModelFit.objects.get(pk=first.pk).is_selected
    published.refresh_from_db()
    # One selected fit per pair and target: the published one is unselected, never rewritten.
    assert not published.is_selected and published.coefficients["tin"] == -1.0


def test_estimated_fit_is_labelled(llm, hardware):
    add_grid(llm, hardware, estimated=True)
    with pytest.raises(regression.FitError, match="include-estimated"):
        fitting.fit_pair(llm, hardware, "energy")
    out = fitting.fit_pair(llm, hardware, "energy", include_estimated=True)
    fit = out["fits"]["paper"]
    assert fit.uses_estimated_energy and "estimated" in fit.metrics["label"]
    assert any("estimated" in w for w in fit.diagnostics["warnings"])


def test_fit_models_json_for_one_form(grid_pair):
    llm, hw = grid_pair
    payload = json.loads(_run("--llm", llm.name, "--hardware", hw.slug, "--target", "energy",
                              "--form", "paper", "--json"))
    for key in ("form", "coefficients", "r2", "r2_uncentered", "rmse", "mape", "cv_mape", "n",
                "identifiable", "warnings"):
        assert key in payload, key
    assert payload["form"] == "paper" and set(payload["coefficients"]) == {"tin", "tout", "tin_tout"}
    assert payload["n"] == len(GRID) ** 2 * 3 and payload["identifiable"] is True
    stored = EnergyModelFit.objects.get(pk=payload["fit_id"])
    assert stored.coefficients == payload["coefficients"] and not stored.is_selected


def test_fit_models_json_all_forms_marks_the_selected_one(grid_pair):
    llm, hw = grid_pair
    payload = json.loads(_run("--json"))
    assert {f["form"] for f in payload["fits"]} == set(regression.FORMS)
    assert {f["target"] for f in payload["fits"]} == {"energy", "runtime"}
    key = f"{llm.name} | {hw.name} | energy"
    chosen = [f for f in payload["fits"] if f["is_selected"] and f["target"] == "energy"]
    assert len(chosen) == 1 and payload["selected"][key] == chosen[0]["form"]
    assert EnergyModelFit.objects.get(pk=chosen[0]["fit_id"]).is_selected


def test_fit_models_text_output_and_errors(grid_pair):
    text = _run("--target", "runtime")
    assert "R²(centered)" in text and "R²(uncentered)" in text and "[selected]" in text
    with pytest.raises(CommandError, match="No single LLM"):
        _run("--llm", "nope", "--hardware", "Test GPU box")


def test_fit_models_flags_include_warmup_and_dry_run(grid_pair):
    llm, hw = grid_pair
    before = EnergyModelFit.objects.count()
    payload = json.loads(_run("--llm", llm.slug, "--hardware", hw.slug, "--target", "runtime", "--form", "nnls",
                              "--include-warmup", "--dry-run", "--json"))
    assert payload["n"] == len(GRID) ** 2 * 4 and payload["fit_id"] is None
    assert EnergyModelFit.objects.count() == before


def test_refit_task_body_is_a_quiet_no_op_for_missing_rows(grid_pair):
    from profiling.tasks import refit_pair

    llm, hw = grid_pair
    assert refit_pair(999999, hw.pk) is None
    out = refit_pair(llm.pk, hw.pk)  # the task body, run in-process
    assert out["energy"]["selected"] and set(out["runtime"]["fit_ids"]) == set(regression.FORMS)
