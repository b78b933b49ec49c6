"""Nearest facility for every node: one multi-source Dijkstra on the reversed graph."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from zoning.errors import RoutingError
from zoning.routing.graph import RoadGraph


def _with_virtual_rows(
    base: csr_matrix, targets: npt.NDArray[np.int64], weights: npt.NDArray[np.float64]
) -> csr_matrix:
    """``base`` (n x n) extended with one row per line of ``targets`` (k x c): n + k nodes.

    Appending rows at the end keeps the CSR sorted: no re-sorting of the graph.
    """
    n = base.shape[0]
    k, c = targets.shape
    nnz = base.indptr[-1]
    indptr = np.concatenate([base.indptr.astype(np.int64),
                             nnz + c * np.arange(1, k + 1, dtype=np.int64)])
    indices = np.concatenate([base.indices.astype(np.int64), targets.ravel()])
    data = np.concatenate([base.data, weights.ravel()])
    return csr_matrix((data, indices.astype(np.int32), indptr.astype(np.int32)),
                      shape=(n + k, n + k))


def nearest_facility(
    graph: RoadGraph,
    facility_nodes: npt.ArrayLike,
    facility_offsets_s: npt.ArrayLike | None = None,
    limit_s: float = np.inf,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Time from every node to its nearest facility, and which facility it is.

    One multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra`` with
    ``min_only=True``) runs on the reversed graph, so times run from the node
    to the facility along one-way streets. Every facility gets a virtual source
    node linked to its network node by an edge of weight ``facility_offsets_s``
    (its access leg), so several facilities may share a node and the facility
    reached is recovered from the ``sources`` output without any per-node loop.

    Parameters
    ----------
    graph
        The road graph.
    facility_nodes
        Network node of each facility (int, ``0 <= node < graph.n_nodes``), shape
        ``(k,)``; or shape ``(k, c)``: ``c`` candidate nodes per facility (the
        facility joins the network at whichever gives the shortest time).
    facility_offsets_s
        Time (s) from the facility's node(s) to the facility itself (access
        leg), same shape as ``facility_nodes``; default 0.
    limit_s
        Stop exploring beyond this time (nodes farther get ``inf``).

    Returns
    -------
    time_s : ndarray of float64, shape (n_nodes,)
        Time to the nearest facility (``inf`` when none can be reached).
    facility : ndarray of int64, shape (n_nodes,)
        Index into ``facility_nodes`` of that facility (-1 when none).

    Raises
    ------
    RoutingError
        When no facility is given or a node index is out of range.
    """
    fac = np.asarray(facility_nodes, dtype=np.int64)
    if fac.ndim == 1:
        fac = fac[:, None]
    if fac.ndim != 2:
        raise RoutingError("nearest_facility: facility_nodes must be 1-D or 2-D")
    k = fac.shape[0]
    if fac.size == 0:
        raise RoutingError("nearest_facility: no facility to route to")
    if fac.min() < 0 or fac.max() >= graph.n_nodes:
        raise RoutingError("nearest_facility: a facility node index is outside the graph")
    offsets: npt.NDArray[np.float64]
    if facility_offsets_s is None:
        offsets = np.zeros(fac.size, dtype=np.float64)
    else:
        offsets = np.asarray(facility_offsets_s, dtype=np.float64).reshape(-1)
        if offsets.size != fac.size or not np.isfinite(offsets).all() or (offsets < 0).any():
            raise RoutingError(
                "nearest_facility: facility_offsets_s must be one finite time >= 0 per facility "
                "node"
            )
    n = graph.n_nodes
    virtual = np.arange(n, n + k, dtype=np.int64)
    matrix = _with_virtual_rows(graph.reversed_matrix, fac, offsets.reshape(fac.shape))
    dist, _, sources = dijkstra(
        matrix, directed=True, indices=virtual, min_only=True,
        return_predecessors=True, limit=limit_s,
    )
    time_s = np.asarray(dist[:n], dtype=np.float64)
    src = np.asarray(sources[:n], dtype=np.int64)
    facility = np.where(src >= n, src - n, -1)
    return time_s, facility
