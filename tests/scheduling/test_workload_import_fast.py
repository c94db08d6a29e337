"""The vectorised import path accepts and refuses exactly what the string path does.

``parse_workload`` tries a fast path (integer columns parsed in C, whole-column
checks) and falls back to the string path, which words every error. Random
files built from awkward fields are parsed both ways (the fast path switched
off for the reference) and must give identical columns or identical errors.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from scheduling.services import workloads
from scheduling.services.workloads import WorkloadFileError, parse_workload

TOKENS = ["1", "7", "42", "2048", " 9", "12 ", "+5", "05", "3.0", "2.5", "1e3", "", "x", "-4", "0", "-0",
          '"17"', "131072", "99999999999999999999", "nan", "inf"]
STAMPS = ["2024-01-01 10:00:00", "2024-01-01T10:00:01Z", "2023-11-16 18:15:46.6805900", "", "yesterday",
          "2024-02-30 10:00:00", "01/02/2024 10:00"]


def parse_both(data: bytes, monkeypatch):
    def outcome():
        try:
            p = parse_workload(data, max_context=131072, max_bytes=1 << 30)
        except WorkloadFileError as exc:
            return ("error", str(exc), exc.errors, exc.total)
        return ("ok", p.tin.dtype, p.tin.tolist(), p.tout.tolist(), None if p.ids is None else p.ids.tolist(),
                None if p.timestamps is None else p.timestamps.tolist(), p.columns)

    fast = outcome()
    with monkeypatch.context() as m:
        m.setattr(workloads, "_parse_fast", lambda *a: None)
        slow = outcome()
    return fast, slow


@pytest.mark.parametrize("seed", range(60))
def test_random_awkward_files_agree(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    bad_rate = float(rng.choice([0.0, 0.0, 0.02, 0.2]))
    with_ts, with_id = bool(rng.random() < 0.4), bool(rng.random() < 0.4)
    header = (["id"] if with_id else []) + (["timestamp"] if with_ts else []) + ["input_tokens", "output_tokens"]
    sep = str(rng.choice([",", ";", "\t"]))
    lines = [sep.join(header)]
    for i in range(n):
        def tok():
            return str(rng.choice(TOKENS)) if rng.random() < bad_rate else str(rng.integers(1, 3000))
        row = ([f"q{i:03d}"] if with_id else [])
        row += ([str(rng.choice(STAMPS[:3])) if rng.random() > bad_rate else str(rng.choice(STAMPS))]
                if with_ts else [])
        row += [tok(), tok()]
        if rng.random() < bad_rate / 4:
            row.append("extra")
        lines.append(sep.join(row))
    eol = "\r\n" if rng.random() < 0.3 else "\n"
    data = (eol.join(lines) + eol).encode()
    if rng.random() < 0.2:
        data = b"\xef\xbb\xbf" + data
    if rng.random() < 0.2:
        data = gzip.compress(data)
    fast, slow = parse_both(data, monkeypatch)
    assert fast == slow


def test_the_fast_path_takes_plain_files(monkeypatch):
    data = b"ContextTokens,GeneratedTokens\n" + b"".join(b"%d,%d\n" % (i + 1, 2 * i + 1) for i in range(1000))
    called = []
    original = workloads._validate
    monkeypatch.setattr(workloads, "_validate", lambda *a: called.append(1) or original(*a))
    parsed = parse_workload(data)
    assert not called  # the string path never ran
    # Held as uint16 since the streaming import (counts below 65,536; see workloads._Growing).
    assert parsed.tin.dtype == np.uint16 and parsed.tin[-1] == 1000 and parsed.tout[-1] == 1999


@pytest.mark.parametrize("data", [
    b"input_tokens,output_tokens\n",
    b"",
    b"\n\n",
    b"input_tokens,output_tokens\n1,2\n\n3,4\n",
    b"input_tokens,input_tokens,output_tokens\n1,2,3\n",
    b"\xef\xbb\xbfinput_tokens,output_tokens\n1,2\n",
    b"in,out\n1,2\n",
    "input_tokens,output_tokens,prompt\n1,2,caf\u00e9\n".encode(),
    b"input_tokens,output_tokens\n1,2\n1\n",
    b"input_tokens,output_tokens\n1,2.5\n",
    b"input_tokens,output_tokens\n1,3.0\n",
    b"input_tokens,output_tokens\n1,nan\n",
    b"input_tokens,output_tokens\n1,inf\n",
    b"input_tokens,output_tokens\n 1, 2\n",
    b"input_tokens,output_tokens\n1,-0\n",
    b"input_tokens,output_tokens\n131000,100\n",
    b"input_tokens,output_tokens\n9223372036854775807,1\n",
])
def test_edge_files_agree(data, monkeypatch):
    fast, slow = parse_both(data, monkeypatch)
    assert fast == slow


def old_summarise(tin, tout):
    """The per-query implementation before issue 11, kept as the oracle."""
    from scheduling.services.workloads import histogram, log_bins

    stats = {"n": int(tin.shape[0])}
    for key, arr in (("tin", tin), ("tout", tout)):
        a = arr.astype(np.float64)
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        stats[key] = {"min": int(a.min()), "mean": float(a.mean()), "median": float(p50),
                      "p90": float(p90), "p99": float(p99), "max": int(a.max()), "sum": int(a.sum())}
    stats["total_tokens"] = stats["tin"]["sum"] + stats["tout"]["sum"]
    hist = {}
    for key, arr in (("tin", tin), ("tout", tout)):
        edges = log_bins(int(arr.max()), min_value=int(arr.min()))
        hist[key] = {"edges": edges.tolist(), "counts": histogram(arr, edges)}
    return stats, hist


@pytest.mark.parametrize("seed", range(40))
def test_counted_summary_equals_the_sorting_one_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 3, 10, 101, 1000, 20000]))
    top = int(rng.choice([2, 50, 5000, 131072]))
    tin = rng.integers(1, top + 1, n).astype(np.int32)
    tout = (rng.lognormal(4, 1.2, n).astype(np.int64) % top + 1).astype(np.int32)
    new = workloads.summarise(tin, tout)
    assert new == old_summarise(tin, tout)
    assert repr(new) == repr(old_summarise(tin, tout))  # floats equal to the last bit


def test_spread_out_tokens_use_the_sorting_summary():
    tin = np.array([1, 10**9, 10**9, 5], dtype=np.int64)
    tout = np.array([3, 3, 4, 4], dtype=np.int64)
    assert workloads.summarise(tin, tout) == old_summarise(tin, tout)
