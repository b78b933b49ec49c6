"""The figures the README states about the default Occitanie run, recomputed independently.

Each figure is parsed from the README's own text (a README edit without a code change fails)
and recomputed here from the files of the data directory with code that does not go through
``zoning``'s readers, territory, criteria or routing:

- territory: the raw Etalab ``decoupage-administratif`` 6.0.0 files (communes, EPCI members)
  read with pandas, each EPCI given to the region holding most of its population;
- selected population: the session run's selected SIREN, their population summed from those
  raw files; the selection itself re-derived from the run's criterion values by an
  independent composite (percentile ranks, configured weights read with ``tomllib``);
- ALD coverage: the CartoSanté bassin-de-vie file and INSEE's commune → bassin table;
- share beyond 30 min: the 1 km grid read with pandas, cells placed in communes with a
  geopandas spatial join, and (1) the run's own cell times, (2) times routed here with
  ``scipy.sparse.csgraph.dijkstra`` on the graph's edges with a KD-tree snapping, for the
  fitted model and for the previous flat circuity.

Reuses the session's Occitanie run (``tests/conftest.py``): no pipeline run of its own.
"""

from __future__ import annotations

import gzip
import json
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "config" / "criteria.toml").read_text(encoding="utf-8"))


def _text(path: Path) -> str:
    return re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))


def _num(text: str) -> float:
    return float(text.replace(",", ""))


README = _text(ROOT / "README.md")
_RUN = re.search(
    r"(\d+) EPCI ranked \(each EPCI belongs to the region holding most of its population: "
    r"([\d,]+) communes, ([\d,]+) inhabitants\), (\d+) selected with ([\d,]+) inhabitants "
    r"\(([\d.]+) % of the population; the official 2025 list has ([\d,]+), ([\d.]+) %\), on all "
    r"(\d) criteria; ALD has a value for (\d+) of the (\d+) EPCI \(the (\d+) others lie "
    r"entirely in bassins de vie under statistical secrecy\)", README)
_SHARE = re.search(
    r"([\d.]+) % of the Occitanie population lives more than (\d+) minutes by road from an SU "
    r"or SMUR on the modelled network \(([\d.]+) % with the previous flat circuity of ([\d.]+)\)",
    README)


def test_readme_states_the_run_figures() -> None:
    """The sentences the tests below parse are in the README (else every figure is unchecked)."""
    assert _RUN, "README: the 'What zoning score gives on Occitanie' sentence changed"
    assert _SHARE, "README: the share-beyond-30-min sentence changed"
    assert "selects the priority zones (28 for Occitanie by default)" in README
    assert "28 for Occitanie" in README and f"from {CONFIG['sensitivity']['draws']:,} Monte-Carlo" \
        in README
    assert f"(selected in ≥ {CONFIG['sensitivity']['robust_threshold']:.0%} of draws)".replace(
        "%", " %") in README


# --------------------------------------------------------------------------- territory


@pytest.fixture(scope="module")
def members(data_dir: Path) -> pd.DataFrame:
    """Every EPCI member commune (raw Etalab 6.0.0): ``epci, code, region, population`` plus
    ``epci_region`` (the region holding most of the EPCI's population)."""
    base = data_dir / "admin" / "decoupage-administratif-6.0.0"
    with gzip.open(base / "communes.json.gz") as fh:
        communes = pd.DataFrame(json.load(fh))
    communes = communes[communes["type"] == "commune-actuelle"].set_index("code")
    with gzip.open(base / "epci.json.gz") as fh:
        epci = json.load(fh)
    m = pd.DataFrame([(e["code"], c["code"]) for e in epci for c in e["membres"]],
                     columns=["epci", "code"])
    assert m["code"].is_unique
    m = m.join(communes[["region", "population"]], on="code")
    assert m["population"].notna().all()
    by_region = m.groupby(["epci", "region"])["population"].sum().reset_index()
    top = by_region.sort_values("population").groupby("epci").tail(1).set_index("epci")
    return m.assign(epci_region=m["epci"].map(top["region"]))


@pytest.fixture(scope="module")
def occitanie_members(members: pd.DataFrame) -> pd.DataFrame:
    return members[members["epci_region"] == "76"]


def test_readme_territory(occitanie_members: pd.DataFrame, members: pd.DataFrame) -> None:
    assert _RUN
    m = occitanie_members
    assert int(_RUN.group(1)) == m["epci"].nunique() == int(_RUN.group(11))
    assert _num(_RUN.group(2)) == len(m)
    assert _num(_RUN.group(3)) == m["population"].sum()
    # ARCHITECTURE.md states the same territory
    arch = _text(ROOT / "docs" / "ARCHITECTURE.md")
    outside = int((m["region"] != "76").sum())
    own = int((members.drop_duplicates("code")["region"] == "76").sum())
    assert (f"(Occitanie: {m['epci'].nunique()} EPCI, {len(m):,} communes, {outside} of them "
            f"outside the region), `region_communes` the region's own ({own:,})") in arch


def test_readme_selected_population(occitanie, occitanie_members: pd.DataFrame) -> None:
    assert _RUN
    m = occitanie_members
    epci = occitanie.epci
    selected = epci.index[epci["selected"].astype(bool)]
    n_sel = int(_RUN.group(4))
    assert n_sel == len(selected) == CONFIG["run"]["priority_zones_by_region"]["76"]
    pop = m[m["epci"].isin(selected)]["population"].sum()
    assert _num(_RUN.group(5)) == pop
    assert float(_RUN.group(6)) == round(100 * pop / m["population"].sum(), 1)
    # the official list's figures (Guide: 323,497 inhabitants) are a published quote; its share
    # is the same rounding of them against the region's population
    assert float(_RUN.group(8)) == round(100 * _num(_RUN.group(7)) / m["population"].sum(), 1)


def test_selection_rederived_from_the_criterion_values(occitanie) -> None:
    """The 28 selected EPCI are the 28 worst of an independent composite: percentile rank of
    each oriented criterion, configured weights renormalised over the criteria an EPCI has,
    ties broken by population then SIREN."""
    assert _RUN
    epci = occitanie.epci
    crits = CONFIG["criteria"]
    assert int(_RUN.group(9)) == len(crits) == 5
    scores, weights = {}, {}
    for c in crits:
        x = epci[c["id"]].astype(float)
        if c["direction"] == "higher_is_better":
            x = -x
        assert x.notna().any(), c["id"]  # "on all 5 criteria"
        r = x.rank(method="average")
        scores[c["id"]] = (r - 1) / (x.notna().sum() - 1)
        weights[c["id"]] = c["weight"]
    s = pd.DataFrame(scores)
    w = pd.Series(weights)
    has = s.notna()
    composite = (s.fillna(0) * w).sum(axis=1) / (has * w).sum(axis=1)
    order = pd.DataFrame({"c": composite, "p": epci["population"], "s": epci.index}).sort_values(
        ["c", "p", "s"], ascending=[False, False, True])
    top = set(order.index[: int(_RUN.group(4))])
    assert top == set(epci.index[epci["selected"].astype(bool)])


def test_readme_ald_count(data_dir: Path, occitanie_members: pd.DataFrame) -> None:
    """EPCI with an ALD value = EPCI with at least one commune (COG 2024) in a bassin de vie
    whose CartoSanté share is published (not "N/A - secret statistique")."""
    assert _RUN
    bv = pd.read_csv(data_dir / "health" / "cartosante_indicateurs_bassins_de_vie_2024.csv",
                     sep=";", skiprows=2, dtype=str, encoding="utf-8-sig")
    ald = pd.to_numeric(bv.set_index("Code")["Part des bénéf. en ALD dans la pop 2024"]
                        .str.strip(), errors="coerce").dropna()
    app = pd.read_csv(data_dir / "admin" / "insee_appartenance_geo_communes_2024_COM.csv",
                      dtype=str).set_index("CODGEO")["BV2022"]
    cur = pd.read_csv(data_dir / "admin" / "communes_epci_cog2025.csv", dtype=str)
    old = cur.assign(c24=cur["codes_cog2024"].str.split(";")).explode("c24")
    old = old[old["epci_siren"].isin(occitanie_members["epci"])]
    assert old["epci_siren"].nunique() == int(_RUN.group(11))
    has = old["c24"].map(app).map(ald).notna().groupby(old["epci_siren"]).any()
    assert int(_RUN.group(10)) == int(has.sum())
    assert int(_RUN.group(12)) == int((~has).sum()) == int(_RUN.group(11)) - int(_RUN.group(10))


# --------------------------------------------------------------------------- travel times


@pytest.fixture(scope="module")
def region_cells(data_dir: Path, occitanie_members: pd.DataFrame) -> pd.DataFrame:
    """Populated 1 km cells whose centre lies in a commune of the region belonging to one of
    its EPCI: ``population, x, y`` (EPSG:2154), ``code_insee``, index ``GRD_ID``."""
    grid = pd.read_parquet(
        data_dir / "population" / "eurostat_census2021_grid1km_france_buf50km.parquet",
        columns=["GRD_ID", "x_ll_3035", "y_ll_3035", "T"])
    centres = gpd.GeoDataFrame(
        {"population": grid["T"].to_numpy(dtype=float)}, index=grid["GRD_ID"].to_numpy(),
        geometry=gpd.points_from_xy(grid["x_ll_3035"] + 500, grid["y_ll_3035"] + 500),
        crs=3035).to_crs(2154)
    communes = gpd.read_file(data_dir / "admin" / "communes_cog2025_fr.gpkg",
                             layer="communes_cog2025", columns=["code_insee", "reg"]).to_crs(2154)
    own = occitanie_members.loc[occitanie_members["region"] == "76", "code"]
    communes = communes[communes["code_insee"].isin(own)]
    j = gpd.sjoin(centres, communes[["geometry"]], predicate="within", how="inner")
    j = j.join(communes["code_insee"], on="index_right")
    j = j[~j.index.duplicated()]
    return pd.DataFrame({"population": j["population"], "x": j.geometry.x, "y": j.geometry.y,
                         "code_insee": j["code_insee"]})


def _share(times_min: pd.Series, population: pd.Series, threshold: float) -> float:
    ok = times_min.notna()
    return float(population[ok & (times_min > threshold)].sum() / population[ok].sum())


def test_readme_share_beyond_from_the_cell_times(occitanie_run, region_cells) -> None:
    """The README share = the run's cell times, with populations and regional cells read
    here; every populated cell of the region has a row in the run."""
    assert _SHARE
    threshold = float(_SHARE.group(2))
    assert threshold == CONFIG["travel"]["threshold_min"]
    cells = occitanie_run.extra["travel"].cells
    t = cells["t_urgence_min"].reindex(region_cells.index)
    assert t.index.isin(cells.index).mean() > 0.999
    pd.testing.assert_series_equal(
        cells["population"].reindex(region_cells.index).dropna(),
        region_cells["population"][t.index.isin(cells.index)], check_names=False)
    share = _share(t, region_cells["population"], threshold)
    assert float(_SHARE.group(1)) == round(100 * share, 1)


def _routed_times(graph, sites, cells: pd.DataFrame, times_s: np.ndarray,
                  speed_kmh: float, circuity: float, k: int, max_km: float) -> pd.Series:
    """Cell times (min) to the nearest site: one Dijkstra from a super-source joined to each
    site's k nearest nodes (access leg as edge weight), on the reversed edges; cells join at
    the quickest of their k nearest nodes; beyond ``max_km`` of any node: no time."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    n = len(graph.x)
    edges = pd.DataFrame({"u": graph.u, "v": graph.v, "t": times_s}).groupby(
        ["u", "v"], as_index=False)["t"].min()
    tree = cKDTree(np.c_[graph.x, graph.y])
    mps = speed_kmh / 3.6
    d, i = tree.query(np.c_[sites.geometry.x, sites.geometry.y], k=k)
    rows = np.r_[edges["v"].to_numpy(), np.full(i.size, n)]
    cols = np.r_[edges["u"].to_numpy(), i.ravel()]
    w = np.r_[edges["t"].to_numpy(), d.ravel() * circuity / mps + 1e-9]
    at_node = dijkstra(coo_matrix((w, (rows, cols)), shape=(n + 1, n + 1)).tocsr(),
                       directed=True, indices=n)[:n]
    d, i = tree.query(cells[["x", "y"]].to_numpy(), k=k)
    t = (d * circuity / mps + at_node[i]).min(axis=1) / 60
    return pd.Series(np.where(d[:, 0] <= max_km * 1000, t, np.nan), index=cells.index)


def test_readme_share_beyond_routed_independently(occitanie_run, region_cells) -> None:
    """scipy's Dijkstra on the graph's edges, KD-tree snapping: the README's shares, for the
    fitted model (edge times as built) and the previous flat circuity (drawn length × flat
    circuity at the class speed), within 0.2 point; cell times agree with the run's."""
    assert _SHARE
    travel = occitanie_run.extra["travel"]
    graph, sites = travel.graph, travel.sites
    r = CONFIG["routing"]
    threshold = float(_SHARE.group(2))
    kw = {"speed_kmh": r["access_speed_kmh"], "circuity": r["access_circuity"],
          "k": r["snap_candidates"], "max_km": r["max_snap_km"]}
    fitted = _routed_times(graph, sites, region_cells, graph.time_s, **kw)
    pop = region_cells["population"]
    assert _share(fitted, pop, threshold) == pytest.approx(float(_SHARE.group(1)) / 100,
                                                           abs=0.002)
    theirs = travel.cells["t_urgence_min"].reindex(region_cells.index)
    gap = (fitted - theirs).abs()
    # the same time for most cells; a few differ by up to a few minutes (the run's urban
    # access model and its straight legs to sites, not modelled here)
    assert gap.median() < 0.01 and (gap < 0.05).mean() > 0.85 and (gap < 1).mean() > 0.97, \
        gap.describe()
    # the previous flat model: every class at the flat circuity (README: "flat circuity of")
    flat = float(_SHARE.group(4))
    assert flat == r["circuity"]
    speeds = pd.Series(r["class_speeds_kmh"])
    kmh = speeds.reindex(np.asarray(graph.classes)[graph.road_class]).to_numpy()
    assert np.isfinite(kmh).all()
    flat_s = graph.length_m * flat / (kmh / 3.6)
    flat_t = _routed_times(graph, sites, region_cells, flat_s, **kw)
    assert _share(flat_t, pop, threshold) == pytest.approx(float(_SHARE.group(3)) / 100,
                                                           abs=0.002)


def test_readme_national_epci_count(members: pd.DataFrame) -> None:
    """``--region FR`` ranks the EPCI whose population lies mostly in metropolitan France
    (overseas regions 01-06 are out of scope)."""
    m = re.search(r"`zoning score --region FR` ranks the ([\d,]+) metropolitan EPCI", README)
    assert m, "README: the --region FR sentence changed"
    metro = members[~members["epci_region"].isin(["01", "02", "03", "04", "06"])]
    assert _num(m.group(1)) == metro["epci"].nunique()


def test_readme_cerdagne_correction(occitanie_run, region_cells, occitanie_members,
                                    data_dir: Path) -> None:
    """The corrected Puigcerdà SMUR antenna: CC Pyrénées Cerdagne's share beyond 30 min with
    the site where the FINESS file puts it (Perpignan) and where the correction puts it,
    routed here."""
    from shapely.geometry import Point

    m = re.search(r"CC Pyrénées Cerdagne goes from (\d+) % of its population beyond (\d+) min "
                  r"to (\d+) %", README)
    assert m, "README: the Cerdagne sentence changed"
    travel = occitanie_run.extra["travel"]
    r = CONFIG["routing"]
    kw = {"speed_kmh": r["access_speed_kmh"], "circuity": r["access_circuity"],
          "k": r["snap_candidates"], "max_km": r["max_snap_km"]}
    codes = occitanie_members.loc[occitanie_members["epci"] == "246600399", "code"]
    cells = region_cells[region_cells["code_insee"].isin(codes)]
    assert len(cells) > 10
    raw = pd.read_csv(data_dir / "health" / "sae2022_urgences_smur_sites_geoloc.csv",
                      dtype=str).set_index("finess_et").loc["660010117"]
    at_perpignan = travel.sites.copy()
    at_perpignan.loc["660010117", "geometry"] = gpd.GeoSeries(
        [Point(float(raw["lon"]), float(raw["lat"]))], crs=4326).to_crs(2154).iloc[0]
    threshold = float(m.group(2))
    shares = [_share(_routed_times(travel.graph, sites, cells, travel.graph.time_s, **kw),
                     cells["population"], threshold) for sites in (at_perpignan, travel.sites)]
    assert [f"{100 * x:.0f}" for x in shares] == [m.group(1), m.group(3)]
