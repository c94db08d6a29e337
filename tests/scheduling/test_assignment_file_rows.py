"""The assignment file written one plan at a time reads back as the stacked array it replaces."""

from __future__ import annotations

import io

import numpy as np
import pytest

from scheduling.planner.npzstream import NpzArray, write_rows


@pytest.mark.parametrize("plans,n", [(1, 1), (3, 1000), (11, 250_003)])
def test_rows_written_one_by_one_equal_the_stacked_array(plans, n):
    rng = np.random.default_rng(plans)
    rows = [rng.integers(-1, 7, n).astype(np.int64) for _ in range(plans)]
    zetas = np.linspace(0, 1, plans)
    buf = io.BytesIO()
    write_rows(buf, "assignment", (plans, n), np.int16, iter(rows), {"zetas": zetas})
    buf.seek(0)
    with np.load(buf) as data:
        assert data["assignment"].dtype == np.int16
        assert np.array_equal(data["assignment"], np.vstack(rows).astype(np.int16))
        assert np.array_equal(data["zetas"], zetas)
    buf.seek(0)
    with NpzArray(buf, "assignment") as arr:
        assert arr.shape == (plans, n)
        last = np.concatenate(list(arr.chunks(4096, row=plans - 1)))
    assert np.array_equal(last, rows[-1])


def test_a_missing_or_misshapen_row_is_refused():
    with pytest.raises(ValueError, match="expected"):
        write_rows(io.BytesIO(), "assignment", (2, 5), np.int16, iter([np.zeros(5)]))
    with pytest.raises(ValueError, match="expected"):
        write_rows(io.BytesIO(), "assignment", (1, 5), np.int16, iter([np.zeros(4)]))
