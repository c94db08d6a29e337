"""A fit carrying a validity flag is never the one planned with; plans carry every flag (#15).

After profiling tiny-random-llama the paper form, flagged "Physically invalid: negative
coefficient(s)", was the selected fit. Selection now refuses it, the fit-to-use lookup
skips such a row even when it is marked selected (made before the rule), and a plan
lists, by deployment, every flag of the models it uses.
"""

from __future__ import annotations

import numpy as np
import pytest

from profiling.choices import FitForm, FitSource
from profiling.fitting import regression
from profiling.models import EnergyModelFit
from profiling.services import fitting
from scheduling.models.deployment_specs import DeploymentResolutionError, resolve_fit, spec_from_entry
from scheduling.planner.solver import plan
from tests.fitting.conftest import add_grid


def test_blocking_flag_names_the_reason():
    assert regression.blocking_flag({"tin": -0.1, "tout": 3.0}) == "physically invalid: negative coefficient(s) tin"
    assert regression.blocking_flag({"tin": 0.1}, identifiable=False) == "not identifiable"
    assert regression.blocking_flag({"tin": 0.1, "tout": 3.0}) == ""


def test_selection_refuses_the_flagged_paper_form_even_when_it_fits_best():
    # Paper-form data with a negative a0: the paper form fits it best, and is flagged.
    grid = np.array([8.0, 32, 128, 512, 2048])
    tin, tout = (a.ravel() for a in np.meshgrid(grid, grid))
    rng = np.random.default_rng(1)
    y = (-0.2 * tin + 30.0 * tout + 0.04 * tin * tout) * (1 + rng.normal(0, 0.01, tin.size))
    results, selected = regression.fit_all(tin, tout, y)
    assert results["paper"].coefficients["tin"] < 0
    assert any("Physically invalid" in w for w in results["paper"].warnings)
    assert selected is not None and selected != "paper"
    assert not regression.eligible(results["paper"])[0]


def test_a_flagged_row_marked_selected_is_never_used(llm, hardware):
    # A row selected before the rule existed (what the tiny-random-llama profile left behind).
    EnergyModelFit.objects.create(
        llm=llm, hardware=hardware, target="energy", form=FitForm.PAPER, source=FitSource.FITTED,
        coefficients={"tin": -0.5, "tout": 30.0, "tin_tout": 0.04}, is_selected=True,
        diagnostics={"warnings": ["Physically invalid: negative coefficient(s) tin=-0.5"]})
    assert EnergyModelFit.objects.to_use(llm, hardware, "energy") is None
    with pytest.raises(fitting.NoFit):
        fitting.choose_fit(llm, hardware, "energy")
    with pytest.raises(DeploymentResolutionError) as info:
        resolve_fit(llm, hardware, "energy", "selected")
    assert info.value.field == "energy_fit"


def test_a_plan_warns_by_deployment_of_every_flag_its_models_carry(llm, hardware):
    # Estimated energy is a flag the fit's page shows: it must reach the plan, by deployment.
    add_grid(llm, hardware, estimated=True)
    llm.accuracy = 50.0
    llm.save()
    fitting.fit_pair(llm, hardware, "energy", include_estimated=True)
    fitting.fit_pair(llm, hardware, "runtime")
    energy = EnergyModelFit.objects.to_use(llm, hardware, "energy")
    assert energy is not None and not energy.blocking_flag and energy.flags
    spec = spec_from_entry({"llm": llm.name, "hardware": hardware.name})
    result = plan([100, 200], [50, 60], [spec])
    key = f"{llm.name} @ {hardware.name}"
    flagged = [w for w in result.warnings if w.startswith(key) and "Uses estimated energy" in w]
    assert flagged, result.warnings


def test_plan_total_energy_is_an_interval_that_widens_off_the_data(llm, hardware):
    add_grid(llm, hardware)
    llm.accuracy = 50.0
    llm.save()
    fitting.fit_pair(llm, hardware, "energy")
    fitting.fit_pair(llm, hardware, "runtime")
    spec = spec_from_entry({"llm": llm.name, "hardware": hardware.name})
    assert spec.supports and spec.energy_interval["support"]["cells"]
    inside = plan([64] * 10, [64] * 10, [spec])
    outside = plan([8192] * 10, [64] * 10, [spec])  # two log2 steps past the largest input
    for r in (inside, outside):
        assert r.total_energy_low_j < r.total_energy_j < r.total_energy_high_j
        d = r.to_dict()
        assert d["total_energy_low_j"] == pytest.approx(r.total_energy_low_j)
        per = d["per_deployment"][spec.key]
        assert per["energy_low_j"] == pytest.approx(r.total_energy_low_j)
    rel = [(r.total_energy_high_j - r.total_energy_low_j) / r.total_energy_j for r in (inside, outside)]
    # Data drawn from the nnls form extrapolates well on its own edges, so κ is small (its
    # floor): the band still widens, by κ per log2 step beyond the support.
    assert rel[1] > rel[0] * 1.1, rel
    assert inside.per_deployment[spec.key]["extrapolated_queries"] == 0
    assert outside.per_deployment[spec.key]["extrapolated_queries"] == 10
    assert any("beyond the support of its models' measured cells" in w for w in outside.warnings)


def test_an_unmeasured_cell_inside_the_box_is_extrapolated(llm, hardware):
    # A grid with its high corner never measured: the bounding box would call it inside.
    add_grid(llm, hardware, grid=[8, 64, 512])
    from profiling.models import Measurement

    Measurement.objects.filter(input_tokens=512, output_tokens=512).delete()
    fitting.fit_pair(llm, hardware, "energy")
    fit = EnergyModelFit.objects.to_use(llm, hardware, "energy")
    out = fitting.predict_with_fit(fit, [512, 64, 400], [512, 64, 64])
    assert out["pair_warnings"]["extrapolation"] == [0]
    # And its interval is wider, relative to the prediction, than a measured cell's.
    half = (out["upper"] - out["lower"]) / 2 / out["value"]
    assert half[0] > half[1]
