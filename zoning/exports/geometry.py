"""Web-map geometry: coverage simplification, exact dissolves, and a territory's geometry
prepared ahead of the writers.

What the web map draws of a territory (its communes and EPCI in EPSG:4326, its département
outlines) depends on the territory only, never on the scores. :class:`PreparedGeometry`
computes it in a background thread as soon as the territory is read
(``pipeline.run(..., prepare=True)``, what ``zoning score`` does when it writes outputs), while
the pipeline routes, computes the criteria and scores; the travel-time GeoTIFF's bands follow
as soon as the run has its travel times. GEOS (shapely) and PROJ (pyproj)
release the GIL, so that work runs on a core the pipeline leaves idle: on the national run the
département outlines (3 s), the communes' reprojection (1.2 s) and the EPCI simplification
(0.4 s) are ready when the map is written. The map writer asks the prepared geometry first and
computes on the spot, with the same functions, whatever it does not cover (another commune set,
another tolerance): the map is the same either way (``tests/test_geometry.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

EPCI_TOLERANCE_M = 250.0
COMMUNE_TOLERANCE_M = 0.0
"""Coverage-simplification tolerances in metres (EPSG:2154); 0: not simplified.

The communes of ADMIN EXPRESS COG CARTO are already generalised for maps: a coverage
simplification at 150 m removed 1.4 % of their vertices (1,068,134 -> 1,053,461 in
metropolitan France, 139,830 -> 137,805 in Occitanie) for 3.9 s on the national map, so
they are drawn as published. The EPCI are simplified at 250 m (267,870 -> 207,089 vertices).
"""

DEP_TOLERANCE_M = 400.0
"""Coverage-simplification tolerance of the département outlines (orientation layer)."""


def simplify_for_web(geoms: gpd.GeoSeries, tolerance_m: float) -> gpd.GeoSeries:
    """Topology-preserving simplification of a polygon coverage, in EPSG:2154, then EPSG:4326.

    Parameters
    ----------
    geoms
        Polygons in EPSG:2154 forming a coverage (communes, EPCI).
    tolerance_m
        Simplification tolerance in metres (``shapely.coverage_simplify``: shared edges
        are simplified once, so neighbours keep a common border); 0: none (made valid and
        reprojected only).

    Returns
    -------
    GeoSeries
        Simplified polygons in EPSG:4326, same index.
    """
    if geoms.crs is None or geoms.crs.to_epsg() != 2154:
        raise ValueError(f"simplify_for_web expects EPSG:2154 geometries, got {geoms.crs}")
    arr = shapely.make_valid(geoms.values)
    # make_valid can return a collection (polygon + stray line): keep the polygonal part
    other = ~np.isin(shapely.get_type_id(arr), (3, 6))
    if other.any():
        arr = arr.copy()
        arr[other] = shapely.buffer(arr[other], 0)
    simplified = shapely.coverage_simplify(arr, tolerance_m) if tolerance_m > 0 else arr
    return gpd.GeoSeries(simplified, index=geoms.index, crs=2154).to_crs(4326)


def simplify_in_code_order(geoms: gpd.GeoSeries, tolerance_m: float) -> gpd.GeoSeries:
    """:func:`simplify_for_web` of a coverage taken in the order of its index (EPCI SIREN),
    returned in the given order.

    GEOS's coverage simplification can start a ring at another vertex when the polygons come in
    another order (one Occitanie EPCI of 161 between SIREN order and rank order, same shape):
    one fixed order makes the drawn geometry independent of the ranking, so geometry prepared
    before the scores (:class:`PreparedGeometry`) is the one the writer would compute.
    """
    order = np.argsort(geoms.index.astype(str).to_numpy(), kind="stable")
    web = simplify_for_web(geoms.iloc[order], tolerance_m)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return web.iloc[back]


def dissolve_polygons(geoms: np.ndarray, keys: np.ndarray) -> pd.Series:
    """Exact union of the polygons of each key (e.g. communes into départements).

    The communes almost form a polygon coverage: within each group, the polygons whose
    borders all match their neighbours' exactly (``shapely.coverage_invalid_edges``) are
    merged by a coverage union (linear in the number of vertices), and the few others are
    added to that union by an ordinary overlay union. The result is the same area as
    ``shapely.union_all`` of the group, for a fraction of the time. Each key's union depends
    on that key's polygons only.

    Parameters
    ----------
    geoms
        Valid polygons (shapely array).
    keys
        Group of each polygon, same length.

    Returns
    -------
    Series
        One (multi)polygon per key, indexed by the sorted keys.
    """
    codes, uniques = pd.factorize(pd.Series(keys), sort=True)
    order = np.argsort(codes, kind="stable")
    groups = np.split(np.asarray(geoms, dtype=object)[order],
                      np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1])
    out = []
    for group in groups:  # one per key (about a hundred départements), each vectorised
        mismatched = ~shapely.is_empty(shapely.coverage_invalid_edges(group))
        merged = shapely.coverage_union_all(group[~mismatched])
        out.append(shapely.union_all(np.append(group[mismatched], merged))
                   if mismatched.any() else merged)
    return pd.Series(out, index=pd.Index(uniques, name="key"), dtype=object)


def region_communes(communes: pd.DataFrame) -> pd.DataFrame:
    """The communes of the territory's region (``in_region``), i.e. without the neighbouring
    communes a regional territory carries for routing; all of them when there is no flag."""
    if "in_region" not in communes.columns:
        return communes
    return communes[communes["in_region"].fillna(False).astype(bool).to_numpy()]


def departement_keys(communes: pd.DataFrame) -> pd.Series:
    """Département code of each commune, as text (the key of the outlines)."""
    return communes["dep"].astype(str)


class PreparedGeometry:
    """A territory's web-map geometry, computed once in a background thread.

    Created from the territory's EPCI and communes (EPSG:2154) and shared by every output set
    cut from that territory (``score --region all``: the national run and its 13 regions).
    Each getter waits for its part if the thread has not finished it and re-raises the error
    the thread met. What the prepared part does not cover is computed on the spot with the
    same functions (département unions), or refused with None (commune and EPCI geometry:
    the caller then computes it itself).

    Parameters
    ----------
    epci, communes
        The territory's EPCI (index SIREN) and communes (index INSEE code, columns ``dep``
        and optionally ``in_region``), EPSG:2154.
    start
        Compute in a background thread, started at once (False: each part is computed on
        its first request, in the caller's thread; for tests).
    """

    def __init__(self, epci: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                 start: bool = True) -> None:
        for name, frame in (("EPCI", epci), ("communes", communes)):
            if frame.crs is None or frame.crs.to_epsg() != 2154:
                raise ValueError(f"PreparedGeometry expects EPSG:2154 {name}, got {frame.crs}")
        inside = region_communes(communes)
        self._epci_index = epci.index.astype(str)
        self._commune_index = communes.index.astype(str)
        self._dep_of = pd.Series(departement_keys(inside).to_numpy(),
                                 index=inside.index.astype(str))
        geom_epci, geom_communes, geom_inside = epci.geometry, communes.geometry, inside.geometry
        self._futures: dict[str, Future[Any]] = {}
        self._tasks: dict[str, Callable[[], Any]] = {}
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._background = start
        self._raster_key: tuple[Any, ...] | None = None
        self._submit("departements", lambda: dissolve_polygons(np.asarray(geom_inside.values),
                                                               self._dep_of.to_numpy()))
        self._submit("communes", lambda: simplify_for_web(geom_communes, COMMUNE_TOLERANCE_M))
        self._submit("epci", lambda: simplify_in_code_order(geom_epci, EPCI_TOLERANCE_M))

    def _submit(self, name: str, task: Callable[[], Any]) -> None:
        """Queue a part; the background thread (started when needed) computes them in turn."""
        with self._lock:
            self._futures[name], self._tasks[name] = Future(), task
            self._pending.append(name)
            if self._background and self._worker is None:
                self._worker = threading.Thread(target=self._work, daemon=True,
                                                name="zoning-prepare-geometry")
                self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._worker = None
                    return
                name = self._pending.pop(0)
            self._run(name)

    def _run(self, name: str) -> None:
        fut, task = self._futures[name], self._tasks.pop(name)
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(task())
        except BaseException as exc:  # re-raised by the getter, in the writer's thread
            fut.set_exception(exc)

    def _get(self, name: str) -> Any:
        """A part's result: computed here if no thread has started it yet, else waited for."""
        with self._lock:
            mine = name in self._pending
            if mine:
                self._pending.remove(name)
        if mine:
            self._run(name)
        return self._futures[name].result()

    def prepare_raster(self, travel: Any, config: Any, mask: Any,
                       resolution_m: float = 1000.0) -> None:
        """Queue the travel-time GeoTIFF's bands (:func:`zoning.exports.travel.time_raster`),
        computed once the run has its travel times, while it computes the criteria and
        scores."""
        from zoning.exports.travel import time_raster

        self._raster_key = (travel, config, mask, float(resolution_m))
        self._submit("raster", lambda: time_raster(travel, config, resolution_m, mask))

    def time_raster(self, travel: Any, config: Any, mask: Any,
                    resolution_m: float = 1000.0) -> Any:
        """The bands queued by :meth:`prepare_raster` for these very inputs (the same
        objects), else None (another run cut from this territory: computed by its writer)."""
        key = self._raster_key
        if key is None or not (key[0] is travel and key[1] is config and key[2] is mask
                               and key[3] == float(resolution_m)):
            return None
        return self._get("raster")

    def departement_polygons(self, codes: pd.Index, keys: np.ndarray,
                             geoms: np.ndarray) -> pd.Series:
        """Exact union of each département's communes (:func:`dissolve_polygons`).

        A département that has exactly the communes it had in the prepared territory is
        served prepared; any other (a commune added, missing or moved: a region of
        ``--region all`` whose EPCI cross a regional border) is dissolved here, from
        ``geoms``. Each union depends on its own communes only, so the result is that of
        ``dissolve_polygons(geoms, keys)``.

        Parameters
        ----------
        codes
            INSEE codes of the communes to dissolve.
        keys
            Their département codes (text), same length.
        geoms
            Their polygons (EPSG:2154), same length.

        Returns
        -------
        Series
            One polygon per département, indexed by the sorted codes.
        """
        codes = pd.Index(codes).astype(str)
        keys = np.asarray(keys).astype(str)
        known = self._dep_of.reindex(codes).to_numpy().astype(str)
        asked = pd.Series(keys).value_counts()
        have = self._dep_of.value_counts().reindex(asked.index).fillna(0)
        moved = pd.Index(np.unique(keys[known != keys]))
        same = asked.index[(asked.to_numpy() == have.to_numpy())
                           & (moved.get_indexer(asked.index) < 0)]
        parts = []
        if len(same):
            polygons: pd.Series = self._get("departements")
            parts.append(polygons.loc[same])
        rest = pd.Index(same).get_indexer(keys) < 0  # (hash lookups: pandas 3 str isin is slow)
        if rest.any() or not parts:
            parts.append(dissolve_polygons(np.asarray(geoms)[rest], keys[rest]))
        return pd.concat(parts).sort_index()

    def communes_web(self, codes: pd.Index, tolerance_m: float) -> gpd.GeoSeries | None:
        """The communes as :func:`simplify_for_web` draws them (EPSG:4326), indexed by
        ``codes``; None for another tolerance or a commune not in the prepared territory."""
        codes = pd.Index(codes).astype(str)
        pos = self._commune_index.get_indexer(codes)
        if tolerance_m != COMMUNE_TOLERANCE_M or (pos < 0).any():
            return None
        web: gpd.GeoSeries = self._get("communes")
        return gpd.GeoSeries(web.values[pos], index=codes, crs=web.crs)

    def epci_web(self, sirens: pd.Index, tolerance_m: float) -> gpd.GeoSeries | None:
        """The EPCI simplified as one coverage (:func:`simplify_in_code_order`, EPSG:4326), indexed
        by ``sirens``; None unless ``sirens`` are exactly the prepared EPCI (the coverage
        simplification of a subset differs) at the prepared tolerance."""
        sirens = pd.Index(sirens).astype(str)
        pos = self._epci_index.get_indexer(sirens)
        if (tolerance_m != EPCI_TOLERANCE_M or len(sirens) != len(self._epci_index)
                or (pos < 0).any() or np.unique(pos).size != len(pos)):
            return None
        web: gpd.GeoSeries = self._get("epci")
        return gpd.GeoSeries(web.values[pos], index=sirens, crs=web.crs)
