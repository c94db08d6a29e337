"""The vectorised measurement import accepts and refuses exactly what the row path does.

``_parse`` tries ``parse_fast`` (numeric columns parsed in C, whole-column bounds) and falls back
to the row path, which words every error. Random files built from awkward cells are parsed
both ways (the fast path switched off for the reference): identical rows, counts and warnings,
or identical errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from profiling.services import measurement_import as mi
from profiling.services.measurement_fast import frame_rows

INTS = ["1", "7", "42", "2048", " 9", "12 ", "+5", "05", "3.0", "2.5", "1e3", "", "x", "-4", "0", "-0",
        '"17"', "131072", "99999999999999999999", "nan", "inf", "2147483648"]
FLOATS = ["1.5", "0.25", "1e-3", "3", " 2.5", "", "nan", "inf", "-1", "0", "1e400", "1e10", "abc", '"4.5"',
          "1,5", "0x10", "TRUE", "False"]
SOURCES = ["", "imported", "NVML", "estimated-tdp", "bogus", " rapl ", "Estimate-TDP", "nvml-counter"]
WARM = ["", "true", "False", "yes", "0", "maybe"]
NAMES = ["Tiny LM (1B)", "tiny-lm-1b", " Tiny LM (1B) ", "Unknown LM", ""]
HW = ["Test Box", "test-box", "TEST BOX", "Nope"]


def parse_both(data: bytes, monkeypatch, **kwargs):
    def outcome():
        try:
            p = mi._parse(data, llm=None, hardware=None, create_missing=False,
                          negative_energy=kwargs.get("negative_energy", "drop"))
        except mi.ImportFailed as exc:
            return ("error", exc.as_dict())
        rows = frame_rows(p["frame"]) if "frame" in p else p["rows"]
        return ("ok", rows, p["skipped"], [w.as_dict() for w in p["warnings"]])

    fast = outcome()
    with monkeypatch.context() as m:
        m.setattr(mi, "parse_fast", lambda *a, **k: None)
        slow = outcome()
    return fast, slow


def random_file(rng) -> bytes:
    n = int(rng.integers(1, 25))
    bad = float(rng.choice([0.0, 0.0, 0.0, 0.03, 0.2]))
    extra = [c for c in ("batch_size", "iteration", "dram_energy_j", "gpu_energy_source", "is_warmup",
                         "phase", "measured_at") if rng.random() < 0.4]
    header = ["llm", "hardware", "input_tokens", "output_tokens", "runtime_s", "gpu_energy_j", "cpu_energy_j",
              *extra]
    sep = str(rng.choice([",", ";", "\t"]))

    def pick(pool, good):
        return str(rng.choice(pool)) if rng.random() < bad else good

    lines = [sep.join("Phase" if h == "phase" else h for h in header)]
    for _ in range(n):
        cells = {
            "llm": pick(NAMES, "Tiny LM (1B)"), "hardware": pick(HW, "Test Box"),
            "input_tokens": pick(INTS, str(rng.integers(1, 4000))),
            "output_tokens": pick(INTS, str(rng.integers(1, 4000))),
            "runtime_s": pick(FLOATS, repr(float(rng.uniform(0.01, 90)))),
            "gpu_energy_j": pick(FLOATS, repr(float(rng.uniform(0, 9000)))),
            "cpu_energy_j": pick(FLOATS, "" if rng.random() < 0.2 else f"{rng.uniform(0, 900):.3f}"),
            "dram_energy_j": pick(FLOATS, "" if rng.random() < 0.5 else f"{rng.uniform(0, 90):.2f}"),
            "batch_size": pick(INTS, str(rng.integers(1, 64))),
            "iteration": pick(INTS, str(rng.integers(0, 5))),
            "gpu_energy_source": pick(SOURCES, str(rng.choice(["", "imported", "nvml-counter", "estimate-tdp"]))),
            "is_warmup": pick(WARM, str(rng.choice(["", "false", "true"]))),
            "phase": pick(["tokenizer", "load", "", " start-inference-2"], "start-inference"),
            "measured_at": pick(["2024-01-01T10:00:00Z", "1700000000", "soon"], ""),
        }
        row = [cells[h] for h in header]
        if rng.random() < bad / 3:
            row.append("extra")
        if rng.random() < bad / 3:
            row = row[:-1]
        lines.append(sep.join(row))
    eol = "\r\n" if rng.random() < 0.3 else "\n"
    if rng.random() < 0.2:
        lines.insert(int(rng.integers(1, len(lines) + 1)), "")
    return (eol.join(lines) + eol).encode()


@pytest.mark.parametrize("seed", range(120))
def test_random_awkward_files_agree(seed, monkeypatch, pair):
    data = random_file(np.random.default_rng(seed))
    fast, slow = parse_both(data, monkeypatch)
    assert fast == slow, data.decode()[:600]


def test_fast_path_is_taken_for_a_plain_valid_file(monkeypatch, pair):
    data = b"llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,cpu_energy_j,iteration\n" \
        + b"".join(f"Tiny LM (1B),Test Box,{i + 1},8,1.5,100.25,,{i % 3}\n".encode() for i in range(50))
    parsed = mi._parse(data, llm=None, hardware=None, create_missing=False, negative_energy="drop")
    assert "frame" in parsed and parsed["count"] == 50
    fast, slow = parse_both(data, monkeypatch)
    assert fast == slow and fast[0] == "ok" and fast[1][0][7] is None  # empty CPU cell: not measured


def test_negative_energy_and_errors_take_the_row_path(monkeypatch, pair):
    head = b"llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j,cpu_energy_j\n"
    data = head + b"Tiny LM (1B),Test Box,8,8,1.5,100,-2\n"
    fast, slow = parse_both(data, monkeypatch)
    assert fast == slow and fast[0] == "ok" and fast[3][0]["column"] == "cpu_energy_j"
    data = head + b"Tiny LM (1B),Test Box,8,999999,1.5,100,2\n"
    fast, slow = parse_both(data, monkeypatch)
    assert fast == slow and fast[0] == "error" and fast[1]["errors"][0]["column"] == "output_tokens"


def test_imported_rows_are_the_same_either_way(monkeypatch, pair):
    """Through the database too (COPY as CSV on PostgreSQL, bulk_create on SQLite)."""
    from profiling.models import Measurement

    lines = ["llm,hardware,input_tokens,output_tokens,batch_size,runtime_s,gpu_energy_j,cpu_energy_j,"
             "dram_energy_j,gpu_energy_source,iteration,is_warmup"]
    rng = np.random.default_rng(7)
    for i in range(40):
        lines.append(f"Tiny LM (1B),Test Box,{i + 1},{i + 2},4,{rng.uniform(0.1, 9)!r},{rng.uniform(0, 1e4)!r},"
                     f"{'' if i % 3 else '0.1'},{'' if i % 2 else '2.5'},{'estimate-tdp' if i % 5 == 0 else ''},"
                     f"{i % 4},{'true' if i == 7 else ''}")
    data = ("\n".join(lines) + "\n").encode()
    fields = ["input_tokens", "output_tokens", "batch_size", "runtime_s", "gpu_energy_j", "cpu_energy_j",
              "dram_energy_j", "total_energy_j", "gpu_energy_source", "cpu_energy_source", "dram_energy_source",
              "is_estimated", "is_warmup", "iteration", "measured_at", "llm_id", "hardware_id"]
    fast = mi.import_measurements(data, enqueue_refits=False)
    got_fast = list(Measurement.objects.filter(import_batch_id=fast.batch_id).order_by("id").values_list(*fields))
    Measurement.objects.all().delete()
    mi.ImportBatch.objects.all().delete()
    monkeypatch.setattr(mi, "parse_fast", lambda *a, **k: None)
    slow = mi.import_measurements(data, enqueue_refits=False)
    got_slow = list(Measurement.objects.filter(import_batch_id=slow.batch_id).order_by("id").values_list(*fields))
    assert got_fast == got_slow and len(got_fast) == 40
    assert {k: v for k, v in fast.as_dict().items() if k not in ("batch_id", "seconds")} == \
        {k: v for k, v in slow.as_dict().items() if k not in ("batch_id", "seconds")}


def test_the_random_files_exercise_both_paths(pair):
    """The generator is useful only if some files take the fast path and some are refused."""
    taken = refused = 0
    for seed in range(120):
        data = random_file(np.random.default_rng(seed))
        try:
            parsed = mi._parse(data, llm=None, hardware=None, create_missing=False,
                               negative_energy="drop")
        except mi.ImportFailed:
            refused += 1
        else:
            taken += "frame" in parsed
    assert taken >= 20 and refused >= 20, (taken, refused)


@pytest.mark.parametrize("cells", ["True,5,1.0,2.0", "5,FALSE,1.0,2.0", "5,5,true,2.0", "5,5,1.0,False"])
def test_booleans_are_no_numbers_on_either_path(cells, monkeypatch, pair):
    """pandas turns a chunk of all-boolean cells into 1/0 of a numeric dtype; the fast path must not."""
    data = f"llm,hardware,input_tokens,output_tokens,runtime_s,gpu_energy_j\nTiny LM (1B),Test Box,{cells}\n"
    fast, slow = parse_both(data.encode(), monkeypatch)
    assert fast == slow and fast[0] == "error"
