"""Read an array stored in an ``.npz`` a chunk at a time, never whole.

A 10M-query plan's assignment file holds every zeta's assignment, (plans,
queries) int16 (240 MB for an 11-point sweep); the download needs one row of
it, beside the workload's columns. ``np.load`` would decompress and hold all
of it; here the ``.npy`` member is read through its header and then streamed
(``zipfile`` decompresses as it goes, and seeking forward skips the rows
before the one asked for). Files written by ``np.savez`` and
``np.savez_compressed`` both work.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import numpy as np
from numpy.lib import format as npy_format


class NpzArray:
    """One array of an open ``.npz``: its shape and dtype, and its rows in chunks."""

    def __init__(self, fileobj, name: str):
        self._zip = zipfile.ZipFile(fileobj)
        member = f"{name}.npy"
        if member not in self._zip.namelist():
            self._zip.close()
            raise KeyError(name)
        self._fh = self._zip.open(member)
        version = npy_format.read_magic(self._fh)
        if version == (1, 0):
            self.shape, fortran, self.dtype = npy_format.read_array_header_1_0(self._fh)
        else:
            self.shape, fortran, self.dtype = npy_format.read_array_header_2_0(self._fh)
        if fortran or self.dtype.hasobject:
            self.close()
            raise ValueError(f"{name}: only C-ordered arrays without objects can be streamed")

    def chunks(self, chunk: int, row: int | None = None) -> Iterator[np.ndarray]:
        """Successive pieces of the whole (1-D) array, or of ``row`` of a 2-D one."""
        length = self.shape[-1] if self.shape else 1
        item = self.dtype.itemsize
        if row is not None:
            self._fh.seek(row * length * item, 1)
        done = 0
        while done < length:
            k = min(chunk, length - done)
            data = self._fh.read(k * item)
            if len(data) != k * item:
                raise ValueError("the array file is truncated")
            yield np.frombuffer(data, dtype=self.dtype)
            done += k

    def close(self) -> None:
        self._fh.close()
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_rows(fileobj, name: str, shape: tuple[int, int], dtype, rows, others: dict | None = None,
               level: int = 1) -> None:
    """Write an ``.npz`` whose array ``name`` (shape ``shape``) is given row by row, never whole.

    The reading side of ``NpzArray``: a 101-point sweep's assignments are (101, queries);
    stacking them first held 2 GB at 10M queries and ``np.savez_compressed``'s default level
    spent longer compressing than the solves took. Level 1 deflate keeps most of the saving
    on these small repeated integers at several times the speed. ``np.load`` reads the file.
    """
    dtype = np.dtype(dtype)
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
            npy_format.write_array_header_1_0(
                fh, {"descr": npy_format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)})
            written = 0
            for row in rows:
                row = np.ascontiguousarray(row, dtype=dtype)
                if row.shape != (shape[1],):
                    raise ValueError(f"row of shape {row.shape}, expected ({shape[1]},)")
                fh.write(row.data)
                written += 1
            if written != shape[0]:
                raise ValueError(f"{written} rows written, expected {shape[0]}")
        for key, value in (others or {}).items():
            with zf.open(f"{key}.npy", "w") as fh:
                npy_format.write_array(fh, np.asarray(value))
