"""The assignment file of a job: every plan's deployment of every query, stored per class.

A plan places classes, not queries: all queries of a class go to one deployment except
in the few split classes. So the file keeps, per plan, one int16 per class (``classes``,
(plans, C), in the caller's numbering of deployments, -1 for a plan without a solution),
the class of each query once (``inverse``, (n,)), and the queries of split classes
explicitly (``split_query``/``split_deployment``, plan p's in ``split_offsets[p]:[p + 1]``,
query-ordered). Row p of the per-query array is ``classes[p][inverse]`` with the split
queries overridden: what ``solver.expand`` computes, which the tests check.

Why: the per-query form is (plans, n) int16 deflated, one expanded row per plan; at 101
plans of 10M queries that is 2 GB to expand and deflate, several times the per-class
form (a 2M-class row deflates ~10x smaller and needs no expansion).

Files of the per-query form (member ``assignment``, (plans, n)) stay readable:
``open_rows`` gives either as the same streaming interface (``NpzArray``'s ``shape``,
``dtype`` and ``chunks``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import numpy as np
from numpy.lib import format as npy_format

from .npzstream import NpzArray

DTYPE = np.dtype(np.int16)


def write_class_rows(fileobj, class_rows, n_plans: int, inverse: np.ndarray, split_rows, zetas,
                     level: int = 1) -> None:
    """Write the per-class file. ``class_rows``: one (C,) deployment row per plan, given one at a
    time; ``split_rows``: per plan, (queries, deployments) of its split classes' queries,
    ascending in query; ``inverse``: (n,) class of each query."""
    idx_dtype = np.int32 if not inverse.size or int(inverse.max()) < 2**31 else np.int64
    C = 0
    offsets = np.zeros(n_plans + 1, dtype=np.int64)
    queries, deployments = [], []
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        with zf.open("classes.npy", "w", force_zip64=True) as fh:
            written = 0
            for row in class_rows:
                row = np.ascontiguousarray(row, dtype=DTYPE)
                if written == 0:
                    C = row.size
                    npy_format.write_array_header_1_0(
                        fh, {"descr": npy_format.dtype_to_descr(DTYPE), "fortran_order": False,
                             "shape": (n_plans, C)})
                if row.shape != (C,):
                    raise ValueError(f"row of shape {row.shape}, expected ({C},)")
                fh.write(row.data)
                written += 1
            if written != n_plans:
                raise ValueError(f"{written} rows written, expected {n_plans}")
        for p, (q, d) in enumerate(split_rows):
            queries.append(np.asarray(q, dtype=np.int64))
            deployments.append(np.asarray(d, dtype=DTYPE))
            offsets[p + 1] = offsets[p] + queries[-1].size
        members = {
            "inverse": np.asarray(inverse, dtype=idx_dtype),
            "split_query": np.concatenate(queries) if queries else np.zeros(0, dtype=np.int64),
            "split_deployment": np.concatenate(deployments) if deployments else np.zeros(0, dtype=DTYPE),
            "split_offsets": offsets,
            "zetas": np.asarray(zetas),
        }
        for key, value in members.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as fh:
                npy_format.write_array(fh, value)


class ClassRows:
    """Rows of a per-class file, streamed like ``NpzArray``: ``shape`` (plans, n), ``chunks``."""

    dtype = DTYPE

    def __init__(self, fileobj):
        self._fileobj = fileobj
        self._zip = zipfile.ZipFile(fileobj)
        with self._zip.open("split_offsets.npy") as fh:
            self._offsets = npy_format.read_array(fh)
        with NpzArray(fileobj, "inverse") as inverse:
            n = inverse.shape[0]
        self.shape = (self._offsets.size - 1, n)

    def _member(self, name: str) -> np.ndarray:
        with self._zip.open(f"{name}.npy") as fh:
            return npy_format.read_array(fh)

    def chunks(self, chunk: int, row: int | None = None) -> Iterator[np.ndarray]:
        if row is None or not 0 <= row < self.shape[0]:
            raise IndexError(f"No plan {row}; this file has {self.shape[0]}.")
        with NpzArray(self._fileobj, "classes") as classes:
            labels = np.concatenate(list(classes.chunks(max(classes.shape[1], 1), row=row)))
        a, b = self._offsets[row], self._offsets[row + 1]
        # The split queries are few: read whole (split_query/deployment of every plan).
        if b > a:
            queries = self._member("split_query")[a:b]
            deployment = self._member("split_deployment")[a:b]
        else:
            queries = deployment = np.zeros(0, dtype=np.int64)
        start = 0
        with NpzArray(self._fileobj, "inverse") as inverse:
            for part in inverse.chunks(chunk):
                out = labels[part]
                lo, hi = np.searchsorted(queries, [start, start + part.size])
                if hi > lo:
                    out[queries[lo:hi] - start] = deployment[lo:hi]
                start += part.size
                yield out

    def close(self) -> None:
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_rows(fileobj) -> NpzArray | ClassRows:
    """The plans' per-query rows of an assignment file of either form (the caller closes it)."""
    with zipfile.ZipFile(fileobj) as zf:
        names = set(zf.namelist())
    fileobj.seek(0)
    if "classes.npy" in names:
        return ClassRows(fileobj)
    return NpzArray(fileobj, "assignment")


def read_row(fileobj, row: int) -> np.ndarray:
    """One plan's whole per-query row (int16) of an assignment file of either form."""
    with open_rows(fileobj) as rows:
        if len(rows.shape) != 2 or not 0 <= row < rows.shape[0]:
            raise IndexError(f"No plan {row}; this job has {rows.shape[0]}.")
        parts = list(rows.chunks(max(rows.shape[1], 1), row=row))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=DTYPE)
