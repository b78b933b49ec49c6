"""Metropolitan France: GeoParquet readers, the France graph, and Occitanie unchanged on it."""

from __future__ import annotations

import json
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
def test_france_graph_keeps_mainland_and_corsica(france_graph) -> None:
    g = france_graph
    # 167,404 mainland + 1,808 Corsica nodes (PROVENANCE-france.md); the other 62 networks
    # (Sardinian and Ligurian stubs, islands without hospital) are dropped
    assert g.n_nodes == 169_202 and g.dropped_nodes == 488
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
    for kind in tt.KINDS:
        col = f"t_{kind}_min"
        diff = (before.communes.loc[inreg, col] - after.communes.loc[inreg, col]).abs()
        assert diff.max() < 1e-3, diff.sort_values().tail()
        same = before.communes.loc[inreg, f"finess_{kind}"] == after.communes.loc[
            inreg, f"finess_{kind}"]
        assert same.all()
    cells_b, cells_a = before.cells, after.cells.reindex(before.cells.index)
    assert len(after.cells) == len(before.cells)
    assert (cells_b["t_urgence_min"] - cells_a["t_urgence_min"]).abs().max() < 1e-3
    pd.testing.assert_series_equal(before.epci["share_beyond"], after.epci["share_beyond"])
    assert before.regional == after.regional
    # the 6.0 % headline: Occitanie's share beyond 30 min
    assert f"{100 * after.regional['share_beyond']:.1f}" == "6.0"
    json.dumps(after.regional)  # plain numbers
