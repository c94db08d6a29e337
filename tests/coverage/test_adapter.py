"""The ORM adapter: a pair's Support from its Measurement rows, and a coverage run's row."""

from __future__ import annotations

import numpy as np
import pytest

from profiling.choices import SweepDesign
from profiling.services import coverage
from tests.coverage.conftest import GRID_SMALL, add_cells


def test_support_is_the_distinct_measured_cells_without_warmups(host, tiny):
    add_cells(tiny, host, [(8, 8), (64, 64)], warmup_cells=[(2048, 2048)], trials=3)
    support = coverage.pair_support(tiny, host)
    assert sorted(map(tuple, support.cells.astype(int).tolist())) == [(8, 8), (64, 64)]
    # The warm-up's cell is not measured support: a query there is extrapolated.
    assert support.extrapolated([2048], [2048]).tolist() == [True]


def test_other_pairs_do_not_count_and_nothing_measured_is_none(host, tiny):
    from profiling.models import LLM

    other = LLM.objects.get(name="tiny-random-llama-2x")
    add_cells(other, host, GRID_SMALL)
    assert coverage.pair_support(tiny, host) is None
    assert coverage.extrapolated_share(None, [8], [8]) == 1.0


def test_support_up_to_a_row_is_the_support_as_it_was_then(host, tiny):
    from profiling.models import Measurement

    add_cells(tiny, host, [(8, 8)])
    last = Measurement.objects.order_by("-pk").values_list("pk", flat=True).first()
    add_cells(tiny, host, [(256, 96)])
    assert len(coverage.pair_support(tiny, host, up_to_pk=last).cells) == 1
    assert len(coverage.pair_support(tiny, host).cells) == 2


def test_context_comes_from_the_architecture_and_is_capped(tiny, settings):
    assert coverage.context_length(tiny) == 4096
    settings.MAX_CONTEXT_TOKENS = 1000
    assert coverage.context_length(tiny) == 1000
    tiny.architecture_config = None
    assert coverage.context_length(tiny) is None


def test_coverage_run_row_holds_the_design_and_the_share_before(measured_pair, workload):
    tiny, host = measured_pair
    run = coverage.start_coverage_run(tiny, host, workload, budget_trials=40)
    run.refresh_from_db()
    meta = run.summary["coverage"]
    tin, tout = workload.load_arrays().tin, workload.load_arrays().tout
    assert run.design == SweepDesign.COVERAGE and run.job_queue() == "hw.test-host"
    assert meta["share_before"] == pytest.approx(coverage.pair_support(tiny, host).extrapolated_share(tin, tout))
    assert meta["share_before"] > 0.5 and meta["projected_share"] <= 0.05
    assert run.grid["cells"] == meta["cells"] and run.cells_total == len(meta["cells"]) <= (40 - 1) // 3
    assert (run.min_trials, run.max_trials) == (3, 3)
    # Nothing measured yet, so no share after; the rebuilt design runs exactly these cells.
    assert coverage.coverage_summary(run)["extrapolated_share_after"] is None
    from profiling.services.profiling_runs import build_design

    assert [[c.input_tokens, c.output_tokens] for c in build_design(run).cells] == meta["cells"]


def test_share_after_counts_the_runs_cells(measured_pair, workload):
    from energyweb.jobs.choices import JobStatus
    from profiling.models import Measurement, ProfilingRun

    tiny, host = measured_pair
    run = coverage.start_coverage_run(tiny, host, workload)
    cells = run.summary["coverage"]["cells"]
    Measurement.objects.bulk_create([
        Measurement(llm=tiny, hardware=host, profiling_run=run, cell_index=i, trial_index=0, input_tokens=a,
                    output_tokens=b, runtime_s=1.0, total_energy_j=1.0, is_estimated=True)
        for i, (a, b) in enumerate(cells)])
    ProfilingRun.objects.filter(pk=run.pk).update(status=JobStatus.SUCCEEDED)
    run.refresh_from_db()
    out = coverage.summary(run)
    assert out["extrapolated_share_after"] <= out["projected_share"] <= 0.05 < 0.5 < out["extrapolated_share_before"]
    # Measurements stored after the run's last trial do not change what the run achieved.
    add_cells(tiny, host, [(250, 90)])
    assert coverage.summary(run)["extrapolated_share_after"] == out["extrapolated_share_after"]


def test_covered_workload_and_llm_without_context_are_field_errors(measured_pair, media):
    from scheduling.services.generator import generate_workload
    from tests.coverage.conftest import make_workload

    tiny, host = measured_pair
    outside = make_workload("reaching-256-96", n=200)
    inside = generate_workload("inside-grid", 200, "uniform:low=8,high=64", "uniform:low=8,high=64")
    with pytest.raises(coverage.CoverageError) as exc:
        coverage.start_coverage_run(tiny, host, inside)
    assert exc.value.field == "cover_workload" and "nothing to measure" in str(exc.value)
    tiny.architecture_config = {}
    with pytest.raises(coverage.CoverageError) as exc:
        coverage.start_coverage_run(tiny, host, outside)
    assert exc.value.field == "llm"
    assert not np.any([r.design == SweepDesign.COVERAGE for r in tiny.profiling_runs.all()])


def test_a_second_run_for_the_same_pair_and_workload_waits_for_the_first(measured_pair, workload):
    from profiling.services.profiling_runs import cancel

    tiny, host = measured_pair
    first = coverage.start_coverage_run(tiny, host, workload)
    with pytest.raises(coverage.CoverageError) as exc:
        coverage.start_coverage_run(tiny, host, workload)
    assert exc.value.field == "cover_workload" and f"#{first.pk}" in str(exc.value)
    cancel(first)
    assert coverage.start_coverage_run(tiny, host, workload).pk != first.pk

