"""Road graphs as compact arrays, built from an OSM ``.osm.pbf`` or a line layer.

Both builders return the same :class:`RoadGraph`: node coordinates (projected,
EPSG:2154 by default), directed edges ``u -> v`` with length, travel time and
road class. Only the largest strongly connected component is kept, so that every
node can reach every other; what was dropped is recorded on the graph.

Modelling choices (documented here and in ``config/criteria.toml``):

* OSM: the drivable network is the set of ``highway=*`` types listed in
  ``routing.osm_speeds_kmh`` (anything else, e.g. ``track`` or ``via_ferrata``,
  is not driven on). One-way streets follow osmnx/pyrosm semantics:
  ``oneway=yes|true|1`` and roundabouts are one-way along the way,
  ``oneway=-1|reverse`` against it, everything else (including ``reversible``)
  two-way. Speed is the ``maxspeed`` tag when parseable (``"50"``,
  ``"50 mph"``, zone codes such as ``"FR:urban"``, the lowest of ``"50;30"``),
  else the highway-type default. Edge lengths are pyrosm's geodesic segment
  lengths (independent of the projection).
* Line layers (Travel Mapping, IGN ROUTE 500 / BD TOPO): every line is two-way
  (these layers carry no one-way attribute); line end points are joined into
  nodes when their projected coordinates agree after rounding to
  ``snap_tolerance_m`` (1 m by default), which rebuilds junctions of layers whose
  lines share exact vertices; lengths are projected lengths and travel times are
  ``length x circuity / speed(class)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from zoning import settings
from zoning.atomic import atomic_path, file_sha256
from zoning.errors import DataFileNotFoundError, DataFormatError, RoutingError
from zoning.fmt import fr_number
from zoning.routing.csr import build_csr

log = logging.getLogger(__name__)

BUILDER_VERSION = 1
"""Bump when a builder changes what it produces: cached graphs of older versions are ignored."""

DEFAULT_CRS = "EPSG:2154"


TRAVEL_MAPPING_NOTE = "réseau routier numéroté (Travel Mapping), vitesses modélisées par classe"
"""Note every output based on the Travel Mapping graph must show."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RoadGraph:
    """A directed road graph as compact arrays.

    Attributes
    ----------
    x, y
        Node coordinates (float64) in ``crs``.
    u, v
        Edge ends (int64 node indices); edge ``i`` runs from ``u[i]`` to ``v[i]``.
    length_m
        Edge length in metres.
    time_s
        Edge travel time in seconds.
    road_class
        Edge road class as an int16 code into ``classes``.
    classes
        Road class names (OSM ``highway`` values or line-layer classes).
    source
        Human-readable description of the input (file name and builder).
    note
        French note every output based on this graph must show.
    crs
        CRS of ``x, y``.
    dropped_nodes, dropped_edges
        Nodes and edges removed because they are outside the largest strongly
        connected component.
    node_ids
        Original node identifiers (OSM node ids) when the input has them, else empty.
    """

    x: FloatArray
    y: FloatArray
    u: IntArray
    v: IntArray
    length_m: FloatArray
    time_s: FloatArray
    road_class: npt.NDArray[np.int16]
    classes: tuple[str, ...]
    source: str
    note: str
    crs: str = DEFAULT_CRS
    dropped_nodes: int = 0
    dropped_edges: int = 0
    node_ids: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.u.shape[0])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the nodes."""
        return (float(self.x.min()), float(self.y.min()), float(self.x.max()), float(self.y.max()))

    @cached_property
    def reversed_matrix(self) -> csr_matrix:
        """Travel-time CSR matrix of the reversed graph, parallel edges collapsed to the minimum.

        Entry ``[v, u]`` holds the time of edge ``u -> v``. Built once per graph
        (sorting the edges dominates: ~0.5 s for 2 million edges) and reused by
        every :func:`zoning.routing.nearest_facility` call.
        """
        return build_csr(self.n_nodes, self.v, self.u, self.time_s)

    def summary(self) -> str:
        """One line describing the graph, in French (shown by the CLI)."""
        km = float(self.length_m.sum()) / 1000.0
        n = fr_number
        return (
            f"{self.source} : {n(self.n_nodes)} nœuds, {n(self.n_edges)} arcs orientés "
            f"({n(km)} km d'arcs orientés) ; écartés hors des composantes "
            f"fortement connexes conservées (réseaux isolés) : {n(self.dropped_nodes)} nœuds, "
            f"{n(self.dropped_edges)} arcs"
        )


# --------------------------------------------------------------------------- assembly


def _largest_scc(
    n: int, u: IntArray, v: IntArray, min_component_nodes: int | None = None
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Masks of nodes and edges in the largest strongly connected component.

    With ``min_component_nodes``, every other component of at least that many nodes is kept
    too (an island network such as Corsica, 1,808 nodes, beside the mainland's 167,404).
    """
    adj = csr_matrix((np.ones(u.shape[0], dtype=np.int8), (u, v)), shape=(n, n))
    _, labels = connected_components(adj, directed=True, connection="strong")
    counts = np.bincount(labels)
    keep_label = np.zeros(counts.shape[0], dtype=bool)
    keep_label[int(np.argmax(counts))] = True
    if min_component_nodes is not None:
        keep_label |= counts >= int(min_component_nodes)
    keep_nodes = keep_label[labels]
    keep_edges = keep_nodes[u] & keep_nodes[v]
    return keep_nodes, keep_edges


def assemble_graph(
    x: FloatArray,
    y: FloatArray,
    u: IntArray,
    v: IntArray,
    length_m: FloatArray,
    time_s: FloatArray,
    road_class: npt.NDArray[np.integer[Any]],
    classes: Sequence[str],
    source: str,
    note: str,
    crs: str = DEFAULT_CRS,
    node_ids: IntArray | None = None,
    min_component_nodes: int | None = None,
) -> RoadGraph:
    """Build a :class:`RoadGraph` from raw arrays, keeping the largest strongly connected component.

    Self-loops are removed. Nodes are renumbered ``0..n-1`` in their original order.

    Parameters
    ----------
    x, y
        Node coordinates.
    u, v
        Directed edge ends (node indices).
    length_m, time_s
        Edge length (m) and travel time (s), non-negative and finite.
    road_class, classes
        Edge class codes and class names.
    source, note, crs
        See :class:`RoadGraph`.
    node_ids
        Original node identifiers, optional.
    min_component_nodes
        Also keep every other strongly connected component of at least this many nodes
        (islands with their own hospitals, e.g. Corsica); ``None`` = the largest only.

    Returns
    -------
    RoadGraph

    Raises
    ------
    RoutingError
        When the network has no edge.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    length_m = np.asarray(length_m, dtype=np.float64)
    time_s = np.asarray(time_s, dtype=np.float64)
    codes: npt.NDArray[np.int16] = np.asarray(road_class, dtype=np.int16)
    n = int(np.asarray(x).shape[0])
    if u.shape[0] == 0 or n == 0:
        raise RoutingError(f"{source}: the road network has no drivable edge")
    if not (np.isfinite(time_s).all() and (time_s >= 0).all()):
        raise RoutingError(f"{source}: some edge travel times are negative or not finite")
    loop = u == v
    u, v, length_m, time_s = (a[~loop] for a in (u, v, length_m, time_s))
    codes = codes[~loop]
    if u.shape[0] == 0:
        raise RoutingError(f"{source}: the road network has no edge between distinct nodes")
    keep_nodes, keep_edges = _largest_scc(n, u, v, min_component_nodes)
    new_index = np.cumsum(keep_nodes) - 1
    ids = np.asarray(node_ids, dtype=np.int64)[keep_nodes] if node_ids is not None and len(
        node_ids
    ) else np.empty(0, dtype=np.int64)
    graph = RoadGraph(
        x=np.ascontiguousarray(np.asarray(x, dtype=np.float64)[keep_nodes]),
        y=np.ascontiguousarray(np.asarray(y, dtype=np.float64)[keep_nodes]),
        u=new_index[u[keep_edges]].astype(np.int64),
        v=new_index[v[keep_edges]].astype(np.int64),
        length_m=length_m[keep_edges],
        time_s=time_s[keep_edges],
        road_class=codes[keep_edges],
        classes=tuple(classes),
        source=source,
        note=note,
        crs=crs,
        dropped_nodes=int(n - keep_nodes.sum()),
        dropped_edges=int(u.shape[0] - keep_edges.sum() + loop.sum()),
        node_ids=ids,
    )
    if graph.n_nodes < 2:
        raise RoutingError(f"{source}: the largest strongly connected component has one node")
    log.info(graph.summary())
    return graph


# --------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """``$ZONING_CACHE_DIR``, else ``~/.cache/zoning`` (see :mod:`zoning.settings`)."""
    return settings.cache_dir()


def cache_key(builder: str, files: Sequence[Path], params: Mapping[str, Any]) -> str:
    """Key of a built graph: builder name and version, input file hashes, parameters.

    Parameters
    ----------
    builder
        Builder name (``lines`` or ``osm``).
    files
        Input files (their full-content SHA-256 enter the key).
    params
        Builder parameters (speed table, circuity, CRS...), JSON-serialisable.

    Returns
    -------
    str
        32 hexadecimal characters.
    """
    payload = {
        "builder": builder,
        "version": BUILDER_VERSION,
        "files": [file_sha256(p) for p in files],
        "params": params,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_ARRAYS = ("x", "y", "u", "v", "length_m", "time_s", "road_class", "node_ids")


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def save_graph(graph: RoadGraph, path: str | os.PathLike[str]) -> Path:
    """Write a graph to an ``.npz`` file atomically, with its checksum beside it.

    The SHA-256 of the file goes to ``<path>.sha256``, written after the graph: a cache
    file cut short, altered or left without its checksum is rebuilt, never trusted.
    """
    path = Path(path)
    meta = {
        "classes": list(graph.classes),
        "source": graph.source,
        "note": graph.note,
        "crs": graph.crs,
        "dropped_nodes": graph.dropped_nodes,
        "dropped_edges": graph.dropped_edges,
        "version": BUILDER_VERSION,
    }
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)),
                     **{k: getattr(graph, k) for k in _ARRAYS})
        digest = file_sha256(tmp)
    with atomic_path(_checksum_path(path)) as tmp:
        tmp.write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    return path


def verify_graph_file(path: str | os.PathLike[str]) -> None:
    """Check a cached graph against the checksum written beside it.

    Raises
    ------
    DataFormatError
        When the checksum file is missing or unreadable, or does not match.
    """
    path = Path(path)
    try:
        stored = _checksum_path(path).read_text(encoding="utf-8").split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        raise DataFormatError(f"{path}: no checksum beside the cached graph") from None
    if stored != file_sha256(path):
        raise DataFormatError(f"{path}: checksum mismatch (file cut short or altered)")


def _check_arrays(path: str | os.PathLike[str], arrays: dict[str, Any]) -> None:
    """A graph whose arrays disagree would crash the routing engine: refuse it."""
    n, m = len(arrays["x"]), len(arrays["u"])
    problems = []
    if len(arrays["y"]) != n or len(arrays["node_ids"]) not in (0, n):
        problems.append("node arrays of different lengths")
    if any(len(arrays[k]) != m for k in ("v", "length_m", "time_s", "road_class")):
        problems.append("edge arrays of different lengths")
    elif m and (min(arrays["u"].min(), arrays["v"].min()) < 0
                or max(arrays["u"].max(), arrays["v"].max()) >= n):
        problems.append("edge ends outside the node list")
    elif m and not (np.isfinite(arrays["time_s"]).all() and (arrays["time_s"] >= 0).all()):
        problems.append("negative or non-finite edge times")
    if not (np.isfinite(arrays["x"]).all() and np.isfinite(arrays["y"]).all()):
        problems.append("non-finite node coordinates")
    if problems:
        raise DataFormatError(f"{path}: inconsistent graph ({'; '.join(problems)})")


def load_graph(path: str | os.PathLike[str]) -> RoadGraph:
    """Read a graph written by :func:`save_graph` (arrays checked for consistency).

    Raises
    ------
    DataFormatError
        When the file is not a graph written by this version, is damaged, or its arrays
        are inconsistent (edge ends outside the node list...).
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
            zlib.error) as exc:
        raise DataFormatError(f"{path}: not a zoning road-graph cache file ({exc})") from None
    if not isinstance(meta, dict) or meta.get("version") != BUILDER_VERSION:
        raise DataFormatError(f"{path}: graph cache of another builder version")
    _check_arrays(path, arrays)
    try:
        return RoadGraph(
            x=arrays["x"],
            y=arrays["y"],
            u=arrays["u"],
            v=arrays["v"],
            length_m=arrays["length_m"],
            time_s=arrays["time_s"],
            road_class=arrays["road_class"].astype(np.int16),
            node_ids=arrays["node_ids"],
            classes=tuple(meta["classes"]),
            source=meta["source"],
            note=meta["note"],
            crs=meta["crs"],
            dropped_nodes=int(meta["dropped_nodes"]),
            dropped_edges=int(meta["dropped_edges"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(f"{path}: damaged graph metadata ({exc})") from None


def _cached(
    builder: str,
    files: Sequence[Path],
    params: Mapping[str, Any],
    cache_dir: str | os.PathLike[str] | None,
    use_cache: bool,
    build: Any,
) -> RoadGraph:
    """The graph from the cache when its file is intact, else built (and cached if the
    folder is writable: an unwritable cache means no cache, with one note)."""
    if not use_cache:
        graph: RoadGraph = build()
        return graph
    key = cache_key(builder, files, params)
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = target / f"graph-{builder}-{key}.npz"
    try:
        present = path.is_file()
    except OSError:
        present = False
    if present:
        try:
            verify_graph_file(path)
            graph = load_graph(path)
            log.info("road graph read from cache %s", path)
            return graph
        except (DataFormatError, OSError) as exc:
            log.warning("damaged road-graph cache, rebuilt: %s", exc)
    graph = build()
    try:
        save_graph(graph, path)
    except OSError as exc:  # a read-only cache must not stop the run
        log.warning("road-graph cache not written (%s: %s); the graph will be built again "
                    "next time (set ZONING_CACHE_DIR to a writable folder)", target,
                    exc.strerror or exc)
    return graph


def _check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise DataFileNotFoundError(
            f"{path}: {what} not found (give an existing file to --network, or put it there)"
        )
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: {what} is an empty file (download it again)")


def _check_speeds(speeds: Mapping[str, float], key: str) -> dict[str, float]:
    bad = [k for k, s in speeds.items() if not (math.isfinite(s) and s > 0)]
    if bad:
        raise RoutingError(f"{key}: speeds must be positive km/h, bad for {', '.join(bad)}")
    return {str(k): float(s) for k, s in speeds.items()}


# --------------------------------------------------------------------------- line layers


def graph_from_line_layer(
    path: str | os.PathLike[str],
    class_column: str,
    speeds: Mapping[str, float],
    circuity: float,
    layer: str | None = None,
    crs: str = DEFAULT_CRS,
    snap_tolerance_m: float = 1.0,
    note: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    line_model: Mapping[str, Mapping[str, float]] | None = None,
    min_component_nodes: int | None = None,
) -> RoadGraph:
    """Build a two-way road graph from a line layer with a road-class column.

    Parameters
    ----------
    path
        GeoPackage, Shapefile or any OGR line layer, or a GeoParquet file (``.parquet``,
        read with pyarrow: the France Travel Mapping graph).
    class_column
        Column holding the road class (``road_class`` for Travel Mapping).
    speeds
        Road class -> speed in km/h (``routing.class_speeds_kmh``).
    circuity
        Travel times are ``length x circuity / speed`` (generalised geometry is
        short); with ``line_model``, the circuity of the classes it does not list.
    layer
        Layer name (``edges`` for Travel Mapping); ``None`` = the first layer.
    crs
        Projected CRS of the graph.
    snap_tolerance_m
        Line end points whose projected coordinates agree after rounding to this
        grid are the same node.
    note
        French note for outputs; by default the Travel Mapping note when the file
        name says ``travelmapping``, else a generic one naming the file.
    cache_dir, use_cache
        Graph cache folder (default :func:`default_cache_dir`) and whether to use it.
    line_model
        Road class -> ``{circuity, winding, spacing, max}`` (``[routing.line_model]``):
        each line's circuity then follows its class and its drawn shape
        (:func:`line_circuity`, :func:`line_shape`); ``None`` or empty = flat ``circuity``.
    min_component_nodes
        Keep, beside the largest strongly connected component, every component of at least
        this many nodes (``routing.min_component_nodes``: Corsica's network beside the
        mainland's); ``None`` = the largest only.

    Returns
    -------
    RoadGraph

    Raises
    ------
    DataFileNotFoundError
        When the file does not exist.
    DataFormatError
        When the file cannot be read or lacks ``class_column``.
    RoutingError
        When a road class has no speed (naming the config key to add).
    """
    path = Path(path)
    _check_file(path, "road line layer")
    speeds = _check_speeds(speeds, "routing.class_speeds_kmh")
    if circuity < 1.0 or not math.isfinite(circuity):
        raise RoutingError(f"routing.circuity must be >= 1, got {circuity}")
    if note is None:
        note = (
            TRAVEL_MAPPING_NOTE
            if "travelmapping" in path.name.lower()
            else f"réseau routier {path.name}, vitesses modélisées par classe"
        )
    model = {str(c): {str(k): float(v) for k, v in terms.items()}
             for c, terms in (line_model or {}).items()}
    params = {
        "class_column": class_column,
        "speeds": speeds,
        "circuity": circuity,
        "line_model": model,
        "layer": layer,
        "crs": crs,
        "snap": snap_tolerance_m,
        "note": note,
        "min_component_nodes": min_component_nodes,
    }

    def build() -> RoadGraph:
        return _build_line_layer(
            path, class_column, speeds, circuity, layer, crs, snap_tolerance_m, note, model,
            min_component_nodes,
        )

    return _cached("lines", [path], params, cache_dir, use_cache, build)


def _read_parquet_lines(path: Path, class_column: str) -> Any:
    """Class column and geometry of a GeoParquet line file (checked like the OGR layers)."""
    import geopandas as gpd
    import pyarrow.parquet as pq

    try:
        names = [str(n) for n in pq.read_schema(path).names]
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
        raise DataFormatError(f"{path}: not a readable GeoParquet file ({exc})") from None
    if class_column not in names:
        raise DataFormatError(
            f"{path}: no road-class column {class_column!r} (columns: {', '.join(names)}); "
            "give the right column"
        )
    try:
        frame = gpd.read_parquet(path, columns=[class_column, "geometry"])
    except Exception as exc:  # no GeoParquet metadata, damaged file...
        raise DataFormatError(f"{path}: cannot be read as GeoParquet ({exc})") from None
    if frame.crs is None:
        raise DataFormatError(f"{path}: the line layer has no CRS (define one, e.g. EPSG:2154)")
    return frame


def _read_ogr_lines(path: Path, class_column: str, layer: str | None) -> Any:
    """Class column and geometry of an OGR line layer (GeoPackage, Shapefile...)."""
    import geopandas as gpd
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSource/Layer errors
        raise DataFormatError(
            f"{path}: cannot read layer {layer or '(first)'} as a line layer ({exc})"
        ) from None
    fields = [str(f) for f in info["fields"]]
    if class_column not in fields:
        raise DataFormatError(
            f"{path}: layer {info.get('layer_name', layer)!r} has no road-class column "
            f"{class_column!r} (columns: {', '.join(fields) or 'none'}); give the right column"
        )
    if info.get("crs") is None:
        raise DataFormatError(f"{path}: the line layer has no CRS (define one, e.g. EPSG:2154)")
    return gpd.read_file(path, layer=layer, columns=[class_column], engine="pyogrio")


def _build_line_layer(
    path: Path,
    class_column: str,
    speeds: dict[str, float],
    circuity: float,
    layer: str | None,
    crs: str,
    snap_tolerance_m: float,
    note: str,
    line_model: Mapping[str, Mapping[str, float]] | None = None,
    min_component_nodes: int | None = None,
) -> RoadGraph:
    import shapely

    if path.suffix.lower() == ".parquet":
        frame = _read_parquet_lines(path, class_column)
    else:
        frame = _read_ogr_lines(path, class_column, layer)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame.explode(index_parts=False)
    gtype = set(frame.geom_type.unique())
    if not gtype <= {"LineString"}:
        raise DataFormatError(
            f"{path}: expected lines, found geometry types {sorted(gtype)} (give a line layer)"
        )
    frame = frame.to_crs(crs)
    cls = frame[class_column].astype("string").fillna("<vide>").to_numpy(dtype=object)
    classes, codes = np.unique(cls.astype(str), return_inverse=True)
    missing = [str(c) for c in classes if c not in speeds]
    if missing:
        raise RoutingError(
            f"{path}: road class(es) {', '.join(map(repr, missing))} of column {class_column!r} "
            f"have no speed; add them under [routing.class_speeds_kmh] in the config "
            f"(e.g. {missing[0]} = 60.0). Known classes: {', '.join(sorted(speeds))}"
        )
    geoms = frame.geometry.to_numpy()
    parts = _line_parts(geoms, snap_tolerance_m)
    length = shapely.length(geoms).astype(np.float64)
    m = geoms.shape[0]
    a, b = parts.node[:m], parts.node[m:]
    nodes_xy = parts.ends[parts.node_first]
    speed = np.array([speeds[c] for c in classes], dtype=np.float64)[codes]
    if line_model:
        deflection, spacing = _line_shape(parts)
        factor = line_circuity([str(c) for c in classes], codes, deflection, spacing,
                               line_model, circuity)
    else:
        factor = np.full(length.shape[0], circuity)
    time = length * factor / (speed / 3.6)
    return assemble_graph(
        x=nodes_xy[:, 0],
        y=nodes_xy[:, 1],
        u=np.concatenate([a, b]),
        v=np.concatenate([b, a]),
        length_m=np.concatenate([length, length]),
        time_s=np.concatenate([time, time]),
        road_class=np.concatenate([codes, codes]),
        classes=[str(c) for c in classes],
        source=(f"{path.name} (classes {class_column})" if path.suffix.lower() == ".parquet"
                else f"{path.name} (couche {layer or 'par défaut'}, classes {class_column})"),
        note=note,
        crs=crs,
        min_component_nodes=min_component_nodes,
    )


def line_shape(
    geoms: npt.NDArray[Any], snap_tolerance_m: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """Winding and vertex spacing of each line, from its drawn geometry only.

    ``deflection`` is the mean change of direction (radians, 0 = straight on,
    ``pi`` = U-turn) at the vertices of a line: its interior vertices, and its two
    end points counted half, where the change is measured against the other line
    leaving the same node (ends within ``snap_tolerance_m``) that continues it most
    straight (0 at a dead end). ``spacing_m`` is the mean distance between
    successive vertices. On a layer drawn with straight segments between
    waypoints (Travel Mapping), sharp angles at the waypoints and long spacings
    are what the geometry shows of a winding road it does not draw.

    Parameters
    ----------
    geoms
        Projected LineStrings (shapely array).
    snap_tolerance_m
        Grid on which end points are the same node (as in the line-layer builder).

    Returns
    -------
    (deflection, spacing_m)
        Two float64 arrays aligned with ``geoms``.
    """
    return _line_shape(_line_parts(geoms, snap_tolerance_m))


@dataclass(frozen=True)
class _LineParts:
    """Vertices, end points and end nodes of ``m`` lines, read once (arrays, no per-line loop).

    ``coords`` (k, 2) and ``line`` (k,): every vertex and the line it belongs to (in line
    order); ``ends`` (2m, 2): first points of the lines, then last points; ``node`` (2m,):
    the node of each end (ends equal on the ``snap_tolerance_m`` grid share a node, nodes
    numbered in the lexicographic order of their grid cell); ``node_first``: for each node,
    its first end in ``ends``.
    """

    coords: FloatArray
    line: IntArray
    ends: FloatArray
    node: IntArray
    node_first: IntArray


def _line_parts(geoms: npt.NDArray[Any], snap_tolerance_m: float) -> _LineParts:
    import shapely

    m = int(len(geoms))
    coords, line = shapely.get_coordinates(geoms, return_index=True)
    count = np.bincount(line, minlength=m)
    last = np.cumsum(count) - 1
    first = last - count + 1
    ends = np.vstack([coords[first], coords[last]])
    grid = np.round(ends / snap_tolerance_m).astype(np.int64)
    node_first, node = _grid_nodes(grid)
    return _LineParts(coords, line.astype(np.int64), ends, node, node_first)


def _grid_nodes(grid: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    """``np.unique(grid, axis=0, return_index=True, return_inverse=True)`` without the row sort.

    The two integer columns are folded into one int64 key in the same lexicographic
    order (first column, then second), so nodes and their numbering are those of the
    row-wise unique; falls back to it when the key would not fit.
    """
    lo = grid.min(axis=0) if grid.shape[0] else np.zeros(2, np.int64)
    span = (grid.max(axis=0) - lo + 1) if grid.shape[0] else np.ones(2, np.int64)
    if float(span[0]) * float(span[1]) < 2.0**62:
        key = (grid[:, 0] - lo[0]) * span[1] + (grid[:, 1] - lo[1])
        _, first_idx, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:  # coordinates too spread for one key on this grid
        _, first_idx, inverse = np.unique(grid, axis=0, return_index=True, return_inverse=True)
    return first_idx.astype(np.int64), inverse.ravel().astype(np.int64)


def _line_shape(parts: _LineParts) -> tuple[FloatArray, FloatArray]:
    """:func:`line_shape` from lines already read into :class:`_LineParts`."""
    m = parts.ends.shape[0] // 2
    coords, line = parts.coords, parts.line
    seg_line = line[1:]
    same = line[1:] == line[:-1]
    dxy = np.diff(coords, axis=0)
    bearing = np.arctan2(dxy[:, 1], dxy[:, 0])
    seg_line, bearing = seg_line[same], bearing[same]
    seg_len = np.hypot(dxy[same, 0], dxy[same, 1])
    n_seg = np.bincount(seg_line, minlength=m).astype(np.float64)
    # interior vertices: change of bearing between successive segments of one line
    inner = seg_line[1:] == seg_line[:-1]
    turn = np.abs(np.angle(np.exp(1j * (bearing[1:] - bearing[:-1]))))[inner]
    inner_sum = np.bincount(seg_line[1:][inner], weights=turn, minlength=m)
    # ends: bearing pointing into the line from each end node
    first_seg = np.searchsorted(seg_line, np.arange(m), side="left")
    last_seg = np.searchsorted(seg_line, np.arange(m), side="right") - 1
    bear = np.concatenate([bearing[first_seg], bearing[last_seg] + np.pi])
    end_defl = _best_continuation(parts.node, bear)
    vertices = np.maximum(n_seg, 1.0)  # n_seg - 1 interior vertices + two half ends
    deflection = (inner_sum + 0.5 * (end_defl[:m] + end_defl[m:])) / vertices
    spacing = np.bincount(seg_line, weights=seg_len, minlength=m) / vertices
    return deflection.astype(np.float64), spacing.astype(np.float64)


def _best_continuation(node: IntArray, bear: FloatArray) -> FloatArray:
    """For each line end, the smallest change of direction onto another end at its node.

    ``pi - |angle between the two outgoing bearings|``: two lines leaving a node in
    opposite directions continue each other straight (0); 0 at a dead end. All pairs
    of ends of each node are formed at once (sum of squared node degrees, small on a
    road graph).
    """
    n = node.shape[0]
    order = np.argsort(node, kind="stable")
    sn = node[order]
    start = np.flatnonzero(np.concatenate([[True], sn[1:] != sn[:-1]])) if n else np.empty(
        0, np.int64)
    size = np.diff(np.append(start, n))
    group = np.repeat(np.arange(start.shape[0]), size)  # group of each sorted end
    rep = size[group]  # ends of its node, itself included
    i = np.repeat(np.arange(n), rep)  # sorted position of the end
    offset = np.arange(i.shape[0]) - np.repeat(np.cumsum(rep) - rep, rep)
    j = start[group][i] + offset  # sorted position of the other end
    sb = bear[order]
    between = np.abs(np.angle(np.exp(1j * (sb[i] - sb[j]))))
    value = np.where(i != j, np.pi - between, np.inf)
    best = np.minimum.reduceat(value, np.cumsum(rep) - rep) if n else value
    best[np.isinf(best)] = 0.0
    out = np.empty(n, np.float64)
    out[order] = best
    return out


def line_circuity(
    classes: Sequence[str],
    codes: npt.NDArray[np.integer[Any]],
    deflection: FloatArray,
    spacing_m: FloatArray,
    model: Mapping[str, Mapping[str, float]],
    default: float,
) -> FloatArray:
    """Circuity of each line: ``base x exp(winding x deflection + spacing x ln(spacing_km))``.

    The factor converts the drawn length into the modelled road length (time =
    length x circuity / speed). ``model`` maps a road class to its terms
    (``circuity`` = base, ``winding`` per radian of mean deflection, ``spacing``
    per unit of log vertex spacing in km, see :func:`line_shape`); a class
    absent from it gets the flat ``default``. The result is never below 1 nor
    above ``max`` (default 3) of its class.
    """
    cls = list(classes)
    base = np.array([model.get(c, {}).get("circuity", default) for c in cls], np.float64)[codes]
    wind = np.array([model.get(c, {}).get("winding", 0.0) for c in cls], np.float64)[codes]
    spac = np.array([model.get(c, {}).get("spacing", 0.0) for c in cls], np.float64)[codes]
    cap = np.array([model.get(c, {}).get("max", 3.0) for c in cls], np.float64)[codes]
    km = np.maximum(np.asarray(spacing_m, np.float64), 1.0) / 1000.0
    factor = base * np.exp(wind * np.asarray(deflection, np.float64) + spac * np.log(km))
    return np.clip(factor, 1.0, np.maximum(cap, 1.0))


# --------------------------------------------------------------------------- OSM

_ZONE_SPEEDS = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 130.0,
    "trunk": 110.0,
    "zone30": 30.0,
    "zone20": 20.0,
    "zone10": 10.0,
    "living_street": 20.0,
    "walk": 6.0,
    "bicycle_road": 30.0,
}
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def parse_maxspeed(value: object) -> float:
    """Speed in km/h from an OSM ``maxspeed`` value; NaN when not parseable.

    Accepts numbers (``"50"``), miles (``"50 mph"``), zone codes (``"FR:urban"``
    50, ``"FR:rural"`` 80, ``"FR:motorway"`` 130, ``"FR:zone30"`` 30...) and
    lists (``"50;30"``: the lowest). ``"none"``, ``"signals"``, ``"variable"``
    give NaN (the highway-type default then applies).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    out: list[float] = []
    for part in str(value).lower().replace("|", ";").split(";"):
        part = part.strip()
        m = _NUMBER.match(part)
        if m:
            speed = float(m.group(1).replace(",", "."))
            if m.group(2) == "mph":
                speed *= 1.609344
            out.append(speed)
            continue
        if ":" in part:
            zone = part.split(":", 1)[1].replace(" ", "").replace("-", "")
            if zone in _ZONE_SPEEDS:
                out.append(_ZONE_SPEEDS[zone])
    valid = [s for s in out if 1.0 <= s <= 200.0]
    return min(valid) if valid else math.nan


def maxspeed_kmh(values: Sequence[object] | npt.NDArray[Any]) -> FloatArray:
    """Vectorised :func:`parse_maxspeed` (parses each distinct value once)."""
    import pandas as pd

    series = pd.Series(np.asarray(values, dtype=object))
    uniq = series.dropna().unique()
    table = {val: parse_maxspeed(val) for val in uniq}
    return series.map(table).to_numpy(dtype=np.float64, na_value=np.nan)


def _osm_direction(
    oneway: npt.NDArray[Any], junction: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Masks ``(forward allowed, backward allowed)`` from ``oneway`` and ``junction`` tags."""
    import pandas as pd

    ow = pd.Series(oneway, dtype="string").str.strip().str.lower().fillna("")
    jn = pd.Series(junction, dtype="string").str.strip().str.lower().fillna("")
    forward_only = ow.isin(["yes", "true", "1"]) | (
        jn.isin(["roundabout", "circular"]) & ~ow.isin(["no", "false", "0", "-1", "reverse"])
    )
    backward_only = ow.isin(["-1", "reverse"])
    fwd = (~backward_only).to_numpy(dtype=bool)
    bwd = (~forward_only & ~backward_only | backward_only).to_numpy(dtype=bool)
    return fwd, bwd


def osmnx_speeds(
    u: IntArray, v: IntArray, highway: npt.NDArray[Any], tagged_kmh: FloatArray,
    length_m: FloatArray, defaults: Mapping[str, float], x: FloatArray, y: FloatArray, crs: str,
    simplify: bool = False,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, npt.NDArray[Any], FloatArray]:
    """Edge speeds and travel times by osmnx, optionally on the osmnx-simplified graph.

    ``osmnx.routing.add_edge_speeds`` imputes the speed of an edge without a usable
    ``maxspeed`` from the mean ``maxspeed`` of the edges of its highway type; a type
    with no tagged edge at all takes its configured default (``defaults``).
    ``osmnx.routing.add_edge_travel_times`` gives the edge times; with ``simplify``,
    ``osmnx.simplify_graph`` merges the chains of degree-2 nodes (lengths and times
    summed). ``maxspeed`` values are parsed beforehand by :func:`parse_maxspeed`
    (osmnx does not read zone codes such as ``FR:urban``).

    Returns
    -------
    (u, v, length_m, time_s, highway, speed_kmh)
        Directed edges (node indices into ``x, y``; with ``simplify``, only the
        nodes kept are referenced).
    """
    import networkx as nx
    import osmnx as ox

    g = nx.MultiDiGraph(crs=crs)
    g.add_nodes_from((int(i), {"x": float(a), "y": float(b)})
                     for i, (a, b) in enumerate(zip(x, y, strict=True)))
    maxspeed = [f"{t:g}" if math.isfinite(t) else None for t in tagged_kmh.tolist()]
    attrs = ({"highway": str(h), "length": float(L), **({"maxspeed": m} if m else {})}
             for h, L, m in zip(highway, length_m, maxspeed, strict=True))
    g.add_edges_from(zip(u.tolist(), v.tolist(), attrs, strict=True))
    observed = set(np.unique(highway[np.isfinite(tagged_kmh)]).tolist())
    unobserved = {str(h): float(defaults[str(h)]) for h in np.unique(highway)
                  if str(h) not in observed}
    if simplify:
        g = ox.simplify_graph(g, edge_attrs_differ=["highway"])
    g = ox.routing.add_edge_speeds(g, hwy_speeds=unobserved or None)
    g = ox.routing.add_edge_travel_times(g)
    data = list(g.edges(data=True))
    uu = np.fromiter((e[0] for e in data), dtype=np.int64, count=len(data))
    vv = np.fromiter((e[1] for e in data), dtype=np.int64, count=len(data))
    ln = np.fromiter((e[2]["length"] for e in data), dtype=np.float64, count=len(data))
    tt = np.fromiter((e[2]["travel_time"] for e in data), dtype=np.float64, count=len(data))
    sp = np.fromiter((e[2]["speed_kph"] for e in data), dtype=np.float64, count=len(data))
    hw = np.array([h[0] if isinstance(h := e[2]["highway"], list) else h for e in data],
                  dtype=object)
    return uu, vv, ln, tt, hw, sp


OSM_ENGINES = ("zoning", "osmnx")


def graph_from_osm_pbf(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    speeds: Mapping[str, float],
    crs: str = DEFAULT_CRS,
    note: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    engine: str = "zoning",
    simplify: bool = False,
) -> RoadGraph:
    """Build a directed drivable road graph from one or several OSM ``.osm.pbf`` extracts.

    Several extracts (e.g. Geofabrik ``languedoc-roussillon`` and
    ``midi-pyrenees``) are merged on OSM node ids, so ways crossing their common
    border connect.

    Parameters
    ----------
    path
        One ``.osm.pbf`` file or a list of them.
    speeds
        OSM ``highway`` type -> default speed in km/h when ``maxspeed`` is absent
        (``routing.osm_speeds_kmh``); its keys are the drivable types.
    crs
        Projected CRS of the node coordinates: EPSG:2154 for France; for a
        foreign extract (tests on Helsinki) give a local UTM zone.
    note
        French note for outputs (default names OpenStreetMap and the files).
    cache_dir, use_cache
        Graph cache folder (default :func:`default_cache_dir`) and whether to use it.
    engine
        ``"zoning"`` (default): speed = parsed ``maxspeed``, else the highway-type
        default, times in numpy; ``"osmnx"``: speeds and times by osmnx
        (:func:`osmnx_speeds`: an untagged edge takes the mean ``maxspeed`` of its
        highway type) -- the same graph, 10-30 times slower to build (``bench/bench_osm.py``).
    simplify
        With ``engine="osmnx"``: merge chains of degree-2 nodes (``osmnx.simplify_graph``).

    Returns
    -------
    RoadGraph
        ``classes`` are the ``highway`` types; ``node_ids`` the OSM node ids.

    Raises
    ------
    DataFileNotFoundError
        When a file does not exist.
    DataFormatError
        When a file is empty, corrupt or not an OSM PBF.
    RoutingError
        When no drivable way is found.
    """
    paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    if not paths:
        raise RoutingError("graph_from_osm_pbf: no .osm.pbf file given")
    for p in paths:
        _check_file(p, "OpenStreetMap extract")
    speeds = _check_speeds(speeds, "routing.osm_speeds_kmh")
    if engine not in OSM_ENGINES:
        raise RoutingError(f"routing.osm_engine must be one of {', '.join(OSM_ENGINES)}, "
                           f"got {engine!r}")
    if simplify and engine != "osmnx":
        raise RoutingError("routing.osm_simplify needs routing.osm_engine = \"osmnx\"")
    names = ", ".join(p.name for p in paths)
    if note is None:
        note = (
            f"réseau routier OpenStreetMap ({names}), vitesses maxspeed, sinon par type de voie"
        )
    params = {"speeds": speeds, "crs": crs, "note": note, "engine": engine,
              "simplify": simplify}

    def build() -> RoadGraph:
        return _build_osm(paths, speeds, crs, note, engine, simplify)

    return _cached("osm", paths, params, cache_dir, use_cache, build)


def _read_osm_network(path: Path) -> tuple[Any, Any]:
    import warnings

    import pyrosm

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            osm = pyrosm.OSM(str(path), progress=False)  # our own progress: no pyrosm line
            result = osm.get_network(network_type="driving", nodes=True)
    except Exception as exc:  # pyrosm raises assorted errors on corrupt input
        raise DataFormatError(
            f"{path}: cannot read as an OpenStreetMap .osm.pbf extract "
            f"({type(exc).__name__}: {exc}); download the extract again"
        ) from None
    if result is None or result[1] is None or len(result[1]) == 0:
        raise RoutingError(f"{path}: no drivable road found in this OpenStreetMap extract")
    return result[0], result[1]


def _build_osm(paths: list[Path], speeds: dict[str, float], crs: str, note: str,
               engine: str = "zoning", simplify: bool = False) -> RoadGraph:
    import pandas as pd
    from pyproj import Transformer

    node_frames, edge_frames = [], []
    for p in paths:
        nodes, edges = _read_osm_network(p)
        node_frames.append(pd.DataFrame({"id": nodes["id"].to_numpy(np.int64),
                                         "lon": nodes["lon"].to_numpy(np.float64),
                                         "lat": nodes["lat"].to_numpy(np.float64)}))
        cols = {c: edges[c].to_numpy() if c in edges.columns else np.full(len(edges), None)
                for c in ("highway", "maxspeed", "oneway", "junction")}
        edge_frames.append(pd.DataFrame({
            "u": edges["u"].to_numpy(np.int64),
            "v": edges["v"].to_numpy(np.int64),
            "length": edges["length"].to_numpy(np.float64),
            **cols,
        }))
    nodes_df = pd.concat(node_frames, ignore_index=True).drop_duplicates("id")
    edges_df = pd.concat(edge_frames, ignore_index=True)
    highway = edges_df["highway"].astype("string").fillna("").to_numpy(dtype=str)
    drivable = np.isin(highway, list(speeds))
    if not drivable.any():
        raise RoutingError(
            f"{', '.join(map(str, paths))}: no way of a drivable highway type "
            f"({', '.join(sorted(speeds))}); check routing.osm_speeds_kmh"
        )
    if (~drivable).any():
        skipped = pd.Series(highway[~drivable]).value_counts()
        log.info("OSM ways not driven on (type absent from routing.osm_speeds_kmh): %s",
                 dict(skipped))
    edges_df = edges_df[drivable]
    highway = highway[drivable]
    ids = np.sort(nodes_df["id"].to_numpy())
    order = nodes_df.set_index("id").loc[ids]
    u_osm = edges_df["u"].to_numpy()
    v_osm = edges_df["v"].to_numpy()
    known = np.isin(u_osm, ids) & np.isin(v_osm, ids)
    if not known.all():
        raise DataFormatError(
            f"{paths[0]}: {int((~known).sum())} way segments reference nodes missing from the "
            "extract (truncated file?); download the extract again"
        )
    ui = np.searchsorted(ids, u_osm)
    vi = np.searchsorted(ids, v_osm)
    classes, codes = np.unique(highway, return_inverse=True)
    default = np.array([speeds[c] for c in classes], dtype=np.float64)[codes]
    tagged = maxspeed_kmh(edges_df["maxspeed"].to_numpy())
    speed = np.where(np.isfinite(tagged), tagged, default)
    length = edges_df["length"].to_numpy(np.float64)
    time = length / (speed / 3.6)
    fwd, bwd = _osm_direction(edges_df["oneway"].to_numpy(), edges_df["junction"].to_numpy())
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(order["lon"].to_numpy(), order["lat"].to_numpy())
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    u = np.concatenate([ui[fwd], vi[bwd]])
    v = np.concatenate([vi[fwd], ui[bwd]])
    length_d = np.concatenate([length[fwd], length[bwd]])
    time_d = np.concatenate([time[fwd], time[bwd]])
    codes_d = np.concatenate([codes[fwd], codes[bwd]])
    source = f"OpenStreetMap {', '.join(p.name for p in paths)}"
    if engine == "osmnx":
        u, v, length_d, time_d, hw, _ = osmnx_speeds(
            u, v, classes[codes_d], np.concatenate([tagged[fwd], tagged[bwd]]), length_d,
            speeds, x, y, crs, simplify=simplify)
        codes_d = np.searchsorted(classes, hw.astype(str))
        used = np.unique(np.concatenate([u, v]))  # simplification drops interstitial nodes
        u, v = np.searchsorted(used, u), np.searchsorted(used, v)
        x, y, ids = x[used], y[used], ids[used]
        source += " (osmnx" + (", simplifié)" if simplify else ")")
    return assemble_graph(
        x=x,
        y=y,
        u=u,
        v=v,
        length_m=length_d,
        time_s=time_d,
        road_class=codes_d,
        classes=[str(c) for c in classes],
        source=source,
        note=note,
        crs=crs,
        node_ids=ids,
    )
