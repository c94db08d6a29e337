"""The assignment download streams chunk by chunk and writes what the whole-array version wrote."""

import io

import numpy as np
import pytest

from scheduling.models import Deployment
from scheduling.planner.npzstream import NpzArray
from scheduling.services import jobs
from scheduling.services.workloads import import_workload, load_workload_arrays
from scheduling.tasks import run_schedule_job

pytestmark = pytest.mark.django_db


def old_assignment_csv_lines(job, plan_index=None, chunk=20000):
    """The implementation before issue 11 (whole arrays, a Python f-string per row), as the oracle."""
    assignment = jobs.load_assignment(job, plan_index)
    arrays = load_workload_arrays(job.workload, with_meta=True)
    keys = np.array(job.results.get("deployments") or [s["key"] for s in job.deployment_specs], dtype=object)
    ids = arrays.ids if arrays.ids is not None else np.arange(1, arrays.tin.shape[0] + 1).astype(str)
    yield "query,input_tokens,output_tokens,deployment\n"
    for start in range(0, assignment.shape[0], chunk):
        sl = slice(start, start + chunk)
        names = keys[assignment[sl]]
        yield "".join(
            f"{jobs._csv(q)},{a},{b},{jobs._csv(d)}\n"
            for q, a, b, d in zip(ids[sl], arrays.tin[sl], arrays.tout[sl], names, strict=True)
        )


@pytest.fixture
def job(tmp_path, reference, settings, request):
    settings.MEDIA_ROOT = tmp_path / "media"
    rng = np.random.default_rng(4)
    n = 1037
    tin, tout = rng.integers(8, 4000, n), rng.integers(8, 900, n)
    with_ids = getattr(request, "param", False)
    head = "id,input_tokens,output_tokens\n" if with_ids else "input_tokens,output_tokens\n"
    rows = "".join((f'"q,{i}",' if with_ids else "") + f"{a},{b}\n" for i, (a, b) in enumerate(zip(tin, tout, strict=True)))
    wl = import_workload((head + rows).encode(), "stream wl")
    hw, llms = reference
    deps = [Deployment.objects.create(llm=llm, hardware=hw) for llm in llms.values()]
    job = jobs.create_job(wl, deps, "paper-energy-accuracy", {"zetas": [0.0, 0.5, 1.0], "zeta": 0.5})
    assert run_schedule_job(job.pk) == "done"
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("job", [False, True], indirect=True, ids=["numbered", "with ids"])
@pytest.mark.parametrize("plan_index", [None, 0, 2])
@pytest.mark.parametrize("chunk", [1, 100, 1037, 5000])
def test_streamed_csv_equals_the_whole_array_version(job, plan_index, chunk):
    new = "".join(jobs.assignment_csv_lines(job, plan_index, chunk=chunk))
    assert new == "".join(old_assignment_csv_lines(job, plan_index))
    assert new.count("\n") == 1038


def test_plan_index_out_of_range_is_raised_before_any_line(job):
    with pytest.raises(IndexError, match="No plan 3; this job has 3"):
        next(jobs.assignment_csv_lines(job, 3))


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_rows_stream_from_plain_and_compressed_files(compressed):
    a = np.arange(3 * 1000, dtype=np.int16).reshape(3, 1000)
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, assignment=a, tin=a[1].astype(np.int32))
    buf.seek(0)
    with NpzArray(buf, "assignment") as arr:
        assert arr.shape == (3, 1000)
        assert np.array_equal(np.concatenate(list(arr.chunks(300, row=2))), a[2])
    buf.seek(0)
    with NpzArray(buf, "tin") as arr:
        assert np.array_equal(np.concatenate(list(arr.chunks(7))), a[1])
    buf.seek(0)
    with pytest.raises(KeyError):
        NpzArray(buf, "ids")
