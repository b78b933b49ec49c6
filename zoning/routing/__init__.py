"""Road graphs (OSM PBF, line layers), on-disk cache, snapping, multi-source Dijkstra."""

from zoning.routing.csr import build_csr, collapse_parallel
from zoning.routing.engine import nearest_facility
from zoning.routing.graph import (
    DEFAULT_CRS,
    TRAVEL_MAPPING_NOTE,
    RoadGraph,
    assemble_graph,
    default_cache_dir,
    graph_from_line_layer,
    graph_from_osm_pbf,
    load_graph,
    maxspeed_kmh,
    parse_maxspeed,
    save_graph,
)
from zoning.routing.snap import Snap, node_tree, snap_points

__all__ = [
    "DEFAULT_CRS",
    "TRAVEL_MAPPING_NOTE",
    "RoadGraph",
    "Snap",
    "assemble_graph",
    "build_csr",
    "collapse_parallel",
    "default_cache_dir",
    "graph_from_line_layer",
    "graph_from_osm_pbf",
    "load_graph",
    "maxspeed_kmh",
    "nearest_facility",
    "node_tree",
    "parse_maxspeed",
    "save_graph",
    "snap_points",
]
