"""Travel times per commune, grid cell and EPCI; scenarios; raster; the travel-times CLI."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from _lattice import KM, TO_WGS84, X0, Y0, _facilities, _grid_graph, _pt
from click.testing import CliRunner
from shapely.geometry import LineString, Point, box

from zoning import traveltimes as tt
from zoning.cli import main
from zoning.config import load_config
from zoning.errors import RoutingError
from zoning.exports import write_time_raster
from zoning.sources.readers import NOTE_SMUR_UNKNOWN

CONFIG = load_config()
def _territory(populations: tuple[int, int, int] = (400, 50, 70)) -> SimpleNamespace:
    """Three communes, one EPCI each; by default their populations match the grid cells."""
    communes = gpd.GeoDataFrame(
        {"nom": ["Un", "Deux", "Trois"], "dep": ["31"] * 3, "reg": ["76", "76", "76"],
         "epci_siren": ["111111111", "222222222", "333333333"],
         "population": list(populations)},
        geometry=[box(X0 - 500, Y0 - 500, X0 + 5000, Y0 + 10500),
                  box(X0 + 5000, Y0 + 6000, X0 + 10500, Y0 + 10500),
                  box(X0 + 5000, Y0 - 500, X0 + 10500, Y0 + 6000)],
        index=pd.Index(["31001", "31002", "31003"], name="code_insee"), crs=2154,
    )
    points = gpd.GeoSeries([Point(X0 + 2 * KM, Y0 + 300), _pt(9, 10), _pt(10, 5)],
                           index=communes.index, crs=2154)
    epci = gpd.GeoDataFrame({"epci_nom": ["E1", "E2", "E3"], "dep": ["31"] * 3,
                             "population": list(populations)},
                            geometry=list(communes.geometry),
                            index=pd.Index(["111111111", "222222222", "333333333"],
                                           name="epci_siren"), crs=2154)
    return SimpleNamespace(region="76", region_name="Test", communes=communes, points=points,
                           epci=epci)


def _grid() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"population": [100.0, 300.0, 50.0, 9.0], "frac_in_occitanie": 1.0},
        geometry=[_pt(1, 0), _pt(4, 1), _pt(9, 9), _pt(300, 300)],
        index=pd.Index(["g1", "g2", "g3", "g_outside"], name="grd_id"), crs=2154,
    )


ACCESS_300M = 300 * 1.3 / (30 / 3.6)  # default access leg model: 46.8 s


def test_commune_times_known_answers() -> None:
    res = tt.compute_travel_times(_territory(), _facilities(), _grid_graph(), CONFIG,
                                  grid=_grid(), threshold_min=3.0)
    c = res.communes
    # paediatric-only C (1 km away) is not a general SU: the SU of commune 1 is A, 2 km
    assert c.at["31001", "t_su_min"] == pytest.approx((120 + ACCESS_300M) / 60)
    assert c.at["31001", "finess_su"] == "A0000000A"
    assert c.at["31001", "access_km"] == pytest.approx(0.3)
    # commune 2: SU A is 19 km away, SMUR B 1 km
    assert c.at["31002", "t_su_min"] == pytest.approx(19.0)
    assert c.at["31002", "t_smur_min"] == pytest.approx(1.0)
    assert c.at["31002", "t_urgence_min"] == pytest.approx(1.0)
    assert c.at["31002", "nom_urgence"] == "Antenne B"
    assert not c["far_from_network"].any()
    # far site D (other region, 500 km away) is silently left out
    assert "D0000000D" not in res.sites.index and "C0000000C" not in res.sites.index
    e = res.epci
    # E1: grid cells 1 min (100 inh.) and 5 min (300 inh.)
    assert e.at["111111111", "t_mean_min"] == pytest.approx((100 * 1 + 300 * 5) / 400)
    assert e.at["111111111", "pop_beyond"] == 300
    assert e.at["111111111", "share_beyond"] == pytest.approx(0.75)
    assert e.at["111111111", "weights_source"] == "grille 1 km"
    # E3 has no populated cell: falls back to its commune (5 km from B)
    assert e.at["333333333", "weights_source"] == "communes"
    assert e.at["333333333", "t_mean_min"] == pytest.approx(5.0)
    assert e.at["333333333", "share_beyond"] == pytest.approx(1.0)
    # E2: one cell (50 inh., 2 min from B)
    assert e.at["222222222", "weights_source"] == "grille 1 km"
    assert e.at["222222222", "t_mean_min"] == pytest.approx(2.0)
    assert e.at["222222222", "pop_beyond"] == 0
    # the cell outside every commune is not counted
    assert "g_outside" not in res.cells.index
    assert res.cells["population"].sum() == pytest.approx(450.0)
    # regional figures: grid cells of E1 and E2, the commune population of E3 (5 min)
    assert res.regional["population"] == pytest.approx(450.0 + 70.0)
    assert res.regional["pop_beyond"] == pytest.approx(300.0 + 70.0)
    assert res.regional["weights_source"] == "grille 1 km et communes"
    assert res.longest_commune() == ("31003", pytest.approx(5.0))
    assert res.note == "réseau test"


def test_text_column_is_the_column_a_dataframe_infers() -> None:
    """``text_column`` (factorised texts, one take) gives the column pandas infers from the
    object or unicode array: same values, same missing ones, same dtype; an array without
    any text is left as is."""
    from zoning.traveltimes import text_column

    cases = [
        np.array(["340780717", None, "340780717", "310000031", None], dtype=object),
        np.array(["CH Ganges", np.nan, "CHU d'Montpellier", "CH Ganges"], dtype=object),
        np.array(["réseau", "urbain", "hors couverture", "réseau"]),  # numpy unicode
        np.array([None, None], dtype=object),
        np.array([], dtype=object),
    ]
    for values in cases:
        got = pd.DataFrame({"c": text_column(values)})
        want = pd.DataFrame({"c": values})
        pd.testing.assert_frame_equal(got, want)
        assert got["c"].dtype == want["c"].dtype
    assert text_column(cases[3]) is cases[3]


def test_cells_placed_in_the_commune_holding_their_centre() -> None:
    """A centre inside one commune goes to it; inside two overlapping polygons, to the first
    of them in the communes' order; on a shared border (in no interior) or outside every
    commune, the cell is left out. Results follow the grid's order and index."""
    terr = _territory()
    communes = terr.communes.copy()
    # commune 3 overlaps commune 1 over x in [X0 + 4.5 km, X0 + 5 km]
    communes.loc["31003", "geometry"] = box(X0 + 4500, Y0 - 500, X0 + 10500, Y0 + 6000)
    grid = gpd.GeoDataFrame(
        {"population": [10.0, 20.0, 30.0, 40.0, 50.0, 0.0]},
        geometry=[_pt(8, 8), _pt(4.75, 1), _pt(1, 1), Point(X0 + 5000, Y0 + 8000),
                  _pt(300, 300), _pt(2, 2)],
        index=pd.Index(["c2", "overlap", "c1", "border", "outside", "empty"], name="grd_id"),
        crs=2154)
    g = _grid_graph()
    routed = tt.route_all(g, tt.locate_facilities(g, _facilities(), CONFIG, region="76"),
                          "su_or_smur", CONFIG)
    cells = tt.cell_times(g, grid, communes, routed, CONFIG)
    assert cells.index.tolist() == ["c2", "overlap", "c1"]
    assert cells["code_insee"].tolist() == ["31002", "31001", "31001"]
    assert cells["epci_siren"].tolist() == ["222222222", "111111111", "111111111"]
    assert cells["population"].tolist() == [10.0, 20.0, 30.0]
    reordered = communes.loc[["31003", "31001", "31002"]]
    again = tt.cell_times(g, grid, reordered, routed, CONFIG)
    assert again.loc["overlap", "code_insee"] == "31003"


def test_paediatric_only_smur_is_not_a_smur() -> None:
    # E, a paediatric-only SMUR, sits on commune 2's point: B (1 km) stays its nearest SMUR
    extra = gpd.GeoDataFrame(
        {"nom": ["Enfants E"], "su": [False], "su_pediatrique_seul": [True], "smur": [True],
         "reg": ["76"], "smur_pediatrique_seul": [True]},
        geometry=[_pt(9, 10)], index=pd.Index(["E0000000E"], name="finess"), crs=2154)
    fac = gpd.GeoDataFrame(pd.concat([_facilities().assign(smur_pediatrique_seul=False), extra]),
                           geometry="geometry", crs=2154)
    res = tt.compute_travel_times(_territory(), fac, _grid_graph(), CONFIG, grid=None)
    c = res.communes
    assert c.at["31002", "finess_smur"] == "B0000000B"
    assert c.at["31002", "t_smur_min"] == pytest.approx(1.0)
    assert c.at["31002", "finess_urgence"] == "B0000000B"
    assert not c[["finess_smur", "finess_urgence", "finess_su"]].isin(["E0000000E"]).any().any()
    # the site is kept (maps show it as "SMUR pédiatrique seul") but is in no facility set
    assert "E0000000E" in res.sites.index
    masks = tt.kind_masks(res.sites, "su_or_smur")
    pos = res.sites.index.get_loc("E0000000E")
    assert not (masks["su"][pos] or masks["smur"][pos] or masks["urgence"][pos])
    # counted as a general SMUR (old behaviour) it would win: 0 min road time
    fac.loc["E0000000E", "smur_pediatrique_seul"] = False
    old = tt.compute_travel_times(_territory(), fac, _grid_graph(), CONFIG, grid=None)
    assert old.communes.at["31002", "finess_smur"] == "E0000000E"
    assert res.note == "réseau test"
    # raw SMURSAMU table absent: the note of every output says so
    fac.attrs["note_smur"] = NOTE_SMUR_UNKNOWN
    res = tt.compute_travel_times(_territory(), fac, _grid_graph(), CONFIG, grid=None)
    assert res.note == f"réseau test ; {NOTE_SMUR_UNKNOWN}"


def test_partial_grid_coverage_falls_back_to_communes() -> None:
    # E1's cells hold 400 of its 1,000 inhabitants (< 80 %): its communes weigh it
    res = tt.compute_travel_times(_territory((1000, 50, 70)), _facilities(), _grid_graph(),
                                  CONFIG, grid=_grid(), threshold_min=3.0)
    e = res.epci
    assert e.at["111111111", "weights_source"] == "communes"
    t1 = res.communes.at["31001", "t_urgence_min"]
    assert e.at["111111111", "t_mean_min"] == pytest.approx(t1)
    assert e.at["111111111", "population_ponderee"] == 1000
    assert e.at["222222222", "weights_source"] == "grille 1 km"
    assert res.regional["population"] == pytest.approx(1000 + 50 + 70)
    assert res.regional["pop_beyond"] == pytest.approx(70.0)  # E1 commune at 2.8 min
    # a territory without region code (metropolitan France) uses the in_region flag
    terr = _territory()
    terr.region = "FR"
    terr.communes["in_region"] = [True, True, False]
    fr = tt.compute_travel_times(terr, _facilities(), _grid_graph(), CONFIG, grid=_grid(),
                                 threshold_min=3.0)
    assert fr.regional["population"] == pytest.approx(450.0)
    assert fr.regional["pop_beyond"] == pytest.approx(300.0)
    assert fr.regional["weights_source"] == "grille 1 km"


def test_either_follows_config_choice() -> None:
    res = tt.compute_travel_times(_territory(), _facilities(), _grid_graph(), CONFIG,
                                  grid=None, either="su")
    np.testing.assert_allclose(res.communes["t_urgence_min"], res.communes["t_su_min"])
    assert (res.epci["weights_source"] == "communes").all()
    w = res.epci.loc["111111111"]
    assert w["t_mean_min"] == pytest.approx(res.communes.at["31001", "t_su_min"])


def test_scenario_close_and_add() -> None:
    terr, fac, graph = _territory(), _facilities(), _grid_graph()
    base = tt.compute_travel_times(terr, fac, graph, CONFIG, grid=_grid())
    lon, lat = TO_WGS84.transform(X0 + 2 * KM, Y0)
    scen = tt.compute_travel_times(terr, fac, graph, CONFIG, grid=_grid(),
                                   close=["B0000000B"], add=[f"{lon},{lat},Nouveau"])
    assert scen.communes.at["31001", "t_su_min"] == pytest.approx(ACCESS_300M / 60, abs=1e-6)
    assert scen.communes.at["31001", "finess_su"] == "AJOUT0001"
    # B closed: commune 2 now goes to the added site (8 + 10 km)
    assert scen.communes.at["31002", "t_smur_min"] == pytest.approx(17.0, abs=1e-6)
    diff = tt.scenario_difference(base, scen)
    assert diff.at["222222222", "delta_t_mean_min"] > 0
    assert diff.at["111111111", "delta_t_mean_min"] < 0
    with pytest.raises(RoutingError, match="999999999"):
        tt.compute_travel_times(terr, fac, graph, CONFIG, close=["999999999"])
    with pytest.raises(RoutingError, match="lon,lat,name"):
        tt.parse_added_site("1.2;43.5")
    # an added site outside the network's extent
    with pytest.raises(RoutingError, match="outside"):
        tt.compute_travel_times(terr, fac, graph, CONFIG, add=["10.0,50.0,Trop loin"])


def test_facilities_outside_extent_or_without_coordinates() -> None:
    terr, graph = _territory(), _grid_graph()
    with pytest.raises(RoutingError, match="D0000000D") as exc:
        tt.compute_travel_times(terr, _facilities(d_region="76"), graph, CONFIG)
    assert "max_snap_km" in str(exc.value)
    fac = _facilities()
    fac.loc["A0000000A", "geometry"] = Point()
    with pytest.raises(RoutingError, match="A0000000A"):
        tt.compute_travel_times(terr, fac, graph, CONFIG)
    # CRS never mixed silently: facilities or origin points in another CRS than the graph
    with pytest.raises(RoutingError, match="facilities must be in EPSG:2154"):
        tt.compute_travel_times(terr, _facilities().to_crs(4326), graph, CONFIG)
    terr.points = terr.points.to_crs(4326)
    with pytest.raises(RoutingError, match="origin points must be in EPSG:2154"):
        tt.compute_travel_times(terr, _facilities(), graph, CONFIG)


def test_raster_matches_origin_times(tmp_path: Path) -> None:
    terr = _territory()
    res = tt.compute_travel_times(terr, _facilities(), _grid_graph(), CONFIG)
    path = write_time_raster(res, tmp_path / "t.tif", CONFIG, resolution_m=500.0,
                             mask=terr.communes.geometry.iloc[:2])
    assert sorted(os.listdir(tmp_path)) == ["t.tif"]
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 2154 and src.res == (500.0, 500.0) and src.count == 3
        assert src.tags()["RESEAU"] == "réseau test"
        data = src.read()
        row, col = src.index(X0 + 7300.0, Y0 + 8200.0)  # in commune 2
        cx, cy = src.xy(row, col)
        row3, col3 = src.index(X0 + 7300.0, Y0 + 2200.0)  # commune 3: masked out
    routed = {k: tt.Routed(t, np.full(t.shape, None, dtype=object),
                           np.full(t.shape, None, dtype=object))
              for k, t in res.node_times.items()}
    ref = tt.origin_times(res.graph, gpd.GeoSeries([Point(cx, cy)], crs=2154), routed, CONFIG)
    for band, kind in enumerate(tt.KINDS):
        assert data[band, row, col] == pytest.approx(ref.at[0, f"t_{kind}_min"], rel=1e-6)
    assert (data[:, row3, col3] == -1.0).all()
    assert ((data >= 0) | (data == -1.0)).all()


def test_raster_when_an_epci_falls_outside_the_network(tmp_path: Path) -> None:
    """An EPCI beyond the network (no criterion 4): the GeoTIFF is still written, with times
    where the network reaches and nodata over that EPCI (never an extrapolated time)."""
    terr = _territory()
    far = box(X0 + 20_000, Y0, X0 + 26_000, Y0 + 6000)  # 10 km east of the lattice's edge
    terr.communes = pd.concat([terr.communes, gpd.GeoDataFrame(
        {"nom": ["Loin"], "dep": ["31"], "reg": ["76"], "epci_siren": ["444444444"],
         "population": [80]}, geometry=[far], index=pd.Index(["31004"], name="code_insee"),
        crs=2154)])
    terr.points = pd.concat([terr.points, gpd.GeoSeries([_pt(23, 3)], index=["31004"],
                                                        crs=2154)])
    terr.epci = pd.concat([terr.epci, gpd.GeoDataFrame(
        {"epci_nom": ["E4"], "dep": ["31"], "population": [80]}, geometry=[far],
        index=pd.Index(["444444444"], name="epci_siren"), crs=2154)])
    res = tt.compute_travel_times(terr, _facilities(), _grid_graph(), CONFIG)
    assert bool(res.communes.at["31004", "hors_couverture"])
    assert np.isnan(res.communes.at["31004", "t_urgence_min"])
    assert np.isnan(res.epci.at["444444444", "share_beyond"])
    assert res.epci.drop("444444444")["share_beyond"].notna().all()
    path = write_time_raster(res, tmp_path / "t.tif", CONFIG, resolution_m=1000.0,
                             mask=terr.communes.geometry)
    with rasterio.open(path) as src:
        data = src.read()
        far_rc = src.index(X0 + 24_500, Y0 + 3500)  # deep inside the far commune
        near_rc = src.index(X0 + 2500, Y0 + 2500)  # commune 1, on the lattice
    assert (data[:, far_rc[0], far_rc[1]] == -1.0).all()
    assert (data[:, near_rc[0], near_rc[1]] > 0).all()


# --------------------------------------------------------------------------- Occitanie


@pytest.fixture(scope="module")
def occitanie(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from zoning.territory import load_territory

    terr = load_territory(data_dir, "76")
    res = tt.run_travel_times(terr, CONFIG, data_dir,
                              cache_dir=tmp_path_factory.mktemp("graph-cache"))
    return terr, res


@pytest.mark.integration
def test_cerdagne_reaches_the_puigcerda_smur_antenna(occitanie) -> None:
    # the antenna (FINESS 660010117) is published at Perpignan's address; the packaged
    # corrections table places it at the Hôpital de Cerdanya (Puigcerdà)
    terr, res = occitanie
    c = res.communes
    assert c.at["66025", "finess_urgence"] == "660010117"  # Bourg-Madame, by the border
    assert c.at["66025", "t_urgence_min"] < 10
    cerdagne = terr.communes.index[terr.communes["epci_siren"] == "246600399"]
    assert (c.loc[cerdagne, "finess_urgence"] == "660010117").mean() > 0.5
    share = res.epci.at["246600399", "share_beyond"]
    assert share < 0.5  # was 1.0 with the Perpignan point
    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md")
                      .read_text(encoding="utf-8").split())
    assert f"beyond 30 min to {100 * share:.0f} %" in readme
    assert "660010117" not in set(c.loc[["66136"], "finess_urgence"])  # Perpignan: its own SU


@pytest.mark.integration
def test_raster_mask_of_the_epci_is_that_of_the_communes(occitanie) -> None:
    """The GeoTIFF is masked with the EPCI polygons (the union of the territory's communes):
    the same cells as rasterio's rasterisation of the 4,600 commune polygons, at 1 km (the
    GeoTIFF) and 250 m."""
    import math

    from affine import Affine
    from rasterio.features import geometry_mask

    terr, _ = occitanie
    geoms = terr.communes.geometry
    for res in (1000.0, 250.0):
        xmin, ymin, xmax, ymax = (float(b) for b in geoms.total_bounds)
        xmin, ymax = math.floor(xmin / res) * res, math.ceil(ymax / res) * res
        shape = (math.ceil((ymax - ymin) / res) + 1, math.ceil((xmax - xmin) / res) + 1)
        transform = Affine(res, 0.0, xmin, 0.0, -res, ymax)
        want = geometry_mask(list(geoms), out_shape=shape, transform=transform, invert=True)
        got = geometry_mask(list(terr.epci.geometry), out_shape=shape, transform=transform,
                            invert=True)
        assert want.sum() > 60_000 * (1000.0 / res) ** 2
        assert (got == want).all(), int((got != want).sum())


@pytest.mark.integration
def test_occitanie_plausible(occitanie, data_dir: Path) -> None:
    terr, res = occitanie
    c = res.communes
    assert c.index.equals(terr.points.index)
    assert np.isfinite(c[["t_su_min", "t_smur_min", "t_urgence_min"]].to_numpy()).all()
    assert (c["t_urgence_min"] <= c[["t_su_min", "t_smur_min"]].min(axis=1) + 1e-9).all()
    # a commune hosting a general SU reaches one in under 10 minutes from its population
    # point (town hall), unless the hospital lies on the far edge of a large commune (> 5 km
    # straight line: Cornebarrieu's clinic by the airport, Montredon-des-Corbières' by
    # Narbonne); those still get under 15 minutes
    from zoning.sources import read_facilities

    fac = read_facilities(data_dir)
    hosts = fac[fac["su"] & ~fac["su_pediatrique_seul"] & (fac["reg"] == "76")]
    hosts = hosts[hosts["code_commune"].isin(c.index)]
    gap_km = hosts.geometry.distance(terr.points.reindex(hosts["code_commune"]).set_axis(
        hosts.index)) / 1000
    near = sorted(set(hosts.loc[gap_km <= 5, "code_commune"]))
    far = sorted(set(hosts["code_commune"]) - set(near))
    assert len(near) >= 45 and len(far) <= 3
    assert (c.loc[near, "t_su_min"] < 10).all(), c.loc[near, "t_su_min"].sort_values().tail()
    assert (c.loc[far, "t_su_min"] < 15).all()
    # most commune points sit close to the numbered-road network
    assert c["access_km"].median() < 0.5 and c["far_from_network"].mean() < 0.01
    e = res.epci
    assert e.index.equals(pd.Index(terr.epci.index))
    assert e["t_mean_min"].notna().all() and (e["weights_source"] == "grille 1 km").all()
    assert e["share_beyond"].between(0, 1).all()
    # regional population from the grid ~ 6.0 M (Census 2021 in Occitanie: 5,997,468)
    assert 5.8e6 < res.regional["population"] < 6.1e6
    assert 0.02 < res.regional["share_beyond"] < 0.2
    # ... and exactly the populated cells whose centre lies in a commune of the region
    cells = res.cells
    assert cells.index.is_unique and cells["code_insee"].isin(c.index).all()
    in_reg = cells[cells["code_insee"].isin(terr.communes.index[terr.communes["in_region"]])]
    covered = in_reg["t_urgence_min"].notna()
    assert res.regional["population"] == pytest.approx(in_reg.loc[covered, "population"].sum())
    assert res.regional["population_hors_couverture"] == pytest.approx(
        in_reg.loc[~covered, "population"].sum())
    assert res.regional["pop_beyond"] == pytest.approx(
        in_reg.loc[in_reg["t_urgence_min"] > 30, "population"].sum())
    assert res.regional["weights_source"] == "grille 1 km"
    # EPCI weights are their cells; cells hold 85-105 % of the commune populations
    # (population_ponderee: the cells with a time; population_totale: all of them)
    has_t = cells["t_urgence_min"].notna()
    per_epci = cells[has_t].groupby("epci_siren")["population"].sum().reindex(e.index)
    pd.testing.assert_series_equal(e["population_ponderee"], per_epci, check_names=False)
    pd.testing.assert_series_equal(
        e["population_totale"], cells.groupby("epci_siren")["population"].sum().reindex(e.index),
        check_names=False)
    assert (e["population_totale"] / terr.epci["population"]).between(0.85, 1.05).all()
    assert (e["pop_beyond"] <= e["population_ponderee"]).all()
    assert res.note == "réseau routier numéroté (Travel Mapping), vitesses modélisées par classe"


@pytest.mark.integration
def test_occitanie_epci_mean_from_cells(occitanie) -> None:
    _, res = occitanie
    cells = res.cells
    siren = cells.groupby("epci_siren")["population"].sum().idxmax()
    sel = cells[cells["epci_siren"] == siren]
    expected = np.average(sel["t_urgence_min"], weights=sel["population"])
    assert res.epci.at[siren, "t_mean_min"] == pytest.approx(expected)
    assert res.epci.at[siren, "pop_beyond"] == pytest.approx(
        sel.loc[sel["t_urgence_min"] > 30, "population"].sum())


@pytest.mark.integration
def test_occitanie_closing_mende(occitanie, data_dir: Path) -> None:
    from zoning.sources import read_facilities

    terr, res = occitanie
    fac = read_facilities(data_dir)
    mende = fac[(fac["code_commune"] == "48095") & fac["su"]].index
    assert len(mende) >= 1
    from zoning.sources import read_population_grid

    scen = tt.compute_travel_times(terr, fac, res.graph, CONFIG, close=list(mende),
                                   grid=read_population_grid(data_dir))
    delta = scen.communes["t_su_min"] - res.communes["t_su_min"]
    assert (delta >= -1e-9).all()
    assert delta.loc["48095"] > 10  # Mende loses its SU: the next one is far
    diff = tt.scenario_difference(res, scen)
    assert (diff["delta_t_mean_min"] >= -1e-9).all()
    assert terr.communes.at["48095", "epci_siren"] in diff.index[:5]


@pytest.mark.integration
def test_occitanie_paediatric_only_smur_not_routed_to(occitanie, data_dir: Path) -> None:
    from zoning.sources import read_facilities

    terr, res = occitanie
    fac = read_facilities(data_dir)
    ped = set(fac.index[fac["smur_pediatrique_seul"]])
    assert "310016977" in ped  # Toulouse Hôpital des Enfants
    for kind in ("smur", "urgence"):
        assert not res.communes[f"finess_{kind}"].isin(ped).any(), kind
        assert not res.cells[f"finess_{kind}"].isin(ped).any(), kind
    # counted as a general SMUR (before), Hôpital des Enfants was the nearest SMUR of 287
    # communes (57 for "SU or SMUR") with the fitted road model; they now route to another
    # SMUR (Purpan for most), a little farther, never nearer
    old_fac = fac.copy()
    old_fac["smur_pediatrique_seul"] = False
    old = tt.compute_travel_times(terr, old_fac, res.graph, CONFIG, grid=None)
    moved = old.communes.index[old.communes["finess_smur"] == "310016977"]
    assert len(moved) == 287
    assert (res.communes.loc[moved, "finess_smur"] == "310783048").sum() == 281  # Purpan
    delta = res.communes["t_smur_min"] - old.communes["t_smur_min"]
    assert (delta >= -1e-9).all() and (delta.loc[moved] > 0).all()
    assert (delta.drop(moved).abs() < 1e-9).all()
    assert (old.communes["finess_urgence"] == "310016977").sum() == 57


# --------------------------------------------------------------------------- CLI


@pytest.fixture()
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ZONING_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def _run(runner: CliRunner, *args: str):
    return runner.invoke(main, ["--quiet", "travel-times", *args], catch_exceptions=False)


@pytest.mark.integration
def test_cli_run_and_scenario(cli_env: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # 480000017: Hôpital Lozère, site Vallée du Lot (Mende), SU + SMUR in SAE 2022
    r = _run(cli_env, "--data-dir", str(data_dir), "-o", str(out), "--close", "480000017")
    assert r.exit_code == 0, r.output
    assert "réseau routier numéroté (Travel Mapping)" in r.output
    assert "Commune la plus éloignée" in r.output and "Scénario" in r.output
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == sorted([
        "temps_urgences_communes.csv", "temps_urgences_epci.csv", "temps_urgences.tif",
        "temps_urgences_communes_scenario.csv", "temps_urgences_epci_scenario.csv",
        "temps_urgences_scenario.tif", "scenario_urgences_epci_difference.csv",
        "temps_urgences.qml", "temps_urgences_scenario.qml"])  # QGIS styles of the GeoTIFFs
    epci = pd.read_csv(out / "temps_urgences_epci.csv", dtype={"epci_siren": str})
    assert len(epci) == 161 and epci["reseau_routier"].str.contains("Travel Mapping").all()
    com = pd.read_csv(out / "temps_urgences_communes.csv", dtype={"code_insee": str})
    assert com["t_urgence_min"].notna().all()


@pytest.mark.integration
def test_cli_unknown_finess(cli_env: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _run(cli_env, "--data-dir", str(data_dir), "-o", str(out), "--close", "000000000")
    assert r.exit_code == 2
    assert "000000000" in r.output and "not found" in r.output
    assert not out.exists()


@pytest.mark.integration
def test_cli_bad_networks(cli_env: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.osm.pbf"
    corrupt.write_bytes(b"\x00\x01garbage" * 300)
    nocol = tmp_path / "nocol.gpkg"
    lines = [LineString([(X0, Y0), (X0 + 1000, Y0)]), LineString([(X0 + 1000, Y0), (X0, Y0)])]
    gpd.GeoDataFrame({"kind": ["a", "b"]}, geometry=lines, crs=2154).to_file(nocol)
    unknown = tmp_path / "unknown.gpkg"
    gpd.GeoDataFrame({"road_class": ["motorway", "chemin"]}, geometry=lines,
                     crs=2154).to_file(unknown)
    cases = [
        (empty, "empty"),
        (corrupt, "corrupt.osm.pbf"),
        (nocol, "road_class"),
        (unknown, "chemin"),
        # a real OSM network that does not cover Occitanie's hospitals
        (data_dir / "roads/osm_andorra_geofabrik_2021-06-22.osm.pbf", "outside"),
    ]
    for network, expected in cases:
        r = _run(cli_env, "--data-dir", str(data_dir), "-o", str(out), "--network", str(network))
        assert r.exit_code == 2, (network, r.output)
        assert expected in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1  # one line, no traceback
        assert not out.exists()


@pytest.mark.integration
def test_cli_facility_without_coordinates(cli_env: CliRunner, data_dir: Path,
                                          tmp_path: Path) -> None:
    fake = tmp_path / "data"
    fake.mkdir()
    for sub in ("admin", "population", "roads"):
        (fake / sub).symlink_to(data_dir / sub)
    (fake / "health").mkdir()
    for f in (data_dir / "health").iterdir():
        if f.name != "sae2022_urgences_smur_sites_geoloc.csv":
            (fake / "health" / f.name).symlink_to(f)
    sae = pd.read_csv(data_dir / "health/sae2022_urgences_smur_sites_geoloc.csv", dtype=str,
                      keep_default_na=False)
    sae.loc[sae.index[:2], ["lat", "lon"]] = ""
    sae.to_csv(fake / "health/sae2022_urgences_smur_sites_geoloc.csv", index=False)
    out = tmp_path / "out"
    r = _run(cli_env, "--data-dir", str(fake), "-o", str(out))
    assert r.exit_code == 2
    assert "coordinates" in r.output and "sae2022_urgences_smur_sites_geoloc.csv" in r.output
    assert not out.exists()
    # coordinates moved outside the network: an Occitanie site in the North Sea
    sae = pd.read_csv(data_dir / "health/sae2022_urgences_smur_sites_geoloc.csv", dtype=str,
                      keep_default_na=False)
    occ = sae.index[sae["reg"] == "76"][0]
    sae.loc[occ, ["lat", "lon"]] = ["54.0", "3.0"]
    sae.to_csv(fake / "health/sae2022_urgences_smur_sites_geoloc.csv", index=False)
    r = _run(cli_env, "--data-dir", str(fake), "-o", str(out))
    assert r.exit_code == 2
    assert sae.at[occ, "finess_et"] in r.output and "outside" in r.output
    assert not out.exists()


@pytest.mark.integration
def test_cli_unwritable_output(cli_env: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    r = _run(cli_env, "--data-dir", str(data_dir), "-o", str(blocker / "out"))
    assert r.exit_code == 2
    assert r.output.startswith(f"Error: {blocker / 'out'}: output folder cannot be created")
    assert len(r.output.strip().splitlines()) == 1
    r = _run(cli_env, "--data-dir", str(data_dir), "-o", str(tmp_path / "o"), "--threshold", "0")
    assert r.exit_code == 2 and "--threshold" in r.output
    assert not (tmp_path / "o").exists()


def test_travel_inputs_are_not_mixed_with_another_network_or_grid(tmp_path: Path) -> None:
    """``run_travel_times(inputs=)`` hands over what ``travel_inputs`` read for the default
    network, cache and grid: asking for another one with it is refused, not silently ignored."""
    def never() -> tt.TravelInputs:
        raise AssertionError("inputs must not be used")

    for kwargs in ({"network": tmp_path / "other.gpkg"}, {"cache_dir": tmp_path},
                   {"use_grid": False}):
        with pytest.raises(ValueError, match="do not combine them"):
            tt.run_travel_times(None, CONFIG, tmp_path, inputs=never, **kwargs)
