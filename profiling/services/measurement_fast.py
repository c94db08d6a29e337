"""The vectorised path of the measurement importer: the common valid file in a few C passes.

The row path (measurement_import._parse) reads every field as a Python string and checks it
in Python: about 25 s for a million rows. Here pandas' C parser writes the numeric columns
straight to int64/float64 arrays and whole-column checks apply the same bounds
(``MeasurementRules.accepts_columns``, energyweb/validation.py). Anything unusual (a value
that is not a plain number, a bound crossed, an empty token cell, a short or long row, an
unknown name, a negative energy reading, a measured_at value) returns None, and the caller
runs the row path, which words every error and warning: what is accepted, and every message,
stay exactly as they were (tests/measurements/test_import_fast.py parses files both ways).
"""

from __future__ import annotations

import io
import re
import warnings
from collections import defaultdict

import numpy as np

from energyweb.validation import MAX_NAME_LENGTH

# pandas reads a chunk whose cells are all True/False as booleans, and then casts them to the
# numeric dtype asked for (1 and 0): a boolean is no token count, so such files take the row path.
_BOOL_CELL = re.compile(r'(?im)(?:^|(?<=[,;\t]))[ ]*"?[ ]*(?:true|false)[ ]*"?[ ]*(?=[,;\t\r]|$)')
_BOOL_TEXT = re.compile(r"(?i)true|false")
_BOOL_VALUE = r'\s*"?\s*(?:true|false)\s*"?\s*'

# The row path's output columns (DB_FIELDS without import_batch_id), in order.
FRAME_COLUMNS = (
    "llm_id", "hardware_id", "input_tokens", "output_tokens", "batch_size", "runtime_s",
    "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "total_energy_j", "gpu_energy_source",
    "cpu_energy_source", "dram_energy_source", "is_estimated", "is_warmup", "iteration", "measured_at",
)


def parse_fast(text: str, *, delimiter: str, width: int, idx: dict, forced_llm, forced_hw, llms, hws,
               rules, source_values: set, estimated_sources, true_words: set, false_words: set) -> dict | None:
    """The parsed file as a DataFrame in FRAME_COLUMNS order, or None for the row path."""
    import pandas as pd

    i_tin, i_tout, i_batch, i_iter = (idx.get(k) for k in ("input_tokens", "output_tokens", "batch_size",
                                                             "iteration"))
    i_rt = idx["runtime_s"]
    energy = [idx.get(f"{c}_energy_j") for c in ("gpu", "cpu", "dram")]
    dtypes = defaultdict(lambda: str)
    for i in (i_tin, i_tout, i_batch, i_iter):
        if i is not None:
            dtypes[i] = np.int64  # an empty or non-integer cell fails the parse: row path
    for i in (i_rt, *energy):
        if i is not None:
            dtypes[i] = np.float64
    # Only an empty energy cell is "not measured"; "nan" or "NA" text fails the parse (row path).
    empty_is_na = {i: [""] for i in energy if i is not None}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=0, names=list(range(width)),
                                dtype=dtypes, keep_default_na=False, na_values=empty_is_na,
                                skip_blank_lines=True, engine="c", on_bad_lines="error", index_col=False)
    except (ValueError, OverflowError, TypeError, pd.errors.ParserError, pd.errors.ParserWarning):
        return None
    if len(frame) == 0 or len(frame.columns) != width:
        return None
    for i, kind in ((i_tin, "i"), (i_tout, "i"), (i_batch, "i"), (i_iter, "i"), (i_rt, "f"),
                    *((e, "f") for e in energy)):
        if i is not None and frame[i].dtype.kind != kind:
            return None
    text_cols = [c for c in frame.columns if frame[c].dtype == object]
    if any(frame[c].isna().any() for c in text_cols):
        return None  # a short row (pandas pads it with NaN; the row path with "")
    if _BOOL_TEXT.search(text):
        # Every True/False cell of the file must be in a text column (or the header).
        in_text = sum(int(frame[c].str.fullmatch(_BOOL_VALUE, case=False).sum()) for c in text_cols)
        in_header = _BOOL_CELL.findall(text.lstrip("\r\n").split("\n", 1)[0])
        if len(_BOOL_CELL.findall(text)) != in_text + len(in_header):
            return None

    skipped = 0
    i_phase = idx.get("phase")
    if i_phase is not None:
        inference = frame[i_phase].str.strip().str.lower().str.startswith("start-inference").to_numpy(bool)
        skipped = int(len(frame) - inference.sum())
        if not inference.any():
            return None
        if skipped:
            frame = frame[inference].reset_index(drop=True)
    n = len(frame)

    tin, tout = frame[i_tin].to_numpy(), frame[i_tout].to_numpy()
    batch = frame[i_batch].to_numpy() if i_batch is not None else np.ones(n, np.int64)
    iteration = frame[i_iter].to_numpy() if i_iter is not None else np.zeros(n, np.int64)
    runtime = frame[i_rt].to_numpy()
    values = [frame[i].to_numpy() if i is not None else np.full(n, np.nan) for i in energy]
    if np.isinf(runtime).any() or any(np.isinf(v).any() for v in values):
        return None
    if not rules.accepts_columns(tin, tout, batch, iteration, runtime, values):
        return None  # also negative energy readings: the row path words their warnings
    measured = [~np.isnan(v) for v in values]
    if not np.logical_or.reduce(measured).all():
        return None  # a row with no energy value at all

    sources = []
    for comp, present in zip(("gpu", "cpu", "dram"), measured, strict=True):
        i_src = idx.get(f"{comp}_energy_source")
        column = np.where(present, "imported", "").astype(object)
        if i_src is not None:
            given = frame[i_src].str.strip().str.lower().to_numpy(object)
            named = present & (given != "")
            if not set(given[named]).issubset(source_values):
                return None
            column[named] = given[named]
        sources.append(column)
    estimated = np.isin(sources[0], list(estimated_sources)) | np.isin(sources[1], list(estimated_sources)) \
        | np.isin(sources[2], list(estimated_sources))

    warmup = iteration == 0 if i_iter is not None else np.zeros(n, bool)
    i_warm = idx.get("is_warmup")
    if i_warm is not None:
        word = frame[i_warm].str.strip().str.lower()
        if not word.isin(true_words | false_words).all():
            return None
        warmup = np.where(word.isin(true_words).to_numpy(), True,
                          np.where((word != "").to_numpy() & word.isin(false_words).to_numpy(), False, warmup))
    i_when = idx.get("measured_at")
    if i_when is not None and (frame[i_when].str.strip() != "").any():
        return None  # timestamps are parsed one by one (two formats), by the row path

    ids = []
    for forced, i, names in ((forced_llm, idx.get("llm"), llms), (forced_hw, idx.get("hardware"), hws)):
        if forced is not None:
            ids.append(np.full(n, forced, np.int64))
            continue
        stripped = frame[i].str.strip()
        mapping = {}
        for name in stripped.unique():
            if not name or len(name) > MAX_NAME_LENGTH:
                return None
            pk = names.get(name)
            if pk is None:
                return None  # an unknown name: the row path reports it (or creates it)
            mapping[name] = pk
        ids.append(stripped.map(mapping).to_numpy(np.int64))

    total = np.nan_to_num(values[0]) + np.nan_to_num(values[1]) + np.nan_to_num(values[2])
    out = pd.DataFrame({
        "llm_id": ids[0], "hardware_id": ids[1], "input_tokens": tin, "output_tokens": tout,
        "batch_size": batch, "runtime_s": runtime, "gpu_energy_j": values[0], "cpu_energy_j": values[1],
        "dram_energy_j": values[2], "total_energy_j": total, "gpu_energy_source": sources[0],
        "cpu_energy_source": sources[1], "dram_energy_source": sources[2], "is_estimated": estimated,
        "is_warmup": np.asarray(warmup, bool), "iteration": iteration, "measured_at": None,
    }, columns=list(FRAME_COLUMNS))
    return {"frame": out, "count": n, "skipped": skipped, "warnings": [], "unknown_llm": [], "unknown_hw": []}


def frame_rows(frame) -> list[list]:
    """The frame as the row path's lists (Python ints, floats, bools; None for not measured)."""
    objects = frame.astype(object)
    return objects.where(frame.notna(), None).values.tolist()


def copy_frame(cursor, table: str, cols: str, frame, batch_id: int, chunk: int = 100_000) -> None:
    """PostgreSQL COPY of the frame, a chunk of rows at a time (bounded extra memory).

    psycopg's C row writer over Python lists measured faster than pandas' to_csv text
    (about 18 s against 27 s for a million rows on the 2-core VM, the server's share included)."""
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for start in range(0, len(frame), chunk):
            for row in frame_rows(frame.iloc[start:start + chunk]):
                row.insert(2, batch_id)
                copy.write_row(row)
