"""One streaming reader for the CSV importers (measurements and workloads).

The importers used to read the whole upload, decompress it whole, decode it whole and
parse it whole: a 3.8 MB gzip that expanded to 2.5 GB was refused only once the web worker
held 4.2 GB. Here the file is read in blocks, decompressed incrementally (counting what
comes out, refusing past a size cap and a compression-ratio cap), decoded incrementally,
and handed to the importer as text chunks of whole records, each with the absolute line
number of its first line, so that memory stays bounded by the chunk size whatever the file
holds, and the importers' row/line numbers stay those of the whole file.

Pure Python: no Django. The importers pass the limits from settings and turn a
``TableError`` into their own error types (they word their messages differently).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

READ_BLOCK = 1 << 20  # raw bytes read at a time
# Below this much decompressed output the ratio cap does not apply: small files of repeated
# rows (tests, a header and a few identical lines) compress far better than any bomb needs.
# Small enough that a bomb is refused before its first chunk of rows is parsed or written.
RATIO_GRACE = 4 << 20
DEFAULT_CHUNK = 8 << 20  # characters of text per chunk: ~100,000 measurement rows
# Lines per chunk at most: a chunk of tiny rows would otherwise hold millions of rows, and the
# importers' per-row structures (DataFrame columns, the row path's lists) grow with rows, not text.
DEFAULT_CHUNK_LINES = 100_000
# Columns a header may have: the importers read a handful. A 600 KB header of 300,000 repeated
# columns held a web worker past its 120 s timeout, an 8 MB one workers for minutes at 2-4 GB;
# the header is checked as soon as its line (or the first block of it) is read.
DEFAULT_MAX_COLUMNS = 256
# The delimiters every importer accepts (workloads and measurements alike), in the order that
# breaks a tie, and how an error message names them.
DELIMITERS = ",;\t|"
DELIMITER_WORDS = "commas, semicolons, tabs or pipes"


class TableError(ValueError):
    """The file cannot be read. ``kind`` says why (``missing``, ``too_big``, ``gzip``,
    ``decompressed``, ``ratio``, ``encoding``, ``field``, ``record``); ``line`` (1-based, physical) and
    ``offset`` (decoded byte offset) say where, when known."""

    def __init__(self, message: str, kind: str, *, line: int | None = None, offset: int | None = None,
                 column: int | None = None, limit: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.limit = limit  # the cap that was passed: bytes (too_big, decompressed) or the ratio
        self.line = line
        self.offset = offset
        # 0-based field index, for ``field``. The lines before that record have all been yielded
        # when it is raised, so the importer's own count names its row.
        self.column = column


@dataclass
class Chunk:
    text: str  # whole records only; the first chunk begins at the start of the file
    first_line: int  # physical line number of text's first line
    index: int


def count_lines(text: str, breaks: int | None = None) -> int:
    """Physical lines as the csv module counts them (\\n, \\r\\n and a bare \\r each end one).
    ``breaks``: ``text.count("\\n")`` when the caller has it."""
    if breaks is None:
        breaks = text.count("\n")
    if "\r" not in text:  # the usual file: two scans fewer
        return breaks
    return breaks + text.count("\r") - text.count("\r\n")


def _split_header(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # an unclosed quote: the importer words that error; count plainly here
        return line.split(delimiter)


def sniff_delimiter(header_line: str, delimiters: str = DELIMITERS) -> str | None:
    """The delimiter of a file, read from its header line: the candidate that occurs there most
    often (a tie goes to the earlier in ``delimiters``), or None when none occurs (one column).

    The one sniffer of every importer and of the Reader's header check, so that a file one
    importer accepts, the other reads the same way."""
    counts = {d: header_line.count(d) for d in delimiters}
    best = max(counts, key=counts.get) if counts else None
    return best if best is not None and counts[best] else None


def _is_numberish(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_path(source) -> bool:
    return isinstance(source, (str, os.PathLike))


def source_name(source) -> str:
    if _is_path(source):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "")).name


def source_size(source) -> int | None:
    """The raw size when it is known without reading (a path, bytes, an upload)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    if _is_path(source):
        return Path(source).stat().st_size
    size = getattr(source, "size", None)
    return size if isinstance(size, int) else None


def _open(source):
    """A binary file object for the source, and whether the caller must close it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source), True
    if _is_path(source):
        return open(source, "rb"), True
    if hasattr(source, "seek"):
        try:
            source.seek(0)
        except (OSError, ValueError):
            pass
    return source, False


def _blocks(source) -> Iterator[bytes]:
    fh, close = _open(source)
    try:
        while True:
            block = fh.read(READ_BLOCK)
            if isinstance(block, str):  # a text-mode file object
                block = block.encode("utf-8")
            if not block:
                return
            yield block
    finally:
        if close:
            fh.close()


def is_seekable(source) -> bool:
    if isinstance(source, (bytes, bytearray, memoryview)) or _is_path(source):
        return True
    try:
        return bool(source.seekable())
    except (AttributeError, OSError, ValueError):
        return hasattr(source, "seek") and hasattr(source, "tell")


def sha256_of(source) -> str:
    """The raw bytes' SHA-256, read in blocks (memory stays one block)."""
    h = hashlib.sha256()
    for block in _blocks(source):
        h.update(block)
    return h.hexdigest()


class Reader:
    """Stream ``source`` (a path, bytes or a binary file object) as decoded text chunks.

    ``max_bytes`` caps the raw input, ``max_decompressed`` the bytes a gzip expands to,
    ``max_ratio`` the expansion once past RATIO_GRACE, ``max_field`` any line that holds a
    run of more characters than that without a delimiter (a pasted blob, a runaway quote),
    ``max_columns`` the header's columns (a repeated column name is refused too: ``header``).
    ``sha256`` and ``raw_bytes`` are complete once ``chunks()`` is exhausted.
    """

    def __init__(self, source, *, max_bytes: int | None = None, max_decompressed: int | None = None,
                 max_ratio: float | None = None, max_field: int | None = None,
                 chunk_chars: int = DEFAULT_CHUNK, chunk_lines: int = DEFAULT_CHUNK_LINES,
                 delimiters: str = DELIMITERS, max_columns: int | None = DEFAULT_MAX_COLUMNS,
                 first_chunk_lines: int | None = None):
        self.source = source
        self.max_columns = max_columns
        self.name = source_name(source)
        self.max_bytes = max_bytes
        self.max_decompressed = max_decompressed
        self.max_ratio = max_ratio
        self.max_field = max_field
        self.chunk_chars = max(1, int(chunk_chars))
        self.chunk_lines = max(1, int(chunk_lines))
        # A smaller first chunk, and each next one twice the one before up to chunk_lines: a
        # consumer that overlaps its work on a chunk with the next chunk's parse (the measurement
        # importer's read-ahead) waits only for the first to start, and never long for the next.
        self.first_chunk_lines = self.chunk_lines if first_chunk_lines is None else max(
            1, min(int(first_chunk_lines), self.chunk_lines))
        self.delimiters = delimiters
        self.raw_bytes = 0
        self.consumed_bytes = 0  # compressed bytes the decompressor has used so far
        self.decompressed_bytes = 0
        self.gzip = False
        self._sha = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    # --- bytes -----------------------------------------------------------------------

    def _raw(self) -> Iterator[bytes]:
        if _is_path(self.source) and not Path(self.source).is_file():
            raise TableError(f"No such file: {self.source}", "missing")
        size = source_size(self.source)
        if self.max_bytes is not None and size is not None and size > self.max_bytes:
            raise TableError("too big", "too_big", limit=self.max_bytes)
        for block in _blocks(self.source):
            self.raw_bytes += len(block)
            if self.max_bytes is not None and self.raw_bytes > self.max_bytes:
                raise TableError("too big", "too_big", limit=self.max_bytes)
            self._sha.update(block)
            yield block

    def _plain(self) -> Iterator[bytes]:
        """The file's bytes, gunzipped when they start with the gzip magic."""
        raw = self._raw()
        first = next(raw, b"")
        while len(first) < 2:  # a file object may return a single byte
            more = next(raw, b"")
            if not more:
                break
            first += more
        if first[:2] != b"\x1f\x8b":
            self.decompressed_bytes += len(first)
            yield first
            for block in raw:
                self.decompressed_bytes += len(block)
                yield block
            return
        self.gzip = True
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        fed = False  # has the current member's decompressor seen any input?
        pending = first
        step = READ_BLOCK  # bounded output per call: the bomb never expands in memory
        while True:
            while pending:
                fed = True
                before = len(pending)
                try:
                    out = d.decompress(pending, step)
                except zlib.error as exc:
                    raise TableError(f"The file looks gzip-compressed but cannot be decompressed: {exc}.",
                                     "gzip") from None
                pending = d.unconsumed_tail
                self.consumed_bytes += before - len(pending) - len(d.unused_data)
                if d.eof:  # another gzip member may follow (cat a.gz b.gz)
                    pending = d.unused_data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    fed = False
                    if pending and not pending.strip(b"\x00"):
                        pending = b""  # trailing zero padding, as gzip(1) allows
                if out:
                    self._count(len(out))
                    yield out
            block = next(raw, None)
            if block is None:
                break
            pending = block
        if fed and not d.eof:
            raise TableError("The gzip file is truncated.", "gzip")

    def _count(self, n: int) -> None:
        self.decompressed_bytes += n
        if self.max_decompressed is not None and self.decompressed_bytes > self.max_decompressed:
            raise TableError("decompressed", "decompressed", limit=self.max_decompressed)
        if (self.max_ratio is not None and self.decompressed_bytes > RATIO_GRACE
                and self.decompressed_bytes > self.max_ratio * max(1, self.consumed_bytes)):
            raise TableError("ratio", "ratio", limit=self.max_ratio)

    # --- text ------------------------------------------------------------------------

    def _text(self) -> Iterator[str]:
        """Decoded text as utf-8-sig does it: a leading byte-order mark is dropped."""
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        done = 0  # bytes decoded before this block
        lines = 0  # lines before this block
        for block in self._plain():
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                # The decoder may hold back up to three bytes of a split character.
                start = max(0, exc.start)
                line = lines + block[:start].count(b"\n") + 1
                raise TableError("not utf-8", "encoding", line=line, offset=done + start) from None
            done += len(block)
            lines += block.count(b"\n")
            if text:
                yield text
        try:
            text = decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise TableError("not utf-8", "encoding", line=lines + 1, offset=done) from None
        if text:
            yield text

    def chunks(self) -> Iterator[Chunk]:
        """Whole-record text chunks of at most about ``chunk_chars`` characters and
        ``chunk_lines`` lines each (from ``first_chunk_lines``, doubling: ``_chunk_limit``)."""
        buf = ""
        buf_breaks = 0  # buf.count("\n"), kept as blocks come and chunks go: counting the growing
        # buffer again after every 1 MB block read it ~5 times per 8 MB chunk
        line = 1
        index = 0
        field_run = None
        if self.max_field is not None:
            stop = re.escape(self.delimiters) + "\r\n"
            # Anchored at a field's start: an unanchored run search is quadratic in a long field.
            field_run = re.compile(f"(?<![^{stop}])[^{stop}]{{{self.max_field + 1}}}")
        header_done = self.max_columns is None
        for text in self._text():
            buf = buf + text if buf else text
            buf_breaks += text.count("\n")
            if not header_done:
                header_done = self._check_header(buf)
            while len(buf) >= self.chunk_chars or buf_breaks > self._chunk_limit(index):
                cut = self._cut(self._lines_prefix(buf, self._chunk_limit(index)))
                if cut is None:
                    cut = self._cut(buf)
                if cut is None:
                    if len(buf) <= 2 * self.chunk_chars + (self.max_field or 0):
                        break  # read on: the record goes on past the buffer
                    yield from self._checked(Chunk(buf, line, index), field_run)  # raises if too long
                    # A stray quote inside an unquoted field (the parsers read it literally) leaves
                    # no break outside quotes: cut at the last line break anyway.
                    cut = self._cut(buf, quotes=False)
                    if cut is None:
                        raise TableError(f"a record longer than {len(buf):,} characters", "record",
                                         line=line)
                chunk, buf = buf[:cut], buf[cut:]
                breaks = chunk.count("\n")
                buf_breaks -= breaks
                yield from self._checked(Chunk(chunk, line, index), field_run)
                index += 1
                line += count_lines(chunk, breaks)
        if not header_done:
            self._check_header(buf, final=True)
        if buf or index == 0:
            yield from self._checked(Chunk(buf, line, index), field_run)

    def _check_header(self, buf: str, final: bool = False) -> bool:
        """Refuse a header of more than ``max_columns`` columns or with a repeated name, from the
        first block that shows it (not after the whole line or file is read); True once checked."""
        stripped = buf.lstrip("\r\n")
        ends = [i for i in (stripped.find("\n"), stripped.find("\r")) if i >= 0]
        line = stripped[:min(ends)] if ends else stripped
        delimiter = sniff_delimiter(line, self.delimiters) or ","
        found = line.count(delimiter)
        if found + 1 > self.max_columns:  # quoted delimiters only make it an upper bound
            names = _split_header(line, delimiter) if ends or final else None
            n = len(names) if names is not None else found + 1
            if names is None or n > self.max_columns:
                more = "" if names is not None else " or more"
                raise TableError(f"The header (row 1) has {n:,}{more} columns; at most {self.max_columns} are "
                                 "read. Remove the extra columns.", "header", line=1)
        if not ends and not final:
            return False  # the header line goes on past this block
        names = _split_header(line, delimiter)
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            key = name.strip().lower()
            if not key or _is_numberish(key):
                continue  # empty trailing columns, and a headerless file's first row of numbers
            if key in seen:
                raise TableError(f"The header (row 1) repeats the column {name.strip()!r} (columns {seen[key] + 1} "
                                 f"and {i + 1}); each column may appear once.", "header", line=1, column=i)
            seen[key] = i
        return True

    def _chunk_limit(self, index: int) -> int:
        """Lines in chunk ``index``: first_chunk_lines doubled ``index`` times, at most chunk_lines."""
        if self.first_chunk_lines >= self.chunk_lines or index >= self.chunk_lines.bit_length():
            return self.chunk_lines
        return min(self.chunk_lines, self.first_chunk_lines << index)

    def _lines_prefix(self, buf: str, limit: int | None = None) -> str:
        """A prefix of buf of about ``limit`` (chunk_lines) lines (at most chunk_chars characters)."""
        limit = self.chunk_lines if limit is None else limit
        part = buf[:self.chunk_chars] if len(buf) > self.chunk_chars else buf
        lines = part.count("\n")
        while lines > limit:
            # Scaled by the mean line length: a few passes, no per-line loop in Python.
            end = part.find("\n", max(0, len(part) * limit // lines - 1))
            shorter = part[:end + 1]
            fewer = shorter.count("\n")
            if fewer >= lines:
                # The estimate fell on the last line (lengths vary): drop that line instead.
                end = part.rfind("\n", 0, len(part) - 1)
                if end < 0:
                    break
                shorter = part[:end + 1]
                fewer = shorter.count("\n")
            part, lines = shorter, fewer
        return part if "\n" in part or "\r" in part else buf

    def _long_field(self, text: str, field_run):
        """The first run of more than max_field characters without a delimiter, or None.

        Only lines longer than the cap can hold one, and they are rare: the regex runs on those
        alone (over a whole chunk it cost a third of the parse time)."""
        if field_run is None or len(text) <= self.max_field:
            return None
        if _lines_within(text, self.max_field):
            return None  # the usual case, found in a few dozen searches instead of a split per line
        offset = 0
        for line in text.split("\n"):
            if len(line) > self.max_field:
                m = field_run.search(text, offset, offset + len(line))
                if m is not None:
                    return m
            offset += len(line) + 1
        return None

    def _checked(self, chunk: Chunk, field_run) -> Iterator[Chunk]:
        """The chunk, or the lines before a field past max_field and then the error, so that the
        importer has counted the rows before it (and read the header) when it names the row."""
        m = self._long_field(chunk.text, field_run)
        if m is None:
            yield chunk
            return
        text = chunk.text
        start = max(text.rfind("\n", 0, m.start()), text.rfind("\r", 0, m.start())) + 1
        if start:
            yield Chunk(text[:start], chunk.first_line, chunk.index)
        column = sum(text[start:m.start()].count(d) for d in self.delimiters)
        raise TableError(f"a field longer than the field limit of {self.max_field:,} characters", "field",
                         line=chunk.first_line + count_lines(text[:start]), column=column)

    @staticmethod
    def _cut(buf: str, quotes: bool = True) -> int | None:
        """The end of the last whole record in buf (just past a line break outside quotes)."""
        nl = "\n" if "\n" in buf else "\r"  # "\r" alone: an old Mac file
        end = len(buf) if nl == "\n" else len(buf) - 1  # a final \r may be half of \r\n
        pos = buf.rfind(nl, 0, end)
        if pos < 0:
            return None
        if not quotes:
            return pos + 1
        odd = buf.count('"', 0, pos) % 2
        while odd:  # inside a quoted field: try the break before
            prev = buf.rfind(nl, 0, pos)
            if prev < 0:
                return None
            odd = (odd + buf.count('"', prev, pos)) % 2
            pos = prev
        return pos + 1


def report(exc: TableError, *, size_setting: str = "ENERGYWEB_MAX_UPLOAD_MB") -> str:
    """The one wording of a reader's refusal, for every importer (each adds its own row and
    column entries, and says what was kept). ``size_setting`` names the setting behind the
    size caps the importer passed (max_bytes, max_decompressed), so the message says what to change."""
    mb = f"{exc.limit / (1024 * 1024):g}" if exc.limit else "?"
    if exc.kind == "too_big":
        return f"The file is larger than the upload limit of {mb} MB ({size_setting}); split it or compress it with gzip."
    if exc.kind == "decompressed":
        return f"The decompressed file exceeds the limit of {mb} MB ({size_setting}); split it."
    if exc.kind == "ratio":
        return (f"The gzip file expands more than {exc.limit:g} times (ENERGYWEB_IMPORT_MAX_GZIP_RATIO): "
                "refused as a likely gzip bomb.")
    if exc.kind == "encoding":
        return f"The file is not UTF-8 text (byte {exc.offset} on line {exc.line}); save it as UTF-8 CSV."
    if exc.kind == "field":
        return f"{exc} (ENERGYWEB_IMPORT_MAX_FIELD_KB)"
    if exc.kind == "record":
        return f"{exc} (an unclosed quote?)"
    return str(exc)


def _lines_within(text: str, limit: int) -> bool:
    """Whether no "\n"-separated line of text is longer than limit characters.

    Jumps from line break to the last line break within limit + 1 characters of it: an 8 MB chunk
    of short lines takes about 8 MB / limit searches, where splitting it into lines took 50 ms."""
    start, end = 0, len(text)
    while end - start > limit:
        brk = text.rfind("\n", start, start + limit + 1)
        if brk < 0:
            return False
        start = brk + 1
    return True


def reader_from_settings(source, *, max_bytes: int | None, max_decompressed: int | None, **kwargs) -> Reader:
    """A Reader with the import limits configured in settings (ENERGYWEB_IMPORT_*)."""
    from django.conf import settings  # here only: the reader itself stays free of Django

    kwargs.setdefault("max_ratio", settings.IMPORT_MAX_GZIP_RATIO)
    kwargs.setdefault("max_field", settings.IMPORT_MAX_FIELD_KB * 1024)
    kwargs.setdefault("chunk_chars", settings.IMPORT_CHUNK_KB * 1024)
    kwargs.setdefault("chunk_lines", settings.IMPORT_CHUNK_ROWS)
    kwargs.setdefault("max_columns", settings.IMPORT_MAX_COLUMNS)
    return Reader(source, max_bytes=max_bytes, max_decompressed=max_decompressed, **kwargs)
