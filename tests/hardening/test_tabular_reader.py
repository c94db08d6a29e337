"""The shared streaming reader (energyweb/tabular.py) on its own: chunks of whole records with
their file line numbers, whatever the chunk size, and refusals that name the line."""

import gzip
import io

import pytest

from energyweb.tabular import Reader, TableError, count_lines, sha256_of
from tests.conftest import gzip_bomb

ROWS = "".join(f'{i},"two\nlines",{i * 2}\r\n' if i % 7 == 0 else f"{i},plain,{i * 2}\r\n" for i in range(300))
TEXT = "a,b,c\r\n" + ROWS


def read(source, **kw):
    reader = Reader(source, **kw)
    return reader, list(reader.chunks())


@pytest.mark.parametrize("chunk_chars", [1, 7, 64, 1000, len(TEXT) // 4, len(TEXT), 10**7])
@pytest.mark.parametrize("form", ["bytes", "gzip", "bom", "stream"])
def test_chunks_are_whole_records_with_their_line_numbers(chunk_chars, form):
    data = TEXT.encode()
    source = {"bytes": data, "gzip": gzip.compress(data), "bom": b"\xef\xbb\xbf" + data,
              "stream": io.BytesIO(data)}[form]
    reader, chunks = read(source, chunk_chars=chunk_chars)
    assert "".join(c.text for c in chunks) == TEXT
    line = 1
    for c in chunks:
        assert c.first_line == line
        assert c.text.count('"') % 2 == 0  # never cut inside a quoted field
        line += count_lines(c.text)
    assert reader.sha256 == sha256_of(source if form != "stream" else data)


def test_a_file_an_exact_multiple_of_the_chunk():
    row = "1,2\n"
    text = "a,b\n" + row * 255  # 1,024 characters: 16 chunks of 64
    for chunk_chars in (64, 256, 1024):
        _, chunks = read(text.encode(), chunk_chars=chunk_chars)
        assert "".join(c.text for c in chunks) == text
        assert all(c.text.endswith("\n") for c in chunks) and chunks[-1].text


def test_chunks_hold_at_most_about_chunk_lines():
    _, chunks = read(("h\n" + "1,2\n" * 1000).encode(), chunk_lines=10)
    assert len(chunks) >= 90 and max(c.text.count("\n") for c in chunks) <= 10


def test_old_mac_line_ends():
    text = "a,b\r" + "1,2\r" * 50
    _, chunks = read(text.encode(), chunk_chars=16)
    assert "".join(c.text for c in chunks) == text and len(chunks) > 3


def test_the_decompressed_size_and_ratio_caps():
    bomb = gzip_bomb(b"a,b\n", b"1,2\n", 40)
    with pytest.raises(TableError) as err:
        read(bomb, max_ratio=100)
    assert err.value.kind == "ratio"
    with pytest.raises(TableError) as err:
        read(bomb, max_decompressed=5 << 20)
    assert err.value.kind == "decompressed"
    reader, _ = read(gzip.compress(b"a,b\n" + b"1,2\n" * 1000), max_ratio=2, max_decompressed=1 << 20)
    assert reader.gzip and reader.decompressed_bytes == 4004  # small files are under the ratio's grace


def test_gzip_members_truncation_and_garbage():
    _, chunks = read(gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n"))
    assert "".join(c.text for c in chunks) == "a,b\n1,2\n3,4\n"
    with pytest.raises(TableError, match="truncated"):
        read(gzip.compress(b"a,b\n" + b"1,2\n" * 100)[:-12])
    with pytest.raises(TableError, match="cannot be decompressed"):
        read(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20)  # a header, then no deflate data
    with pytest.raises(TableError, match="truncated"):
        read(b"\x1f\x8b\x08\x00garbage")


def test_a_long_field_is_refused_after_the_lines_before_it():
    data = b"a,b,c\n" + b"1,2,3\n" * 5 + b"1," + b"x" * 5000 + b",3\n" + b"1,2,3\n"
    reader = Reader(data, max_field=1000, chunk_chars=10**6)
    seen = []
    with pytest.raises(TableError) as err:
        for c in reader.chunks():
            seen.append(c.text)
    assert (err.value.kind, err.value.line, err.value.column) == ("field", 7, 1)
    assert "".join(seen) == "a,b,c\n" + "1,2,3\n" * 5


def test_invalid_utf8_names_its_line_and_byte():
    with pytest.raises(TableError) as err:
        read(b"a,b\n1,2\n3,\xff\n", chunk_chars=2)
    assert (err.value.kind, err.value.line, err.value.offset) == ("encoding", 3, 10)


def test_the_raw_size_cap():
    with pytest.raises(TableError) as err:
        read(io.BytesIO(b"a,b\n" + b"1,2\n" * 1000), max_bytes=1000)
    assert err.value.kind == "too_big"


@pytest.mark.parametrize("block", [5, 64, 1000, 1 << 20])
def test_chunk_lines_are_counted_across_read_blocks(monkeypatch, block):
    # The reader keeps a running count of the line breaks it holds as blocks arrive and chunks
    # leave; chunks and their line numbers must be what the text says, however it was read.
    from energyweb import tabular

    monkeypatch.setattr(tabular, "READ_BLOCK", block)
    text = "h,i\n" + "".join(f'{i},"a\r\nb"\r\n' if i % 5 == 0 else f"{i},{'x' * (i % 13)}\n" for i in range(2000))
    _, chunks = read(text.encode(), chunk_lines=37, chunk_chars=10**6)
    assert "".join(c.text for c in chunks) == text
    # "About" chunk_lines: a block that arrives past the count is cut at the prefix's last whole
    # record, as before the running count.
    breaks = [c.text.count("\n") for c in chunks]
    assert len(chunks) > 2000 // 37 and max(breaks) <= 2 * 37
    assert min(breaks[:-1]) >= 37 // 2  # and not cut at every block (a count that never drops)
    line = 1
    for c in chunks:
        assert c.first_line == line
        line += len(io.StringIO(c.text, newline=None).readlines())  # universal newlines, counted apart


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb\r\n", "a\rb\r", "a\r\n\rb\n\n", "\r\r\n\n\r"])
def test_count_lines_with_a_known_break_count(text):
    expected = len(io.StringIO(text, newline=None).readlines()) - (0 if text.endswith(("\n", "\r")) or not text
                                                                   else 1)
    assert count_lines(text) == count_lines(text, text.count("\n")) == expected


@pytest.mark.parametrize("form", ["bytes", "gzip", "stream"])
def test_a_small_first_chunk_then_each_twice_the_one_before_up_to_chunk_lines(form):
    """``first_chunk_lines`` (the measurement importer's read-ahead): 4, 8, 16, 32 lines, then 40
    each; whole records with their line numbers as with equal chunks."""
    text = "a,b,c\n" + "".join(f"{i},x,{i * 2}\n" for i in range(300))
    data = text.encode()
    source = {"bytes": data, "gzip": gzip.compress(data), "stream": io.BytesIO(data)}[form]
    reader, chunks = read(source, chunk_lines=40, first_chunk_lines=4)
    assert [c.text.count("\n") for c in chunks] == [4, 8, 16, 32, 40, 40, 40, 40, 40, 40, 1]
    assert "".join(c.text for c in chunks) == text
    assert [c.first_line for c in chunks] == [1, 5, 13, 29, 61, 101, 141, 181, 221, 261, 301]
    assert reader.sha256 == sha256_of(source if form != "stream" else data)
    # Without it (and with one not smaller than chunk_lines) every chunk is chunk_lines.
    for first in (None, 40, 1000):
        _, equal = read(data, chunk_lines=40, first_chunk_lines=first)
        assert [c.text.count("\n") for c in equal] == [40] * 7 + [21]
