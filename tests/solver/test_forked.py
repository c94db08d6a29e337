"""scheduling.planner.forked: a list of pure computations split over forked processes.

Real forks (no mocks): the answers are those of a plain loop, in order; a child that raises,
dies or is killed costs only time (the parent redoes its part); the parent's own exception
kills and reaps its children; progress counts every item once.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from scheduling.planner import forked


def _square_all(items, tick):
    out = []
    for x in items:
        out.append({"x": x, "sq": np.arange(x + 1) ** 2, "pid": os.getpid()})
        tick()
    return out


def test_chunks_cover_everything_in_order():
    for n in range(0, 12):
        for parts in range(1, 5):
            got = [i for r in forked.chunks(n, parts) for i in r]
            assert got == list(range(n))
            sizes = [len(r) for r in forked.chunks(n, parts)]
            assert max(sizes) - min(sizes) <= 1


def test_two_processes_give_the_plain_loops_answers_in_order():
    items = list(range(20))
    seen = []
    got, stats = forked.map_chunks(_square_all, items, processes=2, progress=seen.append)
    assert [g["x"] for g in got] == items
    for g in got:
        np.testing.assert_array_equal(g["sq"], np.arange(g["x"] + 1) ** 2)
    assert stats == {"processes": 2, "fallbacks": 0}
    # The second half really ran elsewhere.
    assert {g["pid"] for g in got[:10]} == {os.getpid()}
    assert os.getpid() not in {g["pid"] for g in got[10:]}
    assert seen[-1] == 20 and seen == sorted(seen)


def test_one_process_does_not_fork(monkeypatch):
    monkeypatch.setenv("ENERGYWEB_PLAN_PROCESSES", "1")
    got, stats = forked.map_chunks(_square_all, list(range(5)))
    assert {g["pid"] for g in got} == {os.getpid()}
    assert stats["processes"] == 1


def _raises_in_child(parent):
    def fn(items, tick):
        if os.getpid() != parent and items[0] >= 3:
            raise RuntimeError("only in the child")
        return _square_all(items, tick)
    return fn


def test_a_child_that_raises_is_redone_by_the_parent():
    seen = []
    got, stats = forked.map_chunks(_raises_in_child(os.getpid()), list(range(6)), processes=2,
                                   progress=seen.append)
    assert [g["x"] for g in got] == list(range(6))
    assert {g["pid"] for g in got} == {os.getpid()}
    assert stats["fallbacks"] == 1
    assert seen[-1] == 6


def _killed_in_child(parent):
    def fn(items, tick):
        if os.getpid() != parent:
            tick()  # a tick that must not be counted once the part is redone
            os.kill(os.getpid(), signal.SIGKILL)
        return _square_all(items, tick)
    return fn


def test_a_child_killed_with_sigkill_is_redone_and_its_ticks_forgotten():
    seen = []
    got, stats = forked.map_chunks(_killed_in_child(os.getpid()), list(range(8)), processes=2,
                                   progress=seen.append)
    assert [g["x"] for g in got] == list(range(8))
    assert stats["fallbacks"] == 1
    assert seen[-1] == 8


def _slow_child_parent_fails(parent):
    def fn(items, tick):
        if os.getpid() != parent:
            import time
            time.sleep(60)
            return _square_all(items, tick)
        raise KeyboardInterrupt  # the parent's part stops (a cancelled job, Ctrl-C)
    return fn


def test_the_parents_exception_kills_and_reaps_the_children():
    before = _children()
    with pytest.raises(KeyboardInterrupt):
        forked.map_chunks(_slow_child_parent_fails(os.getpid()), list(range(4)), processes=2)
    assert _children() == before


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                out.add(int(entry))
    return out


def test_default_processes_reads_the_setting(monkeypatch):
    monkeypatch.setenv("ENERGYWEB_PLAN_PROCESSES", "3")
    assert forked.default_processes() == 3
    monkeypatch.setenv("ENERGYWEB_PLAN_PROCESSES", "nonsense")
    assert forked.default_processes() == 1
    monkeypatch.delenv("ENERGYWEB_PLAN_PROCESSES")
    assert 1 <= forked.default_processes() <= forked.MAX_PROCESSES
