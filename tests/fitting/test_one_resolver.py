"""One rule for "the fit to use" (issue 17): the predict API and planning resolve "selected",
"published" and a fit id through EnergyModelFit.objects and refuse the same fits."""

import pytest

from profiling.choices import FitSource
from profiling.models import EnergyModelFit
from profiling.services import fitting
from scheduling.models.deployment_specs import DeploymentResolutionError, resolve_fit

pytestmark = pytest.mark.django_db
COEFS = {"tin": 0.1, "tout": 2.0, "tin_tout": 1e-3}


def _published(llm, hardware, **kw):
    return EnergyModelFit.objects.create(llm=llm, hardware=hardware, target="energy", form="paper",
                                         source=FitSource.PUBLISHED, coefficients=COEFS, **kw)


def test_published_is_the_newest_for_both(llm, hardware):
    _published(llm, hardware)
    newest = _published(llm, hardware)
    assert EnergyModelFit.objects.published_for(llm, hardware, "energy") == newest
    assert fitting.choose_fit(llm, hardware, "energy", "published") == newest
    assert resolve_fit(llm, hardware, "energy", "published") == newest


@pytest.mark.parametrize("fields, words", [({"is_stale": True}, "stale"),
                                           ({"identifiable": False}, "not identifiable")])
def test_a_barred_published_fit_is_refused_by_both(llm, hardware, fields, words):
    _published(llm, hardware, **fields)
    with pytest.raises(fitting.NoFit, match=words):
        fitting.choose_fit(llm, hardware, "energy", "published")
    with pytest.raises(DeploymentResolutionError, match=words):
        resolve_fit(llm, hardware, "energy", "published")


def test_a_fit_without_coefficients_is_refused_by_both(llm, hardware):
    fit = _published(llm, hardware)
    EnergyModelFit.objects.filter(pk=fit.pk).update(coefficients={})
    with pytest.raises(fitting.NoFit, match="no coefficients"):
        fitting.choose_fit(llm, hardware, "energy", fit.pk)
    with pytest.raises(DeploymentResolutionError, match="no coefficients"):
        resolve_fit(llm, hardware, "energy", fit.pk)
