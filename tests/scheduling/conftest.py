"""Fixtures for the scheduling tests: reference deployments with the published models.

The coefficients are Table 5.2 of Wilkins, Mortier & Keshav (2024) on Swing
AMD+A100 (energy a0..a2 in J, runtime b0..b2 in s) and accuracies from Table 4.1.
"""

from __future__ import annotations

import json

import pytest

from profiling.choices import FitForm, FitSource, FitTarget
from profiling.models import LLM, EnergyModelFit, Hardware

TABLE_5_2 = {
    # name: (accuracy, min GPUs, (a0, a1, a2), (b0, b1, b2))
    "Llama-2 (7B)": (50.97, 1, (-3.89, 31.52, 4.27e-02), (-1.00e-02, 8.35e-02, 1.07e-04)),
    "Llama-2 (13B)": (55.69, 1, (-6.79, 56.01, 7.29e-02), (-1.74e-02, 1.43e-01, 1.85e-04)),
    "Llama-2 (70B)": (64.52, 4, (-12.03, 414.82, 3.15e-01), (-3.12e-02, 7.03e-01, 5.33e-04)),
    # Mistral b2 is printed as 8.10e-02 in the paper, an evident typo; ~1e-04 like its peers here.
    "Mistral (7B)": (60.97, 1, (-3.12, 31.69, 3.53e-02), (-7.80e-03, 8.10e-02, 1.00e-04)),
}
SWING = "Swing AMD+A100"


def _coefs(triple):
    return dict(zip(("tin", "tout", "tin_tout"), triple, strict=True))


def valid_coefs(triple, intercept):
    """A physically valid (non-negative) stand-in for a Table 5.2 row: the negative tin
    coefficient becomes 0 and a fixed per-query overhead is added."""
    coefs = {"intercept": intercept}
    coefs.update({k: max(v, 0.0) for k, v in _coefs(triple).items()})
    return coefs


def make_reference(names=("Llama-2 (7B)", "Llama-2 (13B)", "Llama-2 (70B)")):
    hw, _ = Hardware.objects.get_or_create(
        name=SWING, defaults={"is_reference": True, "gpu_model": "A100 40GB", "gpu_count": 4})
    out = {}
    for name in names:
        acc, gpus, a, b = TABLE_5_2[name]
        llm, _ = LLM.objects.get_or_create(
            name=name, defaults={"parameters_b": float(name.split("(")[1].rstrip("B)")), "min_gpus": gpus,
                                 "accuracy": acc, "weights": f"example/{name}"})
        for target, coefs, overhead in ((FitTarget.ENERGY, a, 50.0), (FitTarget.RUNTIME, b, 0.2)):
            EnergyModelFit.objects.get_or_create(
                llm=llm, hardware=hw, target=target, source=FitSource.PUBLISHED,
                defaults={"form": FitForm.PAPER, "coefficients": _coefs(coefs),
                          "citation": "Wilkins et al. 2024, Table 5.2"})
            # The fit to use by default (deployments' "selected"): valid everywhere.
            EnergyModelFit.objects.get_or_create(
                llm=llm, hardware=hw, target=target, source=FitSource.FITTED, is_selected=True,
                defaults={"form": FitForm.NNLS, "coefficients": valid_coefs(coefs, overhead),
                          "tin_min": 8, "tin_max": 2048, "tout_min": 8, "tout_max": 2048})
        out[name] = llm
    return hw, out


@pytest.fixture
def reference(db):
    return make_reference()


@pytest.fixture
def deployments_file(tmp_path, reference):
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps([
        {"llm": "Llama-2 (7B)", "hardware": SWING, "min_share": 0.0, "max_share": 1.0, "fit": "selected"},
        {"llm": "Llama-2 (13B)", "hardware": SWING, "min_share": 0.0, "max_share": 1.0, "fit": "selected"},
        {"llm": "Llama-2 (70B)", "hardware": SWING, "min_share": 0.0, "max_share": 1.0, "fit": "selected"},
    ]))
    return path


@pytest.fixture
def media(settings, tmp_path):
    """A private MEDIA_ROOT so a test can assert that nothing was written."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def small_csv(rows=((100, 20), (250, 64), (40, 300), (900, 12), (12, 8), (512, 128))):
    return ("input_tokens,output_tokens\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()


# The shared staff_api/user_api fixtures wrap one APIClient, so a test needing both roles
# gets its own clients here.
@pytest.fixture
def staff_client(staff_user):
    from rest_framework.test import APIClient

    c = APIClient()
    c.force_authenticate(staff_user)
    return c


@pytest.fixture
def user_client(plain_user):
    from rest_framework.test import APIClient

    c = APIClient()
    c.force_authenticate(plain_user)
    return c
