"""Exports at real size, on the real Occitanie run (161 EPCI, their communes, SU/SMUR sites,
real scores and travel times from ``zoning.pipeline.run``). These tests check sizes, counts,
CRS, styles and drawing; the scoring itself is tested in test_scoring / test_criteria.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from _map_checks import expected_layers, overlay_labels, priority_pixels

from zoning.exports import read_geopackage, screenshot, webmap
from zoning.exports.screenshot import dump_dom, read_png
from zoning.results import RunResult

pytestmark = pytest.mark.integration

MAX_MAP_BYTES = 8 * 1024 * 1024


# fixtures ``occitanie`` (the real run) and ``outputs`` (its files): tests/conftest.py


def test_occitanie_counts(occitanie: RunResult) -> None:
    assert len(occitanie.epci) == 161
    assert int(occitanie.epci["selected"].sum()) == 28
    assert len(occitanie.communes) > 4400


def test_occitanie_map_size_and_content(outputs: dict[str, Path], occitanie: RunResult) -> None:
    size = outputs["map"].stat().st_size
    assert size < MAX_MAP_BYTES, f"map is {size / 1e6:.1f} MB"
    html = outputs["map"].read_text(encoding="utf-8")
    assert html.count('"selected":[') == 1
    assert "Occitanie" in html


def test_web_geometries_stay_a_coverage(occitanie: RunResult) -> None:
    """Simplified EPCI keep their area and do not overlap (shared borders simplified once)."""
    simple = webmap.simplify_for_web(occitanie.epci.geometry, webmap.EPCI_TOLERANCE_M)
    back = simple.to_crs(2154)
    orig_area = occitanie.epci.area.to_numpy()
    rel = np.abs(back.area.to_numpy() - orig_area) / orig_area
    assert rel.max() < 0.02
    assert (shapely.get_num_coordinates(back.values).sum()
            < 0.8 * shapely.get_num_coordinates(occitanie.epci.geometry.values).sum())
    # overlaps created by the simplification stay negligible
    overlap = back.area.sum() - back.union_all().area
    orig_overlap = occitanie.epci.area.sum() - occitanie.epci.union_all().area
    assert overlap - orig_overlap < 1e-4 * back.area.sum()


def test_communes_drawn_as_published(occitanie: RunResult) -> None:
    """The communes are not simplified for the map (``COMMUNE_TOLERANCE_M`` = 0): the
    published ADMIN EXPRESS COG CARTO polygons are already generalised, a coverage
    simplification at 150 m would remove under 2 % of their vertices."""
    assert webmap.COMMUNE_TOLERANCE_M == 0
    geoms = occitanie.communes.geometry
    n0 = shapely.get_num_coordinates(geoms.values).sum()
    at_150 = shapely.coverage_simplify(shapely.make_valid(geoms.values), 150.0)
    assert shapely.get_num_coordinates(at_150).sum() > 0.98 * n0
    drawn = webmap.simplify_for_web(geoms, webmap.COMMUNE_TOLERANCE_M)
    assert shapely.get_num_coordinates(drawn.values).sum() == n0
    assert drawn.crs.to_epsg() == 4326 and drawn.index.equals(geoms.index)
    back = drawn.to_crs(2154)
    assert np.abs(back.area.to_numpy() - geoms.area.to_numpy()).max() < 1.0  # m², round trip


def test_departement_outlines_are_the_union_of_their_communes(occitanie: RunResult) -> None:
    """The map's département outlines: the exact union of each département's communes (the
    fast coverage-based dissolve), then drawn within the simplification tolerance of it."""
    com = occitanie.communes[occitanie.communes["in_region"].astype(bool)]
    keys = com["dep"].astype(str).to_numpy()
    fast = webmap.dissolve_polygons(com.geometry.values, keys)
    exact = [shapely.union_all(com.geometry.values[keys == k]) for k in fast.index]
    assert list(fast.index) == sorted(set(keys)) and len(fast) == 13
    # same area to the square metre (zero-area slivers of the overlay union aside)
    diff = shapely.area(shapely.symmetric_difference(fast.to_numpy(), exact))
    assert diff.max() < 1.0, diff
    deps = webmap._orientation_part(occitanie)
    assert deps is not None and len(deps["deps"]["names"]) == 13
    # drawn: the simplified outlines stay on the union (area moved < 1 %; measured 0.7 %)
    drawn = webmap.simplify_for_web(
        gpd.GeoSeries(fast.to_numpy(), crs=2154), webmap.DEP_TOLERANCE_M).to_crs(2154)
    moved = shapely.area(shapely.symmetric_difference(drawn.values, exact))
    assert (moved / shapely.area(exact)).max() < 0.01
    assert deps["deps"]["geom"] == webmap.encode_geometries(
        webmap.simplify_for_web(gpd.GeoSeries(fast.to_numpy(), index=fast.index, crs=2154),
                                webmap.DEP_TOLERANCE_M))


def test_occitanie_geopackage(outputs: dict[str, Path], occitanie: RunResult) -> None:
    gpkg = outputs["geopackage"]
    expected = {"epci_scores": 161, "communes": len(occitanie.communes),
                "urgences": len(occitanie.facilities)}
    for layer, n in expected.items():
        info = pyogrio.read_info(gpkg, layer=layer)
        assert info["crs"] == "EPSG:2154" and info["features"] == n
    con = sqlite3.connect(gpkg)
    rows = con.execute("SELECT f_table_name, useAsDefault FROM layer_styles").fetchall()
    default = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'epci_scores' "
                          "AND useAsDefault = 1").fetchone()[0]
    con.close()
    assert sorted(rows) == [("communes", 1), *[("epci_scores", 0)] * 5, ("epci_scores", 1),
                            ("urgences", 1)]
    labels = [r.get("label", "") for r in ET.fromstring(default.split("\n", 1)[1]).iter("rule")]
    n_robust = int((occitanie.epci["selected"] & (occitanie.epci["robustesse"] == "robuste")
                    ).sum())
    assert labels[0].startswith(f"Zone prioritaire robuste ({n_robust} EPCI")
    assert labels[1] == f"Zone prioritaire limite ({28 - n_robust} EPCI)"
    back = read_geopackage(gpkg)
    assert len(back.epci) == 161 and int(back.epci["selected"].sum()) == 28
    assert back.epci.index.str.fullmatch(r"\d{9}").all()


def test_occitanie_tables(outputs: dict[str, Path]) -> None:
    lines = outputs["csv_epci"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 162


@pytest.mark.browser
def test_occitanie_map_renders(outputs: dict[str, Path], occitanie: RunResult,
                               tmp_path: Path) -> None:
    png = screenshot(outputs["map"], tmp_path / "occitanie.png", offline=True)
    img = read_png(png)
    assert priority_pixels(img) > 0.15 * img.shape[0] * img.shape[1]
    dom = dump_dom(outputs["map"], offline=True)
    assert overlay_labels(dom) == expected_layers(occitanie)
