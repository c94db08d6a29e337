"""Import measurement files (CSV, optionally gzip-compressed) all-or-nothing.

Two column vocabularies are accepted, matched case-insensitively:

* the project's own columns (``OWN_COLUMNS``; the upload page lists them with their meaning);
* the paper's columns as Wilkins et al. (2024) published them (``Phase``,
  ``Runtime (s)``, ``GPU Energy (J)`` ...). When a ``Phase`` column exists only
  ``start-inference*`` rows (Swing, Palmetto) and ``inference-*`` rows (M1-Pro) are
  measurements; the others (tokenizer, model load) are counted as skipped. The
  M1-Pro files' ``Number of Output Tokens`` is the requested maximum, not what was
  generated: on ``inference-*`` rows with a ``Total Number of Tokens`` column, output =
  total − input; and where their ``Iteration`` is 0 on every row (the M1-Pro grid files,
  not a repetition index) it marks no warm-up. README "Importing measurements" has the
  mapping.

The file is streamed (energyweb/tabular.py) and validated a chunk at a time;
valid chunks are written as they come, inside one transaction that a bad row
anywhere rolls back, so the import stays all-or-nothing with memory bounded by
the chunk. Errors name the data row (1-based), the file line and the column. A
file whose SHA-256 matches an earlier batch adds nothing.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import queue
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify

from energyweb.tabular import (
    DELIMITER_WORDS,
    Reader,
    TableError,
    is_seekable,
    reader_from_settings,
    report,
    sha256_of,
    sniff_delimiter,
)
from energyweb.validation import MAX_NAME_LENGTH, MeasurementRules
from profiling.choices import EnergySource
from profiling.meters.base import COMPONENTS, ENERGY_FIELDS, SOURCE_FIELDS
from profiling.models import LLM, Hardware, HardwareAlias, ImportBatch, LLMAlias, Measurement, RefitJob
from profiling.services.copy_keys import keys_checked_once
from profiling.services.measurement_fast import column_types, copy_frame, encode_frame, frame_rows, parse_fast
from profiling.services.row_hashes import RowDigest, overlap, pack, row_hashes

MAX_REPORTED_ERRORS = 50
INSERT_BATCH = 5000
# The wake-up task of an owed refit (profiling/models/refits.py): derived from the model label.
REFIT_TASK = RefitJob.job_task
# Phase prefixes of measurement rows: Swing/Palmetto files, and the M1-Pro files.
INFERENCE_PHASES = ("start-inference", "inference-")

# The project's own columns: canonical name -> what it holds.
OWN_COLUMNS = {
    "llm": "LLM name, slug or alias (or pass --llm)",
    "hardware": "hardware name, slug or alias (or pass --hardware)",
    "input_tokens": "input (prompt) tokens, whole number > 0",
    "output_tokens": "output (generated) tokens, whole number > 0",
    "batch_size": "queries per batch, whole number >= 1 (default 1)",
    "runtime_s": "wall-clock runtime in seconds, > 0",
    "gpu_energy_j": "GPU energy in joules, >= 0 (empty: not measured)",
    "cpu_energy_j": "CPU energy in joules, >= 0 (empty: not measured)",
    "dram_energy_j": "DRAM energy in joules, >= 0 (empty: not measured)",
    "gpu_energy_source": "where the GPU figure came from (default imported)",
    "cpu_energy_source": "where the CPU figure came from (default imported)",
    "dram_energy_source": "where the DRAM figure came from (default imported)",
    "iteration": "repetition index, whole number >= 0; 0 is the warm-up (without this column none is)",
    "is_warmup": "optional true/false overriding the iteration-0 rule",
    "measured_at": "ISO 8601 timestamp or Unix seconds (UTC when no offset)",
}

# The paper's column names (lower-cased) -> canonical names.
PAPER_COLUMNS = {
    "phase": "phase",
    "model": "llm",
    "system": "hardware",
    "number of input tokens": "input_tokens",
    "number of output tokens": "output_tokens",
    "batch size": "batch_size",
    "runtime (s)": "runtime_s",
    "gpu energy (j)": "gpu_energy_j",
    "cpu energy (j)": "cpu_energy_j",
    "dram energy (j)": "dram_energy_j",
    "iteration": "iteration",
    # The paper's M1-Pro files (energy-inference, plots/*/...-M1-Pro.csv) name these differently.
    "system name": "hardware",
    "total number of tokens": "total_tokens",
}

SOURCE_VALUES = set(EnergySource.values)
ESTIMATED = EnergySource.estimated()
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f", ""}

# Columns written per measurement, in this order (COPY and bulk_create share it).
DB_FIELDS = (
    "llm_id", "hardware_id", "import_batch_id", "input_tokens", "output_tokens", "batch_size",
    "runtime_s", *ENERGY_FIELDS, "total_energy_j", *SOURCE_FIELDS, "is_estimated",
    "is_warmup", "iteration", "measured_at",
)


@dataclass
class RowError:
    message: str
    row: int | None = None  # 1-based data row (the header is not a row)
    line: int | None = None  # physical line in the file
    column: str | None = None  # the column as the file names it

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row} (line {self.line})")
        if self.column:
            where.append(f"column {self.column!r}")
        return (", ".join(where) + ": " if where else "") + self.message


class ImportFailed(Exception):
    """Nothing was written. ``errors`` holds at most MAX_REPORTED_ERRORS of ``error_count``."""

    def __init__(self, errors: list[RowError], error_count: int | None = None, duplicate_of=None):
        self.errors = errors[:MAX_REPORTED_ERRORS]
        self.error_count = error_count if error_count is not None else len(errors)
        self.duplicate_of = duplicate_of
        super().__init__(self.summary())

    @property
    def more(self) -> int:
        return self.error_count - len(self.errors)

    @property
    def status_code(self) -> int:
        """The API's answer (energyweb/api/exceptions.py): 409 when the rows were imported before, else 400."""
        return 409 if self.duplicate_of is not None else 400

    def summary(self) -> str:
        lines = [str(e) for e in self.errors]
        if self.more:
            lines.append(f"... and {self.more} more error(s)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        data = {"errors": [e.as_dict() for e in self.errors], "error_count": self.error_count}
        if self.duplicate_of is not None:
            data["duplicate_of"] = self.duplicate_of.pk
        return data


@dataclass
class ImportSummary:
    batch_id: int
    filename: str
    rows: int
    skipped_phases: int
    warmups: int
    estimated: int
    pairs: list[dict]
    created_llms: list[str] = field(default_factory=list)
    created_hardware: list[str] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    warning_count: int = 0
    refits_requested: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


# --- reading --------------------------------------------------------------------


# With the read-ahead thread the first chunk is this fraction of the others and each next one
# doubles (tabular.Reader's first_chunk_lines): the server's COPY starts once the small first chunk
# is parsed, and the thread parses the next, twice as large, while the server takes this one.
FIRST_CHUNK_SHARE = 16


def _reader(source) -> Reader:
    first = max(1, settings.IMPORT_CHUNK_ROWS // FIRST_CHUNK_SHARE) if settings.IMPORT_READ_AHEAD else None
    return reader_from_settings(
        source, max_bytes=None,
        max_decompressed=settings.MAX_IMPORT_UNCOMPRESSED_MB * 1024 * 1024, first_chunk_lines=first)


def _reader_error(exc: TableError, rows_done: int, shown: dict[int, str]) -> ImportFailed:
    """The shared reader's refusal in its one wording (energyweb.tabular.report), with this
    importer's row, line and column where the reader says where."""
    msg = report(exc, size_setting="ENERGYWEB_MAX_IMPORT_UNCOMPRESSED_MB")
    if exc.kind in ("decompressed", "ratio"):
        return ImportFailed([RowError(f"{msg} Nothing was imported.")])
    if exc.kind == "field":
        # Every line before it has been read: the header (when there was one) and rows_done rows.
        row = rows_done + 1 if shown else None
        return ImportFailed([RowError(f"This record cannot be read: {msg}.", row, exc.line, shown.get(exc.column))])
    if exc.kind == "record":
        return ImportFailed([RowError(f"This record cannot be read: {msg}.", line=exc.line)])
    if exc.kind == "header":
        return ImportFailed([RowError(msg, line=1)])
    return ImportFailed([RowError(msg)])


# --- value parsing ----------------------------------------------------------------------


def _number(text: str) -> float:
    value = float(text)
    if math.isnan(value) or math.isinf(value):
        raise ValueError
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = _number(text)  # "32.0" as pandas writes integers next to NaNs
        if value != int(value):
            raise ValueError("not whole") from None
        return int(value)


def _timestamp(text: str):
    try:
        return datetime.fromtimestamp(_number(text), tz=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    value = parse_datetime(text)
    if value is None:
        day = parse_date(text)
        if day is None:
            raise ValueError
        value = datetime(day.year, day.month, day.day)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def _whole_cell(text: str) -> tuple[int | None, str | None]:
    """A whole number, or the reason it is not (its range is checked by energyweb.validation)."""
    text = text.strip()
    if not text:
        return None, "Missing value."
    try:
        value = _whole(text)
    except (ValueError, OverflowError):
        return None, f"{text[:40]!r} is not a whole number."
    return value, None


# --- name resolution --------------------------------------------------------------------


class _Names:
    """Case-insensitive lookup by name, slug or alias."""

    def __init__(self, model, alias_model, fk: str):
        self.model = model
        self.map: dict[str, int] = {}
        for pk, name, slug in model.objects.values_list("pk", "name", "slug"):
            self.map.setdefault(slug.lower(), pk)
            self.map.setdefault(name.lower(), pk)
        for alias, pk in alias_model.objects.values_list("alias", fk):
            self.map.setdefault(alias.lower(), pk)
        # The exact name wins over someone else's alias or slug.
        for pk, name in model.objects.values_list("pk", "name"):
            self.map[name.lower()] = pk

    def get(self, text: str) -> int | None:
        key = text.strip().lower()
        pk = self.map.get(key)
        if pk is None:
            pk = self.map.get(slugify(text))
        return pk


def _guess_parameters_b(name: str) -> float:
    """Billions of parameters from a name such as "Llama-2 (13B)" or "Mixtral (8x7B)"."""
    m = re.search(r"(\d+)\s*x\s*(\d+(?:\.\d+)?)\s*b\b", name, re.I)
    if m:
        return float(m.group(1)) * float(m.group(2))
    m = re.search(r"(\d+(?:\.\d+)?)\s*b\b", name, re.I)
    return float(m.group(1)) if m else 1.0


# --- the import ---------------------------------------------------------------------------


def import_measurements(source, *, filename: str | None = None, llm: str | None = None,
                        hardware: str | None = None, create_missing: bool = False,
                        negative_energy: str = "drop", user=None, allow_duplicate: bool = False,
                        enqueue_refits: bool = True, progress=None, on_written=None) -> ImportSummary:
    """Validate every row of ``source``, then write all of it or nothing.

    ``llm``/``hardware`` name the pair for files without those columns (they
    override the columns when both are given). ``negative_energy`` decides what
    a negative energy reading does: "drop" (default) keeps the row without that
    component and reports a warning, "error" rejects the file. Real RAPL logs
    contain such readings (the paper's multi-system.csv has ten), and one bad
    CPU counter should not discard a valid GPU reading.

    The file is streamed (energyweb/tabular.py): each chunk of about 100,000 rows is
    validated and, while no error has been seen, written (COPY on PostgreSQL), all inside
    one transaction; a bad row anywhere stops the writing, the rest is still validated for
    the report, and the transaction is rolled back: nothing is written.

    Duplicates are found by content (row_hashes.py): rows already stored by an earlier batch, all
    of them or some, refuse the file naming that batch (409), unless ``allow_duplicate``.

    A background import passes ``progress(rows_validated)`` (called after each chunk) and
    ``on_written(batch)``; the latter runs inside the import's transaction, so the job can
    record its batch under its claim and an import whose worker lost the claim rolls back
    instead of committing.
    """
    if negative_energy not in ("drop", "error"):
        raise ValueError("negative_energy must be 'drop' or 'error'")
    started = time.perf_counter()
    reader = _reader(source)
    filename = (filename or reader.name or "upload.csv")[:255]
    # A duplicate is refused before any parsing when the source can be read twice (a path, bytes,
    # an upload: one more pass of hashing); otherwise by the hash the stream gives at its end.
    digest = None
    if is_seekable(source):
        try:
            digest = sha256_of(source)
        except OSError:
            digest = None
        earlier = ImportBatch.objects.filter(file_sha256=digest).first() if digest and not allow_duplicate else None
        if earlier is not None:
            raise _duplicate(earlier)
    writer = _Writer(filename, digest, user, allow_duplicate=allow_duplicate)
    try:
        with transaction.atomic():
            parsed = _parse(reader, llm=llm, hardware=hardware, create_missing=create_missing,
                            negative_energy=negative_energy, writer=writer, progress=progress)
            digest = reader.sha256
            batch = writer.finish(parsed, digest)
            if on_written is not None:
                on_written(batch)
    except IntegrityError:
        # Two uploads of the same rows at once: the other transaction won the unique content hash.
        earlier = ImportBatch.objects.filter(content_hash=writer.content_hash, duplicate_of=None).first()
        if earlier is not None:
            raise _duplicate(earlier) from None
        raise

    pair_counts = writer.pairs
    llm_names = dict(LLM.objects.filter(pk__in={p[0] for p in pair_counts}).values_list("pk", "name"))
    hw_names = dict(Hardware.objects.filter(pk__in={p[1] for p in pair_counts}).values_list("pk", "name"))
    refits = 0
    if enqueue_refits:
        from profiling.services.refits import request_refit

        for llm_id, hw_id in sorted(pair_counts):
            request_refit(llm_id, hw_id, reason="import")  # a row: owed even if the broker is down
            refits += 1
    return ImportSummary(
        batch_id=batch.pk, filename=filename, rows=batch.row_count,
        skipped_phases=batch.skipped_rows, warmups=writer.warmups, estimated=writer.estimated,
        pairs=[{"llm": llm_names[a], "llm_id": a, "hardware": hw_names[b], "hardware_id": b, "rows": n}
               for (a, b), n in sorted(pair_counts.items())],
        created_llms=parsed["created_llms"], created_hardware=parsed["created_hw"],
        warnings=[w.as_dict() for w in parsed["warnings"][:MAX_REPORTED_ERRORS]],
        warning_count=parsed["warning_count"], refits_requested=refits,
        seconds=round(time.perf_counter() - started, 3),
    )


ANYWAY = 'Tick "Import anyway" (API: allow_duplicate) to add them again.'


def _duplicate(earlier: ImportBatch) -> ImportFailed:
    when = timezone.localtime(earlier.created).strftime("%Y-%m-%d %H:%M")
    return ImportFailed([RowError(
        f"These rows were already imported as batch #{earlier.pk} ({earlier.filename}, {when}, "
        f"{earlier.row_count} rows), whatever the file's encoding, delimiter, column order or compression; "
        f"nothing was added. Delete that batch to import it again, or: {ANYWAY}")],
        duplicate_of=earlier)


def _overlap(earlier: ImportBatch, count: int, total: int, first: int) -> ImportFailed:
    when = timezone.localtime(earlier.created).strftime("%Y-%m-%d %H:%M")
    return ImportFailed([RowError(
        f"{count:,} of this file's {total:,} measurement rows are already stored by batch #{earlier.pk} "
        f"({earlier.filename}, {when}); the first is the file's measurement row {first + 1:,}. Nothing was "
        f"added. {ANYWAY}")], duplicate_of=earlier)


class _Writer:
    """Writes validated chunks into one batch (inside the caller's transaction).

    Without a filename (``_parse`` called on its own: tests, the benchmark) it writes nothing and,
    with ``keep``, collects the rows, so that what the importer would write can be compared."""

    def __init__(self, filename: str | None, digest: str | None, user=None, keep: bool = True,
                 allow_duplicate: bool = False):
        self.filename, self.digest, self.user, self.keep = filename, digest, user, keep
        self.allow_duplicate = allow_duplicate
        self.rowdigest = RowDigest()  # the canonical rows' hash, fed per chunk as it is written
        self.content_hash = None
        self.batch = None
        self.pairs: Counter = Counter()
        self.warmups = self.estimated = self.rows = 0
        self.collected: list = []  # collect mode: DataFrames and row lists, in file order
        # The binary COPY's column types, read with the first vectorised chunk; with the batch, what
        # the read-ahead thread needs to encode the next chunks while this one is sent (encode()).
        self.postgres = connection.vendor == "postgresql"
        self.types: list[str] | None = None

    def _batch(self) -> ImportBatch:
        if self.batch is None:
            # The hash of a stream is known at its end: a unique placeholder until then.
            self.batch = ImportBatch.objects.create(
                filename=self.filename, content_hash=f"pending-{uuid.uuid4().hex}", file_sha256=self.digest or "",
                row_count=0, skipped_rows=0, created_by=self.user)
        return self.batch

    def encode(self, frame):
        """The frame as binary COPY data, or None where it cannot be made yet (before the first
        vectorised chunk is written, off PostgreSQL, in collect mode) or at all: then ``frame()``
        does what it always did. No database: the read-ahead thread calls it."""
        batch, types = self.batch, self.types
        if self.filename is None or not self.postgres or batch is None or types is None:
            return None
        return encode_frame(frame, batch.pk, _db_column_list(), types, key_columns=(0, 1, 2))

    def frame(self, frame, hashes=None, encoded=None) -> None:
        """The vectorised path's rows (all names known): COPY on PostgreSQL, one call per chunk.
        ``hashes`` and ``encoded``: the frame's row hashes and binary COPY data, when the read-ahead
        thread has made them."""
        self.rows += len(frame)
        if self.filename is None:
            if self.keep:
                self.collected.append(frame)
            return
        batch = self._batch()
        self.rowdigest.update(frame, hashes)
        counts = frame.groupby(["llm_id", "hardware_id"]).size()
        self.pairs.update({(int(a), int(b)): int(n) for (a, b), n in counts.items()})
        self.warmups += int(frame["is_warmup"].sum())
        self.estimated += int(frame["is_estimated"].sum())
        if self.postgres:
            table = Measurement._meta.db_table
            with connection.cursor() as cursor:
                if self.types is None:
                    self.types = column_types(cursor, table, _db_column_list())
                copy_frame(cursor, table, _db_columns(), frame, batch.pk, encoded=encoded)
        else:
            self._insert(frame_rows(frame))

    def row_lists(self, rows: list[list]) -> None:
        """The row path's rows, names resolved to ids."""
        self.rows += len(rows)
        if self.filename is None:
            if self.keep:
                self.collected.append(rows)
            return
        if not rows:
            return
        batch = self._batch()
        self.rowdigest.update(rows)
        for r in rows:
            self.pairs[(r[0], r[1])] += 1
            self.warmups += r[14]
            self.estimated += r[13]
        if connection.vendor == "postgresql":
            _copy_rows([[*r[:2], batch.pk, *r[2:]] for r in rows])
        else:
            self._insert(rows)

    def _insert(self, rows: list[list]) -> None:
        batch = self._batch()
        for start in range(0, len(rows), INSERT_BATCH):
            Measurement.objects.bulk_create(
                [Measurement(**dict(zip(DB_FIELDS, [*r[:2], batch.pk, *r[2:]], strict=True)))
                 for r in rows[start:start + INSERT_BATCH]], batch_size=INSERT_BATCH)

    def finish(self, parsed: dict, digest: str) -> ImportBatch:
        batch = self._batch()
        hashes = self.rowdigest.hashes()
        # A file of no rows has no content to compare: its bytes name it.
        self.content_hash = self.rowdigest.hexdigest if len(hashes) else f"empty-{digest}"
        pairs = sorted([int(a), int(b)] for a, b in self.pairs)
        earlier = None
        if not self.allow_duplicate:
            earlier = ImportBatch.objects.filter(content_hash=self.content_hash, duplicate_of=None).exclude(
                pk=batch.pk).first()
            if earlier is not None:
                raise _duplicate(earlier)  # rolls the whole import back
            self._refuse_overlap(batch, hashes, pairs)
        else:
            earlier = ImportBatch.objects.filter(content_hash=self.content_hash).exclude(pk=batch.pk).order_by(
                "pk").first()
        batch.content_hash = self.content_hash
        batch.file_sha256 = digest
        batch.row_hashes = pack(hashes) if len(hashes) else None
        batch.pairs = pairs
        # Imported anyway: marked so the unique content rule leaves it be (and says over which batch).
        batch.duplicate_of = earlier
        batch.row_count = self.rows
        batch.skipped_rows = parsed["skipped"]
        batch.warmup_rows, batch.estimated_rows = self.warmups, self.estimated
        batch.save(update_fields=["content_hash", "file_sha256", "row_hashes", "pairs", "duplicate_of", "row_count",
                                  "skipped_rows", "warmup_rows", "estimated_rows"])
        return batch

    @staticmethod
    def _refuse_overlap(batch, hashes, pairs) -> None:
        """Rows stored by an earlier batch of the same (llm, hardware) pairs: binary search in each such
        batch's sorted row hashes (a million-row batch: 8 MB read, a few hundred ms)."""
        if not len(hashes):
            return
        mine = {tuple(p) for p in pairs}
        candidates = [pk for pk, theirs in ImportBatch.objects.exclude(pk=batch.pk).filter(
            row_hashes__isnull=False).values_list("pk", "pairs") if mine & {tuple(p) for p in theirs or []}]
        for pk in candidates:
            packed = ImportBatch.objects.filter(pk=pk).values_list("row_hashes", flat=True).first()
            count, first = overlap(hashes, bytes(packed or b""))
            if count:
                raise _overlap(ImportBatch.objects.get(pk=pk), count, len(hashes), first)


def _parse(source, *, llm, hardware, create_missing, negative_energy, writer: _Writer | None = None,
           progress=None) -> dict:
    """Validate ``source`` (a path, bytes, a file object or a tabular Reader) chunk by chunk.

    Each chunk is tried by ``parse_fast`` and, when it declines, by the row path, which words
    every error and warning. Valid chunks go to ``writer`` while no error has been seen. With no
    writer the rows are returned: "frame" (every chunk took the fast path) or "rows"."""
    reader = source if isinstance(source, Reader) else _reader(source)
    collect = writer is None
    if collect:
        writer = _Writer(None, None)
    state = _RowState(llm=llm, hardware=hardware, create_missing=create_missing,
                      negative_energy=negative_energy, filename=writer.filename)
    try:
        with _Ahead(reader, state, writer) as ahead:
            for chunk, fast in ahead:
                state.feed(chunk, writer, fast)
                del chunk, fast  # before the next one is taken: at most two chunks are held
                if progress is not None and state.header is not None:
                    progress(state.row_no)
    except TableError as exc:
        raise _reader_error(exc, state.row_no, state.shown_by_index) from None
    result = state.finish()
    if collect:
        parts = writer.collected
        import pandas as pd

        if parts and all(isinstance(p, pd.DataFrame) for p in parts):
            result["frame"] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        else:
            result["rows"] = [r for p in parts for r in (frame_rows(p) if isinstance(p, pd.DataFrame) else p)]
    return result


_NOT_TRIED = object()  # a chunk the read-ahead thread did not parse: feed() parses it
_END = object()


class _Ahead:
    """The file's chunks, each with its vectorised parse, made by a thread a chunk ahead.

    Reading (decode, hash, chunking), ``parse_fast``, the row hashes and the binary COPY encoding
    touch no database and much of their time is in C code that releases the GIL (pandas' tokenizer
    and number parsers, numpy), as does psycopg while it waits for the server: so the next chunk is
    made ready while PostgreSQL takes this one, and the caller's thread only checks keys and sends
    bytes. The server's COPY is the slower side (index maintenance: ~0.3 s of server CPU per
    100,000 rows against ~0.15 s of parsing), so with the chunks ready it never waits; the reader's
    first chunk is 1/FIRST_CHUNK_SHARE of the others and each next one doubles, so the COPY starts
    after a small parse and the thread keeps ahead from there. The thread only reads ``state`` (the
    header, once the first chunk has set it, and the name maps) and ``writer`` (the batch and the
    column types, once the first chunk is written: ``_Writer.encode``); everything with the
    database (names created, rows written, the row path) stays on the caller's thread, in its
    transaction. Order is kept (one queue), the reader's errors arrive in their place, and the
    thread starts a chunk only once the caller is done with the one before the chunk it is writing:
    at most two chunks are held at a time (memory stays bounded).

    On by default (``IMPORT_READ_AHEAD``, ENERGYWEB_IMPORT_READ_AHEAD): a 1M-row import on the
    2-core box 3.0-4.2 s against 4.2-4.6 s one chunk at a time, for ~140 MB more at its peak
    (docs/BENCHMARKS.md, issue 18). Off, chunks are read and parsed in turn on the caller's thread."""

    def __init__(self, reader: Reader, state, writer: _Writer):
        self.reader, self.state, self.writer = reader, state, writer
        self.enabled = bool(settings.IMPORT_READ_AHEAD)
        self.queue: queue.Queue = queue.Queue()
        self.slots = threading.Semaphore(2)  # chunks held: the one being written, the next
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="measurement-import-read-ahead", daemon=True)

    def __enter__(self):
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if not self.enabled:
            return False
        self.stop.set()
        self.state.header_read.set()
        self.slots.release()  # a thread waiting for a slot sees the stop
        self.thread.join()
        return False

    def __iter__(self):
        if not self.enabled:
            for chunk in self.reader.chunks():
                yield chunk, _NOT_TRIED
            return
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            del item
            # The first chunk has been fed: a header it held is known (or there was none yet).
            self.state.header_read.set()
            self.slots.release()

    def _put(self, item) -> bool:
        if self.stop.is_set():
            return False
        self.queue.put(item)
        return True

    def _run(self) -> None:
        try:
            chunks = self.reader.chunks()
            for k in itertools.count():
                self.slots.acquire()
                if self.stop.is_set():
                    return
                chunk = next(chunks, None)
                if chunk is None:
                    break
                fast = _NOT_TRIED
                if k:
                    self.state.header_read.wait()
                    if self.stop.is_set():
                        return
                    if self.state.fast_ready:
                        fast = self.state.fast(chunk)
                        if fast is not None:
                            # Content hashes and the COPY data here too: the writer's thread then
                            # only checks keys and sends, and the server is kept busy.
                            fast["hashes"] = row_hashes(fast["frame"])
                            fast["encoded"] = self.writer.encode(fast["frame"])
                if not self._put((chunk, fast)):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the caller, raised there in its place
            self._put(exc)


class _RowState:
    """What the validation of a file carries from one chunk to the next."""

    def __init__(self, *, llm, hardware, create_missing, negative_energy, filename):
        self.llm, self.hardware, self.filename = llm, hardware, filename
        self.create_missing, self.negative_energy = create_missing, negative_energy
        self.header: list[str] | None = None
        self.header_line = ""
        self.shown_by_index: dict[int, str] = {}
        self.errors: list[RowError] = []
        self.name_errors: list[RowError] = []  # unknown or uncreatable names, reported last
        self.warnings: list[RowError] = []
        self.warning_count = 0
        self.error_count = 0
        self.skipped = 0
        self.count = 0
        self.row_no = 0
        self.unknown_llm: dict[str, tuple[int, int]] = {}  # name -> (row, line) where first seen
        self.unknown_hw: dict[str, tuple[int, int]] = {}
        self.created_llms: list[str] = []
        self.created_hw: list[str] = []
        self.created_by_slug: dict[tuple[str, str], int] = {}
        # Set once the header and the column map are known (the read-ahead thread waits for it).
        self.header_read = threading.Event()
        self.fast_ready = False

    @property
    def failed(self) -> bool:
        # An unknown name that will not be created makes the file bad too: stop writing.
        return bool(self.error_count or self.name_errors
                    or (not self.create_missing and (self.unknown_llm or self.unknown_hw)))

    def _start(self, text: str, line_offset: int):
        """Read the header from the first chunk with text; the csv reader, placed after it."""
        # Physical lines as csv counts them (\n, \r\n, \r), so reported line numbers match editors.
        header_line = next((line for line in io.StringIO(text, newline=None) if line.strip()), None)
        if header_line is None:
            return None
        header_line = header_line.rstrip("\n")
        delimiter = sniff_delimiter(header_line)
        if delimiter is None:
            raise ImportFailed([RowError(
                f"Only one column was detected in the header ({header_line[:120]!r}): the file must be "
                f"delimited by {DELIMITER_WORDS}.", column=None)])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(r for r in reader if r and any(c.strip() for c in r))
        except csv.Error as exc:
            raise ImportFailed([RowError(f"The header line cannot be read: {exc}.",
                                         line=line_offset + reader.line_num)]) from None
        self.delimiter = delimiter
        self.header = header
        self.header_line = header_line
        self._columns(header)
        return reader

    def _columns(self, header: list[str]) -> None:
        llm, hardware = self.llm, self.hardware
        columns: dict[str, int] = {}  # canonical name -> index
        shown: dict[str, str] = {}  # canonical name -> header text in the file
        for index, title in enumerate(header):
            key = title.strip().lower()
            canonical = PAPER_COLUMNS.get(key) or (key if key in OWN_COLUMNS else None)
            if canonical and canonical not in columns:
                columns[canonical] = index
                shown[canonical] = title.strip()
            self.shown_by_index[index] = title.strip()

        errors: list[RowError] = []
        found = ", ".join(repr(h.strip()) for h in header)
        required = ["input_tokens", "output_tokens", "runtime_s"]
        if not llm:
            required.append("llm")
        if not hardware:
            required.append("hardware")
        for col in required:
            if col not in columns:
                paper = next((k for k, v in PAPER_COLUMNS.items() if v == col), None)
                alt = f" (or the paper's {paper.title()!r})" if paper else ""
                errors.append(RowError(f"Missing required column {col!r}{alt}. Columns found: {found}.",
                                       column=col))
        if not any(c in columns for c in ENERGY_FIELDS):
            errors.append(RowError(
                "No energy column: give at least one of gpu_energy_j, cpu_energy_j, dram_energy_j "
                f"(or the paper's 'GPU Energy (J)', 'CPU Energy (J)'). Columns found: {found}.",
                column="gpu_energy_j"))
        if errors:
            raise ImportFailed(errors)

        self.llms = _Names(LLM, LLMAlias, "llm_id")
        self.hws = _Names(Hardware, HardwareAlias, "hardware_id")
        self.forced_llm = self.forced_hw = None
        if llm:
            self.forced_llm = self.llms.get(llm)
            if self.forced_llm is None:
                errors.append(RowError(f"Unknown LLM {llm!r} given as an option.", column="llm"))
        if hardware:
            self.forced_hw = self.hws.get(hardware)
            if self.forced_hw is None:
                errors.append(RowError(f"Unknown hardware {hardware!r} given as an option.", column="hardware"))
        if errors:
            raise ImportFailed(errors)
        self.columns, self.shown = columns, shown
        self.rules = MeasurementRules()  # the same rules as Measurement.clean(), limits read once

    def _fast(self, text: str) -> dict | None:
        return parse_fast(text, delimiter=self.delimiter, width=len(self.header), idx=self.columns,
                          forced_llm=self.forced_llm, forced_hw=self.forced_hw, llms=self.llms, hws=self.hws,
                          rules=self.rules, source_values=SOURCE_VALUES, estimated_sources=ESTIMATED,
                          true_words=TRUE_WORDS, false_words=FALSE_WORDS)

    def fast(self, chunk) -> dict | None:
        """The vectorised parse of a chunk after the header's (no database: the read-ahead thread
        calls it). A name created by the row path meanwhile may be missed: then None, and the row
        path, which finds it, takes the chunk, with the same result."""
        return self._fast(self.header_line + "\n" + chunk.text)

    def feed(self, chunk, writer: _Writer, fast=_NOT_TRIED) -> None:
        """Validate a chunk and hand its rows to the writer; ``fast`` is its ``fast()`` when the
        read-ahead thread has already made it."""
        line_offset = chunk.first_line - 1
        if self.header is None:
            reader = self._start(chunk.text, line_offset)
            if reader is None:
                return  # blank so far
            self.fast_ready = True
            self.header_read.set()
            fast = self._fast(chunk.text)
        else:
            reader = csv.reader(io.StringIO(chunk.text, newline=""), delimiter=self.delimiter)
            if fast is _NOT_TRIED:
                fast = self.fast(chunk)
        if fast is not None:
            self.row_no += fast["count"] + fast["skipped"]
            self.skipped += fast["skipped"]
            self.count += fast["count"]
            if not self.failed:
                writer.frame(fast["frame"], fast.get("hashes"), fast.get("encoded"))
            return
        rows = self._rows(reader, line_offset, writer)
        if not self.failed:
            writer.row_lists(rows)

    def _bad(self, message, column_key, line):
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(message, self.row_no, line, self.shown.get(column_key, column_key)))

    def _resolved(self, record, index, kind: str, forced, line: int, bad) -> tuple[int | None, bool]:
        """(id, ok) of a row's LLM or hardware name; ``forced`` when the file has no such column."""
        if index is None:
            return forced, True
        text = record[index].strip()
        if not text:
            bad("Missing value.", kind)
            return None, False
        if len(text) > MAX_NAME_LENGTH:
            bad(f"A name of {len(text):,} characters; at most {MAX_NAME_LENGTH}.", kind)
            return None, False
        pk = self._name(text, line, kind)
        return pk, pk is not None

    def _name(self, text: str, line: int, kind: str) -> int | None:
        """The id of a named LLM (kind "llm") or hardware; an unknown name is remembered and, with
        create-missing, created at once (inside the import's transaction)."""
        names, unknown = (self.llms, self.unknown_llm) if kind == "llm" else (self.hws, self.unknown_hw)
        pk = names.get(text)
        if pk is not None or text in unknown:
            return pk
        unknown[text] = (self.row_no, line)
        if not self.create_missing:
            return None
        label = "LLM" if kind == "llm" else "hardware"
        column = self.shown.get(kind, kind)
        problem = None
        if not slugify(text):
            problem = f"Cannot create {label} {text!r}: a name needs a letter or digit."
        elif not text.isprintable():  # control characters (NUL breaks PostgreSQL text)
            problem = f"Cannot create {label} {text[:40]!r}: a name of printable characters only."
        elif len(text) > 120:  # the models' name length: never truncate a name silently
            problem = f"Cannot create {label} {text[:40]!r}...: a new name has at most 120 characters."
        elif clash := self._clash(text, kind):
            problem = f"Cannot create {label} {text[:40]!r}: {clash}"
        if problem:
            self.name_errors.append(RowError(problem, self.row_no, line, column))
            return None
        # Names sharing a slug ("New Cluster", "new-cluster") share one row.
        key = (kind, slugify(text))
        if key not in self.created_by_slug:
            if kind == "llm":
                self.created_by_slug[key] = LLM.objects.create(
                    name=text[:120], weights=text[:300], parameters_b=_guess_parameters_b(text),
                    # No notes field on LLM: say where the row came from where people look.
                    accuracy_source=f"created by import of {self.filename}; weights and size are "
                                    "placeholders"[:300],
                ).pk
                self.created_llms.append(text)
            else:
                self.created_by_slug[key] = Hardware.objects.create(
                    name=text[:120], notes=f"created by import of {self.filename}").pk
                self.created_hw.append(text)
        names.map[text.strip().lower()] = self.created_by_slug[key]
        return self.created_by_slug[key]

    def _clash(self, text: str, kind: str) -> str | None:
        """The models' rule (profiling.models.inventory.name_clash): a new name must not share a slug
        with, or read the same as, an existing row ("Llama 2 7B" beside "Llama-2 (7B)" failed on
        the unique slug as a 500)."""
        from energyweb.names import normalise
        from profiling.models.inventory import name_clash

        if (kind, slugify(text)) in self.created_by_slug:
            return None  # created earlier in this file: the rows share it
        return name_clash((LLM if kind == "llm" else Hardware)(name=normalise(text)[:120]))

    def _rows(self, reader, line_offset: int, writer) -> list[list]:
        """The row path over one chunk: every error and warning worded; the valid rows returned."""
        columns, rules, negative_energy = self.columns, self.rules, self.negative_energy
        idx = columns.get
        i_phase, i_llm, i_hw = idx("phase"), idx("llm"), idx("hardware")
        i_total = idx("total_tokens")
        i_tin, i_tout, i_batch = idx("input_tokens"), idx("output_tokens"), idx("batch_size")
        i_rt, i_iter, i_warm, i_when = idx("runtime_s"), idx("iteration"), idx("is_warmup"), idx("measured_at")
        energy_idx = [(c, idx(f"{c}_energy_j"), idx(f"{c}_energy_source")) for c in COMPONENTS]
        forced_llm, forced_hw = self.forced_llm, self.forced_hw
        if forced_llm is not None:
            i_llm = None
        if forced_hw is not None:
            i_hw = None
        shown = self.shown
        width = len(self.header)
        rows: list[list] = []
        m1_rows: list[int] = []  # rows of inference-* phases whose warm-up flag came from Iteration
        line = line_offset

        def bad(message, column_key):
            self._bad(message, column_key, line)

        def warn(warning: RowError) -> None:
            self.warning_count += 1
            if len(self.warnings) < MAX_REPORTED_ERRORS:
                self.warnings.append(warning)

        def records():
            # The csv module raises on a field past its size limit (a runaway quote, a pasted blob);
            # that is the file's fault, reported at its row, never a server error.
            while True:
                try:
                    yield next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise ImportFailed([RowError(
                        f"This record cannot be read: {exc} (a field longer than {csv.field_size_limit():,} "
                        "characters or an unclosed quote).", self.row_no + 1, line_offset + reader.line_num)],
                        self.error_count + 1) from None

        for record in records():
            self.row_no += 1
            line = line_offset + reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                self.row_no -= 1  # blank lines are not rows
                continue
            if len(record) < width:
                record = record + [""] * (width - len(record))
            elif len(record) > width and any(c.strip() for c in record[width:]):
                # A value past the last header column would be dropped silently: refuse the row.
                bad(f"This row has {len(record)} fields but the header has {width}; "
                    f"field {width + 1} is {record[width].strip()[:40]!r}.", f"field {width + 1}")
                continue
            phase = record[i_phase].strip().lower() if i_phase is not None else ""
            if i_phase is not None and not phase.startswith(INFERENCE_PHASES):
                self.skipped += 1
                continue
            ok = True
            if i_total is not None and phase.startswith("inference-"):
                # The M1-Pro files' output label is the requested maximum (e.g. 512 for a
                # generation that stopped at 2 tokens); the total counts what was generated.
                # Swing's start-inference rows keep their label: the paper's fits used it.
                total_tokens, problem = _whole_cell(record[i_total])
                tin_given, _ = _whole_cell(record[i_tin])
                if problem:
                    bad(problem, "total_tokens")
                    ok = False
                elif tin_given is not None:
                    if total_tokens <= tin_given:
                        bad(f"Total tokens {total_tokens} is not above the {tin_given} input tokens, so no "
                            "output was generated.", "total_tokens")
                        ok = False
                    else:
                        record = list(record)
                        record[i_tout] = str(total_tokens - tin_given)

            checked = {}  # parsed values for the shared rules (energyweb.validation)
            tin, problem = _whole_cell(record[i_tin])
            if problem:
                bad(problem, "input_tokens")
                ok = False
            else:
                checked["input_tokens"] = tin
            tout, problem = _whole_cell(record[i_tout])
            if problem:
                bad(problem, "output_tokens")
                ok = False
            else:
                checked["output_tokens"] = tout
            batch = iteration = None
            if i_batch is not None and record[i_batch].strip():
                batch, problem = _whole_cell(record[i_batch])
                if problem:
                    bad(problem, "batch_size")
                    ok = False
                else:
                    checked["batch_size"] = batch
            else:
                batch = 1
            if i_iter is not None and record[i_iter].strip():
                iteration, problem = _whole_cell(record[i_iter])
                if problem:
                    bad(problem, "iteration")
                    ok = False
                else:
                    checked["iteration"] = iteration
            else:
                iteration = 0
            text = record[i_rt].strip()
            runtime = None
            try:
                runtime = _number(text)
                checked["runtime_s"] = runtime
            except ValueError:
                bad("Missing value." if not text else f"{text[:40]!r} is not a finite number.", "runtime_s")
                ok = False

            values = []
            for comp, i_val, i_src in energy_idx:
                value = source = None
                if i_val is not None and record[i_val].strip():
                    text = record[i_val].strip()
                    try:
                        value = _number(text)
                    except ValueError:
                        bad(f"{text!r} is not a number.", f"{comp}_energy_j")
                        ok = False
                        value = None
                    if value is not None and value < 0:
                        if negative_energy == "error":
                            bad(f"Energy {text} J is negative.", f"{comp}_energy_j")
                            ok = False
                        else:
                            warn(RowError(
                                f"Energy {text} J is negative (a counter artefact): this component "
                                "is recorded as not measured for this row.",
                                self.row_no, line, shown[f"{comp}_energy_j"]))
                        value = None
                    if value is not None:
                        checked[f"{comp}_energy_j"] = value
                        source = EnergySource.IMPORTED.value
                        if i_src is not None and record[i_src].strip():
                            given = record[i_src].strip().lower()
                            if given not in SOURCE_VALUES:
                                bad(f"Unknown energy source {record[i_src].strip()!r}; use one of "
                                    f"{', '.join(sorted(SOURCE_VALUES))}.", f"{comp}_energy_source")
                                ok = False
                            source = given
                values.append((value, source))
            if not (ok and rules.accepts(tin, tout, batch, iteration, runtime, values[0][0], values[1][0], values[2][0])):
                for key, problem in rules.problems(checked).items():
                    bad(problem, key)
                    ok = False
            if ok and all(v is None for v, _ in values):
                bad("No energy value in this row (GPU, CPU and DRAM are all empty or invalid).",
                    next(c for c in ENERGY_FIELDS if c in columns))
                ok = False

            warmup = iteration == 0 if (i_iter is not None and iteration is not None) else False
            m1_row = phase.startswith("inference-") and i_iter is not None and i_warm is None
            if i_warm is not None:
                text = record[i_warm].strip().lower()
                if text in TRUE_WORDS:
                    warmup = True
                elif text in FALSE_WORDS:
                    warmup = warmup if text == "" else False
                else:
                    bad(f"{record[i_warm].strip()!r} is not true or false.", "is_warmup")
                    ok = False
            when = None
            if i_when is not None and record[i_when].strip():
                try:
                    when = _timestamp(record[i_when].strip())
                except ValueError:
                    bad(f"{record[i_when].strip()!r} is not a date and time (ISO 8601 or Unix seconds).",
                        "measured_at")
                    ok = False

            llm_id, llm_ok = self._resolved(record, i_llm, "llm", forced_llm, line, bad)
            hw_id, hw_ok = self._resolved(record, i_hw, "hardware", forced_hw, line, bad)
            ok = ok and llm_ok and hw_ok
            if not ok or self.failed:
                continue  # keep validating, stop collecting rows once the file is known bad
            (gpu, gsrc), (cpu, csrc), (dram, dsrc) = values
            total = sum(v for v, _ in values if v is not None)
            estimated = any(s in ESTIMATED for _, s in values)
            if m1_row:
                m1_rows.append(len(rows))
            rows.append([llm_id, hw_id, tin, tout, batch, runtime, gpu, cpu, dram, total,
                         gsrc or "", csrc or "", dsrc or "", estimated, warmup, iteration, when])

        if m1_rows and all(rows[k][15] == 0 for k in m1_rows):
            # The M1-Pro grid files write Iteration 0 on every row (the M1-Pro sweeps count
            # 0..6): a column that never varies is no repetition index, so it marks no warm-up.
            # Judged per chunk of ~100,000 rows; the paper's M1-Pro files hold hundreds.
            for k in m1_rows:
                rows[k][14] = False
        self.count += len(rows)
        return rows

    def finish(self) -> dict:
        errors, error_count, shown = self.errors, self.error_count, getattr(self, "shown", {})
        if self.header is None:
            raise ImportFailed([RowError("The file is empty: expected a header line and data rows.")])
        errors.extend(self.name_errors)
        error_count += len(self.name_errors)
        if not self.create_missing:
            for label, unknown, key in (("LLM", self.unknown_llm, "llm"), ("hardware", self.unknown_hw, "hardware")):
                if unknown:
                    listed = ", ".join(f"{n!r} (first on row {r})" for n, (r, _) in unknown.items())
                    error_count += 1
                    errors.insert(0, RowError(
                        f"Unknown {label} name(s): {listed}. Add them (or an alias) in the admin, "
                        "or import with create-missing.", column=shown.get(key, key)))
        if error_count:
            raise ImportFailed(errors, error_count)
        if self.row_no == 0:
            raise ImportFailed([RowError("The file has a header but no data rows.")])
        if not self.count:
            raise ImportFailed([RowError(
                f"No inference rows: all {self.skipped} rows have a Phase other than start-inference* "
                "or inference-*.",
                column=shown.get("phase"))])
        return {"count": self.count, "skipped": self.skipped, "warnings": self.warnings,
                "warning_count": self.warning_count, "created_llms": self.created_llms,
                "created_hw": self.created_hw}


def _db_column_list() -> list[str]:
    return [c.strip() for c in _db_columns().split(",")]


def _db_columns() -> str:
    return ", ".join(Measurement._meta.get_field(f.removesuffix("_id") if f.endswith("_id") else f).column
                     for f in DB_FIELDS)


def _copy_rows(rows: list[list]) -> None:
    """PostgreSQL COPY: an order of magnitude faster than INSERT for a million rows."""
    table = Measurement._meta.db_table
    cols = _db_columns()
    columns = [c.strip() for c in cols.split(",")]
    with connection.cursor() as cursor:
        # Foreign keys once per distinct key, not per row, where the role may (copy_keys).
        with keys_checked_once(cursor, table, columns, lambda j: list({r[j] for r in rows} - {None})):
            with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
