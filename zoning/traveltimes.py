"""Road travel times to emergency services (SU, SMUR) per commune, grid cell and EPCI.

Model
-----
* Facility types: ``su`` = general emergency department (a paediatric-only SU is
  *not* a general SU); ``smur`` = every SMUR departure site, antennas and
  seasonal ones included, except paediatric-only SMUR (``smur_pediatrique_seul``,
  children only, like a paediatric-only SU); ``urgence`` = the set chosen by ``travel.facilities``
  (``su``, ``smur`` or ``su_or_smur``, the default).
* Every site of the facility file lying within ``routing.max_snap_km`` of the
  road graph is used, whatever its region, so that communes near a regional
  border reach the hospitals across it. A site of the studied region farther
  than that from the graph is an error (the network does not cover it).
* Times run from the origin to the facility: access leg origin -> network node
  (straight distance x ``access_circuity`` at ``access_speed_kmh``), road time
  (one multi-source Dijkstra for SU, one for SMUR, on the reversed graph, see
  :func:`zoning.routing.nearest_facility`), access leg node -> facility. Origins
  and facilities may join the network at any of their ``snap_candidates``
  nearest nodes, the quickest overall (see :mod:`zoning.routing.snap`).
* Origins: the commune population point (``Territory.points``) and the centre
  of every populated 1 km cell of the Census 2021 grid whose centre lies in a
  commune of the territory.
* EPCI summaries weight cell times by the cell population ("grille 1 km") when
  the populated cells of the EPCI hold at least ``GRID_MIN_COVERAGE`` (80 %) of
  its commune population; otherwise (no cell, or a grid file covering only part
  of the EPCI, e.g. beyond Occitanie + 50 km) they use its communes weighted by
  their population ("communes"). ``pop_beyond`` is the population (of the
  weights) beyond the threshold, ``share_beyond`` its share. The regional
  figures add up the same weights over the region's communes.
* Scenarios: ``close`` removes FINESS sites; ``add`` adds a site that counts as
  a full emergency service (SU and SMUR).
* Where the network stops, times stop (:func:`origin_times`): a place beyond
  ``routing.max_snap_km``, on a network piece without a site, or possibly nearer to a site the
  network does not reach, gets no time ("hors couverture du réseau routier") and is left out
  of its EPCI's mean and shares; places farther than ``routing.far_km`` in dense areas are
  timed by the urban access model (city streets at ``urban_speed_kmh`` x ``urban_circuity``),
  flagged; an EPCI mostly uncovered, or mostly timed by that model, gets criterion 4 "donnée
  indisponible" (:func:`trusted_epci`). Never an extrapolated time.
* The "either" set (``su_or_smur``) is not routed a third time: its time is exactly
  ``min(SU, SMUR)`` per node (one multi-source Dijkstra per set).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from zoning import progress
from zoning.config import Config
from zoning.errors import DataFileNotFoundError, RoutingError
from zoning.routing import (
    RoadGraph,
    graph_from_line_layer,
    graph_from_osm_pbf,
    nearest_facility,
    node_tree,
    snap_points,
)
from zoning.sources import emergency_services
from zoning.sources._io import in_codes

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("su", "smur", "urgence")
"""Facility sets routed: general SU, SMUR, and the configured "either" set."""

KIND_LABELS: dict[str, str] = {
    "su": "service d'urgences (SU)",
    "smur": "SMUR",
    "urgence": "SU ou SMUR",
}

URGENCE_LABELS: dict[str, str] = {
    "su": "service d'urgences (SU)",
    "smur": "SMUR",
    "su_or_smur": "SU ou SMUR",
}

WEIGHTS_GRID = "grille 1 km"
WEIGHTS_COMMUNES = "communes"
WEIGHTS_MIXED = "grille 1 km et communes"

GRID_MIN_COVERAGE = 0.8
"""Least share of an EPCI's commune population its populated grid cells must hold for the
EPCI to be weighted by the grid (Occitanie: 0.85 to 1.04; an EPCI cut by the edge of the
grid file holds far less)."""


# --------------------------------------------------------------------------- network


def load_network(
    data_dir: str | os.PathLike[str],
    config: Config,
    network: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    class_column: str = "road_class",
    layer: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> RoadGraph:
    """Build (or read from cache) the road graph used for travel times.

    Parameters
    ----------
    data_dir
        Data directory; the default network is its Travel Mapping graph of metropolitan
        France + 50 km (GeoParquet), else (file absent) the Occitanie + 50 km GeoPackage.
    config
        Speeds, circuity (``[routing]``).
    network
        An ``.osm.pbf`` file (or several), or a line layer (GeoPackage,
        Shapefile...) with a road-class column; ``None`` = Travel Mapping.
    class_column, layer
        Line layers only: road-class column and layer (a GeoPackage with an
        ``edges`` layer uses it by default).
    cache_dir
        Graph cache folder (default ``$ZONING_CACHE_DIR`` or ``~/.cache/zoning``).

    Returns
    -------
    RoadGraph
    """
    from zoning.sources import CATALOGUE, road_network_source

    r = config.routing
    if network is None:
        ddir = Path(data_dir)
        sid = road_network_source(ddir)
        path = CATALOGUE[sid].path(ddir)
        if not path.is_file():
            occ = CATALOGUE["roads"].path(ddir)
            raise DataFileNotFoundError(
                f"{path}: road network not found (source '{sid}', Travel Mapping graph of "
                f"metropolitan France; put it there, or the Occitanie graph at {occ}, or give "
                "an OpenStreetMap extract with --network FILE.osm.pbf)"
            )
        networks: list[Path] = [path]
    elif isinstance(network, (str, os.PathLike)):
        networks = [Path(network)]
    else:
        networks = [Path(p) for p in network]
    if all(p.name.lower().endswith(".pbf") for p in networks):
        with progress.step("Lecture du réseau OpenStreetMap"):
            return graph_from_osm_pbf(networks, r.osm_speeds_kmh, cache_dir=cache_dir,
                                      engine=r.osm_engine, simplify=r.osm_simplify)
    if len(networks) != 1:
        raise RoutingError("several networks can only be several .osm.pbf extracts")
    path = networks[0]
    if layer is None and path.suffix.lower() == ".gpkg" and path.is_file():
        import pyogrio

        try:
            names = [str(n) for n, _ in pyogrio.list_layers(path)]
        except Exception:  # unreadable: graph_from_line_layer reports it
            names = []
        layer = "edges" if "edges" in names else None
    with progress.step("Construction du graphe routier"):
        return graph_from_line_layer(
            path, class_column, r.class_speeds_kmh, r.circuity, layer=layer, cache_dir=cache_dir,
            line_model=r.line_model_terms(),
            min_component_nodes=r.min_component_nodes,
        )


# --------------------------------------------------------------------------- facilities


@dataclass(frozen=True)
class AddedSite:
    """A facility added in a scenario (counts as SU and SMUR)."""

    lon: float
    lat: float
    name: str


def parse_added_site(text: str) -> AddedSite:
    """Parse ``"lon,lat,name"`` (WGS84 degrees) into an :class:`AddedSite`.

    Raises
    ------
    RoutingError
        When the text is not ``lon,lat,name`` with valid degrees.
    """
    parts = [p.strip() for p in str(text).split(",", 2)]
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        raise RoutingError(
            f"--add {text!r}: expected 'lon,lat,name' in WGS84 degrees, "
            "e.g. '2.35,43.21,Nouveau SU'"
        ) from None
    name = parts[2] if len(parts) > 2 and parts[2] else "Site ajouté"
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise RoutingError(f"--add {text!r}: longitude/latitude out of range (WGS84 degrees)")
    return AddedSite(lon, lat, name)


def apply_scenario(
    facilities: gpd.GeoDataFrame,
    close: Iterable[str] = (),
    add: Iterable[AddedSite | str] = (),
) -> gpd.GeoDataFrame:
    """Facilities with some sites closed and others added.

    Parameters
    ----------
    facilities
        :func:`zoning.sources.read_facilities` frame (index ``finess``).
    close
        FINESS of the sites to close.
    add
        Sites to add (:class:`AddedSite` or ``"lon,lat,name"``); they get the
        FINESS ``AJOUT0001``, ``AJOUT0002``... and count as SU and SMUR.

    Returns
    -------
    GeoDataFrame
        With a boolean column ``ajoute``.

    Raises
    ------
    RoutingError
        When a FINESS to close is not in the file.
    """
    close = [str(c).strip() for c in close]
    unknown = [c for c in close if c not in facilities.index]
    if unknown:
        raise RoutingError(
            f"--close: FINESS {', '.join(unknown)} not found among the {len(facilities)} SU/SMUR "
            "sites of the facility file (health/sae2022_urgences_smur_sites_geoloc.csv, column "
            "finess_et); give the 9-character FINESS of a site (ET)"
        )
    out = facilities.drop(index=close).copy()
    out["ajoute"] = False
    sites = [a if isinstance(a, AddedSite) else parse_added_site(a) for a in add]
    if sites:
        pts = gpd.GeoSeries(
            gpd.points_from_xy([s.lon for s in sites], [s.lat for s in sites]), crs=4326
        ).to_crs(facilities.crs)
        idx = pd.Index([f"AJOUT{i + 1:04d}" for i in range(len(sites))], name=facilities.index.name)
        new = gpd.GeoDataFrame(
            {
                "nom": [s.name for s in sites],
                "su": True,
                "su_pediatrique_seul": False,
                "smur": True,
                "smur_pediatrique_seul": False,
                "type_libelle": "Site ajouté (scénario, SU + SMUR)",
                "ajoute": True,
            },
            geometry=pts.to_numpy(),
            crs=facilities.crs,
            index=idx,
        )
        out = pd.concat([out, new])
        for col, fill in (("su", False), ("smur", False), ("su_pediatrique_seul", False),
                          ("smur_pediatrique_seul", False)):
            out[col] = out[col].fillna(fill).astype(bool)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=facilities.crs)


def kind_masks(facilities: pd.DataFrame, either: str) -> dict[str, npt.NDArray[np.bool_]]:
    """Boolean masks of the ``su``, ``smur`` and ``urgence`` facility sets.

    SU and SMUR as decided by :func:`zoning.sources.emergency_services` (paediatric-only
    services belong to no set: they do not serve the general population).

    Parameters
    ----------
    facilities
        Frame with boolean ``su``, ``smur``, ``su_pediatrique_seul`` and
        ``smur_pediatrique_seul`` (the last two are False when absent).
    either
        ``travel.facilities``: ``su``, ``smur`` or ``su_or_smur``.
    """
    kinds = emergency_services(facilities)
    su = kinds["su"].to_numpy(dtype=bool)
    smur = kinds["smur"].to_numpy(dtype=bool)
    urgence = {"su": su, "smur": smur, "su_or_smur": su | smur}[either]
    return {"su": su, "smur": smur, "urgence": urgence}


def locate_facilities(
    graph: RoadGraph,
    facilities: gpd.GeoDataFrame,
    config: Config,
    region: str | None = None,
    tree: cKDTree | None = None,
) -> gpd.GeoDataFrame:
    """Snap the SU/SMUR sites to the graph and keep those the graph reaches.

    Parameters
    ----------
    graph
        The road graph.
    facilities
        Sites (index ``finess``) with ``su, smur, su_pediatrique_seul`` and
        optionally ``reg`` and ``ajoute``.
    config
        ``[routing]`` access-leg model and ``max_snap_km``.
    region
        Sites of this region (and added sites) must be reached by the network.

    Returns
    -------
    GeoDataFrame
        The sites within ``max_snap_km`` of the graph, that are general SU or
        SMUR, with ``node`` (int), ``access_km`` and ``access_s``. Paediatric-only
        SMUR sites are kept (the maps show them as such) but belong to no facility
        set (:func:`kind_masks`).

    Raises
    ------
    RoutingError
        When a site of the region or an added site lies outside the network's
        extent, or when no site remains.
    """
    r = config.routing
    kinds = emergency_services(facilities)
    useful = facilities[(kinds["su"] | kinds["smur"] | kinds["smur_pediatrique_seul"]).to_numpy()]
    _check_crs(useful.crs, graph, "facilities")
    geoms = useful.geometry
    empty = geoms.isna() | geoms.is_empty
    xs = np.where(empty, np.nan, geoms.x.where(~empty)) if len(useful) else np.empty(0)
    ys = np.where(empty, np.nan, geoms.y.where(~empty)) if len(useful) else np.empty(0)
    snap = snap_points(graph, xs, ys, r.access_speed_kmh, r.access_circuity, r.max_snap_km,
                       tree=tree, labels="FINESS " + useful.index.astype(str))
    must = np.zeros(len(useful), dtype=bool)
    if "ajoute" in useful.columns:
        must |= useful["ajoute"].fillna(False).to_numpy(dtype=bool)
    if region is not None and "reg" in useful.columns:
        must |= (useful["reg"].astype("string") == region).fillna(False).to_numpy(dtype=bool)
    outside = snap.far & must
    if outside.any():
        bad = useful.index[outside]
        names = [f"{f} ({useful.at[f, 'nom']}, {snap.distance_m[i] / 1000:.0f} km)"
                 for f, i in zip(bad[:10], np.flatnonzero(outside)[:10], strict=True)]
        raise RoutingError(
            f"{int(outside.sum())} SU/SMUR site(s) lie outside the road network's extent "
            f"(farther than routing.max_snap_km = {r.max_snap_km} km from {graph.source}): "
            f"{', '.join(names)}; check their coordinates (WGS84 lon/lat) or use a network "
            "that covers them"
        )
    keep = ~snap.far
    dropped = int((~keep).sum())
    if dropped:
        log.info("%d SU/SMUR sites outside the network's extent are not used", dropped)
    out = useful[keep].copy()
    out["node"] = snap.node[keep]
    out["access_km"] = snap.distance_m[keep] / 1000.0
    out["access_s"] = snap.access_s[keep]
    if len(out) == 0:
        raise RoutingError(f"no SU/SMUR site lies within {r.max_snap_km} km of {graph.source}")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=useful.crs)


def _check_crs(crs: Any, graph: RoadGraph, what: str) -> None:
    """Raise when ``crs`` (of points to snap) is not the graph's: never mix CRS silently."""
    from pyproj import CRS

    if crs is None or CRS.from_user_input(crs) != CRS.from_user_input(graph.crs):
        raise RoutingError(f"{what} must be in {graph.crs} like the road graph (got "
                           f"{getattr(crs, 'srs', crs)}); reproject them first")


@dataclass(frozen=True)
class Routed:
    """Node times to the nearest facility of one set.

    Attributes
    ----------
    time_s
        Per node, time to the nearest facility (s).
    finess, nom
        Per node, FINESS and name of that facility (object arrays).
    """

    time_s: npt.NDArray[np.float64]
    finess: npt.NDArray[np.object_]
    nom: npt.NDArray[np.object_]


def route_all(
    graph: RoadGraph,
    sites: gpd.GeoDataFrame,
    either: str,
    config: Config,
    tree: cKDTree | None = None,
) -> dict[str, Routed]:
    """Nearest SU and SMUR per node: one multi-source Dijkstra each; ``urgence`` derived.

    Each site joins the network at its ``routing.snap_candidates`` nearest
    nodes (access leg to each), the quickest one winning.

    Parameters
    ----------
    graph
        The road graph.
    sites
        :func:`locate_facilities` result (index ``finess``, ``nom``, ``su``,
        ``smur``, ``su_pediatrique_seul``, points in the graph CRS).
    either
        ``travel.facilities``: ``su``, ``smur`` or ``su_or_smur`` (the ``urgence`` set).
    config
        ``[routing]`` access-leg model and ``snap_candidates``.
    tree
        A :func:`zoning.routing.node_tree` of ``graph`` (built when ``None``).

    Returns
    -------
    dict of str to Routed
        One entry per kind of :data:`KINDS`.

    Raises
    ------
    RoutingError
        When a set is empty (e.g. every SU closed).
    """
    out: dict[str, Routed] = {}
    masks = kind_masks(sites, either)
    finess = sites.index.to_numpy(dtype=object)
    nom = sites["nom"].astype(object).to_numpy()
    r = config.routing
    snap = snap_points(graph, sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(),
                       r.access_speed_kmh, r.access_circuity, r.max_snap_km, tree=tree,
                       k=r.snap_candidates)
    routed_kinds = ("su", "smur")
    for kind in progress.progress(routed_kinds, desc="Calcul des temps d'accès",
                                  total=len(routed_kinds)):
        mask = masks[kind]
        if not mask.any():
            raise RoutingError(
                f"no {KIND_LABELS[kind]} within the road network's extent: nothing to route to"
            )
        time_s, which = nearest_facility(
            graph, snap.candidates[mask], snap.candidate_access_s[mask]
        )
        none = np.array([None], dtype=object)
        sel_f = np.concatenate([finess[mask], none])
        sel_n = np.concatenate([nom[mask], none])
        out[kind] = Routed(time_s=time_s, finess=sel_f[which], nom=sel_n[which])
    out["urgence"] = _either(out["su"], out["smur"], either)
    return out


def _either(su: Routed, smur: Routed, either: str) -> Routed:
    """The ``urgence`` set without a third Dijkstra.

    The nearest facility of a union of sets is the nearer of each set's nearest, exactly (a
    multi-source Dijkstra's time is the minimum over its sources): ``min(SU, SMUR)`` per node,
    the SU winning ties.
    """
    if either == "su":
        return su
    if either == "smur":
        return smur
    take_su = su.time_s <= smur.time_s
    return Routed(time_s=np.where(take_su, su.time_s, smur.time_s),
                  finess=np.where(take_su, su.finess, smur.finess),
                  nom=np.where(take_su, su.nom, smur.nom))


# --------------------------------------------------------------------------- origins


COVERAGE_LABELS: dict[str, str] = {
    "reseau": "réseau routier",
    "loin": "loin du réseau (trajet d'accès modélisé)",
    "urbain": "modèle d'accès urbain",
    "hors": "hors couverture du réseau routier",
}
"""French labels of ``modele_acces``: how an origin's time was obtained (or why it has none)."""


def _cell_keys(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Key of the EPSG:3035 1 km grid cell holding each EPSG:2154 point."""
    from pyproj import Transformer

    tx, ty = Transformer.from_crs(2154, 3035, always_xy=True).transform(x, y)
    return (np.floor(np.asarray(tx) / 1000.0).astype(np.int64) * 100_000
            + np.floor(np.asarray(ty) / 1000.0).astype(np.int64))


@dataclass(frozen=True)
class AccessContext:
    """What origin times need beyond the graph: density, sites, sites outside the network.

    Attributes
    ----------
    cell_keys, cell_density
        Sorted keys of the populated 1 km cells (:func:`_cell_keys`) and their population
        (inhabitants per km²); empty without a grid (no place is then "dense").
    sites
        Per facility set, ``(xy, finess, nom)`` of the sites routed to (direct urban trips).
    outside_xy
        Sites of the facility file farther than ``max_snap_km`` from the graph: a place whose
        straight-line distance to one of them, at ``max_speed_kmh``, beats its time could be
        closer to it than the network can say.
    max_speed_kmh
        Fastest modelled speed (a lower bound of the time to any site).
    """

    cell_keys: npt.NDArray[np.int64]
    cell_density: npt.NDArray[np.float64]
    sites: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.object_],
                           npt.NDArray[np.object_]]]
    outside_xy: npt.NDArray[np.float64]
    max_speed_kmh: float

    def density(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
                ) -> npt.NDArray[np.float64]:
        """Inhabitants per km² of the 1 km cell of each point (0 where no populated cell)."""
        if self.cell_keys.size == 0 or x.size == 0:
            return np.zeros(x.shape[0], dtype=np.float64)
        keys = _cell_keys(x, y)
        pos = np.clip(np.searchsorted(self.cell_keys, keys), 0, self.cell_keys.size - 1)
        hit = self.cell_keys[pos] == keys
        return np.where(hit, self.cell_density[pos], 0.0)


def access_context(
    grid: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame,
    outside: gpd.GeoDataFrame | None,
    either: str,
    config: Config,
) -> AccessContext:
    """Build the :class:`AccessContext` of a run (vectorised, once per run)."""
    if grid is not None and len(grid):
        g = grid[(grid["population"] > 0).to_numpy()]  # a mask, not a Series to align
        keys = _cell_keys(g.geometry.x.to_numpy(), g.geometry.y.to_numpy())
        order = np.argsort(keys, kind="stable")
        cell_keys = keys[order]
        dens = g["population"].to_numpy(dtype=np.float64)[order]
    else:
        cell_keys, dens = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    masks = kind_masks(sites, either)
    xy = np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])
    fin = sites.index.to_numpy(dtype=object)
    nom = sites["nom"].astype(object).to_numpy()
    per_kind = {k: (xy[m], fin[m], nom[m]) for k, m in masks.items()}
    out_xy = (np.column_stack([outside.geometry.x.to_numpy(), outside.geometry.y.to_numpy()])
              if outside is not None and len(outside) else np.empty((0, 2)))
    speeds = list(config.routing.class_speeds_kmh.values()) + list(
        config.routing.osm_speeds_kmh.values())
    return AccessContext(cell_keys, dens, per_kind, out_xy, max([130.0, *speeds]))


def origin_times(
    graph: RoadGraph,
    points: gpd.GeoSeries,
    routed: dict[str, Routed],
    config: Config,
    tree: cKDTree | None = None,
    context: AccessContext | None = None,
    density: npt.NDArray[np.float64] | None = None,
) -> pd.DataFrame:
    """Times from origin points (commune points, cell centres) to each facility set.

    Where the network stops, times stop (``modele_acces``, the French labels of
    :data:`COVERAGE_LABELS`):

    * ``reseau``: within ``routing.far_km`` of a node: access leg at ``access_speed_kmh``;
    * ``loin``: farther than ``far_km`` (but within ``max_snap_km``) outside dense areas: the
      same access leg, flagged "loin du réseau";
    * ``urbain``: farther than ``far_km`` in a dense area (1 km cell of at least
      ``urban_density_min`` inhabitants): the urban access model, city streets at
      ``urban_speed_kmh`` x ``urban_circuity`` to the network or straight to the nearest
      site, whichever is quicker (the numbered-road graph has holes in some city cores);
    * ``hors``: beyond ``max_snap_km``, on a network piece that reaches no site, or nearer
      (straight line at the fastest speed) to a site the network does not reach than its
      time says: no time at all (NaN), never an extrapolated one.

    ``density``: inhabitants per km² of each point's 1 km cell when the caller knows them
    (:func:`cell_times`: the grid's own cells); default: looked up in ``context``.

    Returns
    -------
    DataFrame
        Indexed like ``points``: ``t_<kind>_min, finess_<kind>, nom_<kind>`` for
        each kind, ``access_km``, ``far_from_network`` (beyond ``max_snap_km``),
        ``loin_reseau`` (beyond ``far_km``), ``modele_acces`` and ``hors_couverture``.
    """
    cols = _origin_arrays(
        graph, points.x.to_numpy(), points.y.to_numpy(),
        {k: r.time_s for k, r in routed.items()}, config, tree=tree, context=context,
        crs=points.crs, labels=points.index,
        sites={k: (r.finess, r.nom) for k, r in routed.items()}, density=density)
    return pd.DataFrame({k: text_column(v) if v.dtype.kind in "OU" else v
                         for k, v in cols.items()}, index=points.index)


def text_column(values: npt.NDArray[Any]) -> Any:
    """An array of texts (None or NaN where missing) as a pandas ``str`` array.

    The same column a DataFrame infers from ``values``, built from its few distinct texts
    (site FINESS and names, coverage labels): pandas 3 converts an object array to Arrow
    text element by element (0.2 to 0.5 s per column of the 370,000 national grid cells, by
    hand), a take from the distinct values costs a few milliseconds. Without any text, ``values``
    is returned as is (its dtype is left to the DataFrame, as before).
    """
    codes, uniques = pd.factorize(values)
    if not len(uniques):
        return values
    return pd.array(np.asarray(uniques, dtype=object), dtype="str").take(codes, allow_fill=True)


def _origin_arrays(
    graph: RoadGraph,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    node_times: dict[str, npt.NDArray[np.float64]],
    config: Config,
    tree: cKDTree | None = None,
    context: AccessContext | None = None,
    *,
    crs: Any,
    labels: npt.ArrayLike | None = None,
    sites: dict[str, tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]] | None = None,
    density: npt.NDArray[np.float64] | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """The arrays of :func:`origin_times` from coordinates (``crs``: that of ``x, y``).

    Without ``sites`` (per kind, FINESS and name of the facility reached from each node)
    only the times ``t_<kind>_min`` are returned (the GeoTIFF's bands): same times, same
    NaN where the network stops, none of the object or label columns. ``density``: see
    :func:`origin_times`.
    """
    from scipy.spatial import cKDTree as _Tree

    r = config.routing
    _check_crs(crs, graph, "origin points")
    snap = snap_points(graph, x, y, r.access_speed_kmh,
                       r.access_circuity, r.max_snap_km, tree=tree, labels=labels,
                       k=r.snap_candidates)
    n = x.shape[0]
    loin = snap.distance_m > r.far_km * 1000.0
    hors = snap.far.copy()
    if context is None:
        dense = np.zeros(n, dtype=bool)
    else:
        dense = (context.density(x, y) if density is None else density) >= r.urban_density_min
    urban = loin & ~hors & dense
    v_urban = r.urban_speed_kmh / 3.6
    cand_access = snap.candidate_access_s.copy()
    if urban.any():
        cand_access[urban] = snap.candidate_distance_m[urban] * r.urban_circuity / v_urban
    rows = np.arange(n)
    cols: dict[str, Any] = {}
    access_m = snap.distance_m
    for kind in KINDS:
        total = cand_access + node_times[kind][snap.candidates]
        j = np.argmin(total, axis=1) if n else np.empty(0, dtype=np.int64)
        time_s = total[rows, j]
        if sites is not None:
            node = snap.candidates[rows, j]
            fin, nom = sites[kind][0][node], sites[kind][1][node]
            if kind == "urgence":
                access_m = snap.candidate_distance_m[rows, j]
        site = context.sites.get(kind) if context is not None else None
        if urban.any() and site is not None and len(site[0]):
            dist, which = _Tree(site[0]).query(np.column_stack([x[urban], y[urban]]))
            direct = np.asarray(dist) * r.urban_circuity / v_urban
            idx = np.flatnonzero(urban)
            better = direct < time_s[idx]
            time_s[idx[better]] = direct[better]
            if sites is not None:
                fin, nom = fin.copy(), nom.copy()
                fin[idx[better]] = site[1][which[better]]
                nom[idx[better]] = site[2][which[better]]
                if kind == "urgence":
                    access_m = access_m.copy()
                    access_m[idx[better]] = 0.0
        cols[f"t_{kind}_min"] = time_s / 60.0
        if sites is not None:
            cols[f"finess_{kind}"] = fin
            cols[f"nom_{kind}"] = nom
    t_urg = cols["t_urgence_min"] * 60.0
    hors |= ~np.isfinite(t_urg)
    if context is not None and context.outside_xy.shape[0] and n:
        d_out, _ = _Tree(context.outside_xy).query(np.column_stack([x, y]), workers=-1)
        hors |= np.asarray(d_out) / (context.max_speed_kmh / 3.6) < t_urg
    for kind in KINDS:
        t = cols[f"t_{kind}_min"]
        cols[f"t_{kind}_min"] = np.where(hors | ~np.isfinite(t), np.nan, t)
        if sites is not None:
            cols[f"finess_{kind}"] = np.where(hors, None, cols[f"finess_{kind}"])
            cols[f"nom_{kind}"] = np.where(hors, None, cols[f"nom_{kind}"])
    if sites is None:
        return cols
    cols["access_km"] = access_m / 1000.0  # access leg used for the "urgence" set
    cols["far_from_network"] = snap.far
    cols["loin_reseau"] = loin
    lab = COVERAGE_LABELS
    cols["modele_acces"] = np.where(hors, lab["hors"], np.where(
        urban, lab["urbain"], np.where(loin, lab["loin"], lab["reseau"])))
    cols["hors_couverture"] = hors
    return cols


_COMMUNE_COLUMNS = ["t_su_min", "t_smur_min", "t_urgence_min", "finess_su", "nom_su",
                    "finess_smur", "nom_smur", "finess_urgence", "nom_urgence", "access_km",
                    "far_from_network", "loin_reseau", "modele_acces", "hors_couverture"]


def commune_times(
    graph: RoadGraph,
    points: gpd.GeoSeries,
    routed: dict[str, Routed],
    config: Config,
    tree: cKDTree | None = None,
    context: AccessContext | None = None,
) -> pd.DataFrame:
    """Per commune: times to the nearest SU, SMUR and either, with the facilities reached.

    Parameters
    ----------
    graph
        Road graph.
    points
        Commune population points (``Territory.points``), index ``code_insee``.
    routed
        :func:`route_all` result.
    config
        ``[routing]`` access-leg model.

    Returns
    -------
    DataFrame
        Index ``code_insee``: ``t_su_min, t_smur_min, t_urgence_min, finess_su,
        nom_su, finess_smur, nom_smur, finess_urgence, nom_urgence, access_km,
        far_from_network, loin_reseau, modele_acces, hors_couverture`` (see
        :func:`origin_times`).
    """
    out = origin_times(graph, points, routed, config, tree=tree,
                       context=context)[_COMMUNE_COLUMNS]
    out.index.name = "code_insee"
    return out


def cell_times(
    graph: RoadGraph,
    grid: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    routed: dict[str, Routed],
    config: Config,
    tree: cKDTree | None = None,
    context: AccessContext | None = None,
) -> pd.DataFrame:
    """Per populated grid cell inside the territory: commune, EPCI and times.

    Parameters
    ----------
    grid
        :func:`zoning.sources.read_population_grid` (cell centres, index ``grd_id``).
    communes
        Territory communes (index ``code_insee``, ``epci_siren``, polygons).

    Returns
    -------
    DataFrame
        Index ``grd_id``: ``population, code_insee, epci_siren, x, y`` and the
        :func:`origin_times` columns; cells whose centre lies in no commune of
        the territory are left out.
    """
    cells = grid.loc[(grid["population"] > 0).to_numpy(), ["population", "geometry"]]
    _check_crs(communes.crs, graph, "communes")
    # cell centre within a commune polygon: one STRtree query (tree on the points, each
    # polygon prepared once: twice as fast as a tree on the polygons, same pairs); a centre
    # inside two overlapping polygons goes to the first in the communes' order, one on a
    # shared border (in no interior) to none, like a "within" spatial join
    tree_pts = shapely.STRtree(np.asarray(cells.geometry.values))
    com_i, cell_i = tree_pts.query(np.asarray(communes.geometry.values), predicate="contains")
    order = np.lexsort((com_i, cell_i))
    cell_i, com_i = cell_i[order], com_i[order]
    first = np.unique(cell_i, return_index=True)[1]
    cell_i, com_i = cell_i[first], com_i[first]
    joined = cells.iloc[cell_i]
    # each cell's density is its own population (what context.density looks up: one
    # EPSG:3035 transform fewer)
    pop = joined["population"].to_numpy(dtype=np.float64)
    times = origin_times(graph, joined.geometry, routed, config, tree=tree, context=context,
                         density=pop)
    out = pd.concat(
        [
            pd.DataFrame(
                {
                    "population": pop,
                    "code_insee": communes.index.astype(str).array.take(com_i),
                    "epci_siren": pd.Index(communes["epci_siren"]).astype(str).array
                    .take(com_i),
                    "x": joined.geometry.x.to_numpy(),
                    "y": joined.geometry.y.to_numpy(),
                },
                index=joined.index,
            ),
            times,
        ],
        axis=1,
    )
    out.index.name = "grd_id"
    return out


def epci_times(
    communes: pd.DataFrame,
    commune_t: pd.DataFrame,
    cells: pd.DataFrame | None,
    threshold_min: float,
    epci_index: pd.Index | None = None,
) -> pd.DataFrame:
    """Population-weighted time to the nearest emergency service per EPCI.

    Parameters
    ----------
    communes
        Territory communes: index ``code_insee``, ``epci_siren``, ``population``.
    commune_t
        :func:`commune_times` (uses ``t_urgence_min``).
    cells
        :func:`cell_times`, or ``None`` to weight by commune populations only.
    threshold_min
        Threshold (minutes) for ``pop_beyond`` / ``share_beyond``.
    epci_index
        EPCI to report (default: those of ``communes``).

    Returns
    -------
    DataFrame
        Index ``epci_siren``: ``t_mean_min`` (population-weighted), ``pop_beyond``,
        ``share_beyond`` (0..1), ``weights_source`` ("grille 1 km" when the EPCI's
        populated cells hold at least ``GRID_MIN_COVERAGE`` of its commune population,
        else "communes"),
        ``population_ponderee`` (weight of the places with a time), ``t_max_commune_min``,
        ``commune_max`` (code of the commune with the longest time), ``population_totale``
        (all weights), ``part_hors_couverture`` (share of the weights without a time: hors
        couverture du réseau routier, left out of the mean and shares), ``part_loin_reseau``
        (share farther than ``routing.far_km`` from the graph) and ``part_modele_urbain``
        (share timed by the urban access model).
    """
    def flags(frame: pd.DataFrame, index: pd.Index) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, col, value in (("loin", "loin_reseau", True),
                                ("urbain", "modele_acces", COVERAGE_LABELS["urbain"])):
            if col in frame.columns:
                out[key] = (frame[col].reindex(index) == value).fillna(False).to_numpy(bool)
            else:  # a table built by hand: no flag
                out[key] = np.zeros(len(index), dtype=bool)
        return out

    com = pd.DataFrame({
        "epci_siren": communes["epci_siren"].astype(str),
        "population": communes["population"].astype(np.float64),
        "t": commune_t["t_urgence_min"].reindex(communes.index),
        **flags(commune_t, communes.index),
    })
    if epci_index is None:
        epci_index = pd.Index(sorted(com["epci_siren"].unique()), name="epci_siren")

    def summarise(frame: pd.DataFrame, weight: str) -> pd.DataFrame:
        # places without a time (hors couverture) are left out of the means and shares
        w = frame[weight].to_numpy(dtype=np.float64)
        t = frame["t"].to_numpy(dtype=np.float64)
        covered = np.isfinite(t)
        wc = np.where(covered, w, 0.0)
        tmp = pd.DataFrame({
            "epci_siren": frame["epci_siren"].to_numpy(),
            "w": wc,
            "w_all": w,
            "wt": np.where(covered, w * np.where(covered, t, 0.0), 0.0),
            "beyond": np.where(covered & (t > threshold_min), w, 0.0),
            "loin": np.where(frame["loin"].to_numpy(dtype=bool), w, 0.0),
            "urbain": np.where(frame["urbain"].to_numpy(dtype=bool), w, 0.0),
        })
        g = tmp.groupby("epci_siren").sum()
        total = g["w_all"].where(g["w_all"] > 0)
        return pd.DataFrame({
            "t_mean_min": g["wt"] / g["w"].where(g["w"] > 0),
            "pop_beyond": g["beyond"],
            "share_beyond": g["beyond"] / g["w"].where(g["w"] > 0),
            "population_ponderee": g["w"],
            "population_totale": g["w_all"],
            "part_hors_couverture": 1.0 - g["w"] / total,
            "part_loin_reseau": g["loin"] / total,
            "part_modele_urbain": g["urbain"] / total,
        })

    by_commune = summarise(com, "population").reindex(epci_index)
    if cells is not None and len(cells):
        grid = summarise(
            pd.DataFrame({"epci_siren": cells["epci_siren"], "population": cells["population"],
                          "t": cells["t_urgence_min"], **flags(cells, cells.index)}),
            "population",
        ).reindex(epci_index)
        grid_pop = grid["population_totale"].fillna(0.0)
        # a grid file covering only part of the EPCI would bias its mean: communes then
        use_grid = (grid_pop > 0) & (
            grid_pop >= GRID_MIN_COVERAGE * by_commune["population_totale"].fillna(0.0))
    else:
        grid = by_commune
        use_grid = pd.Series(False, index=epci_index)
    out = grid.where(use_grid, by_commune)
    out["weights_source"] = np.where(use_grid, WEIGHTS_GRID, WEIGHTS_COMMUNES)
    valid = com.dropna(subset=["t"])
    idx_max = valid.groupby("epci_siren")["t"].idxmax()
    out["t_max_commune_min"] = pd.Series(
        valid["t"].reindex(idx_max.to_numpy()).to_numpy(), index=idx_max.index
    ).reindex(epci_index)
    out["commune_max"] = idx_max.astype(object).reindex(epci_index)
    out.index.name = "epci_siren"
    return out[["t_mean_min", "pop_beyond", "share_beyond", "weights_source",
                "population_ponderee", "t_max_commune_min", "commune_max",
                "population_totale", "part_hors_couverture", "part_loin_reseau",
                "part_modele_urbain"]]


# --------------------------------------------------------------------------- bundle


@dataclass
class TravelTimes:
    """Travel times of one run (baseline or scenario).

    Attributes
    ----------
    communes
        :func:`commune_times` result (index ``code_insee``).
    epci
        :func:`epci_times` result (index ``epci_siren``).
    cells
        :func:`cell_times` result (index ``grd_id``), or None.
    sites
        Facilities used (index ``finess``) with ``node``, ``access_km``.
    node_times
        Per facility set, seconds from each graph node to its nearest facility.
    graph
        The road graph.
    region
        Region code of the territory.
    either
        ``travel.facilities`` used for ``urgence``.
    threshold_min
        Threshold of ``share_beyond``.
    note
        French note every output must show (road network used; when the raw SAE
        SMURSAMU table is absent, that paediatric-only SMUR were not identified).
    regional
        Regional figures: ``population``, ``pop_beyond``, ``share_beyond``,
        ``weights_source``.
    n_outside
        Number of EPCI with communes outside the road network's extent (their times are
        without criterion 4 (:func:`trusted_epci`).
    context
        The :class:`AccessContext` of the run (density, sites, sites outside the network), so
        that other origins (raster cells) are timed by the same model.
    scenario
        The same computation with the ``close`` / ``add`` scenario applied (graph and grid
        shared), when :func:`run_travel_times` was given one; else None.
    """

    communes: pd.DataFrame
    epci: pd.DataFrame
    cells: pd.DataFrame | None
    sites: gpd.GeoDataFrame
    node_times: dict[str, npt.NDArray[np.float64]]
    graph: RoadGraph
    region: str
    either: str
    threshold_min: float
    note: str
    regional: dict[str, Any] = field(default_factory=dict)
    n_outside: int = 0
    scenario: TravelTimes | None = None
    context: AccessContext | None = None

    def worst_epci(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` EPCI with the largest share of population beyond the threshold."""
        return self.epci.sort_values(["share_beyond", "t_mean_min"], ascending=False).head(n)

    def longest_commune(self) -> tuple[str, float]:
        """Code and time (min) of the commune farthest from an emergency service."""
        t = self.communes["t_urgence_min"]
        code = str(t.idxmax())
        return code, float(t.loc[code])

    def criterion4_summary(self, epci_names: pd.Series) -> str:
        """French lines: the EPCI with criterion 4, those without and why (15 listed), the
        communes without a time (10 listed) and those timed by the urban access model.

        Parameters
        ----------
        epci_names
            EPCI names, index ``epci_siren``.
        """
        from zoning.fmt import fr_number

        def n(x: float) -> str:
            return fr_number(x, sep=" ")

        e = self.epci
        ok = e["share_beyond"].notna()
        lines = [f"Critère 4 (urgences) calculé pour {n(ok.sum())} EPCI sur {n(len(e))}"]
        if (~ok).any():
            names = epci_names.reindex(e.index[~ok]).astype(str)
            why = e.loc[~ok, "motif_indisponible"].astype(str)
            listed = [f"{a} ({w})" for a, w in zip(names[:15], why[:15], strict=True)]
            lines.append(f"  donnée indisponible pour {n((~ok).sum())} EPCI : "
                         + "; ".join(listed) + (" …" if (~ok).sum() > 15 else ""))
        com = self.communes
        hors = com["hors_couverture"].fillna(False).astype(bool)
        if hors.any():
            lines.append(f"  {n(hors.sum())} commune(s) hors couverture du réseau routier "
                         f"(aucun temps) : {', '.join(com.index[hors][:10])}"
                         + (" …" if hors.sum() > 10 else ""))
        urb = com["modele_acces"].eq("modèle d'accès urbain")
        if urb.any():
            lines.append(f"  {n(urb.sum())} commune(s) au temps obtenu par le modèle d'accès "
                         "urbain (loin du réseau dans une zone dense)")
        return "\n".join(lines)


@dataclass(frozen=True)
class SiteRouting:
    """What travel times need before the territory is known (:func:`route_sites`).

    Attributes
    ----------
    region
        Region code whose sites must be reached (``locate_facilities``).
    either
        The ``urgence`` set (``su``, ``smur`` or ``su_or_smur``).
    tree
        KD-tree of the graph's nodes.
    sites
        :func:`locate_facilities` result.
    routed
        :func:`route_all` result: per node, time to the nearest site of each set.
    context
        :func:`access_context` of the grid and sites.
    """

    region: str
    either: str
    tree: cKDTree
    sites: gpd.GeoDataFrame
    routed: dict[str, Routed]
    context: AccessContext


def route_sites(
    facilities: gpd.GeoDataFrame,
    graph: RoadGraph,
    config: Config,
    region: str,
    grid: gpd.GeoDataFrame | None = None,
    either: str | None = None,
    close: Iterable[str] = (),
    add: Iterable[AddedSite | str] = (),
) -> SiteRouting:
    """Sites on the graph and the time from every node to the nearest of each set.

    None of it depends on the territory (only on its region code), so
    :func:`zoning.pipeline.run` computes it in the background while the territory is read.
    Arguments as :func:`compute_travel_times`.

    Raises
    ------
    RoutingError
        Unknown facility set, or from :func:`locate_facilities` / :func:`route_all`.
    """
    either = either or config.travel.facilities
    if either not in URGENCE_LABELS:
        raise RoutingError(f"facility set {either!r}: expected su, smur or su_or_smur")
    tree = node_tree(graph)
    scenario_sites = apply_scenario(facilities, close, add)
    sites = locate_facilities(graph, scenario_sites, config, region=str(region), tree=tree)
    routed = route_all(graph, sites, either, config, tree=tree)
    kinds = emergency_services(scenario_sites)
    useful = scenario_sites[(kinds["su"] | kinds["smur"]).to_numpy()]
    outside = useful[~useful.index.isin(sites.index)]
    context = access_context(grid, sites, outside, either, config)
    return SiteRouting(region=str(region), either=either, tree=tree, sites=sites,
                       routed=routed, context=context)


def compute_travel_times(
    territory: Any,
    facilities: gpd.GeoDataFrame,
    graph: RoadGraph,
    config: Config,
    grid: gpd.GeoDataFrame | None = None,
    either: str | None = None,
    threshold_min: float | None = None,
    close: Iterable[str] = (),
    add: Iterable[AddedSite | str] = (),
    routing: SiteRouting | None = None,
) -> TravelTimes:
    """Times per commune, grid cell and EPCI to the nearest SU, SMUR and either.

    Parameters
    ----------
    territory
        :class:`zoning.territory.Territory` (``region``, ``communes``, ``points``, ``epci``).
    facilities
        :func:`zoning.sources.read_facilities` (all sites of the file).
    graph
        Road graph (:func:`load_network`).
    config
        Configuration (``[travel]``, ``[routing]``).
    grid
        :func:`zoning.sources.read_population_grid`; ``None`` = commune weights.
    either, threshold_min
        Override ``travel.facilities`` / ``travel.threshold_min``.
    close, add
        Scenario: FINESS to close, sites to add (see :func:`apply_scenario`).
    routing
        :func:`route_sites` of the same facilities, graph, grid and scenario, already
        computed; default (or when its region or set is not this one's): computed here.

    Returns
    -------
    TravelTimes
    """
    threshold = float(threshold_min if threshold_min is not None else config.travel.threshold_min)
    if not threshold > 0:
        raise RoutingError(f"threshold {threshold}: must be a positive number of minutes")
    region = str(territory.region)
    if (routing is None or routing.region != region
            or routing.either != (either or config.travel.facilities)):
        routing = route_sites(facilities, graph, config, region, grid, either, close, add)
    either, tree, sites, routed, context = (routing.either, routing.tree, routing.sites,
                                            routing.routed, routing.context)
    with progress.step("Temps par commune et par carreau de 1 km"):
        com_t = commune_times(graph, territory.points, routed, config, tree=tree,
                              context=context)
        cells = cell_times(graph, grid, territory.communes, routed, config, tree=tree,
                           context=context) if grid is not None else None
    epci_t = epci_times(territory.communes, com_t, cells, threshold,
                        epci_index=pd.Index(territory.epci.index, name="epci_siren"))
    epci_t = trusted_epci(epci_t, config)
    n_out = int(epci_t["motif_indisponible"].astype(bool).sum())
    regional = _regional_figures(territory.communes, com_t, cells, epci_t, region, threshold)
    note = _coverage_note(travel_note(graph, facilities), n_out)
    return TravelTimes(
        communes=com_t, epci=epci_t, cells=cells, sites=sites,
        node_times={k: v.time_s for k, v in routed.items()}, graph=graph, region=region,
        either=either, threshold_min=threshold, note=note,
        regional=regional, n_outside=n_out, context=context,
    )


_COVERAGE_NOTE = (" ; {n} EPCI sans critère 4 (donnée indisponible : hors couverture du réseau "
                  "routier ou modèle d'accès urbain non fiable ; jamais de temps extrapolé)")


def _coverage_note(base: str, n_out: int) -> str:
    """The road-network note, completed with the number of EPCI without criterion 4."""
    return base + (_COVERAGE_NOTE.format(n=n_out) if n_out else "")


def subset_travel(travel: TravelTimes, territory: Any) -> TravelTimes:
    """The travel times of a sub-territory (a region of the ``"FR"`` run), without routing again.

    Commune, cell and EPCI times do not depend on the territory (every site of the facility
    file is routed to); only the regional figures are recomputed over the region's communes.
    """
    from dataclasses import replace

    com = travel.communes.reindex(territory.communes.index)
    epci_t = travel.epci.reindex(pd.Index(territory.epci.index, name="epci_siren"))
    cells = (travel.cells[in_codes(travel.cells["code_insee"], territory.communes.index)]
             if travel.cells is not None else None)
    regional = _regional_figures(territory.communes, com, cells, epci_t, str(territory.region),
                                 travel.threshold_min)
    n_out = int(epci_t["motif_indisponible"].astype(bool).sum())
    base = travel.note
    if travel.n_outside:
        base = base.replace(_COVERAGE_NOTE.format(n=travel.n_outside), "")
    return replace(travel, communes=com, epci=epci_t, cells=cells, region=str(territory.region),
                   regional=regional, n_outside=n_out, scenario=None,
                   note=_coverage_note(base, n_out))


def trusted_epci(epci_t: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Blank criterion 4 of the EPCI where the times cannot be trusted, saying why.

    An EPCI gets no mean time and no share beyond the threshold (criterion 4 "donnée
    indisponible") when less than ``travel.min_coverage`` of its population lies within the
    road network's coverage, or when more than ``travel.max_share_urban_model`` of it is
    timed by the urban access model (a hole of the numbered-road graph). The others keep
    their values computed over the covered population only.

    Returns
    -------
    DataFrame
        ``epci_t`` with ``coverage`` (1 - ``part_hors_couverture``) and
        ``motif_indisponible`` (French reason, ``""`` when the value is kept).
    """
    out = epci_t.copy()
    t = config.travel
    hors = out["part_hors_couverture"].astype("float64").fillna(1.0)
    urban = out["part_modele_urbain"].astype("float64").fillna(0.0)
    out["coverage"] = (1.0 - hors).clip(0.0, 1.0)
    why = np.where(
        1.0 - hors < t.min_coverage,
        [f"{100 * h:.0f} % de la population hors couverture du réseau routier" for h in hors],
        np.where(urban > t.max_share_urban_model,
                 [f"{100 * u:.0f} % de la population loin du réseau dans une zone dense "
                  "(modèle d'accès urbain non fiable à cette échelle)" for u in urban], ""))
    out["motif_indisponible"] = why
    bad = out["motif_indisponible"] != ""
    for col in ("t_mean_min", "pop_beyond", "share_beyond", "t_max_commune_min"):
        out.loc[bad, col] = np.nan
    return out


def travel_note(graph: RoadGraph, facilities: pd.DataFrame) -> str:
    """French note of the outputs: road network used, plus the facility-file caveat.

    The caveat (``facilities.attrs["note_smur"]``, set by
    :func:`zoning.sources.read_facilities`) says when paediatric-only SMUR could not
    be told from general ones (raw SAE SMURSAMU table absent).
    """
    extra = str(facilities.attrs.get("note_smur", "") or "")
    return f"{graph.note} ; {extra}" if extra and graph.note else (graph.note or extra)


def _regional_figures(
    communes: pd.DataFrame,
    commune_t: pd.DataFrame,
    cells: pd.DataFrame | None,
    epci_t: pd.DataFrame,
    region: str,
    threshold: float,
) -> dict[str, Any]:
    """Population beyond the threshold over the region's communes, with the EPCI weights.

    Communes of an EPCI weighted by the grid count through their grid cells, the
    others through their own population (the same weights as :func:`epci_times`); places
    without a time (hors couverture du réseau routier) are left out, and counted in
    ``population_hors_couverture``.
    The region's communes are ``communes["in_region"]`` when present (a territory
    of metropolitan France, ``"FR"``, has no single region code), else those
    whose ``reg`` is ``region``.
    """
    if "in_region" in communes.columns:
        in_region = communes["in_region"].to_numpy(dtype=bool)
    else:
        in_region = (communes["reg"].astype(str) == region).to_numpy(dtype=bool)
    com = communes.loc[in_region]
    grid_epci = epci_t.index[epci_t["weights_source"] == WEIGHTS_GRID]
    by_grid = in_codes(com["epci_siren"], grid_epci)
    t = commune_t["t_urgence_min"].reindex(com.index).to_numpy(dtype=np.float64)
    pop_c = com["population"].to_numpy(dtype=np.float64)
    covered = np.isfinite(t)  # places hors couverture are left out of the shares
    pop = float(pop_c[~by_grid & covered].sum())
    outside = float(pop_c[~by_grid & ~covered].sum())
    beyond = float(pop_c[~by_grid & (t > threshold)].sum())
    if cells is not None and by_grid.any():
        sel = in_codes(cells["code_insee"], com.index[by_grid])  # columns, not the frame
        t_cell = cells["t_urgence_min"].to_numpy(dtype=np.float64)[sel]
        pop_cell = cells["population"].to_numpy(dtype=np.float64)[sel]
        has_t = ~np.isnan(t_cell)
        pop += float(pop_cell[has_t].sum())
        outside += float(pop_cell[~has_t].sum())
        beyond += float(pop_cell[t_cell > threshold].sum())
    source = (WEIGHTS_GRID if by_grid.all() else WEIGHTS_COMMUNES if not by_grid.any()
              else WEIGHTS_MIXED)
    return {"population": pop, "pop_beyond": beyond,
            "share_beyond": beyond / pop if pop else math.nan, "weights_source": source,
            "population_hors_couverture": outside}


def scenario_difference(base: TravelTimes, scenario: TravelTimes) -> pd.DataFrame:
    """Per EPCI: mean time and share beyond the threshold, before and after a scenario.

    Returns
    -------
    DataFrame
        Index ``epci_siren``: ``t_mean_min_avant, t_mean_min_apres, delta_t_mean_min,
        share_beyond_avant, share_beyond_apres, delta_share_beyond, pop_beyond_avant,
        pop_beyond_apres, delta_pop_beyond``, sorted by decreasing ``delta_t_mean_min``.
    """
    out = pd.DataFrame(index=base.epci.index)
    for col in ("t_mean_min", "share_beyond", "pop_beyond"):
        out[f"{col}_avant"] = base.epci[col]
        out[f"{col}_apres"] = scenario.epci[col].reindex(out.index)
        out[f"delta_{col}"] = out[f"{col}_apres"] - out[f"{col}_avant"]
    order = out["delta_t_mean_min"].abs().sort_values(ascending=False).index
    return out.loc[order]


@dataclass(frozen=True)
class TravelInputs:
    """The files and routing of a region's travel times, ready before its territory
    (:func:`travel_inputs`): the facility file, the road graph, the 1 km grid (None without
    it) and :class:`SiteRouting`."""

    facilities: gpd.GeoDataFrame
    graph: RoadGraph
    grid: gpd.GeoDataFrame | None
    routing: SiteRouting


def travel_inputs(
    config: Config,
    data_dir: str | os.PathLike[str],
    region: str,
    *,
    use_grid: bool = True,
) -> TravelInputs:
    """Read the facilities, load the road graph (cache), read the 1 km grid and route every
    node to its nearest sites (:func:`route_sites`), for the current situation.

    None of it needs the territory: :func:`zoning.pipeline.run` calls it in a background
    thread while the territory is read, then hands it to :func:`run_travel_times`.
    """
    from zoning.sources import read_facilities, read_population_grid

    facilities = read_facilities(Path(data_dir))
    graph = load_network(data_dir, config)
    grid = None
    if use_grid:
        with progress.step("Lecture de la grille de population 1 km"):
            grid = read_population_grid(Path(data_dir))
    return TravelInputs(facilities, graph, grid,
                        route_sites(facilities, graph, config, str(region), grid))


def run_travel_times(
    territory: Any,
    config: Config,
    data_dir: str | os.PathLike[str],
    network: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    *,
    class_column: str = "road_class",
    cache_dir: str | os.PathLike[str] | None = None,
    use_grid: bool = True,
    either: str | None = None,
    threshold_min: float | None = None,
    close: Iterable[str] = (),
    add: Iterable[AddedSite | str] = (),
    inputs: TravelInputs | Callable[[], TravelInputs] | None = None,
) -> TravelTimes:
    """Travel times of a territory: one function for ``score``, ``travel-times``, ``explain``.

    Reads the facilities and the population grid, builds (or reads from cache) the road graph,
    computes the times (:func:`compute_travel_times`) and blanks those the network cannot support
    (:func:`trusted_epci`). With ``close`` / ``add``, the scenario is computed on the same
    graph and grid and returned as ``.scenario``. Bad scenario input (unknown FINESS, malformed
    ``--add``) fails before any long step.

    Parameters
    ----------
    territory
        :func:`zoning.territory.load_territory` result.
    config
        Configuration.
    data_dir
        Data directory.
    network, class_column, cache_dir
        See :func:`load_network`.
    use_grid
        Weight EPCI means by the 1 km grid (else by commune populations).
    either, threshold_min
        Override ``travel.facilities`` / ``travel.threshold_min``.
    close, add
        Scenario: FINESS to close, sites to add (see :func:`apply_scenario`).
    inputs
        :func:`travel_inputs` of the same data directory, configuration and region (with the
        default network, no scenario), or a function giving them (:func:`zoning.pipeline.run`
        computes them in the background while the territory is read); default: read and
        routed here.

    Returns
    -------
    TravelTimes
        The current situation; ``.scenario`` holds the scenario when one was given.
    """
    from zoning.sources import read_facilities, read_population_grid

    added = [a if isinstance(a, AddedSite) else parse_added_site(a) for a in add]
    closed = [str(c) for c in close]
    if inputs is not None:
        if network is not None or cache_dir is not None or not use_grid:
            raise ValueError("inputs= are travel_inputs of the default network, cache and "
                             "grid: do not combine them with network, cache_dir or use_grid")
        ready = inputs() if callable(inputs) else inputs
        facilities, graph, grid, routing = (ready.facilities, ready.graph, ready.grid,
                                            ready.routing)
        apply_scenario(facilities, closed, added)  # unknown FINESS
    else:
        facilities = read_facilities(Path(data_dir))
        apply_scenario(facilities, closed, added)  # unknown FINESS: fail before routing
        graph = load_network(data_dir, config, network=network, class_column=class_column,
                             cache_dir=cache_dir)
        grid, routing = None, None
        if use_grid:
            with progress.step("Lecture de la grille de population 1 km"):
                grid = read_population_grid(Path(data_dir))
    base = compute_travel_times(territory, facilities, graph, config, grid=grid, either=either,
                                threshold_min=threshold_min, routing=routing)
    if closed or added:
        scenario = compute_travel_times(territory, facilities, graph, config, grid=grid,
                                        either=either, threshold_min=threshold_min,
                                        close=closed, add=added)
        base.scenario = scenario
    return base
