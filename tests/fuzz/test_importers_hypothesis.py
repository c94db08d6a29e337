"""Property tests of the two CSV importers with generated hostile files.

Whatever the file, an import either stores rows that every shared rule accepts, or refuses with
the importer's own error (row/column messages) and stores nothing; never another exception.
Bounded for CI by FUZZ_EXAMPLES (x20 files per importer; default 3 -> 60).
"""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energyweb.validation import measurement_problems
from profiling.models import ImportBatch, Measurement
from profiling.services.measurement_import import ImportFailed, import_measurements
from scheduling.models import Workload
from scheduling.services.workloads import WorkloadFileError, import_workload, load_workload_arrays
from tests.scheduling.conftest import make_reference

EXAMPLES = 20 * int(os.environ.get("FUZZ_EXAMPLES", "3"))

HOSTILE = st.one_of(
    st.integers(min_value=-5, max_value=5000).map(str),
    st.sampled_from(["", " ", "0", "-1", "1.5", "32.0", "1e300", "-1e300", "1e400", "nan", "NaN", "inf", "-inf",
                     "True", "false", str(2**31), str(2**63), str(2**70), "0x10", "1_000", "١٢٣", "=cmd|' /C calc'!A0",
                     '"', '""', "a,b", "a;b", "\t", "\r", "\n", "\x00", "\ufeff", "Llama-2 (7B)", "Swing AMD+A100",
                     "start-inference", "gpu", "rapl", "imported", "2024-01-01T00:00:00Z", "1700000000"]),
    st.text(max_size=30),
    st.integers(min_value=130_000, max_value=140_000).map(lambda n: "9" * n),  # around the csv field limit
)
MEASUREMENT_HEADERS = st.lists(
    st.sampled_from(["llm", "hardware", "input_tokens", "output_tokens", "batch_size", "runtime_s", "gpu_energy_j",
                     "cpu_energy_j", "dram_energy_j", "gpu_energy_source", "iteration", "is_warmup", "measured_at",
                     "Model", "System", "Phase", "Runtime (s)", "GPU Energy (J)", "Number of Input Tokens",
                     "Number of Output Tokens", "extra"]), min_size=1, max_size=10)
WORKLOAD_HEADERS = st.lists(
    st.sampled_from(["input_tokens", "output_tokens", "ContextTokens", "GeneratedTokens", "id", "timestamp",
                     "prompt", "extra"]), min_size=1, max_size=5)


@st.composite
def csv_files(draw, headers):
    header = draw(headers)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = draw(st.lists(st.lists(HOSTILE, min_size=max(0, len(header) - 1), max_size=len(header) + 1),
                         max_size=6))
    quote = draw(st.booleans())

    def cell(c):
        return '"' + c.replace('"', '""') + '"' if quote and c else c

    text = "\n".join(delimiter.join(cell(c) for c in r) for r in [header, *rows]) + "\n"
    data = text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text.encode("latin-1", "replace")
    return gzip.compress(data) if draw(st.integers(0, 4)) == 0 else data


@st.composite
def near_valid(draw, header, row):
    """A valid file with at most one cell replaced by a hostile one, so that the success path
    (rows stored and checked against the rules) is exercised too."""
    rows = [list(row(draw)) for _ in range(draw(st.integers(1, 5)))]
    if draw(st.booleans()):
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(header) - 1))
        rows[r][c] = draw(HOSTILE)
    return ("\n".join(",".join(x) for x in [header, *rows]) + "\n").encode("utf-8", "surrogatepass")


def _measurement_row(draw):
    return ["Llama-2 (7B)", "Swing AMD+A100", str(draw(st.integers(1, 4096))), str(draw(st.integers(1, 4096))),
            repr(draw(st.floats(0.001, 1e4))), repr(draw(st.floats(0, 1e6))), str(draw(st.integers(0, 9)))]


def _workload_row(draw):
    return [str(draw(st.integers(1, 60000))), str(draw(st.integers(1, 60000))), draw(st.text("abc-_=+@", max_size=8))]


MEASUREMENT_FILES = st.one_of(csv_files(MEASUREMENT_HEADERS), near_valid(
    ["llm", "hardware", "input_tokens", "output_tokens", "runtime_s", "gpu_energy_j", "iteration"], _measurement_row))
WORKLOAD_FILES = st.one_of(csv_files(WORKLOAD_HEADERS), near_valid(["input_tokens", "output_tokens", "id"],
                                                                  _workload_row))

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def catalogue(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_reference()


@pytest.mark.slow
def test_measurement_importer_never_fails_otherwise(catalogue):
    outcomes = set()

    @FUZZ
    @given(data=MEASUREMENT_FILES, create_missing=st.booleans(), strict=st.booleans())
    def run(data, create_missing, strict):
        with transaction.atomic():
            try:
                summary = import_measurements(data, create_missing=create_missing, enqueue_refits=False,
                                              negative_energy="error" if strict else "drop")
            except ImportFailed as exc:
                outcomes.add("refused")
                assert exc.errors and Measurement.objects.count() == 0 and ImportBatch.objects.count() == 0
            else:
                outcomes.add("stored")
                stored = list(Measurement.objects.values(
                    "input_tokens", "output_tokens", "batch_size", "iteration", "runtime_s", "gpu_energy_j",
                    "cpu_energy_j", "dram_energy_j"))
                assert len(stored) == summary.rows
                assert all(measurement_problems(m) == {} for m in stored)
            transaction.set_rollback(True)

    run()
    assert outcomes == {"refused", "stored"}  # both paths were exercised


@pytest.mark.slow
def test_workload_importer_never_fails_otherwise(catalogue, settings):
    outcomes = set()

    @FUZZ
    @given(data=WORKLOAD_FILES)
    def run(data):
        with transaction.atomic():
            try:
                wl = import_workload(data, "fuzzed")
            except WorkloadFileError as exc:
                outcomes.add("refused")
                assert str(exc) and Workload.objects.count() == 0
            else:
                outcomes.add("stored")
                arrays = load_workload_arrays(wl)
                assert arrays.tin.shape[0] == wl.n_queries > 0
                assert (arrays.tin >= 1).all() and (arrays.tout >= 1).all()
                assert (arrays.tin.astype(np.int64) + arrays.tout <= settings.MAX_CONTEXT_TOKENS).all()
            transaction.set_rollback(True)

    run()
    assert outcomes == {"refused", "stored"}
