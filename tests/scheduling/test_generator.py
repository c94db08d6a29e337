"""Synthetic workloads: seeded, named distributions, labelled synthetic."""

import numpy as np
import pytest
from django.core.management import call_command

from scheduling.models import Workload
from scheduling.services.generator import (
    GeneratorError,
    generate_arrays,
    generate_workload,
    parse_distribution,
)
from scheduling.services.workloads import import_workload
from tests.scheduling.conftest import small_csv

pytestmark = pytest.mark.django_db


def test_same_seed_same_workload_other_seed_differs():
    a = generate_arrays(5000, "lognormal:mu=6,sigma=1", "zipf:a=1.7", seed=7)
    b = generate_arrays(5000, "lognormal:mu=6,sigma=1", "zipf:a=1.7", seed=7)
    c = generate_arrays(5000, "lognormal:mu=6,sigma=1", "zipf:a=1.7", seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("spec, check", [
    ("uniform:low=8,high=16", lambda x: x.min() >= 8 and x.max() <= 16),
    ("constant:value=99", lambda x: set(x.tolist()) == {99}),
    ("poisson:lam=50", lambda x: 40 < x.mean() < 60),
    ("lognormal:mu=5,sigma=0.5", lambda x: abs(np.log(x).mean() - 5) < 0.05),
])
def test_distributions_follow_their_parameters(spec, check):
    tin, tout, meta = generate_arrays(20000, spec, "constant:value=1", seed=1)
    assert check(tin), spec
    assert meta["tin"]["name"] == spec.split(":")[0]


def test_every_query_fits_the_context_and_is_positive():
    tin, tout, _ = generate_arrays(10000, "zipf:a=1.1", "zipf:a=1.1", seed=0, max_context=4096)
    assert tin.min() >= 1 and tout.min() >= 1
    assert (tin.astype(np.int64) + tout).max() <= 4096


@pytest.mark.parametrize("spec, message", [
    ("gamma:k=2", "Unknown distribution"),
    ("lognormal:mu=x", "must be a number"),
    ("lognormal:sigma=-1", "sigma must be above 0"),
    ("uniform:low=10,high=5", "low <= high"),
    ("zipf:a=1", "a must be above 1"),
    ("uniform:mean=3", "takes parameters"),
])
def test_bad_distribution_is_explained(spec, message):
    with pytest.raises(GeneratorError, match=message):
        parse_distribution(spec)


def test_generated_workload_is_labelled_synthetic_and_reproducible(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    wl = generate_workload("synth", 1000, seed=3)
    assert wl.is_synthetic and wl.generator["seed"] == 3
    again = generate_workload("synth again", 1000, seed=3)
    assert again.content_sha256 == wl.content_sha256


def test_resample_keeps_pairs_of_a_stored_workload(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    import_workload(small_csv(), "source")
    wl = generate_workload("resampled", 500, "resample:source", "resample:source", seed=1)
    arrays = wl.load_arrays()
    pairs = set(zip(arrays.tin.tolist(), arrays.tout.tolist(), strict=True))
    assert pairs <= {(100, 20), (250, 64), (40, 300), (900, 12), (12, 8), (512, 128)}
    assert len(pairs) > 3


def test_generate_workload_command(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("generate_workload", "--name", "cmd", "-n", "300", "--tin", "uniform:low=1,high=9", "--seed", "2")
    wl = Workload.objects.get(name="cmd")
    assert wl.is_synthetic and wl.n_queries == 300 and wl.stats["tin"]["max"] <= 9
