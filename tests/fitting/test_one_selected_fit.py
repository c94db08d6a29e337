"""One rule for "the fit to use": at most one selected fit per (LLM, hardware, target),
kept under refits and batch deletes; fits made from deleted data are stale and never offered."""

import io

import pytest
from django.db import IntegrityError, transaction

from profiling.choices import FitSource
from profiling.models import EnergyModelFit, ImportBatch
from profiling.services import fitting
from profiling.services.measurement_import import import_measurements
from scheduling.models.deployment_specs import DeploymentResolutionError, resolve_fit
from tests.fitting.conftest import GRID, energy_of

pytestmark = pytest.mark.django_db(transaction=True)


def _import(llm, hardware, scale=1.0):
    lines = ["llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,iteration"]
    for tin in GRID:
        for tout in GRID:
            for it in (1, 2):
                e = energy_of(tin, tout) * scale * (1 + 0.01 * it)
                lines.append(f"{llm.name},{hardware.name},{tin},{tout},{e / 300:.6f},{e:.4f},{it}")
    data = io.BytesIO(("\n".join(lines) + "\n").encode())
    return import_measurements(data, filename=f"grid-{scale}.csv", enqueue_refits=False)


def _selected(llm, hardware, target):
    return EnergyModelFit.objects.filter(llm=llm, hardware=hardware, target=target, is_selected=True)


def test_one_selected_fit_per_pair_under_refits_and_batch_deletes(llm, hardware):
    EnergyModelFit.objects.create(llm=llm, hardware=hardware, target="energy", form="paper",
                                  source=FitSource.PUBLISHED, coefficients={"tin": -1.0, "tout": 30.0})
    first = _import(llm, hardware)
    second = _import(llm, hardware, scale=1.1)
    for _ in range(3):
        for target in ("energy", "runtime"):
            fitting.fit_pair(llm, hardware, target)
            assert _selected(llm, hardware, target).count() == 1
    to_use = EnergyModelFit.objects.to_use(llm, hardware, "energy")
    assert to_use.source == FitSource.FITTED and to_use.energy_components == "gpu"
    # The database refuses a second selected fit, whatever writes it.
    with pytest.raises(IntegrityError), transaction.atomic():
        EnergyModelFit.objects.create(llm=llm, hardware=hardware, target="energy", form="nnls",
                                      coefficients={"tout": 1.0}, is_selected=True)
    # Deleting a batch the fits were made from: every fitted fit of the pair is stale and unselected.
    ImportBatch.objects.filter(pk=first.batch_id).delete()
    assert EnergyModelFit.objects.filter(llm=llm, source=FitSource.FITTED, is_stale=False).count() == 0
    assert _selected(llm, hardware, "energy").count() == 0
    assert EnergyModelFit.objects.to_use(llm, hardware, "energy") is None
    with pytest.raises(fitting.NoFit, match="no selected valid energy fit"):
        fitting.choose_fit(llm, hardware, "energy")  # the predict API: no fallback to the published fit
    with pytest.raises(fitting.NoFit, match="stale"):
        fitting.choose_fit(llm, hardware, "energy", to_use.pk)
    with pytest.raises(DeploymentResolutionError, match="stale"):
        resolve_fit(llm, hardware, "energy", to_use.pk)
    # A refit of what remains selects one fresh fit again.
    fitting.fit_pair(llm, hardware, "energy")
    fresh = EnergyModelFit.objects.to_use(llm, hardware, "energy")
    assert fresh is not None and not fresh.is_stale and fresh.n == 32
    ImportBatch.objects.filter(pk=second.batch_id).delete()
    assert EnergyModelFit.objects.selected().filter(llm=llm).count() == 0
