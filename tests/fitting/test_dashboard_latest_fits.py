"""The dashboard's latest models: one row per recently fitted pair and target, not one pair's ten candidates (#16)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from profiling.choices import FitForm, FitSource, FitTarget
from profiling.models import LLM, EnergyModelFit, Hardware

pytestmark = pytest.mark.django_db


def _fit(llm, hw, target, form, minutes_ago, selected=False):
    fit = EnergyModelFit.objects.create(llm=llm, hardware=hw, target=target, form=form, source=FitSource.FITTED,
                                        coefficients={"tout": 1.0}, is_selected=selected)
    EnergyModelFit.objects.filter(pk=fit.pk).update(created=timezone.now() - timedelta(minutes=minutes_ago))
    return fit


def test_latest_models_show_each_pairs_fit_to_use_per_target(client, staff_user):
    hw = Hardware.objects.create(name="Box")
    older, busy = (LLM.objects.create(name=n, parameters_b=7) for n in ("Older LM", "Busy LM"))
    _fit(older, hw, FitTarget.ENERGY, FitForm.PAPER, 60, selected=True)
    # One fitting round of Busy LM: five forms per target, the selected one not the newest.
    for target in (FitTarget.ENERGY, FitTarget.RUNTIME):
        for i, form in enumerate((FitForm.PAPER, FitForm.NNLS, FitForm.EXTENDED, FitForm.CACHED, FitForm.PAPER)):
            _fit(busy, hw, target, form, minutes_ago=5 - i, selected=(form == FitForm.NNLS))
    client.force_login(staff_user)
    page = client.get("/").content.decode()
    table = page.split("<h2>Latest energy and runtime models</h2>")[1].split("</table>")[0]
    rows = re.findall(r"<tr>\s*<td><a [^>]*>([^<]+)</a></td>\s*<td><a [^>]*>Box</a></td>\s*<td>(\w+)", table)
    assert rows == [("Busy LM", "Energy"), ("Busy LM", "Runtime"), ("Older LM", "Energy")]
    assert table.count('title="Used for planning">selected') == 3
