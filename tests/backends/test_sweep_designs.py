"""Sweep designs, seeded order, warm-ups, the paper's stopping rule and exact resume."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from profiling.sweeps import (
    PAPER_COUNTS,
    StoppingRule,
    ci_half_width,
    grid,
    grid_small,
    make_design,
    paper_grid,
    paper_input_sweep,
    paper_output_sweep,
    parse_counts,
    t975,
)


def test_counts_from_powers_of_two_and_lists():
    assert parse_counts("pow2:8..2048") == list(PAPER_COUNTS) == [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    assert parse_counts("8, 24,100") == [8, 24, 100]
    assert parse_counts([3, 5]) == [3, 5]
    for bad in ("pow2:8..1000", "pow2:0..8", "", "8,8", "-1"):
        with pytest.raises(ValueError):
            parse_counts(bad)


def test_paper_designs():
    full = paper_grid()
    assert len(full.cells) == 81 and {c.batch_size for c in full.cells} == {32}
    assert {(c.input_tokens, c.output_tokens) for c in full.cells} == {(i, o) for i in PAPER_COUNTS for o in PAPER_COUNTS}
    assert full.stopping == StoppingRule(tolerance_s=0.5, max_trials=25)
    inputs = paper_input_sweep()
    assert [c.input_tokens for c in inputs.cells] == list(PAPER_COUNTS) and {c.output_tokens for c in inputs.cells} == {32}
    outputs = paper_output_sweep()
    assert [c.output_tokens for c in outputs.cells][-1] == 4096 and {c.input_tokens for c in outputs.cells} == {32}
    assert make_design("grid", inputs="pow2:8..64", outputs="16").name == "grid"
    with pytest.raises(ValueError, match="unknown design"):
        make_design("spiral")


def _run(design, runtime_of, stop_after=None, done=None):
    """Drive next_trial like a worker would; runtimes come from runtime_of(trial)."""
    done = dict(done or {})
    sequence = []
    while (trial := design.next_trial(done)) is not None:
        if stop_after is not None and len(sequence) == stop_after:
            break
        sequence.append(trial)
        done[trial.key] = runtime_of(trial)
    return sequence, done


def test_grid_small_runs_16_cells_3_trials_each_after_a_marked_warmup():
    design = grid_small(seed=7)
    assert len(design.cells) == 16 and max(c.input_tokens for c in design.cells) <= 64
    sequence, done = _run(design, lambda t: 0.1)
    warm = [t for t in sequence if t.is_warmup]
    assert len(warm) == 1 and sequence[0] is warm[0] and warm[0].trial_index == 0
    measured = [t for t in sequence if not t.is_warmup]
    assert len(measured) == 48
    assert len({t.key for t in sequence}) == len(sequence) == 49  # natural keys are unique
    assert design.progress(done) == {"trials_done": 49, "trials_planned": 49, "cells_done": 16,
                                     "cells_total": 16, "trials_max": 49}


def test_order_is_seeded_random_and_interleaves_rounds():
    first = [t.key for t in _run(grid_small(seed=1), lambda t: 0.1)[0]]
    again = [t.key for t in _run(grid_small(seed=1), lambda t: 0.1)[0]]
    other = [t.key for t in _run(grid_small(seed=2), lambda t: 0.1)[0]]
    assert first == again and first != other
    cells = [k[0] for k in first[1:17]]
    assert sorted(cells) == list(range(16)) and cells != sorted(cells)  # round 0: each cell once, shuffled


def test_stopping_rule_tolerance_and_cap():
    rule = StoppingRule(tolerance_s=0.5, max_trials=25)
    assert not rule.done([10.0, 10.1])  # fewer than min_trials
    assert rule.done([10.0, 10.1, 10.05])
    assert not rule.done([10.0, 12.0, 8.0])  # half-width ~ 4.97 s
    assert rule.done([10.0, 12.0, 8.0] * 9)  # 25 trials at most
    noisy = random.Random(0)
    design = grid([8], [8, 16], stopping=rule, warmup=0)
    sequence, done = _run(design, lambda t: 10 + noisy.gauss(0, 3 if t.cell.output_tokens == 16 else 0.1))
    per_cell = [sum(1 for t in sequence if t.cell.index == i) for i in (0, 1)]
    assert per_cell[0] == 3 and 3 < per_cell[1] <= 25
    runtimes = [done[(1, i)] for i in range(per_cell[1])]
    assert ci_half_width(runtimes) < 0.5 or per_cell[1] == 25


def test_t_quantiles_match_scipy():
    for df in (1, 2, 5, 10, 24, 30, 31, 60, 200):
        assert t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=0.003)
    assert ci_half_width([1.0]) == math.inf


def test_resume_after_a_kill_continues_the_same_sequence():
    noisy = random.Random(3)
    values = {}

    def runtime(trial):  # the same trial always "measures" the same runtime
        return values.setdefault(trial.key, 5 + noisy.gauss(0, 1))

    design = grid("8,16", "8,16", stopping=StoppingRule(tolerance_s=0.8, max_trials=10), warmup=2)
    whole, _ = _run(design, runtime)
    part, done = _run(design, runtime, stop_after=11)
    rest, _ = _run(design, runtime, done=done)
    assert [t.key for t in part + rest] == [t.key for t in whole]
    assert [t.is_warmup for t in whole[:3]] == [True, True, False]


def test_per_cell_warmups_are_marked_and_keyed_first():
    design = grid("8,16", "8", warmup=1, warmup_per_cell=True, stopping=StoppingRule.fixed(2))
    sequence, _ = _run(design, lambda t: 1.0)
    assert sorted(t.key for t in sequence if t.is_warmup) == [(0, 0), (1, 0)]
    assert sorted(t.key for t in sequence if not t.is_warmup) == [(0, 1), (0, 2), (1, 1), (1, 2)]


def test_the_warmup_runs_on_the_longest_cell_whatever_the_seeded_order():
    """On an H200 a warm-up on a short cell left the first pass up to 3.4x slower than the second (BENCHMARKS,
    GPU check): the run warms up on the cell with the most input + output tokens, then the largest batch."""
    for seed in range(5):
        design = grid("8,2048,64", "256,8", (1, 4), seed=seed, stopping=StoppingRule.fixed(1))
        first = design.next_trial({})
        assert first.is_warmup
        assert (first.cell.input_tokens, first.cell.output_tokens, first.cell.batch_size) == (2048, 256, 4)
        sequence, _ = _run(design, lambda t: 0.1)
        assert [t.key for t in sequence if t.is_warmup] == [(first.cell.index, 0)]
        assert sum(not t.is_warmup for t in sequence) == len(design.cells)  # one measured trial per cell still


def test_warmup_until_two_successive_warmups_agree_then_measure_with_stable_keys():
    """With a tolerance the run keeps warming up while the runtimes still fall (an H200 ran 3x slower per token
    for its first minute), then measures; the count is a function of the stored runtimes, so a resumed run
    rebuilds the same keys."""
    slow_start = iter([9.0, 6.0, 3.1, 3.0])  # settles at the 4th warm-up: 3.1 and 3.0 agree within 10%
    runtime = {}

    def runtime_of(trial):
        if trial.is_warmup:
            return runtime.setdefault(trial.key, next(slow_start))
        return 1.0

    def design():
        return grid("8,64", "8,32", seed=3, warmup=1, warmup_tolerance=0.1, stopping=StoppingRule.fixed(2))

    whole, done = _run(design(), runtime_of)
    warm = [t for t in whole if t.is_warmup]
    longest = design().warmup_cell()
    assert [t.key for t in warm] == [(longest.index, i) for i in range(4)]
    assert whole[:4] == warm  # every warm-up before the first measured trial
    measured = [t for t in whole if not t.is_warmup]
    assert len(measured) == 8 and all(t.trial_index >= 4 for t in measured if t.cell.index == longest.index)
    fresh = design()
    assert fresh.warmups(longest, done) == 4 and fresh.next_trial(done) is None  # resumed: nothing left
    assert fresh.progress(done)["trials_done"] == 12 and fresh.progress(done)["trials_planned"] == 12
    # A cap: runtimes that never settle stop at warmup_max.
    capped = grid("8", "8", warmup=1, warmup_tolerance=0.01, warmup_max=3, stopping=StoppingRule.fixed(1))
    seq, _ = _run(capped, lambda t: 10.0 / (t.trial_index + 1))
    assert sum(t.is_warmup for t in seq) == 3 and capped.progress(_)["trials_max"] == 4
