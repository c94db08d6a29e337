"""Import measurement files (CSV, optionally gzip-compressed) all-or-nothing.

Two column vocabularies are accepted, matched case-insensitively:

* the project's own columns (``OWN_COLUMNS``; the upload page lists them with their meaning);
* the paper's columns as Wilkins et al. (2024) published them (``Phase``,
  ``Runtime (s)``, ``GPU Energy (J)`` ...). When a ``Phase`` column exists only
  ``start-inference*`` rows are measurements; the others (tokenizer, model load)
  are counted as skipped.

Every row is validated before anything is written; errors name the data row
(1-based), the file line and the column. The write is one transaction. A file
whose SHA-256 matches an earlier batch adds nothing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify

from energyweb.validation import MAX_NAME_LENGTH, MeasurementRules
from profiling.choices import EnergySource
from profiling.models import LLM, Hardware, HardwareAlias, ImportBatch, LLMAlias, Measurement
from profiling.services.copy_keys import keys_checked_once
from profiling.services.measurement_fast import copy_frame, frame_rows, parse_fast

MAX_REPORTED_ERRORS = 50
INSERT_BATCH = 5000
REFIT_TASK = "profiling.refit_pair"
DELIMITERS = (",", ";", "\t")

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
}

COMPONENTS = ("gpu", "cpu", "dram")
ENERGY_COLUMNS = tuple(f"{c}_energy_j" for c in COMPONENTS)
SOURCE_VALUES = set(EnergySource.values)
ESTIMATED = EnergySource.estimated()
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f", ""}

# Columns written per measurement, in this order (COPY and bulk_create share it).
DB_FIELDS = (
    "llm_id", "hardware_id", "import_batch_id", "input_tokens", "output_tokens", "batch_size",
    "runtime_s", "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "total_energy_j",
    "gpu_energy_source", "cpu_energy_source", "dram_energy_source", "is_estimated",
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


def read_source(source) -> tuple[bytes, str]:
    """Raw bytes and a filename from a path, bytes, or an (uploaded) file object."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        return path.read_bytes(), path.name
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), "upload.csv"
    if hasattr(source, "chunks"):  # Django UploadedFile: avoid one giant read of a temp file
        data = b"".join(source.chunks())
    else:
        data = source.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    name = getattr(source, "name", None) or "upload.csv"
    return data, Path(str(name)).name


def decode(raw: bytes) -> str:
    if raw[:2] == b"\x1f\x8b":
        limit = getattr(settings, "MAX_IMPORT_UNCOMPRESSED_MB", 1024) * 1024 * 1024
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
                raw = fh.read(limit + 1)
            if len(raw) > limit:
                raise ImportFailed([RowError(
                    f"The file expands to more than {limit // 2**20} MB when uncompressed; split it.")])
        except (OSError, EOFError) as exc:
            raise ImportFailed([RowError(f"The file looks gzip-compressed but cannot be read: {exc}.")]) from None
    try:
        return raw.decode("utf-8-sig")  # strips a byte-order mark when there is one
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFailed([RowError(
            f"The file is not UTF-8 text (byte {exc.start} on line {line}); save it as UTF-8 CSV.")]) from None


def sniff_delimiter(header: str) -> str | None:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


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
                        negative_energy: str = "drop", user=None,
                        enqueue_refits: bool = True, progress=None, on_written=None) -> ImportSummary:
    """Validate every row of ``source``, then write all of it or nothing.

    ``llm``/``hardware`` name the pair for files without those columns (they
    override the columns when both are given). ``negative_energy`` decides what
    a negative energy reading does: "drop" (default) keeps the row without that
    component and reports a warning, "error" rejects the file. Real RAPL logs
    contain such readings (the paper's multi-system.csv has ten), and one bad
    CPU counter should not discard a valid GPU reading.

    A background import passes ``progress(rows_validated)`` and ``on_written(batch)``; the
    latter runs inside the import's transaction, so the job can record its batch under its
    claim and an import whose worker lost the claim rolls back instead of committing.
    """
    if negative_energy not in ("drop", "error"):
        raise ValueError("negative_energy must be 'drop' or 'error'")
    started = time.perf_counter()
    raw, name = read_source(source)
    filename = (filename or name)[:255]
    digest = hashlib.sha256(raw).hexdigest()
    earlier = ImportBatch.objects.filter(content_hash=digest).first()
    if earlier is not None:
        raise _duplicate(earlier)
    if not raw.strip():
        raise ImportFailed([RowError("The file is empty: expected a header line and data rows.")])

    parsed = _parse(decode(raw), llm=llm, hardware=hardware, create_missing=create_missing,
                    negative_energy=negative_energy)
    if progress is not None:
        progress(parsed["count"] + parsed["skipped"])
    try:
        with transaction.atomic():
            batch, created_llms, created_hw = _write(parsed, filename, digest, user)
            if on_written is not None:
                on_written(batch)
    except IntegrityError:
        # Two uploads of one file at once: the other transaction won the unique hash.
        earlier = ImportBatch.objects.filter(content_hash=digest).first()
        if earlier is not None:
            raise _duplicate(earlier) from None
        raise

    pair_counts = parsed["pairs"]
    llm_names = dict(LLM.objects.filter(pk__in={p[0] for p in pair_counts}).values_list("pk", "name"))
    hw_names = dict(Hardware.objects.filter(pk__in={p[1] for p in pair_counts}).values_list("pk", "name"))
    refits = 0
    if enqueue_refits:
        from energyweb.queue import enqueue_on_commit

        for llm_id, hw_id in sorted(pair_counts):
            enqueue_on_commit(REFIT_TASK, args=[llm_id, hw_id])
            refits += 1
    return ImportSummary(
        batch_id=batch.pk, filename=filename, rows=batch.row_count,
        skipped_phases=batch.skipped_rows, warmups=parsed["warmups"], estimated=parsed["estimated"],
        pairs=[{"llm": llm_names[a], "llm_id": a, "hardware": hw_names[b], "hardware_id": b, "rows": n}
               for (a, b), n in sorted(pair_counts.items())],
        created_llms=created_llms, created_hardware=created_hw,
        warnings=[w.as_dict() for w in parsed["warnings"][:MAX_REPORTED_ERRORS]],
        warning_count=len(parsed["warnings"]), refits_requested=refits,
        seconds=round(time.perf_counter() - started, 3),
    )


def _duplicate(earlier: ImportBatch) -> ImportFailed:
    when = timezone.localtime(earlier.created).strftime("%Y-%m-%d %H:%M")
    return ImportFailed([RowError(
        f"This file was already imported as batch #{earlier.pk} ({earlier.filename}, {when}, "
        f"{earlier.row_count} rows); nothing was added. Delete that batch to import it again.")],
        duplicate_of=earlier)


def _parse(text: str, *, llm, hardware, create_missing, negative_energy) -> dict:
    # Physical lines as csv counts them (\n, \r\n, \r), so reported line numbers match editors.
    header_line = next((line for line in io.StringIO(text, newline=None) if line.strip()), None)
    if header_line is None:
        raise ImportFailed([RowError("The file is empty: expected a header line and data rows.")])
    header_line = header_line.rstrip("\n")
    delimiter = sniff_delimiter(header_line)
    if delimiter is None:
        raise ImportFailed([RowError(
            f"Only one column was detected in the header ({header_line[:120]!r}): the file must be "
            "delimited by commas, semicolons or tabs.", column=None)])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(r for r in reader if r and any(c.strip() for c in r))
    except csv.Error as exc:
        raise ImportFailed([RowError(f"The header line cannot be read: {exc}.", line=reader.line_num)]) from None
    columns: dict[str, int] = {}  # canonical name -> index
    shown: dict[str, str] = {}  # canonical name -> header text in the file
    for index, title in enumerate(header):
        key = title.strip().lower()
        canonical = PAPER_COLUMNS.get(key) or (key if key in OWN_COLUMNS else None)
        if canonical and canonical not in columns:
            columns[canonical] = index
            shown[canonical] = title.strip()

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
    if not any(c in columns for c in ENERGY_COLUMNS):
        errors.append(RowError(
            "No energy column: give at least one of gpu_energy_j, cpu_energy_j, dram_energy_j "
            f"(or the paper's 'GPU Energy (J)', 'CPU Energy (J)'). Columns found: {found}.",
            column="gpu_energy_j"))
    if errors:
        raise ImportFailed(errors)

    llms = _Names(LLM, LLMAlias, "llm_id")
    hws = _Names(Hardware, HardwareAlias, "hardware_id")
    forced_llm = forced_hw = None
    if llm:
        forced_llm = llms.get(llm)
        if forced_llm is None:
            errors.append(RowError(f"Unknown LLM {llm!r} given as an option.", column="llm"))
    if hardware:
        forced_hw = hws.get(hardware)
        if forced_hw is None:
            errors.append(RowError(f"Unknown hardware {hardware!r} given as an option.", column="hardware"))
    if errors:
        raise ImportFailed(errors)

    idx = columns.get
    i_phase, i_llm, i_hw = idx("phase"), idx("llm"), idx("hardware")
    i_tin, i_tout, i_batch = idx("input_tokens"), idx("output_tokens"), idx("batch_size")
    i_rt, i_iter, i_warm, i_when = idx("runtime_s"), idx("iteration"), idx("is_warmup"), idx("measured_at")
    energy_idx = [(c, idx(f"{c}_energy_j"), idx(f"{c}_energy_source")) for c in COMPONENTS]
    if forced_llm is not None:
        i_llm = None
    if forced_hw is not None:
        i_hw = None

    rules = MeasurementRules()  # the same rules as Measurement.clean(), limits read once
    fast = parse_fast(text, delimiter=delimiter, width=len(header), idx=columns, forced_llm=forced_llm,
                      forced_hw=forced_hw, llms=llms, hws=hws, rules=rules, source_values=SOURCE_VALUES,
                      estimated_sources=ESTIMATED, true_words=TRUE_WORDS, false_words=FALSE_WORDS)
    if fast is not None:
        return fast

    rows: list[list] = []  # validated rows; names still unresolved (resolved below)
    warnings: list[RowError] = []
    skipped = 0
    error_count = 0
    unknown_llm: dict[str, tuple[int, int]] = {}  # name -> (row, line) where first seen
    unknown_hw: dict[str, tuple[int, int]] = {}
    width = len(header)
    row_no = 0

    def bad(message, column_key):
        nonlocal error_count
        error_count += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(RowError(message, row_no, line, shown.get(column_key, column_key)))

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
                    "characters or an unclosed quote).", row_no + 1, reader.line_num)],
                    error_count + 1) from None

    for record in records():
        row_no += 1
        line = reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            row_no -= 1  # blank lines are not rows
            continue
        if len(record) < width:
            record = record + [""] * (width - len(record))
        elif len(record) > width and any(c.strip() for c in record[width:]):
            # A value past the last header column would be dropped silently: refuse the row.
            bad(f"This row has {len(record)} fields but the header has {width}; "
                f"field {width + 1} is {record[width].strip()[:40]!r}.", f"field {width + 1}")
            continue
        if i_phase is not None and not record[i_phase].strip().lower().startswith("start-inference"):
            skipped += 1
            continue
        ok = True

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
                        warnings.append(RowError(
                            f"Energy {text} J is negative (a counter artefact): this component "
                            "is recorded as not measured for this row.",
                            row_no, line, shown[f"{comp}_energy_j"]))
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
                next(c for c in ENERGY_COLUMNS if c in columns))
            ok = False

        warmup = iteration == 0 if (i_iter is not None and iteration is not None) else False
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

        llm_id, hw_id = forced_llm, forced_hw
        if i_llm is not None:
            text = record[i_llm].strip()
            if not text:
                bad("Missing value.", "llm")
                ok = False
            elif len(text) > MAX_NAME_LENGTH:
                bad(f"A name of {len(text):,} characters; at most {MAX_NAME_LENGTH}.", "llm")
                ok = False
            else:
                llm_id = llms.get(text)
                if llm_id is None:
                    unknown_llm.setdefault(text, (row_no, line))
                    llm_id = text
        if i_hw is not None:
            text = record[i_hw].strip()
            if not text:
                bad("Missing value.", "hardware")
                ok = False
            elif len(text) > MAX_NAME_LENGTH:
                bad(f"A name of {len(text):,} characters; at most {MAX_NAME_LENGTH}.", "hardware")
                ok = False
            else:
                hw_id = hws.get(text)
                if hw_id is None:
                    unknown_hw.setdefault(text, (row_no, line))
                    hw_id = text
        if not ok or error_count:
            continue  # keep validating, stop collecting rows once the file is known bad
        (gpu, gsrc), (cpu, csrc), (dram, dsrc) = values
        total = sum(v for v, _ in values if v is not None)
        estimated = any(s in ESTIMATED for _, s in values)
        rows.append([llm_id, hw_id, tin, tout, batch, runtime, gpu, cpu, dram, total,
                     gsrc or "", csrc or "", dsrc or "", estimated, warmup, iteration, when])

    if create_missing:
        for label, unknown, key in (("LLM", unknown_llm, "llm"), ("hardware", unknown_hw, "hardware")):
            for name, (row, at_line) in unknown.items():
                if not slugify(name):
                    error_count += 1
                    errors.append(RowError(f"Cannot create {label} {name!r}: a name needs a letter or digit.",
                                           row, at_line, shown.get(key, key)))
                elif not name.isprintable():  # control characters (NUL breaks PostgreSQL text)
                    error_count += 1
                    errors.append(RowError(f"Cannot create {label} {name[:40]!r}: a name of printable "
                                           "characters only.", row, at_line, shown.get(key, key)))
                elif len(name) > 120:  # the models' name length: never truncate a name silently
                    error_count += 1
                    errors.append(RowError(f"Cannot create {label} {name[:40]!r}...: a new name has at most "
                                           "120 characters.", row, at_line, shown.get(key, key)))
    if (unknown_llm or unknown_hw) and not create_missing:
        for label, unknown, key in (("LLM", unknown_llm, "llm"), ("hardware", unknown_hw, "hardware")):
            if unknown:
                listed = ", ".join(f"{n!r} (first on row {r})" for n, (r, _) in unknown.items())
                error_count += 1
                errors.insert(0, RowError(
                    f"Unknown {label} name(s): {listed}. Add them (or an alias) in the admin, "
                    "or import with create-missing.", column=shown.get(key, key)))
    if error_count:
        raise ImportFailed(errors, error_count)
    if row_no == 0:
        raise ImportFailed([RowError("The file has a header but no data rows.")])
    if not rows:
        raise ImportFailed([RowError(
            f"No inference rows: all {skipped} rows have a Phase other than start-inference*.",
            column=shown.get("phase"))])
    return {"rows": rows, "count": len(rows), "skipped": skipped, "warnings": warnings,
            "unknown_llm": list(unknown_llm), "unknown_hw": list(unknown_hw)}


def _create_missing(parsed: dict, filename: str) -> tuple[dict, dict, list, list]:
    """Rows for unknown names; names sharing a slug ("New Cluster", "new-cluster") share one row."""
    llm_ids: dict[str, int] = {}
    hw_ids: dict[str, int] = {}
    by_slug: dict[tuple[str, str], int] = {}
    created_llms: list[str] = []
    created_hw: list[str] = []
    for name in parsed["unknown_llm"]:
        key = ("llm", slugify(name))
        if key not in by_slug:
            by_slug[key] = LLM.objects.create(
                name=name[:120], weights=name[:300], parameters_b=_guess_parameters_b(name),
                # No notes field on LLM: say where the row came from where people look.
                accuracy_source=f"created by import of {filename}; weights and size are placeholders"[:300],
            ).pk
            created_llms.append(name)
        llm_ids[name] = by_slug[key]
    for name in parsed["unknown_hw"]:
        key = ("hw", slugify(name))
        if key not in by_slug:
            by_slug[key] = Hardware.objects.create(name=name[:120], notes=f"created by import of {filename}").pk
            created_hw.append(name)
        hw_ids[name] = by_slug[key]
    return llm_ids, hw_ids, created_llms, created_hw


def _write(parsed: dict, filename: str, digest: str, user):
    if "frame" in parsed:
        return _write_frame(parsed, filename, digest, user)
    llm_ids, hw_ids, created_llms, created_hw = _create_missing(parsed, filename)
    rows = parsed["rows"]
    batch = ImportBatch.objects.create(filename=filename, content_hash=digest, row_count=len(rows),
                                       skipped_rows=parsed["skipped"], created_by=user)
    pairs: Counter = Counter()
    warmups = estimated = 0
    for r in rows:
        if isinstance(r[0], str):
            r[0] = llm_ids[r[0]]
        if isinstance(r[1], str):
            r[1] = hw_ids[r[1]]
        pairs[(r[0], r[1])] += 1
        warmups += r[14]
        estimated += r[13]
        r.insert(2, batch.pk)
    if connection.vendor == "postgresql":
        _copy_rows(rows)
    else:
        for start in range(0, len(rows), INSERT_BATCH):
            Measurement.objects.bulk_create(
                [Measurement(**dict(zip(DB_FIELDS, r, strict=True))) for r in rows[start:start + INSERT_BATCH]],
                batch_size=INSERT_BATCH)
    parsed.update(pairs=pairs, warmups=warmups, estimated=estimated)
    return batch, created_llms, created_hw


def _write_frame(parsed: dict, filename: str, digest: str, user):
    """The vectorised path's rows (all names known, nothing to create): binary COPY on PostgreSQL."""
    frame = parsed["frame"]
    batch = ImportBatch.objects.create(filename=filename, content_hash=digest, row_count=len(frame),
                                       skipped_rows=parsed["skipped"], created_by=user)
    counts = frame.groupby(["llm_id", "hardware_id"]).size()
    pairs = Counter({(int(a), int(b)): int(n) for (a, b), n in counts.items()})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy_frame(cursor, Measurement._meta.db_table, _db_columns(), frame, batch.pk)
    else:
        rows = frame_rows(frame)
        for r in rows:
            r.insert(2, batch.pk)
        for start in range(0, len(rows), INSERT_BATCH):
            Measurement.objects.bulk_create(
                [Measurement(**dict(zip(DB_FIELDS, r, strict=True))) for r in rows[start:start + INSERT_BATCH]],
                batch_size=INSERT_BATCH)
    parsed.update(pairs=pairs, warmups=int(frame["is_warmup"].sum()), estimated=int(frame["is_estimated"].sum()))
    return batch, [], []


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
