"""The reference deployments: one per (LLM, hardware) pair with selected fits (a use case).

Apart from ``deployments.py`` (the resolver that ``Deployment.clean()`` calls), so the resolver
does not import the model that imports it.
"""

from __future__ import annotations

from profiling.choices import FitTarget
from profiling.models import EnergyModelFit
from scheduling.choices import FitChoice
from scheduling.models import Deployment


def ensure_reference_deployments(create: bool = True) -> list | None:
    """A Deployment (selected fits, default shares) for every LLM and hardware pair that has a
    selected energy and runtime fit and a known accuracy; existing ones are reused. With
    ``create=False`` (a reader who may not add inventory) None when any of them is missing."""
    selected = EnergyModelFit.objects.selected()
    pairs = set(selected.filter(target=FitTarget.ENERGY, llm__accuracy__isnull=False)
                .values_list("llm_id", "hardware_id"))
    pairs &= set(selected.filter(target=FitTarget.RUNTIME).values_list("llm_id", "hardware_id"))
    rows = []
    for llm_id, hardware_id in sorted(pairs):
        dep = Deployment.objects.filter(llm_id=llm_id, hardware_id=hardware_id,
                                        energy_fit_choice=FitChoice.SELECTED,
                                        runtime_fit_choice=FitChoice.SELECTED,
                                        min_share=0.0, max_share=1.0, horizon_s__isnull=True).first()
        if dep is None and not create:
            return None
        dep = (dep
               or Deployment.objects.create(llm_id=llm_id, hardware_id=hardware_id,
                                            energy_fit_choice=FitChoice.SELECTED,
                                            runtime_fit_choice=FitChoice.SELECTED,
                                            notes="Reference deployment (selected fitted models)."))
        rows.append(dep)
    return rows
