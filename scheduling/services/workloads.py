"""Workload files: parse and validate a CSV of token counts, store it, summarise it.

A workload is stored as the Workload row plus one ``.npz`` of its columns (see
scheduling/models.py for why; written uncompressed since issue 11, older
compressed files load the same). Parsing is vectorised with pandas: token
columns are parsed straight to integers and checked whole (``_parse_fast``),
falling back to a string path that words every error; every row is checked and
the import is all-or-nothing: nothing is written unless every row is valid.

Row numbers in error messages are spreadsheet rows: the header is row 1, the
first query row 2 (files with quoted line breaks inside a field are rare for
token-count CSVs; the row number then counts records, not physical lines).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import tempfile
import warnings
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

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


class WorkloadFileError(ValueError):
    """A workload file was refused. ``errors`` lists dicts {row, column, message}
    (at most MAX_REPORTED_ERRORS); ``total`` counts every problem found."""

    def __init__(self, message: str, errors: list[dict] | None = None, total: int | None = None,
                 field: str = "file"):
        self.errors = errors or []
        self.total = total if total is not None else len(self.errors)
        self.field = field
        super().__init__(message)

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
    return int(getattr(settings, "MAX_UPLOAD_MB", 200)) * 1024 * 1024


def _read_bytes(source, max_bytes: int) -> tuple[bytes, str]:
    """The raw bytes of a path, bytes or file-like object, refusing oversize input early."""
    mb = max_bytes / (1024 * 1024)
    too_big = (f"The file is larger than the upload limit of {mb:g} MB "
               "(ENERGYWEB_MAX_UPLOAD_MB); split it or compress it with gzip.")
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise WorkloadFileError(too_big)
        return bytes(source), ""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise WorkloadFileError(f"No such file: {path}")
        if path.stat().st_size > max_bytes:
            raise WorkloadFileError(too_big)
        return path.read_bytes(), path.name
    size = getattr(source, "size", None)
    if size is not None and size > max_bytes:
        raise WorkloadFileError(too_big)
    if hasattr(source, "seek"):
        source.seek(0)
    data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WorkloadFileError(too_big)
    return data, os.path.basename(getattr(source, "name", "") or "")


def _decompress(raw: bytes, max_bytes: int) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    # A decompressed size cap guards against gzip bombs; token CSVs compress ~4x.
    limit = 10 * max_bytes
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise WorkloadFileError(f"The file looks gzip-compressed but cannot be decompressed: {exc}.") from exc
    if len(out) > limit:
        raise WorkloadFileError(f"The decompressed file exceeds {limit // (1024 * 1024)} MB.")
    if not d.eof:
        raise WorkloadFileError("The gzip file is truncated.")
    return out


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WorkloadFileError(
            f"The file is not UTF-8 text (invalid byte at row {line}); save it as UTF-8 CSV.",
            [{"row": line, "column": None, "message": "invalid UTF-8 byte"}]) from exc


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    # Sniff on whole lines only: a cut line confuses the sniffer.
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _match_columns(header: list[str]) -> dict[str, str]:
    normalised = {h.strip().lower(): h for h in header}
    found = {}
    for key, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in normalised:
                found[key] = normalised[alias]
                break
    return found


def parse_workload(source, *, max_context: int | None = None, max_bytes: int | None = None,
                   filename: str = "") -> ParsedWorkload:
    """Read and validate a workload CSV (optionally gzip) from a path, bytes or an upload."""
    import pandas as pd

    max_bytes = max_bytes or _max_bytes()
    max_context = max_context or int(getattr(settings, "MAX_CONTEXT_TOKENS", 131072))
    raw, name = _read_bytes(source, max_bytes)
    filename = filename or name
    # isspace() stops at the first other byte; strip() would copy the whole file.
    if not raw or raw.isspace():
        raise WorkloadFileError("The file is empty: it needs a header row and at least one query row.",
                                [{"row": 1, "column": None, "message": "empty file"}])
    data = _decompress(raw, max_bytes)
    del raw
    fast = _parse_fast(data, max_context, filename)
    if fast is not None:
        return fast
    text = _decode(data)
    del data
    if not text.strip():
        raise WorkloadFileError("The file is empty: it needs a header row and at least one query row.",
                                [{"row": 1, "column": None, "message": "empty file"}])
    delimiter, columns = _header(text)
    try:
        # All columns are read (not usecols) so that a row with too many fields is an error.
        with warnings.catch_warnings():
            # pandas only warns (and drops the value) when the first row is longer than the header.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str,
                                keep_default_na=False, na_filter=False, skip_blank_lines=True,
                                engine="c", on_bad_lines="error", index_col=False)
    except pd.errors.ParserWarning as exc:
        msg = "row 2 has more fields than the header; a value would be dropped"
        raise WorkloadFileError(f"The CSV is malformed: {msg}.",
                                [{"row": 2, "column": None, "message": msg}]) from exc
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().replace("Error tokenizing data. C error: ", "").rstrip(".")

        m = re.search(r"line (\d+)", msg)
        row = int(m.group(1)) if m else None
        raise WorkloadFileError(f"The CSV is malformed: {msg}.",
                                [{"row": row, "column": None, "message": msg}]) from exc
    except (ValueError, UnicodeError) as exc:
        raise WorkloadFileError(f"The CSV cannot be read: {exc}.") from exc
    if len(frame) == 0:
        raise WorkloadFileError("The file has a header but no query rows.",
                                [{"row": 2, "column": None, "message": "no data rows"}])
    return _validate(frame, columns, max_context, filename)


def _header(text: str) -> tuple[str, dict[str, str]]:
    """The delimiter and the matched columns, or the missing-column error.

    ``text`` may be only the start of the file (at least 65,537 characters when
    the file is longer, so the sniffer sees the same cut sample)."""
    delimiter = _sniff_delimiter(text)
    header_line = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
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
        hint = "" if delimiter in text[:2000] else " (is the delimiter one of , ; tab | ?)"
        raise WorkloadFileError(
            f"Missing required column{'s' if len(missing) > 1 else ''}: the header (row 1) has "
            f"{shown}{hint}.", errors)
    return delimiter, columns


_BOM = b"\xef\xbb\xbf"
# The header line must lie within this many bytes of the start for the fast path.
_HEAD_BYTES = 1 << 20


def _parse_fast(data: bytes, max_context: int, filename: str) -> ParsedWorkload | None:
    """The common case in one vectorised pass: token columns parsed straight to integers.

    Reading every field as a Python string (the path below, which words each
    error) costs ~100 bytes and a microsecond per field: 30 s and 1.3 GB at
    10M queries. Here the C parser writes int64 columns and whole-column checks
    confirm that every row is valid. On anything unusual (non-ASCII text, a
    field that is not a plain integer, a bad value, a malformed row) it returns
    None and the caller runs the string path, so what is accepted, and every
    error message, stay exactly as they were.
    """
    import pandas as pd

    start = len(_BOM) if data.startswith(_BOM) else 0
    # ASCII (after a BOM) decodes to the same characters byte for byte, so the
    # header and sniffing can work on a prefix instead of the decoded file.
    if not data.isascii() and not (start and data[start:].isascii()):
        return None
    head = data[start:start + _HEAD_BYTES].decode("ascii")
    if not head.strip():
        return None
    if "\n" not in head.lstrip("\r\n") and len(data) - start > _HEAD_BYTES:
        return None
    delimiter, columns = _header(head[:65537])
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
            frame = pd.read_csv(io.BytesIO(data[start:] if start else data), sep=delimiter, dtype=dtypes,
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
    return ParsedWorkload(tin=tin.astype(np.int32), tout=tout.astype(np.int32), ids=ids,
                          timestamps=timestamps, columns=dict(columns), source_filename=filename)


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


def _validate(frame: pd.DataFrame, columns: dict, max_context: int, filename: str) -> ParsedWorkload:
    import pandas as pd

    n = len(frame)
    rows = np.arange(n) + 2  # spreadsheet row numbers: header is row 1
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
        raise WorkloadFileError(
            f"{total_errors} invalid value{'s' if total_errors != 1 else ''} in "
            f"{filename or 'the file'}; nothing was imported.", errors, total_errors)

    ids = None
    if "id" in columns:
        ids = frame[columns["id"]].astype(str).to_numpy(dtype=str)
    return ParsedWorkload(tin=tin.astype(np.int32), tout=tout.astype(np.int32), ids=ids,
                          timestamps=timestamps, columns={k: v for k, v in columns.items()},
                          source_filename=filename)


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


def _summarise_counted(arr: np.ndarray, lo: int, hi: int) -> tuple[dict, dict]:
    counts = np.bincount(arr, minlength=hi + 1)
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
    # The array's own buffer: tobytes() would copy 40 MB a column at 10M queries.
    h.update(memoryview(np.ascontiguousarray(tin, dtype="<i4")).cast("B"))
    h.update(memoryview(np.ascontiguousarray(tout, dtype="<i4")).cast("B"))
    return h.hexdigest()


# --- storage ---------------------------------------------------------------------------


@dataclass
class WorkloadArrays:
    tin: np.ndarray
    tout: np.ndarray
    ids: np.ndarray | None = None
    timestamps: np.ndarray | None = None


def _write_npz(parsed: ParsedWorkload, sha: str, name: str | None = None) -> str:
    arrays = {"tin": parsed.tin.astype(np.int32), "tout": parsed.tout.astype(np.int32)}
    if parsed.ids is not None:
        arrays["ids"] = parsed.ids
    if parsed.timestamps is not None:
        arrays["timestamps"] = parsed.timestamps.astype("datetime64[ns]").astype(np.int64)
    with tempfile.NamedTemporaryFile(suffix=".npz", delete=False) as tmp:
        # Uncompressed: at 10M queries zlib took 28 s to write and 1.5 s to load
        # (33 MB), the plain file 0.2 s and 0.4 s (80 MB, 8 bytes a query).
        np.savez(tmp, **arrays)
        tmp_path = tmp.name
    try:
        with open(tmp_path, "rb") as fh:
            return default_storage.save(name or f"workloads/{sha[:16]}.npz", File(fh))
    finally:
        os.unlink(tmp_path)


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


def import_workload(source, name: str, *, description: str = "", user=None, filename: str = ""):
    """Parse, validate and store a workload file; all or nothing."""
    from scheduling.models import Workload

    if name and Workload.objects.filter(name=name.strip()).exists():
        raise WorkloadFileError(f"A workload named {name.strip()!r} exists already; choose another name.",
                                field="name")
    parsed = parse_workload(source, filename=filename)
    return store_workload(parsed, name, description=description, user=user)


def load_workload_arrays(workload, with_meta: bool = False) -> WorkloadArrays:
    with default_storage.open(workload.data_file.name, "rb") as fh, np.load(fh) as data:
        tin = data["tin"].astype(np.int64)
        tout = data["tout"].astype(np.int64)
        ids = data["ids"] if with_meta and "ids" in data.files else None
        ts = data["timestamps"].astype("datetime64[ns]") if with_meta and "timestamps" in data.files else None
    return WorkloadArrays(tin=tin, tout=tout, ids=ids, timestamps=ts)


def delete_workload_file(workload) -> None:
    if workload.data_file and default_storage.exists(workload.data_file.name):
        default_storage.delete(workload.data_file.name)


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
