"""Workload files: parse and validate a CSV of token counts, store it, summarise it.

A workload is stored as the Workload row plus one ``.npz`` of its columns (see
scheduling/models/planning.py for why; written uncompressed since issue 11, older
compressed files load the same). The file is streamed through the shared
reader (energyweb/tabular.py: gzip with size and ratio caps, a field-size cap)
and parsed a chunk at a time, vectorised with pandas: token columns are parsed
straight to integers and checked whole (``_parse_fast``), falling back to a
string path that words every error; every row is checked and the import is
all-or-nothing: nothing is written unless every row is valid. The columns grow
in place at the narrowest type that holds their values (uint16, widened to
int32 by a column's first count above 65,535): cast before arithmetic.

Row numbers in error messages are spreadsheet rows: the header is row 1, the
first query row 2 (files with quoted line breaks inside a field are rare for
token-count CSVs; the row number then counts records, not physical lines).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import os
import re
import tempfile
import warnings
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from energyweb.diskfull import write_new
from energyweb.tabular import DELIMITER_WORDS, TableError, reader_from_settings, report, sniff_delimiter
from energyweb.validation import FieldError
from scheduling.planner.types import WorkloadArrays

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported inside the parsing functions only: this module is imported by every
# Django process (jobs, views), and pandas costs ~0.5-1 s of start-up that only parsing needs.

MAX_REPORTED_ERRORS = 50
HISTOGRAM_BINS = 30
# numpy stores ids at the longest id's width: one 5,000-character id in a million rows took 2 GB.
MAX_ID_LENGTH = 200

# Accepted column names (compared case-insensitively, surrounding spaces ignored),
# in order of preference. They are the names real traces use, accepted as they are.
COLUMN_ALIASES = {
    "tin": ["input_tokens", "number of input tokens", "prompt_tokens", "contexttokens",
            "input tokens", "tin", "n_input_tokens"],
    "tout": ["output_tokens", "number of output tokens", "completion_tokens", "generatedtokens",
             "output tokens", "tout", "n_output_tokens"],
    "id": ["id", "query_id", "request_id", "request id"],
    "timestamp": ["timestamp", "time", "created", "arrival_time"],
    "prompt": ["prompt", "prompt_text", "text"],
}
REQUIRED = ("tin", "tout")
FIELD_LABEL = {"tin": "input tokens", "tout": "output tokens"}


class WorkloadFileError(FieldError):
    """A workload file was refused. ``errors`` lists dicts {row, column, message}
    (at most MAX_REPORTED_ERRORS); ``total`` counts every problem found."""

    def __init__(self, message: str, errors: list[dict] | None = None, total: int | None = None,
                 field: str = "file"):
        self.errors = errors or []
        self.total = total if total is not None else len(self.errors)
        super().__init__(message, field)

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.errors))

    def messages(self) -> list[str]:
        """Human-readable lines: the summary, each error, and the count of the rest."""
        lines = [str(self)]
        for e in self.errors:
            where = []
            if e.get("row") is not None:
                where.append(f"row {e['row']}")
            if e.get("column"):
                where.append(f"column {e['column']!r}")
            lines.append((", ".join(where).capitalize() + ": " if where else "") + e["message"])
        if self.more:
            lines.append(f"... and {self.more} more error{'s' if self.more != 1 else ''} not shown.")
        return lines

    def as_dict(self) -> dict:
        return {"detail": str(self), "errors": self.errors, "error_count": self.total,
                "errors_not_shown": self.more}


@dataclass
class ParsedWorkload:
    # ids: an array or an IdColumn (parsed files). tin/tout: uint16 or int32 (the narrowest that holds the counts; a file of tiny rows at the upload
    # cap holds 50M queries): cast to int64 before any arithmetic that could overflow.
    tin: np.ndarray
    tout: np.ndarray
    ids: np.ndarray | None = None
    timestamps: np.ndarray | None = None  # datetime64[ns]
    columns: dict = field(default_factory=dict)
    source_filename: str = ""

    @property
    def n(self) -> int:
        return int(self.tin.shape[0])


# --- reading -------------------------------------------------------------------------


def _max_bytes() -> int:
    return int(settings.MAX_UPLOAD_MB) * 1024 * 1024


def _reader_error(exc: TableError, rows_done: int = 0,
                  header: list[str] | None = None) -> WorkloadFileError:
    """The shared reader's refusal in its one wording (energyweb.tabular.report), with this
    importer's row and column entry where the reader says where."""
    msg = report(exc, size_setting="ENERGYWEB_MAX_UPLOAD_MB")
    if exc.kind == "encoding":
        return WorkloadFileError(msg, [{"row": exc.line, "column": None, "message": "invalid UTF-8 byte"}])
    if exc.kind == "field":
        # Every line before it has been read: the header (row 1, when there was one) and the rows.
        row = rows_done + 2 if header else 1
        header = header or []
        column = header[exc.column] if exc.column is not None and exc.column < len(header) else None
        return WorkloadFileError(f"The file cannot be read: row {row} has {msg}.",
                                 [{"row": row, "column": column, "message": msg}])
    if exc.kind == "header":
        return WorkloadFileError(msg, [{"row": 1, "column": None, "message": msg}])
    if exc.kind == "record":
        return WorkloadFileError(f"The CSV is malformed: {msg}.", [{"row": exc.line, "column": None, "message": msg}])
    return WorkloadFileError(msg)


def _match_columns(header: list[str]) -> dict[str, str]:
    normalised = {h.strip().lower(): h for h in header}
    found = {}
    for key, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in normalised:
                found[key] = normalised[alias]
                break
    return found


class _Growing:
    """A token column appended to chunk by chunk, grown in place: ndarray.resize reallocs (a
    large block is remapped by the C library, not copied), so there is never a second full
    copy, as concatenating the chunks at the end would make. Held as uint16 (half of int32:
    token counts are >= 1 and real traces stay below 65,536) until a count needs int32."""

    def __init__(self, dtype=np.uint16):
        self.data = np.empty(0, dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        if len(values) and self.data.dtype == np.uint16 and values.max() > np.iinfo(np.uint16).max:
            self.data = self.data[:self.n].astype(np.int32)  # once, for this column only
        need = self.n + len(values)
        if need > len(self.data):
            self.data.resize(max(need, len(self.data) * 3 // 2, 1 << 16), refcheck=False)
        self.data[self.n:need] = values
        self.n = need

    def array(self) -> np.ndarray:
        self.data.resize(self.n, refcheck=False)
        return self.data


class IdColumn:
    """Query ids as the parsed chunks left them, spilled to a temporary file as UTF-8.

    numpy holds a string column at its longest string's width, 4 bytes a character: a million ids of
    200 characters (the longest allowed) took 800 MB, four times the file they came from. Here each
    chunk's ids are encoded and written to an anonymous temporary file as they are parsed, so an
    import holds one chunk of them at a time whatever the file. The stored .npy keeps numpy's unicode
    format, written a slice at a time (``slices``, ``_save_npy``); ``np.asarray`` (or ``tolist``)
    reads them all back for a caller that wants one array, at the cost above."""

    def __init__(self, parts: list[np.ndarray] | None = None):
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the column
        self._parts: list[tuple[int, int, int]] = []  # (offset, count, bytes per id) per chunk
        self._chars = 1
        self.size = 0
        for part in parts or ():
            self.append(part)

    def append(self, part: np.ndarray) -> None:
        """Add one chunk's ids (a numpy unicode array)."""
        if not len(part):
            return
        self._chars = max(self._chars, part.dtype.itemsize // 4)
        encoded = np.char.encode(part, "utf-8")
        self._file.seek(0, os.SEEK_END)
        self._parts.append((self._file.tell(), len(encoded), encoded.dtype.itemsize))
        self._file.write(encoded.tobytes())
        self.size += len(part)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(f"<U{self._chars}")

    @property
    def shape(self) -> tuple[int]:
        return (self.size,)

    def __len__(self) -> int:
        return self.size

    def slices(self, size: int):
        """The ids as unicode arrays of at most ``size``, in order (bounded memory)."""
        for offset, count, width in self._parts:
            for start in range(0, count, size):
                n = min(size, count - start)
                self._file.seek(offset + start * width)
                raw = self._file.read(n * width)
                yield np.char.decode(np.frombuffer(raw, dtype=f"S{width}"), "utf-8")

    def __array__(self, dtype=None, copy=None):
        joined = np.concatenate(list(self.slices(1 << 20))) if self._parts else np.empty(0, self.dtype)
        return joined.astype(dtype or self.dtype, copy=False)

    def tolist(self) -> list[str]:
        return [x for piece in self.slices(1 << 20) for x in piece.tolist()]


@dataclass
class _Part:
    """One chunk's valid columns."""
    tin: np.ndarray
    tout: np.ndarray
    ids: np.ndarray | None = None
    timestamps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.tin)


def parse_workload(source, *, max_context: int | None = None, max_bytes: int | None = None,
                   filename: str = "", progress: Callable[[int], None] | None = None) -> ParsedWorkload:
    """Read and validate a workload CSV (optionally gzip) from a path, bytes or an upload.

    The file is streamed (energyweb/tabular.py) and parsed a chunk at a time; ``progress``, when
    given, is called with the number of rows read so far after each chunk."""
    max_bytes = max_bytes or _max_bytes()
    max_context = max_context or int(settings.MAX_CONTEXT_TOKENS)
    reader = reader_from_settings(source, max_bytes=max_bytes, max_decompressed=max_bytes)
    filename = filename or reader.name
    chunks = reader.chunks()
    rows = 0
    header: list[str] = []
    try:
        # The sniffer sees the first 65,537 characters, as it did when the whole file was read.
        held = []
        late: TableError | None = None  # raised once the chunks before it are counted
        try:
            for chunk in chunks:
                held.append(chunk)
                if sum(len(c.text) for c in held) > 65536:
                    break
        except TableError as exc:
            if exc.kind != "field" or not held:
                raise
            late, chunks = exc, iter(())
        head = "".join(c.text[:65537] for c in held)[:65537]
        if not head.strip():
            raise WorkloadFileError("The file is empty: it needs a header row and at least one query row.",
                                    [{"row": 1, "column": None, "message": "empty file"}])
        delimiter, columns = _header(head)
        header_line = head.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
        header = next(csv.reader([header_line], delimiter=delimiter), [])
        tin, tout = _Growing(), _Growing()
        stamps = _Growing("datetime64[ns]") if "timestamp" in columns else None
        ids: IdColumn | None = IdColumn() if "id" in columns else None
        errors: list[dict] = []
        total_errors = 0
        for chunk in itertools.chain(held, chunks):
            text = chunk.text if chunk.index == 0 else header_line + "\n" + chunk.text
            part = _parse_fast(text, delimiter, columns, max_context)
            n = len(part) if part is not None else 0
            if part is None:
                frame = _read_strings(text, delimiter, rows + 2, 1 if chunk.index == 0 else chunk.first_line - 1)
                n = len(frame)
                part, found, count = _validate(frame, columns, max_context, rows + 2)
                errors.extend(found[:MAX_REPORTED_ERRORS - len(errors)])
                total_errors += count
            rows += n
            if not total_errors:  # once the file is known bad only the errors are kept
                tin.extend(part.tin)
                tout.extend(part.tout)
                if stamps is not None:
                    stamps.extend(part.timestamps)
                if ids is not None:
                    ids.append(part.ids)
            if progress is not None:
                progress(rows)
        if late is not None:
            raise late
    except TableError as exc:
        raise _reader_error(exc, rows, header) from None
    if total_errors:
        raise WorkloadFileError(
            f"{total_errors} invalid value{'s' if total_errors != 1 else ''} in "
            f"{filename or 'the file'}; nothing was imported.", errors, total_errors)
    if rows == 0:
        raise WorkloadFileError("The file has a header but no query rows.",
                                [{"row": 2, "column": None, "message": "no data rows"}])
    return ParsedWorkload(tin=tin.array(), tout=tout.array(),
                          ids=ids,
                          timestamps=stamps.array() if stamps is not None else None,
                          columns=dict(columns), source_filename=filename)


def _read_strings(text: str, delimiter: str, first_row: int, line_offset: int) -> pd.DataFrame:
    """A chunk (the header line first) as strings, or the malformed-CSV error at its file line.

    ``line_offset`` is the file line of the chunk text's first line."""
    import pandas as pd

    try:
        # All columns are read (not usecols) so that a row with too many fields is an error.
        with warnings.catch_warnings():
            # pandas only warns (and drops the value) when the first row is longer than the header.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str,
                               keep_default_na=False, na_filter=False, skip_blank_lines=True,
                               engine="c", on_bad_lines="error", index_col=False)
    except pd.errors.ParserWarning as exc:
        msg = f"row {first_row} has more fields than the header; a value would be dropped"
        raise WorkloadFileError(f"The CSV is malformed: {msg}.",
                                [{"row": first_row, "column": None, "message": msg}]) from exc
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().replace("Error tokenizing data. C error: ", "").rstrip(".")
        msg = re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + line_offset - 1}", msg)
        m = re.search(r"line (\d+)", msg)
        row = int(m.group(1)) if m else None
        raise WorkloadFileError(f"The CSV is malformed: {msg}.",
                                [{"row": row, "column": None, "message": msg}]) from exc
    except (ValueError, UnicodeError) as exc:
        raise WorkloadFileError(f"The CSV cannot be read: {exc}.") from exc


def _header(text: str) -> tuple[str, dict[str, str]]:
    """The delimiter and the matched columns, or the missing-column error.

    ``text`` may be only the start of the file (at least 65,537 characters when
    the file is longer, so the sniffer sees the same cut sample)."""
    header_line = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    delimiter = sniff_delimiter(header_line) or ","  # the one sniffer, shared with measurement imports
    try:
        header = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error as exc:  # a header field past the csv module's field size limit
        raise WorkloadFileError(f"The header (row 1) cannot be read: {exc}.",
                                [{"row": 1, "column": None, "message": str(exc)}]) from None
    columns = _match_columns(header)
    missing = [k for k in REQUIRED if k not in columns]
    if missing:
        errors = [{"row": 1, "column": None, "message": (
            f"no {FIELD_LABEL[k]} column: expected one of "
            + ", ".join(repr(a) for a in COLUMN_ALIASES[k][:4]))} for k in missing]
        shown = ", ".join(repr(h) for h in header[:8]) + (" ..." if len(header) > 8 else "")
        hint = "" if delimiter in header_line else f" (is the file delimited by {DELIMITER_WORDS}?)"
        raise WorkloadFileError(
            f"Missing required column{'s' if len(missing) > 1 else ''}: the header (row 1) has "
            f"{shown}{hint}.", errors)
    return delimiter, columns


def _parse_fast(text: str, delimiter: str, columns: dict, max_context: int) -> _Part | None:
    """The common case in one vectorised pass: token columns parsed straight to integers.

    Reading every field as a Python string (the path below, which words each
    error) costs ~100 bytes and a microsecond per field: 30 s and 1.3 GB at
    10M queries. Here the C parser writes int64 columns and whole-column checks
    confirm that every row of the chunk is valid. On anything unusual (non-ASCII
    text, a field that is not a plain integer, a bad value, a malformed row) it
    returns None and the caller runs the string path on the chunk, so what is
    accepted, and every error message, stay exactly as they were.
    """
    import pandas as pd

    if not text.isascii():
        return None
    tin_col, tout_col = columns["tin"], columns["tout"]
    if tin_col == tout_col:
        return None
    # Other columns stay text, exactly as the string path reads them.
    dtypes = defaultdict(lambda: str, {tin_col: np.int64, tout_col: np.int64})
    try:
        with warnings.catch_warnings():
            # A first row longer than the header only warns (and drops a value): the string
            # path below reports it as an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.BytesIO(text.encode("ascii")), sep=delimiter, dtype=dtypes,
                                keep_default_na=False, na_filter=False, skip_blank_lines=True,
                                engine="c", on_bad_lines="error", index_col=False)
    except (ValueError, OverflowError, TypeError, pd.errors.ParserError, pd.errors.ParserWarning):
        return None
    if len(frame) == 0 or frame[tin_col].dtype != np.int64 or frame[tout_col].dtype != np.int64:
        return None
    tin = frame[tin_col].to_numpy()
    tout = frame[tout_col].to_numpy()
    # Each column within the context first, so the sum cannot overflow int64.
    if (tin.min() <= 0 or tout.min() <= 0 or tin.max() > max_context or tout.max() > max_context
            or (tin + tout).max() > max_context):
        return None
    timestamps = None
    if "timestamp" in columns:
        timestamps = _timestamps_fast(frame[columns["timestamp"]])
        if timestamps is None:
            return None
    ids = None
    if "id" in columns:
        id_text = frame[columns["id"]].astype(str)
        if int(id_text.str.len().max()) > MAX_ID_LENGTH:
            return None  # the string path names the rows with over-long ids
        ids = id_text.to_numpy(dtype=str)
    return _Part(tin=tin, tout=tout, ids=ids, timestamps=timestamps)


def _timestamps_fast(column: pd.Series) -> np.ndarray | None:
    """ISO 8601 timestamps in one vectorised parse; None for anything else (the string
    path then parses each value in its own format, as before)."""
    import pandas as pd

    raw = column.astype(str).str.strip()
    try:
        parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        return None
    if bool((parsed.isna() & (raw != "")).any()):
        return None
    return parsed.to_numpy(dtype="datetime64[ns]")


def _validate(frame: pd.DataFrame, columns: dict, max_context: int,
              first_row: int) -> tuple[_Part | None, list[dict], int]:
    """One chunk's string columns checked: its valid columns, or None with its first
    MAX_REPORTED_ERRORS errors (in row order) and their count. ``first_row`` is the
    spreadsheet row of the frame's first row (the header is row 1)."""
    import pandas as pd

    n = len(frame)
    rows = np.arange(n) + first_row
    problems: list[tuple[np.ndarray, str, callable]] = []  # (bad indices, column, message(i))
    values = {}
    for key in REQUIRED:
        col = columns[key]
        raw = frame[col].astype(str).str.strip()
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        empty = (raw == "").to_numpy()
        nan = np.isnan(num) & ~empty
        finite = np.isfinite(num)
        nonint = finite & (np.floor(num) != num)
        nonpos = finite & ~nonint & (num <= 0)
        raw_np = raw.to_numpy()
        problems.append((np.flatnonzero(empty), col, lambda i: "missing value"))
        problems.append((np.flatnonzero(nan | (~finite & ~np.isnan(num))), col,
                         lambda i, r=raw_np: f"not a number: {r[i]!r}"))
        problems.append((np.flatnonzero(nonint), col,
                         lambda i, r=raw_np: f"not a whole number of tokens: {r[i]!r}"))
        problems.append((np.flatnonzero(nonpos), col,
                         lambda i, r=raw_np: f"must be a positive integer, got {r[i]}"))
        values[key] = num
    tin, tout = values["tin"], values["tout"]
    ok = np.isfinite(tin) & np.isfinite(tout)
    total = np.where(ok, tin, 0) + np.where(ok, tout, 0)
    too_long = np.flatnonzero(ok & (tin > 0) & (tout > 0) & (total > max_context))
    both = f"{columns['tin']}+{columns['tout']}"
    problems.append((too_long, both, lambda i: (
        f"{int(tin[i])} + {int(tout[i])} = {int(total[i])} tokens exceeds the maximum context of "
        f"{max_context} tokens (ENERGYWEB_MAX_CONTEXT_TOKENS)")))

    timestamps = None
    if "timestamp" in columns:
        col = columns["timestamp"]
        raw = frame[col].astype(str).str.strip()
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed", utc=True)
        bad = np.flatnonzero((parsed.isna() & (raw != "")).to_numpy())
        raw_np = raw.to_numpy()
        problems.append((bad, col, lambda i, r=raw_np: f"not a date and time: {r[i]!r}"))
        if not len(bad):
            timestamps = parsed.to_numpy(dtype="datetime64[ns]")

    if "id" in columns:
        col = columns["id"]
        long_ids = np.flatnonzero((frame[col].str.len() > MAX_ID_LENGTH).to_numpy())
        problems.append((long_ids, col, lambda i: f"query id longer than {MAX_ID_LENGTH} characters"))

    total_errors = int(sum(len(idx) for idx, _, _ in problems))
    if total_errors:
        collected = []
        for idx, col, msg in problems:
            for i in idx[:MAX_REPORTED_ERRORS]:
                collected.append((int(i), col, msg))
        collected.sort(key=lambda t: t[0])
        errors = [{"row": int(rows[i]), "column": col, "message": msg(i)}
                  for i, col, msg in collected[:MAX_REPORTED_ERRORS]]
        return None, errors, total_errors

    ids = None
    if "id" in columns:
        ids = frame[columns["id"]].astype(str).to_numpy(dtype=str)
    return _Part(tin=tin, tout=tout, ids=ids, timestamps=timestamps), [], 0


# --- statistics ----------------------------------------------------------------------


def log_bins(max_value: int, bins: int = HISTOGRAM_BINS, min_value: int = 1) -> np.ndarray:
    """Log-spaced bin edges from the minimum to just above the maximum (token counts span
    decades, so linear bins would put nearly every query in the first bin)."""
    low = max(1.0, float(min_value))
    top = max(low + 1, float(max_value) + 1)
    return np.unique(np.round(np.geomspace(low, top, bins + 1), 6))


def histogram(values: np.ndarray, edges: np.ndarray) -> list[int]:
    counts, _ = np.histogram(values, bins=edges)
    return counts.astype(int).tolist()


def summarise(tin: np.ndarray, tout: np.ndarray) -> tuple[dict, dict]:
    """Summary statistics and log-binned histograms of both token columns.

    Token counts are bounded, so everything comes from one count per value
    (O(n + max)): np.percentile's partitions took 1.5 s at 10M queries. The
    figures are the ones np.percentile, mean and histogram give, bit for bit
    (tests/scheduling/test_workload_import_fast.py keeps those as the oracle).
    """
    stats = {"n": int(tin.shape[0])}
    hist = {}
    for key, arr in (("tin", tin), ("tout", tout)):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 4 * arr.size + (1 << 22):
            s, h = _summarise_sorted(arr)
        else:
            s, h = _summarise_counted(arr, lo, hi)
        stats[key], hist[key] = s, h
    stats["total_tokens"] = stats["tin"]["sum"] + stats["tout"]["sum"]
    return stats, hist


# Slices of a column converted at a time: bincount and the hash each want a wider copy of
# their input (int64, <i4), which for a whole 50M-query column would double its memory.
SLICE = 1 << 22


def _summarise_counted(arr: np.ndarray, lo: int, hi: int) -> tuple[dict, dict]:
    counts = np.zeros(hi + 1, np.int64)
    for start in range(0, arr.size, SLICE):
        counts += np.bincount(arr[start:start + SLICE], minlength=hi + 1)
    values = np.flatnonzero(counts)
    total = int(np.dot(values, counts[values]))
    p50, p90, p99 = _percentiles_counted(np.cumsum(counts), arr.size, [50, 90, 99])
    # The float64 sum of whole numbers below 2**53 is exact, so this is a.mean().
    s = {"min": lo, "mean": float(np.float64(total) / arr.size), "median": float(p50),
         "p90": float(p90), "p99": float(p99), "max": hi, "sum": total}
    edges = log_bins(hi, min_value=lo)
    # Integer weights sum exactly in float64: the same counts as the per-query histogram.
    weighted, _ = np.histogram(values, bins=edges, weights=counts[values].astype(np.float64))
    return s, {"edges": edges.tolist(), "counts": np.rint(weighted).astype(int).tolist()}


def _percentiles_counted(cum: np.ndarray, n: int, q) -> np.ndarray:
    """np.percentile(a, q) (method "linear") from the cumulative counts of a's values.

    Steps as numpy's _quantile does them, so the result is the same float."""
    quantiles = np.true_divide(np.asanyarray(q), 100)
    virtual = (n - 1) * quantiles
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    previous[above] = -1
    following[above] = -1
    previous, following = previous.astype(np.intp), following.astype(np.intp)

    def order_statistic(k):  # the k-th smallest value (k = -1: the largest)
        k = np.where(k < 0, n + k, k)
        return np.searchsorted(cum, k, side="right").astype(np.float64)

    a, b = order_statistic(previous), order_statistic(following)
    gamma = np.asanyarray(virtual - previous, dtype=virtual.dtype)
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def _summarise_sorted(arr: np.ndarray) -> tuple[dict, dict]:
    """For token counts too spread out to count by value."""
    a = arr.astype(np.float64)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    s = {"min": int(a.min()), "mean": float(a.mean()), "median": float(p50),
         "p90": float(p90), "p99": float(p99), "max": int(a.max()), "sum": int(a.sum())}
    edges = log_bins(int(arr.max()), min_value=int(arr.min()))
    return s, {"edges": edges.tolist(), "counts": histogram(arr, edges)}


def content_hash(tin: np.ndarray, tout: np.ndarray) -> str:
    h = hashlib.sha256()
    # The int32 bytes a slice at a time (columns may be held narrower, see _Growing).
    for column in (tin, tout):
        for start in range(0, column.size, SLICE):
            h.update(memoryview(np.ascontiguousarray(column[start:start + SLICE], dtype="<i4")).cast("B"))
    return h.hexdigest()


# --- storage ---------------------------------------------------------------------------


def _save_npy(zf: zipfile.ZipFile, name: str, column: np.ndarray, dtype) -> None:
    """What np.savez writes for ``column.astype(dtype)``, converted a slice at a time."""
    dtype = np.dtype(dtype)
    if isinstance(column, IdColumn):
        pieces = column.slices(SLICE)
    else:
        pieces = (column[start:start + SLICE] for start in range(0, column.size, SLICE))
    with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                  "fortran_order": False, "shape": column.shape})
        for piece in pieces:
            fh.write(np.ascontiguousarray(piece, dtype=dtype).data)


def _write_npz(parsed: ParsedWorkload, sha: str, name: str | None = None) -> str:
    """Write the arrays straight into MEDIA_ROOT under a free name. A full disk removes the partial
    file and raises DiskFull (507); a temporary copy elsewhere first only doubled the writing and left
    its own partial file in /tmp."""
    def write(fh):
        # Uncompressed: at 10M queries zlib took 28 s to write and 1.5 s to load
        # (33 MB), the plain file 0.2 s and 0.4 s (80 MB, 8 bytes a query).
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            _save_npy(zf, "tin", parsed.tin, np.int32)
            _save_npy(zf, "tout", parsed.tout, np.int32)
            if parsed.ids is not None:
                _save_npy(zf, "ids", parsed.ids, parsed.ids.dtype)
            if parsed.timestamps is not None:
                _save_npy(zf, "timestamps", parsed.timestamps.astype("datetime64[ns]").view(np.int64), np.int64)

    wanted = name or f"workloads/{sha[:16]}.npz"
    (Path(settings.MEDIA_ROOT) / wanted).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for _ in range(5):
        relative = default_storage.get_available_name(wanted)
        try:
            write_new(Path(default_storage.path(relative)), write, mode=settings.FILE_UPLOAD_PERMISSIONS)
        except FileExistsError:
            continue  # another writer took the name between the lookup and the create
        return relative
    raise FileExistsError(f"no free name for {wanted}")


def store_workload(parsed: ParsedWorkload, name: str, *, description: str = "", user=None,
                   is_synthetic: bool = False, generator: dict | None = None,
                   data_name: str | None = None, on_written=None):
    """Write a validated workload: the file first, then the row; the file is removed if the row fails.

    ``data_name`` names the arrays file (a background import names it after its job, so a
    worker killed before the commit leaves a file the next attempt can find); ``on_written``
    is called with the new row inside its transaction (the import job records it there,
    conditional on its claim: a lost claim rolls the row back and removes the file)."""
    from scheduling.models import Workload

    name = (name or "").strip()
    if not name:
        raise WorkloadFileError("Give the workload a name.", field="name")
    if Workload.objects.filter(name=name).exists():
        raise WorkloadFileError(f"A workload named {name!r} exists already; choose another name.",
                                field="name")
    sha = content_hash(parsed.tin, parsed.tout)
    stats, hist = summarise(parsed.tin, parsed.tout)
    stored = _write_npz(parsed, sha, data_name)
    try:
        with transaction.atomic():
            workload = Workload.objects.create(
                name=name, description=description, source_filename=parsed.source_filename[:300],
                is_synthetic=is_synthetic, generator=generator or {}, n_queries=parsed.n,
                total_tokens=stats["total_tokens"], content_sha256=sha, data_file=stored,
                columns=parsed.columns, has_ids=parsed.ids is not None,
                has_timestamps=parsed.timestamps is not None, stats=stats, histograms=hist,
                created_by=user if (user is not None and user.is_authenticated) else None,
            )
            if on_written is not None:
                on_written(workload)
            return workload
    except BaseException:
        default_storage.delete(stored)
        raise


def import_workload(source, name: str, *, description: str = "", user=None, filename: str = "",
                    progress: Callable[[int], None] | None = None):
    """Parse, validate and store a workload file; all or nothing (``progress``: see parse_workload)."""
    from scheduling.models import Workload

    if name and Workload.objects.filter(name=name.strip()).exists():
        raise WorkloadFileError(f"A workload named {name.strip()!r} exists already; choose another name.",
                                field="name")
    parsed = parse_workload(source, filename=filename, progress=progress)
    return store_workload(parsed, name, description=description, user=user)


def load_workload_arrays(workload, with_meta: bool = False) -> WorkloadArrays:
    """The stored arrays of a workload (``Workload.load_arrays``: the row knows its file)."""
    return workload.load_arrays(with_meta=with_meta)


def stats_rows(workload) -> list[dict]:
    """Histogram rows for CSV/JSON download."""
    rows = []
    for key in ("tin", "tout"):
        h = workload.histograms.get(key) or {}
        edges, counts = h.get("edges", []), h.get("counts", [])
        for i, c in enumerate(counts):
            rows.append({"column": key, "bin_low": edges[i], "bin_high": edges[i + 1], "count": c})
    return rows


def gzip_bytes(data: bytes) -> bytes:
    """Used by tests and the benchmark to make .csv.gz inputs."""
    return gzip.compress(data)
