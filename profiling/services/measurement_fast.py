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
from dataclasses import dataclass, field

import numpy as np

from energyweb.validation import MAX_NAME_LENGTH
from profiling.meters.base import ENERGY_FIELDS, SOURCE_FIELDS, component_columns
from profiling.services.copy_keys import keys_checked_once

# pandas reads a chunk whose cells are all True/False as booleans, and then casts them to the
# numeric dtype asked for (1 and 0): a boolean is no token count, so such files take the row path.
_BOOL_CELL = re.compile(r'(?im)(?:^|(?<=[,;\t]))[ ]*"?[ ]*(?:true|false)[ ]*"?[ ]*(?=[,;\t\r]|$)')
_BOOL_VALUE = r'\s*"?\s*(?:true|false)\s*"?\s*'


def _has_bool_word(text: str) -> bool:
    """Whether the text holds "true" or "false" in any ASCII case (all pandas reads as a boolean).

    A prefilter for the boolean-cell count: a case-insensitive regex search took 0.5 s per 8 MB
    chunk (half the parse), lower-casing and a plain substring search 0.05 s."""
    lowered = text.lower()
    return "true" in lowered or "false" in lowered

# The row path's output columns (DB_FIELDS without import_batch_id), in order.
FRAME_COLUMNS = (
    "llm_id", "hardware_id", "input_tokens", "output_tokens", "batch_size", "runtime_s",
    *ENERGY_FIELDS, "total_energy_j", *SOURCE_FIELDS, "is_estimated", "is_warmup", "iteration", "measured_at",
)


def parse_fast(text: str, *, delimiter: str, width: int, idx: dict, forced_llm, forced_hw, llms, hws,
               rules, source_values: set, estimated_sources, true_words: set, false_words: set) -> dict | None:
    """The parsed file as a DataFrame in FRAME_COLUMNS order, or None for the row path."""
    import pandas as pd

    i_tin, i_tout, i_batch, i_iter = (idx.get(k) for k in ("input_tokens", "output_tokens", "batch_size",
                                                             "iteration"))
    i_rt = idx["runtime_s"]
    energy = [idx.get(f) for f in ENERGY_FIELDS]
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
    if _has_bool_word(text):
        # Every True/False cell of the file must be in a text column (or the header).
        in_text = sum(int(frame[c].str.fullmatch(_BOOL_VALUE, case=False).sum()) for c in text_cols)
        in_header = _BOOL_CELL.findall(text.lstrip("\r\n").split("\n", 1)[0])
        if len(_BOOL_CELL.findall(text)) != in_text + len(in_header):
            return None

    skipped = 0
    i_phase = idx.get("phase")
    if i_phase is not None:
        phases = frame[i_phase].str.strip().str.lower()
        if phases.str.startswith("inference-").any():
            return None  # the M1-Pro phases carry their own warm-up rule: the row path
        inference = phases.str.startswith("start-inference").to_numpy(bool)
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
    for source_field, present in zip(SOURCE_FIELDS, measured, strict=True):
        i_src = idx.get(source_field)
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
        # Once per distinct cell, not per row: stripping and mapping a million names through
        # pandas' string methods cost 1.3 s per column.
        codes, cells = pd.factorize(frame[i])
        pks = np.empty(len(cells), np.int64)
        for k, cell in enumerate(cells):
            name = cell.strip()
            if not name or len(name) > MAX_NAME_LENGTH:
                return None
            pk = names.get(name)
            if pk is None:
                return None  # an unknown name: the row path reports it (or creates it)
            pks[k] = pk
        ids.append(pks[codes])

    total = np.nan_to_num(values[0]) + np.nan_to_num(values[1]) + np.nan_to_num(values[2])
    out = pd.DataFrame({
        "llm_id": ids[0], "hardware_id": ids[1], "input_tokens": tin, "output_tokens": tout,
        "batch_size": batch, "runtime_s": runtime, **component_columns(values, sources),
        "total_energy_j": total, "is_estimated": estimated,
        "is_warmup": np.asarray(warmup, bool), "iteration": iteration, "measured_at": None,
    }, columns=list(FRAME_COLUMNS))
    return {"frame": out, "count": n, "skipped": skipped, "warnings": [], "unknown_llm": [], "unknown_hw": []}


def frame_rows(frame) -> list[list]:
    """The frame as the row path's lists (Python ints, floats, bools; None for not measured)."""
    objects = frame.astype(object)
    return objects.where(frame.notna(), None).values.tolist()


def copy_frame(cursor, table: str, cols: str, frame, batch_id: int, chunk: int = 100_000, *,
               encoded: Encoded | None = None) -> None:
    """PostgreSQL COPY of the frame's rows, ``batch_id`` written as the third column.

    Safe to call several times in one transaction (a streaming reader calls it once per chunk):
    every call sets up and undoes everything it needs. Two things make it fast:

    - the COPY data is PostgreSQL's binary format built from the numpy columns (_binary_rows), not
      Python lists through psycopg's row writer; an unusual frame (a measured_at value, an integer
      out of int4 range, a column of another type) takes the row writer as before;
    - the foreign keys are checked once per distinct key instead of once per row, where the role
      may (copy_keys.keys_checked_once).

    ``encoded``: the frame already encoded by ``encode_frame`` (on the importer's read-ahead thread,
    while the chunk before was being written); then this call only checks keys and sends bytes.
    """
    columns = [c.strip() for c in cols.split(",")]
    if encoded is None:
        encoded = encode_frame(frame, batch_id, columns, column_types(cursor, table, columns))
    if encoded is None:
        values = _column_values(columns, frame, batch_id)
        with keys_checked_once(cursor, table, columns, lambda j: _distinct(values[j])):
            copy_frame_rows(cursor, table, cols, frame, batch_id, chunk)
        return
    with keys_checked_once(cursor, table, columns, encoded.distinct):
        with cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)", writer=_writer(cursor)) as copy:
            copy.write(_BINARY_SIGNATURE)
            for block in encoded.blocks:
                copy.write(block)
            copy.write(_BINARY_TRAILER)


@dataclass
class Encoded:
    """A frame as binary COPY data (``blocks``), with its columns' values for the key checks."""

    blocks: list[bytes]
    values: list
    keys: dict = field(default_factory=dict)  # column index -> distinct non-null values, made once

    def distinct(self, j: int) -> list:
        if j not in self.keys:
            self.keys[j] = _distinct(self.values[j])
        return self.keys[j]


def encode_frame(frame, batch_id: int, columns: list[str], types: list[str],
                 key_columns: tuple[int, ...] = ()) -> Encoded | None:
    """The frame in PostgreSQL's binary COPY format (None: a frame only the row writer takes).
    Touches no database (``types``: ``column_types`` of the table, read once by the caller), so
    the importer's read-ahead thread can run it; ``key_columns``: columns whose distinct values
    (the key checks') are found here too."""
    values = _column_values(columns, frame, batch_id)
    plan = _binary_plan(columns, values, types)
    if plan is None:
        return None
    n = len(frame)
    encoded = Encoded([_binary_rows(plan, start, min(start + _BINARY_BLOCK, n))
                       for start in range(0, n, _BINARY_BLOCK)], values)
    for j in key_columns:
        encoded.distinct(j)
    return encoded


def _writer(cursor):
    """psycopg's COPY writer, waiting for the socket every 8 MB instead of every 128 kB.

    Each wait releases the GIL and takes it back; while the importer's read-ahead thread parses
    the next chunk, taking it back costs up to the interpreter's switch interval (5 ms), and at
    psycopg's defaults (a wait per 128 kB piece) that made the COPY of 1M rows 6-9 s slower
    than with no thread. Between waits libpq buffers what the socket does not take yet (at most
    _FLUSH_BYTES) and sends it as the socket drains."""
    from psycopg.copy import LibpqWriter

    return LibpqWriter(cursor, flush_threshold=_FLUSH_BYTES)


def copy_frame_rows(cursor, table: str, cols: str, frame, batch_id: int, chunk: int = 100_000) -> None:
    """The frame through psycopg's text row writer, a chunk of Python lists at a time: the way
    for a frame the binary encoder does not take (and what it replaced: the tests compare)."""
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for start in range(0, len(frame), chunk):
            for row in frame_rows(frame.iloc[start:start + chunk]):
                row.insert(2, batch_id)
                copy.write_row(row)


# --- PostgreSQL's binary COPY format, from numpy columns ------------------------------------------
# A row is an int16 field count, then per field an int32 byte length (-1: NULL) and the value in
# network byte order. Rows whose nullable and text fields have the same shape (which are NULL, which
# text) have the same layout: each such group is one numpy structured array, and the groups are
# interleaved back into file order by byte offsets, so ids follow the file as before.

_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\0" + b"\0\0\0\0" + b"\0\0\0\0"
_BINARY_TRAILER = b"\xff\xff"
_BINARY_BLOCK = 20_000  # rows per block: bounds the scatter's index arrays (about 25 MB)
_FLUSH_BYTES = 8 << 20  # COPY data handed to libpq between waits for the socket (_writer)
_MAX_SHAPES = 256  # more row shapes than this (many distinct texts): the row writer, which needs no groups
# No "real": numpy's float64-to-float32 cast and PostgreSQL's parse of the decimal text could round
# differently; such a column takes the row writer.
_FIXED = {"bigint": (">i8", np.iinfo(np.int64)), "integer": (">i4", np.iinfo(np.int32)),
          "smallint": (">i2", np.iinfo(np.int16)), "double precision": (">f8", None), "boolean": ("?", None)}
_TEXT = {"character varying", "text"}


def _column_values(columns: list[str], frame, batch_id: int) -> list:
    """Each COPY column's numpy values: the frame's columns with the batch id as the third."""
    arrays = [frame[c].to_numpy() for c in frame.columns]
    if len(arrays) + 1 != len(columns):
        raise ValueError(f"{len(columns)} columns named for a frame of {len(arrays)} and the batch id")
    return [*arrays[:2], np.full(len(frame), batch_id, np.int64), *arrays[2:]]


def _distinct(array) -> list:
    import pandas as pd

    return [v.item() if hasattr(v, "item") else v for v in pd.unique(array) if not pd.isna(v)]


def column_types(cursor, table: str, columns: list[str]) -> list[str]:
    cursor.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", [table])
    types = dict(cursor.fetchall())
    return [types.get(c, "") for c in columns]


def _binary_plan(columns: list[str], values: list, types: list[str]) -> dict | None:
    """How to encode each column (None: take the row writer).

    A fixed column has one layout on every row; a variable column (a float with NaNs, which the
    row writer sends as NULL, or a text) has a few: its ``choices`` are NULL (None) or the bytes
    of a value (a numpy dtype for a float, the encoded text for a text), and ``codes`` says which
    one each row takes."""
    n = len(values[0])
    plan = []
    for array, pg_type in zip(values, types, strict=True):
        if pg_type in _FIXED:
            dtype, bounds = _FIXED[pg_type]
            kinds = "b" if pg_type == "boolean" else ("iu" if bounds is not None else "iuf")
            if array.dtype.kind not in kinds:
                return None
            if bounds is not None and n and (array.min() < bounds.min or array.max() > bounds.max):
                return None  # the row writer lets PostgreSQL word the error ("integer out of range")
            null = np.isnan(array) if array.dtype.kind == "f" else None
            if null is not None and null.any():
                plan.append({"choices": [None, np.dtype(dtype)], "codes": (~null).astype(np.int64)})
            else:
                plan.append({"fixed": np.dtype(dtype)})
        elif array.dtype == object and (pg_type in _TEXT or pg_type == "timestamp with time zone"):
            import pandas as pd

            code, uniques = pd.factorize(array, use_na_sentinel=True)
            if not all(isinstance(u, str) for u in uniques) or (pg_type not in _TEXT and len(uniques)):
                return None  # e.g. a measured_at value: only NULLs are written here
            plan.append({"choices": [None, *(u.encode() for u in uniques)], "codes": code.astype(np.int64) + 1})
        else:
            return None
    shape, combinations = np.zeros(n, np.int64), 1
    for column in plan:
        if "choices" in column:
            combinations *= len(column["choices"])
            if combinations > 2**62:
                return None  # the shape number would overflow int64
            shape = shape * len(column["choices"]) + column["codes"]
    kinds, row_shape = np.unique(shape, return_inverse=True)
    if len(kinds) > _MAX_SHAPES:
        return None
    dtypes = []
    for kind in kinds:
        rest, chosen = int(kind), {}
        for j in reversed(range(len(plan))):
            if "choices" in plan[j]:
                count = len(plan[j]["choices"])
                chosen[j] = plan[j]["choices"][rest % count]
                rest //= count
        dtypes.append(_shape_dtype(plan, chosen))
    return {"values": values, "dtypes": dtypes, "row_shape": row_shape.reshape(-1)}


def _shape_dtype(plan: list[dict], chosen: dict) -> tuple:
    """One row shape: its numpy structured dtype and the constant value of each field."""
    fields, constants = [("count", ">i2")], {"count": len(plan)}
    for j, column in enumerate(plan):
        value = column["fixed"] if "fixed" in column else chosen[j]
        fields.append((f"n{j}", ">i4"))
        if value is None:
            constants[f"n{j}"] = -1
        elif isinstance(value, bytes):
            constants[f"n{j}"] = len(value)
            if value:  # an empty text is its length (0) alone
                fields.append((f"t{j}", f"S{len(value)}"))
                constants[f"t{j}"] = value
        else:
            constants[f"n{j}"] = value.itemsize
            fields.append((f"v{j}", value.str))
    return np.dtype(fields), constants


def _binary_rows(plan: dict, start: int, stop: int) -> bytes:
    """Rows start to stop of the plan in binary COPY format."""
    row_shape = plan["row_shape"][start:stop]
    present = np.unique(row_shape)
    blocks = []
    for s in present:
        rows = slice(start, stop) if len(present) == 1 else np.flatnonzero(row_shape == s) + start
        dtype, constants = plan["dtypes"][s]
        out = np.empty(stop - start if len(present) == 1 else len(rows), dtype)
        for name in dtype.names:
            if name in constants:
                out[name] = constants[name]
            else:
                out[name] = plan["values"][int(name[1:])][rows]
        blocks.append((rows, out))
    if len(blocks) == 1:
        return blocks[0][1].tobytes()
    # Several shapes: scatter each one's rows to their byte offsets, in file order.
    sizes = np.array([d.itemsize for d, _ in plan["dtypes"]], np.int64)[row_shape]
    offsets = np.cumsum(sizes) - sizes
    buffer = np.empty(int(sizes.sum()), np.uint8)
    for rows, out in blocks:
        width = out.dtype.itemsize
        buffer[offsets[rows - start][:, None] + np.arange(width)] = out.view(np.uint8).reshape(-1, width)
    return buffer.tobytes()
