"""Sparse travel-time matrices: parallel edges collapsed to their minimum, CSR built directly.

A leaf module (numpy/scipy only) used by :mod:`zoning.routing.graph` to build the reversed matrix
once per graph; :mod:`zoning.routing.engine` routes on it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix


def collapse_parallel(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], weights: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Keep, for every ``(row, col)`` pair, only the smallest weight.

    A plain COO -> CSR conversion would *sum* parallel edges; routing needs the
    minimum. The result is sorted by row, then column.

    Parameters
    ----------
    rows, cols
        Edge ends (non-negative node indices), shape ``(m,)``.
    weights
        Edge weights, shape ``(m,)``.

    Returns
    -------
    (rows, cols, weights)
        One triple per distinct ``(row, col)`` pair, with the smallest weight.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    if rows.shape[0] == 0:
        return rows, cols, weights
    width = int(cols.max()) + 1
    key = rows * width + cols
    order = np.argsort(key, kind="stable")
    k = key[order]
    first = np.ones(k.shape[0], dtype=bool)
    first[1:] = k[1:] != k[:-1]
    starts = np.flatnonzero(first)
    w = np.minimum.reduceat(weights[order], starts)
    return rows[order][starts], cols[order][starts], w


def build_csr(
    n: int, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
) -> csr_matrix:
    """CSR matrix built directly from deduplicated triples (explicit zeros are kept as edges).

    Parameters
    ----------
    n
        Number of nodes (the matrix is ``n x n``).
    rows, cols, weights
        Edge triples; parallel edges are collapsed to their minimum
        (:func:`collapse_parallel`).

    Returns
    -------
    csr_matrix
        Entry ``[row, col]`` = weight, sorted indices.
    """
    r, c, w = collapse_parallel(
        np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
        np.asarray(weights, dtype=np.float64),
    )
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return csr_matrix((w, c.astype(np.int32), indptr.astype(np.int32)), shape=(n, n))
