"""Deployment rows and file entries -> solver specs; non-identifiable fits are refused."""

import pytest
from django.core.exceptions import ValidationError

from profiling.choices import FitForm, FitSource, FitTarget
from profiling.models import EnergyModelFit
from scheduling.choices import FitChoice
from scheduling.models import Deployment
from scheduling.models.deployment_specs import (
    DeploymentResolutionError,
    spec_for_deployment,
    spec_from_entry,
    specs_from_entries,
)
from scheduling.services.reference_deployments import ensure_reference_deployments
from tests.scheduling.conftest import SWING

pytestmark = pytest.mark.django_db


def _fitted(llm, hw, target=FitTarget.ENERGY, identifiable=True, selected=True, estimated=False):
    if selected:  # one selected fit per pair and target, as fit_pair keeps it
        EnergyModelFit.objects.filter(llm=llm, hardware=hw, target=target, is_selected=True).update(is_selected=False)
    return EnergyModelFit.objects.create(
        llm=llm, hardware=hw, target=target, form=FitForm.NNLS, source=FitSource.FITTED,
        coefficients={"intercept": 1.0, "tout": 30.0}, identifiable=identifiable, is_selected=selected,
        uses_estimated_energy=estimated)


def test_published_spec_carries_the_table_coefficients(reference):
    hw, llms = reference
    dep = Deployment.objects.create(llm=llms["Llama-2 (70B)"], hardware=hw, instances=2, horizon_s=3600,
                                    energy_fit_choice=FitChoice.PUBLISHED, runtime_fit_choice=FitChoice.PUBLISHED)
    spec = spec_for_deployment(dep)
    assert spec.key == f"Llama-2 (70B) @ {SWING}"
    assert spec.energy_coefs == {"tin": -12.03, "tout": 414.82, "tin_tout": 0.315}
    assert spec.accuracy == 64.52
    assert spec.gpus == 4 and spec.capacity_gpu_s == 2 * 4 * 3600
    assert not spec.energy_estimated


def test_non_identifiable_fit_is_refused_clearly(reference):
    hw, llms = reference
    llm = llms["Llama-2 (7B)"]
    bad = _fitted(llm, hw, identifiable=False)
    with pytest.raises(DeploymentResolutionError, match="not identifiable"):
        spec_from_entry({"llm": llm.name, "hardware": SWING, "fit": bad.pk})
    # A non-identifiable fit is never the fit to use, even when flagged selected.
    with pytest.raises(DeploymentResolutionError, match="No selected energy model"):
        spec_from_entry({"llm": llm.name, "hardware": SWING, "fit": "selected"})
    dep = Deployment(llm=llm, hardware=hw, energy_fit_choice=FitChoice.SPECIFIC, energy_fit=bad)
    with pytest.raises(ValidationError) as err:
        dep.full_clean()
    assert "not identifiable" in str(err.value.message_dict["energy_fit"])


def test_selected_fit_and_estimated_energy_are_carried(reference):
    hw, llms = reference
    llm = llms["Llama-2 (13B)"]
    fit = _fitted(llm, hw, estimated=True)
    spec = spec_from_entry({"llm": llm.name, "hardware": SWING, "fit": "selected"} | {"runtime_fit": "published"})
    assert spec.energy_coefs == {"intercept": 1.0, "tout": 30.0}
    assert spec.energy_estimated
    by_id = spec_from_entry({"llm": llm.name, "hardware": SWING, "fit": str(fit.pk)})
    assert by_id.energy_coefs == fit.coefficients
    # No selected runtime fit: a fit named by id plans with the published runtime model.
    assert by_id.runtime_coefs["tout"] == pytest.approx(0.143)


@pytest.mark.parametrize("entry, message", [
    ({"llm": "GPT-9", "hardware": SWING}, "Unknown llm"),
    ({"llm": "Llama-2 (7B)", "hardware": "Nowhere"}, "Unknown hardware"),
    ({"llm": "Llama-2 (7B)", "hardware": SWING, "fit": "selected"}, "No selected energy model"),
    ({"llm": "Llama-2 (7B)", "hardware": SWING, "fit": 999999}, "No fit with id"),
    ({"llm": "Llama-2 (7B)", "hardware": SWING, "fit": "best"}, "Unknown fit choice"),
    ({"llm": "Llama-2 (7B)", "hardware": SWING, "min_share": 0.6, "max_share": 0.2}, "min_share <= max_share"),
])
def test_bad_entries_are_explained(reference, entry, message):
    if message.startswith("No selected"):
        EnergyModelFit.objects.filter(llm__name=entry["llm"], target="energy").update(is_selected=False)
    with pytest.raises(DeploymentResolutionError, match=message):
        spec_from_entry(entry)


def test_duplicate_and_empty_deployment_lists(reference):
    entry = {"llm": "Llama-2 (7B)", "hardware": SWING}
    with pytest.raises(DeploymentResolutionError, match="listed twice"):
        specs_from_entries([entry, entry])
    with pytest.raises(DeploymentResolutionError, match="non-empty JSON list"):
        specs_from_entries([])


@pytest.mark.parametrize("fields, key", [
    ({"min_share": 0.7, "max_share": 0.2}, "max_share"),
    ({"min_share": -0.1}, "min_share"),
    ({"horizon_s": -5}, "horizon_s"),
    ({"gpus_per_instance": 1}, "gpus_per_instance"),  # 70B needs 4
    ({"energy_fit_choice": FitChoice.SPECIFIC}, "energy_fit"),
])
def test_clean_rules_are_field_keyed(reference, fields, key):
    hw, llms = reference
    dep = Deployment(llm=llms["Llama-2 (70B)"], hardware=hw, **fields)
    with pytest.raises(ValidationError) as err:
        dep.full_clean()
    assert key in err.value.message_dict


def test_reference_deployments_are_created_once(reference):
    first = ensure_reference_deployments()
    second = ensure_reference_deployments()
    assert len(first) == 3
    assert [d.pk for d in first] == [d.pk for d in second]


def test_deleting_a_specific_fit_leaves_a_deployment_that_explains_itself(reference):
    hw, llms = reference
    llm = llms["Llama-2 (7B)"]
    fit = _fitted(llm, hw)
    dep = Deployment.objects.create(llm=llm, hardware=hw, energy_fit_choice=FitChoice.SPECIFIC, energy_fit=fit)
    fit.delete()
    dep.refresh_from_db()
    with pytest.raises(DeploymentResolutionError, match="none given"):
        spec_for_deployment(dep)
