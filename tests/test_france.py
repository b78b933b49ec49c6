"""Metropolitan France: GeoParquet readers, the France graph, and Occitanie unchanged on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point

from zoning import traveltimes as tt
from zoning.config import load_config
from zoning.errors import DataFileNotFoundError, DataFormatError
from zoning.routing import graph_from_line_layer
from zoning.sources import (
    CATALOGUE,
    population_grid_source,
    read_population_grid,
    read_road_edges,
    read_road_nodes,
    road_network_source,
    source_rows,
)

CONFIG = load_config()
OCC_ROADS = "roads/travelmapping_roads_occitanie_buf50km.gpkg"


# --------------------------------------------------------------------------- tiny fixtures


def _write_grid(path: Path, drop: str | None = None) -> None:
    cols = {"GRD_ID": ["CRS3035RES1000mN2200000E3600000", "CRS3035RES1000mN2200000E3601000"],
            "x_ll_3035": [3_600_000, 3_601_000], "y_ll_3035": [2_200_000, 2_200_000],
            "T": [10, 20], "frac_in_occitanie": [1.0, 0.5], "frac_in_france": [1.0, 1.0]}
    if drop:
        cols.pop(drop)
    geoms = [Point(3_600_500, 2_200_500).buffer(500, cap_style="square"),
             Point(3_601_500, 2_200_500).buffer(500, cap_style="square")]
    path.parent.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(cols, geometry=geoms, crs=3035).to_parquet(path)


def test_france_grid_reader_cell_centres(tmp_path: Path) -> None:
    _write_grid(tmp_path / CATALOGUE["population_grid_france"].file)
    assert population_grid_source(tmp_path) == "population_grid_france"
    g = read_population_grid(tmp_path)
    assert g.attrs["source"] == "population_grid_france" and g.crs.to_epsg() == 2154
    assert g.index.tolist()[0] == "CRS3035RES1000mN2200000E3600000"
    assert g["population"].tolist() == [10.0, 20.0] and g["frac_in_france"].tolist() == [1, 1]
    # centres from the lower-left corners = the polygons' centroids
    cells = gpd.read_parquet(tmp_path / CATALOGUE["population_grid_france"].file)
    ref = cells.geometry.centroid.to_crs(2154)
    assert np.allclose(g.geometry.x, ref.x, atol=1e-6) and np.allclose(g.geometry.y, ref.y)


def test_france_grid_reader_bad_files(tmp_path: Path) -> None:
    path = tmp_path / CATALOGUE["population_grid_france"].file
    with pytest.raises(DataFileNotFoundError, match="population_grid_france"):
        read_population_grid(tmp_path, "population_grid_france")
    _write_grid(path, drop="frac_in_france")
    with pytest.raises(DataFormatError, match="missing column.*'frac_in_france'"):
        read_population_grid(tmp_path)
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataFormatError, match="not a readable GeoParquet"):
        read_population_grid(tmp_path)
    # a plain Parquet file (no GeoParquet 'geo' metadata)
    pd.DataFrame({"GRD_ID": ["a"], "T": [1], "frac_in_occitanie": [0.0],
                  "frac_in_france": [1.0]}).to_parquet(path)
    with pytest.raises(DataFormatError, match="without GeoParquet 'geo' metadata"):
        read_population_grid(tmp_path)


def test_default_network_and_grid_fall_back_to_occitanie(tmp_path: Path) -> None:
    assert road_network_source(tmp_path) == "roads_france"  # absent: names the France file
    (tmp_path / OCC_ROADS).parent.mkdir(parents=True)
    (tmp_path / OCC_ROADS).write_bytes(b"x")
    assert road_network_source(tmp_path) == "roads"
    assert population_grid_source(tmp_path) == "population_grid"


def test_parquet_line_layer_builds_like_a_geopackage(tmp_path: Path) -> None:
    lines = [LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (1000, 2000)]),
             LineString([(1000, 2000), (0, 0)]),
             # an island of 3 nodes: kept only with min_component_nodes <= 3
             LineString([(50_000, 0), (51_000, 0)]), LineString([(51_000, 0), (51_000, 500)])]
    frame = gpd.GeoDataFrame({"road_class": ["a", "b", "a", "a", "a"]}, geometry=lines,
                             crs=2154)
    frame.to_parquet(tmp_path / "net.parquet")
    frame.to_file(tmp_path / "net.gpkg", layer="edges")
    speeds = {"a": 60.0, "b": 30.0}
    pq = graph_from_line_layer(tmp_path / "net.parquet", "road_class", speeds, 1.2,
                               use_cache=False)
    gp = graph_from_line_layer(tmp_path / "net.gpkg", "road_class", speeds, 1.2, layer="edges",
                               use_cache=False)
    for attr in ("x", "y", "u", "v", "length_m", "time_s", "road_class"):
        np.testing.assert_array_equal(getattr(pq, attr), getattr(gp, attr))
    assert pq.n_nodes == 3 and pq.dropped_nodes == 3
    both = graph_from_line_layer(tmp_path / "net.parquet", "road_class", speeds, 1.2,
                                 use_cache=False, min_component_nodes=3)
    assert both.n_nodes == 6 and both.dropped_nodes == 0
    with pytest.raises(DataFormatError, match="no road-class column 'classe'"):
        graph_from_line_layer(tmp_path / "net.parquet", "classe", speeds, 1.2, use_cache=False)


# --------------------------------------------------------------------------- real files


@pytest.mark.integration
def test_real_france_files(data_dir: Path) -> None:
    # PROVENANCE-france.md: 230,221 edges, 169,700 nodes, 424,328 cells
    assert source_rows("roads_france", data_dir) == 230_221
    assert source_rows("roads_france_nodes", data_dir) == 169_700
    grid = read_population_grid(data_dir)
    assert grid.attrs["source"] == "population_grid_france" and len(grid) == 424_328
    assert grid["population"].sum() == 84_206_280
    # area-weighted with frac_in_france: 65,080,276 persons in metropolitan France
    assert (grid["population"] * grid["frac_in_france"]).sum() == pytest.approx(65_080_276,
                                                                                abs=50)
    edges = read_road_edges(data_dir)
    assert int(edges["in_occitanie_buf50km"].sum()) == 44_979 and (edges["u"] < edges["v"]).all()
    nodes = read_road_nodes(data_dir)
    assert nodes.index.is_unique and int((nodes["component"] == 1).sum()) == 1808  # Corsica


@pytest.mark.integration
def test_france_graph_keeps_mainland_and_corsica(data_dir: Path, france_graph) -> None:
    g = france_graph
    # 167,404 mainland + 1,808 Corsica nodes (PROVENANCE-france.md) less the waypoints
    # sharing a cell of the 1 m snapping grid (one junction); the other 62 networks
    # (Sardinian and Ligurian stubs, islands without hospital) are dropped
    nodes = read_road_nodes(data_dir)
    kept = nodes[nodes["component"].isin([0, 1])]
    assert len(kept) == 167_404 + 1_808
    xy = np.column_stack([kept.geometry.x, kept.geometry.y])
    _, first, inverse = np.unique(np.round(xy).astype(np.int64), axis=0, return_index=True,
                                  return_inverse=True)
    twin = np.flatnonzero(first[inverse.ravel()] != np.arange(len(xy)))  # 2nd of a cell
    gap_cm = sorted(round(float(np.hypot(*(xy[i] - xy[first[inverse.ravel()[i]]]))) * 100)
                    for i in twin)
    straddle = [p for p in cKDTree(xy).query_pairs(1.0)
                if not (np.round(xy[p[0]]) == np.round(xy[p[1]])).all()]
    assert g.n_nodes == len(kept) - len(twin) == 169_202 and g.dropped_nodes == 488
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"and Corsica, ([\d,]+) nodes", readme)
    assert stated is not None, "README no longer states the France graph's node count"
    assert int(stated.group(1).replace(",", "")) == g.n_nodes
    said = re.search(r"the graph has (\d+) fewer because \1 pairs of Travel Mapping waypoints\s+"
                     r"lie (\d+)–(\d+) cm\s+apart.*?(\w+) other pairs less than 1 m apart"
                     r".*?are dropped: (\d+) nodes", readme, re.S)
    assert said is not None, "README no longer explains the France graph's node count"
    n, lo, hi, other, dropped = said.groups()
    assert [int(n), int(lo), int(hi), int(dropped)] == [len(twin), gap_cm[0], gap_cm[-1],
                                                        g.dropped_nodes]
    assert {"one": 1, "two": 2, "three": 3}[other] == len(straddle)
    corsica = (g.x > 1_150_000) & (g.y < 6_250_000)
    assert 1_700 < int(corsica.sum()) < 1_900
    assert g.source.startswith("travelmapping_roads_france_buf50km.parquet")


@pytest.mark.integration
def test_france_graph_occitanie_subset_is_the_occitanie_graph(data_dir: Path, france_graph,
                                                              graph_cache: Path) -> None:
    """The edges with ``in_occitanie_buf50km`` are the Occitanie graph: same nodes (within
    the GeoPackage's reprojection noise, < 0.5 m), same lengths, classes and times."""
    occ = tt.load_network(data_dir, CONFIG, network=data_dir / OCC_ROADS, cache_dir=graph_cache)
    fr = france_graph
    dist, to_fr = cKDTree(np.column_stack([fr.x, fr.y])).query(np.column_stack([occ.x, occ.y]))
    assert dist.max() < 0.5 and np.unique(to_fr).size == occ.n_nodes
    a = pd.DataFrame({"u": to_fr[occ.u], "v": to_fr[occ.v], "length": occ.length_m,
                      "time": occ.time_s, "cls": np.asarray(occ.classes)[occ.road_class]})
    b = pd.DataFrame({"u": fr.u, "v": fr.v, "length": fr.length_m, "time": fr.time_s,
                      "cls": np.asarray(fr.classes)[fr.road_class]})
    # parallel edges (two waypoints within the 1 m node tolerance) are compared per node pair
    agg = {"n": ("length", "size"), "length": ("length", "min"), "time": ("time", "min"),
           "cls": ("cls", "min")}
    ga, gb = a.groupby(["u", "v"]).agg(**agg), b.groupby(["u", "v"]).agg(**agg)
    m = ga.merge(gb, left_index=True, right_index=True, how="left", suffixes=("_occ", "_fr"))
    assert m["n_fr"].notna().all() and (m["n_occ"] == m["n_fr"]).all()
    assert np.abs(m["length_occ"] - m["length_fr"]).max() < 0.5
    np.testing.assert_allclose(m["time_occ"], m["time_fr"], rtol=1e-3)
    assert (m["cls_occ"] == m["cls_fr"]).all()
    # ... and the France edges flagged in_occitanie_buf50km are those edges, plus the
    # edges of the small networks the Occitanie build drops
    edges = read_road_edges(data_dir)
    nodes = read_road_nodes(data_dir)
    sub = edges[edges["in_occitanie_buf50km"]]
    xy = np.column_stack([nodes.geometry.x, nodes.geometry.y])
    d_n, to_occ = cKDTree(np.column_stack([occ.x, occ.y])).query(xy)
    matched = pd.Series(np.where(d_n < 0.5, to_occ, -1), index=nodes.index)
    su, sv = matched.reindex(sub["u"]).to_numpy(), matched.reindex(sub["v"]).to_numpy()
    kept = (su >= 0) & (sv >= 0)
    assert 2 * int(kept.sum()) == occ.n_edges
    assert 2 * int((~kept).sum()) == occ.dropped_edges
    pairs = set(zip(np.minimum(su, sv)[kept].tolist(), np.maximum(su, sv)[kept].tolist(),
                    strict=True))
    assert pairs == set(zip(np.minimum(occ.u, occ.v).tolist(), np.maximum(occ.u, occ.v).tolist(),
                            strict=True))


@pytest.mark.integration
def test_occitanie_times_do_not_move_on_the_france_graph(data_dir: Path, france_graph,
                                                         graph_cache: Path) -> None:
    """Occitanie routed on the France graph + France grid (the default) gives the times of the
    Occitanie graph + Occitanie grid, commune by commune and cell by cell."""
    from zoning.sources import read_facilities
    from zoning.territory import load_territory

    terr = load_territory(data_dir, "76")
    fac = read_facilities(data_dir)
    occ_graph = tt.load_network(data_dir, CONFIG, network=data_dir / OCC_ROADS,
                                cache_dir=graph_cache)
    before = tt.compute_travel_times(terr, fac, occ_graph, CONFIG,
                                     grid=read_population_grid(data_dir, "population_grid"))
    after = tt.compute_travel_times(terr, fac, france_graph, CONFIG,
                                    grid=read_population_grid(data_dir))
    inreg = terr.communes.index[terr.communes["in_region"]]
    # the Occitanie graph stops 50 km beyond the region: where a site beyond its edge could be
    # nearer, it gives no time (hors couverture); everywhere it does, the France graph gives
    # the same time to the same site
    b_com, a_com = before.communes.loc[inreg], after.communes.loc[inreg]
    has = b_com["t_urgence_min"].notna()
    assert has.mean() > 0.9 and a_com["t_urgence_min"].notna().all()
    for kind in tt.KINDS:
        col = f"t_{kind}_min"
        diff = (b_com.loc[has, col] - a_com.loc[has, col]).abs()
        assert diff.max() < 1e-3, diff.sort_values().tail()
        assert (b_com.loc[has, f"finess_{kind}"] == a_com.loc[has, f"finess_{kind}"]).all()
    assert (b_com.loc[has, "modele_acces"] == a_com.loc[has, "modele_acces"]).all()
    cells_b, cells_a = before.cells, after.cells.reindex(before.cells.index)
    assert len(after.cells) == len(before.cells)
    has_c = cells_b["t_urgence_min"].notna()
    assert (cells_b.loc[has_c, "t_urgence_min"] - cells_a.loc[has_c, "t_urgence_min"]
            ).abs().max() < 1e-3
    # EPCI fully covered by both builds: the same shares beyond 30 min
    full = (before.epci["part_hors_couverture"] == 0) & (after.epci["part_hors_couverture"] == 0)
    assert full.sum() > 100
    pd.testing.assert_series_equal(before.epci.loc[full, "share_beyond"],
                                   after.epci.loc[full, "share_beyond"])
    assert after.n_outside == 0 and after.regional["population_hors_couverture"] < 100
    json.dumps(after.regional)  # plain numbers


# --------------------------------------------------------------------------- coverage


def _toy_territory(points: dict[str, tuple[float, float, str, int]]):
    """Communes (code -> (i km, j km, EPCI, population)) with small square polygons."""
    from types import SimpleNamespace

    from _lattice import X0, Y0
    from shapely.geometry import box

    codes = list(points)
    geoms = [box(X0 + i * 1000 - 400, Y0 + j * 1000 - 400, X0 + i * 1000 + 400,
                 Y0 + j * 1000 + 400) for i, j, _, _ in points.values()]
    communes = gpd.GeoDataFrame(
        {"nom": codes, "dep": "31", "reg": "76", "epci_siren": [e for *_, e, _ in
                                                               points.values()],
         "population": [p for *_, p in points.values()]},
        geometry=geoms, index=pd.Index(codes, name="code_insee"), crs=2154)
    pts = gpd.GeoSeries([Point(X0 + i * 1000, Y0 + j * 1000) for i, j, _, _ in points.values()],
                        index=communes.index, crs=2154)
    sirens = sorted(set(communes["epci_siren"]))
    epci = gpd.GeoDataFrame({"epci_nom": [f"E{s}" for s in sirens], "dep": "31",
                             "population": communes.groupby("epci_siren")["population"].sum()
                             .reindex(sirens).to_numpy()},
                            geometry=[communes[communes["epci_siren"] == s].union_all()
                                      for s in sirens],
                            index=pd.Index(sirens, name="epci_siren"), crs=2154)
    return SimpleNamespace(region="76", region_name="Test", communes=communes, points=pts,
                           epci=epci)


def test_a_place_outside_the_network_gets_no_time() -> None:
    from _lattice import _facilities, _grid_graph

    terr = _toy_territory({
        "31001": (2, 0, "111111111", 400),   # on the 10 x 10 km lattice
        "31002": (25, 5, "111111111", 100),  # 15 km east of it: beyond max_snap_km (5 km)
        "31003": (40, 40, "222222222", 50),  # an EPCI entirely outside
    })
    res = tt.compute_travel_times(terr, _facilities(), _grid_graph(), CONFIG)
    c = res.communes
    assert np.isfinite(c.at["31001", "t_urgence_min"])
    for code in ("31002", "31003"):
        assert c.loc[code, ["t_su_min", "t_smur_min", "t_urgence_min"]].isna().all()
        assert pd.isna(c.at[code, "finess_urgence"]) and c.at[code, "hors_couverture"]
        assert c.at[code, "modele_acces"] == "hors couverture du réseau routier"
    e = res.epci
    # left out of the EPCI shares: E1's figures are those of its covered commune
    assert e.at["111111111", "population_ponderee"] == 400
    assert e.at["111111111", "part_hors_couverture"] == pytest.approx(0.2)
    assert e.at["111111111", "t_mean_min"] == pytest.approx(c.at["31001", "t_urgence_min"])
    assert e.at["111111111", "motif_indisponible"] == ""
    # mostly outside: criterion 4 "donnée indisponible", with the reason and the count
    assert np.isnan(e.at["222222222", "share_beyond"]) and np.isnan(
        e.at["222222222", "t_mean_min"])
    assert "100 % de la population hors couverture" in e.at["222222222", "motif_indisponible"]
    assert res.n_outside == 1 and "1 EPCI sans critère 4" in res.note


def test_urban_access_model_in_dense_areas_far_from_the_network() -> None:
    from _lattice import X0, Y0, _facilities, _grid_graph

    # two communes 3 km east of the lattice's edge (> far_km = 2 km): one in a dense cell
    terr = _toy_territory({"31001": (13, 5, "111111111", 5000),
                           "31002": (13, 2, "222222222", 10)})
    grid = gpd.GeoDataFrame(
        {"population": [5000.0, 10.0], "frac_in_occitanie": 1.0},
        geometry=[Point(X0 + 13_000, Y0 + 5_000), Point(X0 + 13_000, Y0 + 2_000)],
        index=pd.Index(["dense", "rural"], name="grd_id"), crs=2154)
    res = tt.compute_travel_times(terr, _facilities(), _grid_graph(), CONFIG, grid=grid)
    c = res.communes
    r = CONFIG.routing
    assert c["loin_reseau"].all() and not c["hors_couverture"].any()
    # to SMUR B at (10, 10) through one of the 5 nearest lattice nodes (10, j), the quickest
    def best(i: float, j: float, circuity: float, speed_kmh: float) -> float:
        legs = [np.hypot(i - 10, j - jj) * 1000 * circuity / (speed_kmh / 3.6) + (10 - jj) * 60
                for jj in range(11)]
        return min(legs) / 60

    # dense: city streets at 20 km/h x 1.3 (the urban access model)
    assert c.at["31001", "modele_acces"] == "modèle d'accès urbain"
    assert c.at["31001", "t_smur_min"] == pytest.approx(
        best(13, 5, r.urban_circuity, r.urban_speed_kmh))
    # not dense: the ordinary access leg (30 km/h x 1.3), flagged "loin du réseau"
    assert c.at["31002", "modele_acces"].startswith("loin du réseau")
    assert c.at["31002", "t_smur_min"] == pytest.approx(
        best(13, 2, r.access_circuity, r.access_speed_kmh))
    assert c.at["31001", "t_smur_min"] > c.at["31002", "t_smur_min"]
    e = res.epci
    assert e.at["111111111", "part_modele_urbain"] == pytest.approx(1.0)
    assert np.isnan(e.at["111111111", "share_beyond"])  # mostly modelled: not trusted
    assert "modèle d'accès urbain" in e.at["111111111", "motif_indisponible"]
    assert e.at["222222222", "part_loin_reseau"] == pytest.approx(1.0)
    assert np.isfinite(e.at["222222222", "share_beyond"])



def test_raster_fast_path_equals_origin_times_band_by_band(tmp_path: Path) -> None:
    """The GeoTIFF times each cell centre from its coordinates only (no points, no site
    names): every band equals :func:`origin_times` on those centres, on the lattice, far from
    it (dense: urban model; not dense: "loin"), beyond ``max_snap_km`` and near a site the
    network does not reach ("hors": nodata)."""
    import rasterio
    from _lattice import X0, Y0, _facilities, _grid_graph, _pt
    from shapely.geometry import box

    from zoning.errors import RoutingError
    from zoning.exports import write_time_raster

    terr = _toy_territory({"31001": (2, 2, "111111111", 400),
                           "31002": (13, 5, "111111111", 5000)})
    fac = _facilities()
    # a site 30 km west of the lattice: beyond max_snap_km, not routed to, but straight-line
    # nearer than the network says to the cells west of it (no time there, never a wrong one)
    # and a site in the dense cells 3 km east of the lattice: reached straight by city streets
    extra = fac.loc[["D0000000D", "D0000000D"]].set_axis(["E", "F"]).assign(
        nom=["Hors réseau E", "Ville F"], geometry=[_pt(-30, 20), _pt(13, 6.5)])
    fac = gpd.GeoDataFrame(pd.concat([fac, extra]), crs=2154)
    grid = gpd.GeoDataFrame(
        {"population": [5000.0, 5000.0, 10.0], "frac_in_occitanie": 1.0},
        geometry=[_pt(13, 5), _pt(13, 8), _pt(13, 2)],
        index=pd.Index(["dense", "dense2", "rural"], name="grd_id"), crs=2154)
    res = tt.compute_travel_times(terr, fac, _grid_graph(), CONFIG, grid=grid)
    assert res.context is not None and res.context.outside_xy.shape[0] == 2  # D and E
    assert "F" in res.sites.index
    mask = gpd.GeoSeries([box(X0 - 5000, Y0 - 1000, X0 + 18_000, Y0 + 11_000)], crs=2154)
    path = write_time_raster(res, tmp_path / "t.tif", CONFIG, resolution_m=500.0, mask=mask)
    with rasterio.open(path) as src:
        data = src.read()
        rows, cols = np.indices(data.shape[1:])
        cx, cy = src.xy(rows.ravel(), cols.ravel())
    routed = {k: tt.Routed(t, np.full(t.shape, "réseau", dtype=object),
                           np.full(t.shape, "réseau", dtype=object))
              for k, t in res.node_times.items()}
    ref = tt.origin_times(res.graph, gpd.GeoSeries(gpd.points_from_xy(cx, cy), crs=2154),
                          routed, CONFIG, context=res.context)
    # every coverage case is in the raster, "hors" also within max_snap_km (site E)
    assert set(ref["modele_acces"]) == set(tt.COVERAGE_LABELS.values())
    assert (ref["hors_couverture"] & ~ref["far_from_network"]).any()
    assert (ref["finess_su"] == "F").any()  # a direct urban trip beats the network
    for band, kind in enumerate(tt.KINDS):
        t = ref[f"t_{kind}_min"].to_numpy()
        want = np.where(np.isfinite(t), t, -1.0).astype(np.float32).reshape(data.shape[1:])
        np.testing.assert_array_equal(data[band], want)
    assert (data[2][ref["hors_couverture"].to_numpy().reshape(data.shape[1:])] == -1.0).all()
    # the coordinate entry point keeps the CRS check
    with pytest.raises(RoutingError, match="origin points must be in EPSG:2154"):
        tt._origin_arrays(res.graph, np.array([X0]), np.array([Y0]), res.node_times, CONFIG,
                          crs=4326)


@pytest.mark.integration
def test_score_region_75_runs_with_criterion_4_where_the_network_covers(data_dir: Path,
                                                                        graph_cache: Path,
                                                                        monkeypatch) -> None:
    """Nouvelle-Aquitaine (Bordeaux Métropole: the graph's largest hole) runs, says how many
    EPCI have criterion 4 and why the others have none."""
    import re

    from click.testing import CliRunner

    from zoning.cli import main

    monkeypatch.setenv("ZONING_CACHE_DIR", str(graph_cache))
    res = CliRunner().invoke(main, ["score", "--data-dir", str(data_dir), "--region", "75",
                                    "--draws", "0", "--no-export"])
    assert res.exit_code == 0, res.output[-2000:]
    m = re.search(r"Critère 4 \(urgences\) calculé pour (\d+) EPCI sur (\d+)", res.output)
    assert m, res.output[-3000:]
    n_ok, n = int(m.group(1)), int(m.group(2))
    assert n >= 140 and n - 3 <= n_ok < n
    assert re.search(r"donnée indisponible pour \d+ EPCI : .*Bordeaux Métropole \(\d+ % de la "
                     r"population loin du réseau dans une zone dense", res.output)
