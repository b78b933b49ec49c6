"""Exports on a tiny synthetic run built in code: map, GeoPackage, tables, atomicity, CLI."""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from _files import snapshot
from _tiny_run import EVIL, tiny_result
from click.testing import CliRunner
from openpyxl import load_workbook
from shapely.geometry import Polygon

from zoning.cli import main
from zoning.errors import ExportError, ZoningError
from zoning.exports import _common as common
from zoning.exports import geopackage as gpkg_mod
from zoning.exports import (
    qgis,
    read_geopackage,
    webmap,
    write_all,
    write_geopackage,
    write_map,
    write_tables,
)
from zoning.exports import tables as tables_mod
from zoning.fmt import fr_number, fr_percent, fr_probability, fr_value
from zoning.results import NoteSection

# --------------------------------------------------------------------------- helpers


def test_french_number_formatting() -> None:
    assert fr_number(12345.678, 1, missing=common.MISSING) == "12\u202f345,7"
    assert fr_number(0.5, 2, missing=common.MISSING) == "0,50"
    assert fr_number(float("nan"), 2, missing=common.MISSING) == common.MISSING
    assert fr_number(None, 0, missing=common.MISSING) == common.MISSING
    assert fr_percent(0.953, 0, missing=common.MISSING) == "95\u00a0%"
    # probabilities round down: 0.896 is below the 90 % of "robuste", 0.999 is not "always"
    assert [fr_probability(p, missing=common.MISSING)
            for p in (0.896, 0.9, 0.29, 0.999, 1.0, float("nan"))] == [
        "89\u00a0%", "90\u00a0%", "29\u00a0%", "99\u00a0%", "100\u00a0%", common.MISSING]
    assert fr_value(2.345, "consultations", 2, missing=common.MISSING) == "2,35 consultations"
    assert fr_value(np.nan, "consultations", 2, missing=common.MISSING) == common.MISSING


def test_quantile_classes_cover_values_and_order() -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, 161)
    values[[3, 50]] = np.nan
    cls = common.quantile_classes(values, 5, 2)
    assert cls.k == 5
    ok = ~np.isnan(values)
    assert (cls.codes[~ok] == -1).all()
    assert cls.codes[ok].min() == 0 and cls.codes[ok].max() == 4
    # every value lies within its class bounds; classes are monotone in the value
    lo = np.asarray(cls.bounds)[cls.codes[ok]]
    hi = np.asarray(cls.bounds)[cls.codes[ok] + 1]
    assert ((values[ok] >= lo) & (values[ok] <= hi)).all()
    order = np.argsort(values[ok])
    assert (np.diff(cls.codes[ok][order]) >= 0).all()
    # quintiles: each class holds about a fifth of the values
    counts = np.bincount(cls.codes[ok])
    assert counts.min() >= 25 and counts.max() <= 37


def test_quantile_classes_ties_and_all_missing() -> None:
    cls = common.quantile_classes(np.array([1.0, 1.0, 1.0, 2.0]), 5, 2)
    assert cls.k <= 2 and set(cls.codes.tolist()) <= {0, 1}
    empty = common.quantile_classes(np.full(3, np.nan), 5, 2)
    assert empty.k <= 0 and (empty.codes == -1).all()


def test_fixed_travel_classes_known_answers() -> None:
    cls = common.fixed_classes(np.array([0.0, 9.9, 10.0, 29.9, 30.0, 44.9, 45.0, 120.0, np.nan]),
                               common.TRAVEL_BREAKS)
    assert cls.codes.tolist() == [0, 0, 1, 2, 3, 3, 4, 4, -1]
    assert common.class_labels(cls, 0, "min") == [
        "< 10 min", "10 – 20 min", "20 – 30 min", "30 – 45 min", "≥ 45 min"]


def test_site_categories() -> None:
    fac = pd.DataFrame({"su": [True, True, False, False, False, False],
                        "smur": [True, False, True, True, False, False],
                        "smur_antenne": [False, False, False, True, False, False],
                        "su_pediatrique_seul": [False, False, False, False, True, False]})
    assert common.site_categories(fac).tolist() == [
        "SU et SMUR", "SU", "SMUR", "Antenne SMUR", "SU pédiatrique", "Autre (SAMU)"]
    # a paediatric-only SMUR is never shown as a general SMUR (SAE: SMUR=1, PED=1, GEN=0)
    ped = pd.DataFrame({"su": [False, True, False], "smur": [True, True, True],
                        "smur_antenne": [False] * 3,
                        "su_pediatrique_seul": [False, False, True],
                        "smur_pediatrique_seul": [True, True, True]})
    assert common.site_categories(ped).tolist() == [
        "SMUR pédiatrique seul", "SU", "SU pédiatrique"]
    assert set(common.site_categories(ped)) <= set(common.SITE_CATEGORIES)


def test_check_result_lists_every_problem() -> None:
    r = tiny_result()
    bad = replace(r, epci=r.epci.drop(columns=["rank", "apl_score"]),
                  facilities=r.facilities.to_crs(4326))
    with pytest.raises(ExportError) as exc:
        common.check_result(bad)
    msg = str(exc.value)
    assert "rank" in msg and "apl_score" in msg and "EPSG:2154" in msg
    assert isinstance(exc.value, ZoningError) and isinstance(exc.value, OSError)


# --------------------------------------------------------------------------- geometry


def _decode(enc: dict) -> list[list[np.ndarray]]:
    """Python port of map.js decode(): rings per geometry."""
    c = np.asarray(enc["c"], dtype=np.int64).reshape(-1, 2).cumsum(axis=0) / enc["scale"]
    out, ci, ri, pi = [], 0, 0, 0
    for ng in enc["g"]:
        rings = []
        for _ in range(ng):
            for _ in range(enc["p"][pi]):
                n = enc["r"][ri]
                rings.append(c[ci:ci + n])
                ci += n
                ri += 1
            pi += 1
        out.append(rings)
    return out


def test_encode_geometries_round_trip() -> None:
    hole = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 2)]])
    multi = shapely.MultiPolygon([Polygon([(10, 10), (11, 10), (11, 11)]),
                                  Polygon([(12, 12), (13, 12), (13, 13)])])
    geoms = gpd.GeoSeries([shapely.affinity.scale(hole, 0.123456789, 0.1),
                           shapely.affinity.translate(multi, 0.000004, -0.000006)], crs=4326)
    enc = webmap.encode_geometries(geoms)
    dec = _decode(enc)
    assert enc["g"] == [1, 2] and enc["p"] == [2, 1, 1]
    expected = [shapely.get_coordinates(r) for g in geoms
                for p in shapely.get_parts(g) for r in shapely.get_rings(p)]
    got = [r for rings in dec for r in rings]
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, np.round(b, 5), atol=1e-9)


def test_simplify_keeps_shared_borders() -> None:
    xs = np.linspace(0, 20_000, 400)
    border = np.column_stack([xs, 10_000 + 300 * np.sin(xs / 700)])
    left = Polygon(np.vstack([[[0, 0], [20_000, 0]], border[::-1]]))
    right = Polygon(np.vstack([border, [[20_000, 20_000], [0, 20_000]]]))
    geoms = gpd.GeoSeries([left, right], crs=2154).translate(600_000, 6_200_000)
    out = webmap.simplify_for_web(geoms, 250.0)
    assert out.crs.to_epsg() == 4326
    back = out.to_crs(2154)
    assert shapely.get_num_coordinates(back.values).sum() < \
        shapely.get_num_coordinates(geoms.values).sum() / 2
    # no gap and no overlap between the neighbours: areas add up to the union
    overlap = back.iloc[0].intersection(back.iloc[1]).area
    assert overlap < 1.0
    assert math.isclose(back.union_all().area, back.area.sum(), rel_tol=1e-6)
    assert math.isclose(back.area.sum(), geoms.area.sum(), rel_tol=0.01)


# --------------------------------------------------------------------------- map


@pytest.fixture(scope="module")
def tiny_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_map(tiny_result(), tmp_path_factory.mktemp("map") / "carte.html")
    return path.read_text(encoding="utf-8")


def _payload(html: str) -> dict:
    m = re.search(r"var zoning_data = (\{.*?\});\nzoningMap", html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_map_is_self_contained(tiny_html: str) -> None:
    assert not re.search(r"<script[^>]+src=", tiny_html)
    assert not re.search(r"<link[^>]+href=[\"']?https?:", tiny_html)
    for cdn in ("cdn.jsdelivr", "code.jquery", "bootstrapcdn", "cdnjs", "fontawesome"):
        assert cdn not in tiny_html
    assert "Leaflet 1.9.4" in tiny_html
    assert "url(images/" not in tiny_html and "data:image/png;base64," in tiny_html
    # the only network address used by the page script is the optional tile server
    script = tiny_html[tiny_html.index("function zoningMap"):]
    assert sorted(re.findall(r"https?://[^\s\"']+", script)) == [
        "http://www.w3.org/2000/svg", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"]


def test_map_escapes_data(tiny_html: str) -> None:
    assert EVIL not in tiny_html
    assert "<b>gras</b>" not in tiny_html and "<i>Sud</i>" not in tiny_html
    payload = _payload(tiny_html)
    assert EVIL in payload["epci"]["names"]  # still shown, as text
    assert "Saint-Évil <b>gras</b>" in payload["communes"]["nom"]
    assert "{{ x }}" in " ".join(payload["epci"]["names"])


def test_map_payload_content(tiny_html: str) -> None:
    r = tiny_result()
    p = _payload(tiny_html)
    epci = p["epci"]
    assert epci["names"] == r.epci["epci_nom"].tolist()
    assert epci["selected"] == r.epci["selected"].astype(int).tolist()
    prio = p["epci_layers"][0]
    assert prio["name"] == webmap.PRIORITY_LAYER and prio["visible"]
    # classes follow the composite score
    order = np.argsort(r.epci["composite"].to_numpy())
    assert np.all(np.diff(np.asarray(prio["codes"])[order]) >= 0)
    labels = [it["label"] for it in prio["legend"]["items"]]
    assert common.MISSING in labels
    # robuste (solid outline) and limite (dashed) are two legend entries with their counts
    assert any(x.startswith("Zone prioritaire robuste (1 EPCI") for x in labels)
    assert "Zone prioritaire limite (1 EPCI)" in labels
    assert epci["robust"] == (r.epci["robustesse"] == "robuste").astype(int).tolist()
    # one layer per criterion; the missing one says so and is all grey
    names = [layer["name"] for layer in p["epci_layers"][1:]]
    assert len(names) == 5
    ald = p["epci_layers"][3]
    assert ald["name"].endswith(common.MISSING) and set(ald["codes"]) == {-1}
    # tooltip rows: rank "n / N", probability, each criterion with unit or missing
    i = r.epci.index.get_loc("200000003")
    row = dict(zip(epci["labels"], epci["values"][i], strict=True))
    assert row["Rang (1 = plus vulnérable)"] == "1 / 4"
    assert row["Probabilité de sélection"] == "95\u00a0%"
    # each criterion: value and rank among the region's EPCI (1 = most unfavourable)
    assert row["Accès aux médecins généralistes"] == \
        "1,40 consultations/an/hab. standardisé — rang 1 / 4"
    assert row["Pourquoi"] == "robuste : retenue dans 95\u00a0% des tirages ; rang 1 à 3"
    assert row["Part des patients en ALD"] == common.MISSING
    assert row["SIREN"] == "200000003" and row["Zone prioritaire"] == "oui"
    # APL: higher is better, so the lowest APL gets the darkest colour
    apl = p["epci_layers"][1]
    low = int(np.argmin(r.epci["apl"].to_numpy()))
    assert apl["colors"][apl["codes"][low]] == common.YLORRD5[-1]
    # travel-time layer, sites, texts
    assert p["communes"]["codes_class"] == [0, 1, 0, 0, 3, 4, 2, -1]
    # each commune points to its EPCI (named in its tooltip)
    names = [epci["names"][k] for k in p["communes"]["epci"]]
    assert names == r.epci.loc[r.communes["epci_siren"], "epci_nom"].tolist()
    assert p["sites"]["su"] == [1, 1, 0] and p["sites"]["smur"] == [1, 0, 1]
    assert any("millésime 2023" in s for s in p["sources"])
    assert any("ALD" in n and common.MISSING in n for n in p["notes"])
    assert any("Réseau routier" in n for n in p["notes"])
    assert p["computed_at"] == "25/11/2026 à 21:00"
    (s, w), (n, e) = p["bounds"]
    assert 40 < s < n < 52 and -6 < w < e < 10
    # the header names the missing criterion, not only a count
    assert p["subtitle"].startswith("4 EPCI classés sur 4 critères disponibles sur 5 (Part des "
                                    "patients en ALD : donnée indisponible")
    # a share in 0..1 ("part de l'APL") is shown in percent, with one decimal
    share = r.epci.loc["200000003", "age_mg"]
    assert row["Présence de jeunes médecins"] == \
        fr_number(100 * share, 1, missing=common.MISSING) + " % de l'APL — rang 1 / 4"
    age = p["epci_layers"][2]
    assert age["name"] == "Présence de jeunes médecins (% de l'APL)"
    top_class = age["legend"]["items"][len(age["colors"]) - 1]["label"]
    upper = float(top_class.split(" – ")[1].replace("\u202f", "").replace(",", "."))
    assert upper == pytest.approx(100 * r.epci["age_mg"].max(), abs=0.1)  # bounds in percent
    # percentages: one decimal at most
    assert re.fullmatch(r"\d+(,\d)?\s% de la population — rang \d+ / 4",
                        row["Éloignement des urgences"])


def test_short_label_drops_only_acronyms() -> None:
    from zoning.config import load_config

    labels = {c.id: c.label for c in load_config(None).criteria}
    assert common.short_label(labels["apl"]) == "Accès aux médecins généralistes"
    # the bracket says what is measured: without it "Présence de jeunes médecins 0,88"
    # would read as a high presence of young doctors
    for cid in ("age_mg", "urgences", "niveau_vie"):
        assert common.short_label(labels[cid]) == labels[cid]
    assert common.short_label("Part des patients en ALD") == "Part des patients en ALD"


def test_map_coordinates_rounded(tiny_html: str) -> None:
    enc = _payload(tiny_html)["epci"]["geom"]
    assert enc["scale"] == 10 ** webmap.PRECISION
    assert all(isinstance(v, int) for v in enc["c"][:50])


# --------------------------------------------------------------------------- GeoPackage


@pytest.fixture(scope="module")
def tiny_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_geopackage(tiny_result(), tmp_path_factory.mktemp("gpkg") / "zoning_99.gpkg")


def test_geopackage_layers_crs_counts(tiny_gpkg: Path) -> None:
    layers = dict(pyogrio.list_layers(tiny_gpkg).tolist())
    assert {"epci_scores", "communes", "urgences", "run_parameters", "layer_styles"} <= set(layers)
    assert layers["run_parameters"] is None
    r = tiny_result()
    for name, n in (("epci_scores", len(r.epci)), ("communes", len(r.communes)),
                    ("urgences", len(r.facilities))):
        info = pyogrio.read_info(tiny_gpkg, layer=name)
        assert info["crs"] == "EPSG:2154"
        assert info["features"] == n
    epci = pyogrio.read_dataframe(tiny_gpkg, layer="epci_scores")
    assert {"epci_siren", "apl", "apl_score", "composite", "rank", "selected", "probability",
            "rank_p05", "rank_p95", "robustesse"} <= set(epci.columns)
    assert epci["ald"].isna().all()
    fac = pyogrio.read_dataframe(tiny_gpkg, layer="urgences")
    assert fac["categorie"].tolist() == ["SU et SMUR", "SU", "Antenne SMUR"]


def _qml(text: str) -> ET.Element:
    assert text.startswith("<!DOCTYPE qgis")
    return ET.fromstring(text.split("\n", 1)[1])


def test_geopackage_styles(tiny_gpkg: Path) -> None:
    con = sqlite3.connect(tiny_gpkg)
    geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
    assert cols == ["id", "f_table_catalog", "f_table_schema", "f_table_name",
                    "f_geometry_column", "styleName", "styleQML", "styleSLD", "useAsDefault",
                    "description", "owner", "ui", "update_time"]
    rows = con.execute("SELECT f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                       "useAsDefault FROM layer_styles ORDER BY id").fetchall()
    con.close()
    r = tiny_result()
    # one default style per layer; the EPCI layer also has one style per criterion
    assert sorted((t, d) for t, _, _, _, _, d in rows) == [
        ("communes", 1), ("epci_scores", 0), ("epci_scores", 0), ("epci_scores", 0),
        ("epci_scores", 0), ("epci_scores", 0), ("epci_scores", 1), ("urgences", 1)]
    for table, gcol, _, qml, _, _ in rows:
        assert gcol == geom_cols[table] and _qml(qml).tag == "qgis"
    epci_rows = [row for row in rows if row[0] == "epci_scores"]
    names = [row[2] for row in epci_rows]
    assert names[0] == "Priorité (score composite, zones prioritaires)"
    assert names[1:] == [f"Critère {i} : {c.label}" + ("" if c.available else
                                                        f" — {common.MISSING}")
                         for i, c in enumerate(r.criteria, start=1)]
    assert epci_rows[0][5] == 1
    sel = r.epci["selected"].astype(bool)
    n_robust = int((sel & (r.epci["robustesse"] == "robuste")).sum())
    for (_, _, _name, qml, sld, _), col in zip(
            epci_rows, ["composite"] + [c.id for c in r.criteria], strict=True):
        root = _qml(qml)
        assert root.get("labelsEnabled") == "1"
        rend = root.find("renderer-v2")
        assert rend is not None and rend.get("type") == "RuleRenderer"
        assert rend.get("symbollevels") == "1"
        rules = list(rend.iter("rule"))
        labels = [ru.get("label", "") for ru in rules]
        # the priority outlines are legend entries of their own, with their counts
        assert labels[0] == f"Zone prioritaire robuste ({n_robust} EPCI)"
        assert labels[1] == f"Zone prioritaire limite ({int(sel.sum()) - n_robust} EPCI)"
        assert labels[-1].startswith("Donnée indisponible (")
        symbols = {s.get("name"): s for s in rend.iter("symbol")}
        passes = [symbols[ru.get("symbol")].find("layer").get("pass") for ru in rules]
        assert passes[:2] == ["1", "1"] and set(passes[2:]) == {"0"}  # outlines on top
        dash = [symbols[ru.get("symbol")].find("layer/prop[@k='outline_style']").get("v")
                for ru in rules[:2]]
        assert dash == ["solid", "dash"]
        label_style = root.find("labeling/settings/text-style")
        assert label_style is not None and label_style.get("fieldName") == "epci_nom"
        aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
        assert aliases["apl"].startswith("Accès aux médecins généralistes")
        # the class rules are the map's quintiles: same bounds, every EPCI counted once
        values = pd.to_numeric(r.epci[col], errors="coerce")
        class_rules = rules[2:-1]
        n_missing = int(values.isna().sum())
        assert labels[-1] == f"Donnée indisponible ({n_missing} EPCI)"
        if values.notna().any():
            scale = {c.id: common.display_scale(c) for c in r.criteria}
            factor, unit = scale.get(col, (1.0, ""))
            shown = values * factor  # classes of the value as shown (a share in percent)
            dec = 2 if col == "composite" else common.display_decimals(shown, unit)
            cls = common.quantile_classes(shown, 5, dec)
            assert len(class_rules) == cls.k
            lowers = [float(ru.get("filter", "").split(">= ")[1].split(" ")[0])
                      for ru in class_rules]
            assert lowers == pytest.approx(list(cls.bounds[:-1]))
            counts = [int(re.search(r"\((\d+) EPCI\)$", lab).group(1))  # type: ignore[union-attr]
                      for lab in labels[2:-1]]
            assert sum(counts) == values.notna().sum()
        else:
            assert class_rules == []
        sld_root = ET.fromstring(sld.encode("utf-8"))
        se = "{http://www.opengis.net/se}"
        titles = [t.text for t in sld_root.iter(f"{se}Title")]
        assert titles[-2:] == labels[:2]  # outlines drawn last in the SLD too
        assert [p.text for p in sld_root.iter("{http://www.opengis.net/ogc}PropertyName")
                ][-1] == "epci_nom"
    urg = _qml(next(row[3] for row in rows if row[0] == "urgences")).find("renderer-v2")
    assert urg is not None and urg.get("type") == "categorizedSymbol"
    assert {c.get("value") for c in urg.iter("category")} == set(common.SITE_CATEGORIES)
    com = _qml(next(row[3] for row in rows if row[0] == "communes")).find("renderer-v2")
    assert com is not None and com.get("attr") == "t_urgence_min"


def test_epci_style_rules_select_what_the_map_shows() -> None:
    """The QGIS rule filters, evaluated here, put each EPCI in the class the web map gives it."""
    r = tiny_result()
    fields = [c for c in r.epci.columns if c != "geometry"]
    style = qgis.epci_styles(r, {}, fields)[1]  # criterion 1 (APL, higher is better)
    payload = webmap.build_payload(r)
    layer = next(lay for lay in payload["epci_layers"]
                 if lay["name"].startswith(r.criteria[0].label))
    apl = r.epci["apl"].astype(float)
    for code, (_, value) in zip(layer["codes"], apl.items(), strict=True):
        hits = [i for i, ru in enumerate(style.rules[2:-1])
                if ru.lower <= value and (value < ru.upper or (ru.upper_inclusive
                                                               and value <= ru.upper))]
        assert hits == [code]


def test_packaged_qml_files_are_valid() -> None:
    for name in gpkg_mod.STYLE_NAMES:
        root = _qml(gpkg_mod.style_qml(name))
        assert root.tag == "qgis" and root.find("renderer-v2") is not None
        # every symbol layer carries its properties twice: <Option> (QGIS >= 3.26) and <prop>
        for layer in root.iter("layer"):
            opts = {o.get("name"): o.get("value") for o in layer.findall("Option/Option")}
            props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
            assert opts and opts == props
    for style in qgis.epci_styles(tiny_result(), {}, []):
        for layer in _qml(style.qml).iter("layer"):
            opts = {o.get("name"): o.get("value") for o in layer.findall("Option/Option")}
            assert opts == {p.get("k"): p.get("v") for p in layer.findall("prop")}


def test_geopackage_metadata_and_parameters(tiny_gpkg: Path) -> None:
    con = sqlite3.connect(tiny_gpkg)
    desc = dict(con.execute("SELECT table_name, description FROM gpkg_contents"))
    assert "score composite" in desc["epci_scores"]
    dc = {(t, c): (n, d) for t, c, n, d in con.execute(
        "SELECT table_name, column_name, name, description FROM gpkg_data_columns")}
    assert dc[("epci_scores", "apl")][0].startswith("Accès aux médecins généralistes (APL)")
    assert "DREES" in dc[("epci_scores", "apl")][1] and "2023" in dc[("epci_scores", "apl")][1]
    assert common.MISSING.capitalize() in dc[("epci_scores", "ald")][1]
    assert dc[("communes", "t_urgence_min")][0].startswith("Temps au SU ou SMUR")
    refs = con.execute("SELECT r.reference_scope, r.table_name, m.mime_type, m.metadata FROM "
                       "gpkg_metadata_reference r JOIN gpkg_metadata m ON m.id = r.md_file_id"
                       ).fetchall()
    ext = {r[0] for r in con.execute("SELECT extension_name FROM gpkg_extensions")}
    user_version = con.execute("PRAGMA user_version").fetchone()[0]
    con.close()
    assert user_version == 10200  # GeoPackage 1.2, read by the GDAL of older QGIS
    assert {"gpkg_metadata", "gpkg_schema"} <= ext
    run = [json.loads(m) for scope, _, mime, m in refs
           if scope == "geopackage" and mime == "application/json"]
    assert run and run[0]["version"] == "0.1.0"
    assert run[0]["params"]["vintages"] == {"Découpage EPCI": "2025"}
    assert {t for scope, t, _, _ in refs if scope == "table"} >= set(gpkg_mod.LAYERS)
    params = pyogrio.read_dataframe(tiny_gpkg, layer="run_parameters")
    p = dict(zip(params["parametre"], params["valeur"], strict=True))
    assert p["region"] == "99" and p["computed_at"] == "2026-11-25T21:00:00"
    assert [c["id"] for c in json.loads(p["criteria"])] == [
        "apl", "age_mg", "ald", "urgences", "niveau_vie"]


def test_geopackage_qgis_layer_metadata(tiny_gpkg: Path) -> None:
    """What QGIS reads as layer metadata: its XML, referenced with scope 'table'."""
    con = sqlite3.connect(tiny_gpkg)
    docs = dict(con.execute(
        "SELECT r.table_name, m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r "
        "ON r.md_file_id = m.id WHERE m.md_standard_uri = 'http://mrcc.com/qgis.dtd' AND "
        "m.mime_type = 'text/xml' AND r.reference_scope = 'table'"))
    con.close()
    assert set(docs) == set(gpkg_mod.LAYERS)
    r = tiny_result()
    for layer, text in docs.items():
        root = _qml(text)
        assert root.findtext("title") == f"{gpkg_mod.LAYER_TITLES[layer]} — Région test"
        assert root.findtext("abstract") == gpkg_mod.LAYER_DESCRIPTIONS[layer]
        assert root.findtext("language") == "fra"
        sources = gpkg_mod.layer_sources(r, layer)
        assert sources and [lk.get("url") for lk in root.iter("link")] == [
            s.url for s in sources]
        rights = [e.text or "" for e in root.findall("rights")]
        assert len(rights) == len(sources)
        for s, line in zip(sources, rights, strict=True):
            assert s.publisher in line and s.vintage in line and s.licence in line
        licences = [e.text for e in root.findall("license")]
        assert licences == list(dict.fromkeys(s.licence for s in sources))
        assert "Licence Ouverte / Etalab 2.0" in licences
        assert root.find("crs/spatialrefsys/authid").text == "EPSG:2154"  # type: ignore[union-attr]
        spatial = root.find("extent/spatial")
        assert spatial is not None and float(spatial.get("minx", "nan")) < float(
            spatial.get("maxx", "nan"))
        history = [e.text or "" for e in root.findall("history")]
        assert history[0].startswith("Calculé par zoning 0.1.0 le 2026-11-25T21:00:00")
        assert set(common.missing_criteria_notes(r)) <= set(history)
        assert "/work" not in text and "/tmp" not in text
    epci_sources = {s.id for s in gpkg_mod.layer_sources(r, "epci_scores")}
    assert {"apl", "filosofi", "ald_bv", "urgences", "epci"} <= epci_sources


def test_geopackage_keeps_the_note_sections(tmp_path: Path) -> None:
    """The map rebuilt from the GeoPackage (zoning map) shows the sections the run had."""
    r = replace(tiny_result(), sections=[
        NoteSection("Calibration des poids sur la liste de référence", ["Poids : 0,4", "AUC"]),
        NoteSection("Comparaison avec la liste de référence", ["3 EPCI en commun"])])
    back = read_geopackage(write_geopackage(r, tmp_path / "zoning_99.gpkg"))
    assert back.sections == r.sections
    assert webmap.build_payload(back)["sections"] == webmap.build_payload(r)["sections"]
    assert webmap.build_payload(back)["notes"] == webmap.build_payload(r)["notes"]


def test_geopackage_round_trip(tiny_gpkg: Path) -> None:
    r = tiny_result()
    back = read_geopackage(tiny_gpkg)
    assert back.region == "99" and back.region_name == "Région test"
    assert back.criteria == r.criteria
    assert back.epci.index.tolist() == r.epci.index.tolist()
    assert back.epci.crs.to_epsg() == 2154
    assert back.epci["selected"].dtype == bool
    assert back.epci["epci_nom"].tolist() == r.epci["epci_nom"].tolist()
    pd.testing.assert_series_equal(back.epci["composite"], r.epci["composite"],
                                   check_names=False)
    assert back.communes.index.tolist() == r.communes.index.tolist()
    assert back.facilities.index.tolist() == r.facilities.index.tolist()
    assert back.params["vintages"] == r.params["vintages"]
    # the map drawn from the GeoPackage carries the same data
    assert webmap.build_payload(back)["epci"]["values"] == webmap.build_payload(r)["epci"][
        "values"]


def test_read_geopackage_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not found"):
        read_geopackage(tmp_path / "absent.gpkg")
    other = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=2154).to_file(other)
    with pytest.raises(ExportError, match="epci_scores"):
        read_geopackage(other)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a database")
    with pytest.raises(ExportError):
        read_geopackage(junk)


# --------------------------------------------------------------------------- tables


def test_tables_csv(tmp_path: Path) -> None:
    r = tiny_result()
    paths = write_tables(r, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["zoning_99.xlsx", "zoning_99_communes.csv", "zoning_99_communes_fr.csv",
                     "zoning_99_epci.csv", "zoning_99_epci_fr.csv"]
    df = pd.read_csv(tmp_path / "zoning_99_epci.csv", dtype={"epci_siren": str, "dep": str})
    assert df["rank"].tolist() == [1, 2, 3, 4]
    assert df["epci_siren"].iloc[0] == "200000003" and df["epci_nom"].iloc[0] == EVIL
    assert df["ald"].isna().all() and df["dep"].tolist()[1] == "09"
    # the machine CSV names, on every row, the criteria without data (ALD missing everywhere)
    flagged = df["criteres_indisponibles"].fillna("").str.split(";")
    assert flagged.map(lambda ids: "ald" in ids).all()
    for cid in ("apl", "age_mg", "urgences", "niveau_vie"):
        has_value = df[cid].notna()
        assert (flagged.map(lambda ids, c=cid: c in ids) == ~has_value).all()
    assert list(df.columns[:3]) == ["epci_siren", "epci_nom", "epci_type"]

    raw = (tmp_path / "zoning_99_epci_fr.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    head = rows[0]
    assert head[0] == "SIREN de l'EPCI" and "Zone prioritaire" in head
    first = dict(zip(head, rows[1], strict=True))
    assert first["Zone prioritaire"] == "oui"
    assert first["Score composite (0 à 1, 1 = plus vulnérable)"] == "1,0"
    assert first["Part des patients en ALD (% de la population)"] == common.MISSING
    second = dict(zip(head, rows[2], strict=True))
    assert second["Score composite (0 à 1, 1 = plus vulnérable)"] == "0,6875"
    # the French table names the missing criteria in French, not by id
    assert first["Critères indisponibles (donnée manquante)"] == "Part des patients en ALD"
    several = pd.DataFrame({"criteres_indisponibles": ["ald;urgences", "", "age_mg"]})
    assert tables_mod._french_missing(several, r)["criteres_indisponibles"].tolist() == [
        "Part des patients en ALD ; Éloignement des urgences", "", "Présence de jeunes médecins"]

    com = pd.read_csv(tmp_path / "zoning_99_communes_fr.csv", sep=";", decimal=",",
                      encoding="utf-8-sig", dtype=str)
    assert len(com) == len(r.communes)
    com = com.set_index("Code INSEE")
    missing_code = r.communes.index[r.communes["t_urgence_min"].isna()][0]
    assert com.loc[missing_code, "Temps au SU ou SMUR le plus proche (min)"] == common.MISSING
    assert com.loc["09100", "Temps au SU ou SMUR le plus proche (min)"] == "5,0"


def test_csv_values_rounded_to_what_they_mean(tmp_path: Path) -> None:
    r = tiny_result()
    epci, com = r.epci.copy(), r.communes.copy()
    noise = np.array([1, 2, 3, 4]) * 1.234567e-5  # long decimals everywhere
    for col in ("apl", "age_mg", "urgences", "niveau_vie", "composite", "probability",
                "apl_score"):
        epci[col] = epci[col] + noise
    com["t_urgence_min"] = com["t_urgence_min"] + 0.0123456
    com["access_km"] = 0.123456
    write_tables(replace(r, epci=epci, communes=com), tmp_path)
    raw = pd.read_csv(tmp_path / "zoning_99_epci.csv", dtype=str)

    def decimals(values: pd.Series) -> int:
        frac = values.dropna().str.partition(".")[2]
        return int(frac.str.len().max()) if len(frac) else 0

    expected = {"apl": 2, "urgences": 1, "niveau_vie": 0, "composite": 4, "apl_score": 4,
                "probability": 3, "population": 0, "rank": 0, "rank_p05": 0}
    for col, d in expected.items():
        assert decimals(raw[col]) <= d, col
    by_siren = raw.set_index("epci_siren")
    for col in ("apl", "composite", "urgences"):  # rounded, not cut
        written = by_siren[col].astype(float)
        assert np.allclose(written, np.round(epci.loc[written.index, col], expected[col]),
                           equal_nan=True), col
    # age_mg in the tiny run is a 0..1 share ("part de l'APL"): not in percent, left as is
    assert tables_mod.csv_decimals(["age_mg"], {"age_mg": "% de l'offre APL"}) == {"age_mg": 1}
    assert tables_mod.unit_decimals("consultations/an/hab. standardisé") == 2
    assert raw["epci_siren"].str.fullmatch(r"\d{9}").all() and "09" in set(raw["dep"])
    com_raw = pd.read_csv(tmp_path / "zoning_99_communes.csv", dtype=str)
    assert decimals(com_raw["t_urgence_min"]) == 1 and decimals(com_raw["access_km"]) == 2
    assert com_raw["code_insee"].str.len().eq(5).all()  # leading zeros kept in the file
    fr = pd.read_csv(tmp_path / "zoning_99_epci_fr.csv", sep=";", dtype=str,
                     encoding="utf-8-sig")
    prob = fr["Probabilité de sélection (%)"].str.partition(",")[2]
    assert prob.str.len().max() <= 1  # a share: one decimal of a percent


def test_tables_without_french_variant(tmp_path: Path) -> None:
    paths = write_tables(tiny_result(), tmp_path, french_csv=False)
    assert not any(p.name.endswith("_fr.csv") for p in paths)


def test_tables_xlsx(tmp_path: Path) -> None:
    r = tiny_result()
    r.epci.loc["200000002", "epci_nom"] = "=HYPERLINK(\"http://x\")"
    write_tables(r, tmp_path)
    wb = load_workbook(tmp_path / "zoning_99.xlsx")
    assert wb.sheetnames == ["Classement des EPCI", "Communes", "Méthode et sources"]
    ws = wb["Classement des EPCI"]
    head = [c.value for c in ws[1]]
    assert head[:3] == ["SIREN de l'EPCI", "Nom de l'EPCI", "Type d'EPCI"]
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == ws.dimensions
    col = {h: i for i, h in enumerate(head)}
    data = list(ws.iter_rows(min_row=2, values_only=True))
    assert [row[col["Rang (1 = plus vulnérable)"]] for row in data] == [1, 2, 3, 4]
    sel = [row[col["Zone prioritaire"]] for row in data]
    assert sel == ["oui", "oui", "non", "non"]
    fills = [ws.cell(row=i + 2, column=1).fill.fgColor.rgb for i in range(4)]
    assert fills[0].endswith("FDE0DD") and fills[1].endswith("FDE0DD")
    assert not fills[2].endswith("FDE0DD")
    ald_col = col["Part des patients en ALD (% de la population)"] + 1
    assert ws.cell(row=2, column=ald_col).value == common.MISSING
    prob = ws.cell(row=2, column=col["Probabilité de sélection"] + 1)
    assert prob.number_format == "0.0%" and prob.value == pytest.approx(0.95)
    pop = ws.cell(row=2, column=col["Population"] + 1)
    assert pop.number_format == "#,##0"
    # a name starting with "=" stays text
    cells = [c for c in ws["B"] if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)
    meth = [[c for c in row if c is not None] for row in
            wb["Méthode et sources"].iter_rows(values_only=True)]
    flat = [str(v) for row in meth for v in row]
    assert "apl" in flat and "Part des patients en ALD" in flat
    assert any(common.MISSING in v for v in flat)
    assert any("millésime 2023" in v for v in flat)
    assert ["Date du calcul", "25/11/2026 à 21:00"] in meth  # French date, not ISO text
    assert wb["Communes"].max_row == len(r.communes) + 1


def test_xlsx_layout_and_print_setup(tmp_path: Path) -> None:
    """Wrapped headers in columns that fit them, frozen header, A4 landscape one page wide,
    header row on every printed page; the Communes sheet names the EPCI and its selection."""
    r = tiny_result()
    write_tables(r, tmp_path)
    wb = load_workbook(tmp_path / "zoning_99.xlsx")
    for name in ("Classement des EPCI", "Communes"):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        # one page wide (1 is the OOXML default, left out of the file), as long as needed
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == "$1:$1"
        assert ws.freeze_panes == "C2"
        height = ws.row_dimensions[1].height
        widths = {i: dim.width for dim in ws.column_dimensions.values()  # <col> ranges
                  for i in range(dim.min, dim.max + 1)}
        for cell in ws[1]:
            assert cell.alignment.wrap_text
            width = widths[cell.column]
            words = str(cell.value).split()
            assert width >= max(len(w) for w in words) + 2  # no word cut in two
            lines = tables_mod.header_lines(str(cell.value), width)
            assert lines <= 5 and height >= 15 * lines  # the wrapped header is all visible
    assert tables_mod.header_lines("Temps au SU ou SMUR le plus proche (min)", 14) == 4
    assert tables_mod.header_lines("Population", 12) == 1
    ws = wb["Communes"]
    head = [c.value for c in ws[1]]
    assert head[:6] == ["Code INSEE", "Commune", "Département", "SIREN de l'EPCI",
                        "Nom de l'EPCI", "EPCI en zone prioritaire"]
    rows = {row[0]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    sel = r.epci["selected"].astype(bool)
    for code, com in r.communes.iterrows():
        row = rows[code]
        assert row[3] == com["epci_siren"] and row[4] == r.epci.loc[com["epci_siren"], "epci_nom"]
        assert row[5] == ("oui" if sel[com["epci_siren"]] else "non")
    fills = {ws.cell(row=i, column=1).value: ws.cell(row=i, column=1).fill.fgColor.rgb
             for i in range(2, ws.max_row + 1)}
    assert all(str(fills[code]).endswith("FDE0DD") == bool(sel[com["epci_siren"]])
               for code, com in r.communes.iterrows())
    table = pd.read_csv(tmp_path / "zoning_99_communes.csv", dtype={"epci_siren": str})
    assert {"epci_nom", "epci_prioritaire"} <= set(table.columns)


# --------------------------------------------------------------------------- atomicity


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_write_all_reports_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write"):
        write_all(tiny_result(), blocker / "maps")
    with pytest.raises(ExportError, match="not writable"):
        tables_mod.ensure_output_dir(blocker / "maps")
    assert tables_mod.ensure_output_dir(tmp_path / "new" / "dir").is_dir()
    assert list((tmp_path / "new" / "dir").iterdir()) == []  # the probe file is gone


def test_write_all_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_all(tiny_result(), tmp_path)
    assert set(first) == {"geopackage", "map", "csv_epci", "csv_communes", "csv_epci_fr",
                          "csv_communes_fr", "xlsx"}
    before = _snapshot(tmp_path)

    def broken_xlsx(result: object, epci: object, communes: object, path: Path) -> None:
        path.write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(tables_mod, "_write_xlsx", broken_xlsx)
    changed = tiny_result(evil_name=False)
    with pytest.raises(OSError, match="simulated"):
        write_all(changed, tmp_path)
    # every previous output intact (the GeoPackage and map were written before the failure),
    # and no temporary file left behind
    assert _snapshot(tmp_path) == before


def _two_jobs(folder: Path, run: str, fiches: tables_mod.Background | None = None) -> list:
    def fiche_like(path: Path, cancelled: threading.Event) -> None:
        path.mkdir()
        (path / "x.html").write_text(f"fiche {run}", encoding="utf-8")

    return [(folder / "a.csv", lambda p: p.write_text(f"a {run}", encoding="utf-8")),
            (folder / "fiches", fiches or tables_mod.Background(fiche_like))]


def _slow_fiches(seen: list[str], last_step_s: float):  # type: ignore[no-untyped-def]
    """A fiche-like Background writer that runs 20 s unless cancelled; once cancelled it
    writes a file, spends ``last_step_s`` more, records "cancelled" in ``seen`` and fails."""

    def slow(path: Path, cancelled: threading.Event) -> None:
        path.mkdir()
        for _ in range(400):
            if cancelled.is_set():
                (path / "x.html").write_text("fiche 2", encoding="utf-8")
                time.sleep(last_step_s)
                seen.append("cancelled")
                raise ExportError("cancelled")
            time.sleep(0.05)
        seen.append("finished")

    return slow


def test_background_job_starts_first_and_is_waited_for(tmp_path: Path) -> None:
    started, threads = threading.Event(), []

    def fiches(path: Path, cancelled: threading.Event) -> None:
        threads.append(threading.current_thread())
        started.set()
        time.sleep(0.3)  # still writing when the other job is done
        path.mkdir()
        (path / "x.html").write_text("fiche", encoding="utf-8")

    def table(path: Path) -> None:  # runs while the background job is going
        assert started.wait(10), "the background job was not started before the others"
        path.write_text("a", encoding="utf-8")

    tables_mod.run_jobs([(tmp_path / "a.csv", table),
                         (tmp_path / "fiches", tables_mod.Background(fiches))], name="demo")
    assert threads and threads[0] is not threading.main_thread()
    assert (tmp_path / "fiches" / "x.html").read_text(encoding="utf-8") == "fiche"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".zoning-set-demo.json", "a.csv",
                                                          "fiches"]


def test_failing_background_job_replaces_nothing(tmp_path: Path) -> None:
    tables_mod.run_jobs(_two_jobs(tmp_path, "1"), name="demo")
    before = snapshot(tmp_path)

    def broken(path: Path, cancelled: threading.Event) -> None:
        path.mkdir()
        (path / "x.pdf").write_bytes(b"%PDF half a fiche")
        raise ExportError("Chromium did not start (simulated)")

    with pytest.raises(ExportError, match="simulated"):
        tables_mod.run_jobs(_two_jobs(tmp_path, "2", tables_mod.Background(broken)), name="demo")
    assert snapshot(tmp_path) == before  # a.csv of run 2 was staged, never committed

    def disk_full(path: Path, cancelled: threading.Event) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match=r"fiches: cannot write \(No space left"):
        tables_mod.run_jobs(_two_jobs(tmp_path, "3", tables_mod.Background(disk_full)),
                            name="demo")
    assert snapshot(tmp_path) == before


def test_failing_job_cancels_the_background_one(tmp_path: Path) -> None:
    tables_mod.run_jobs(_two_jobs(tmp_path, "1"), name="demo")
    before = snapshot(tmp_path)
    seen: list[str] = []
    slow = _slow_fiches(seen, last_step_s=0.0)

    def failing(path: Path) -> None:
        time.sleep(0.2)
        raise OSError(28, "No space left on device")

    t = time.monotonic()
    with pytest.raises(ExportError, match=r"a\.csv: cannot write"):  # its error, not the worker's
        tables_mod.run_jobs([(tmp_path / "a.csv", failing),
                             (tmp_path / "fiches", tables_mod.Background(slow))], name="demo")
    assert seen == ["cancelled"] and time.monotonic() - t < 10
    assert snapshot(tmp_path) == before  # the worker was joined before the stage was removed
    # called directly, a Background writer runs at once, never cancelled
    flags: list[bool] = []
    tables_mod.Background(lambda p, c: flags.append(c.is_set()))(tmp_path / "direct")
    assert flags == [False]


def test_interrupt_while_waiting_for_the_background_job(tmp_path: Path) -> None:
    """Ctrl-C after the other jobs, while the worker still prints: it is cancelled and
    waited for, then nothing is replaced and no staging folder is left."""
    import os
    import signal

    tables_mod.run_jobs(_two_jobs(tmp_path, "1"), name="demo")
    before = snapshot(tmp_path)
    seen: list[str] = []
    slow = _slow_fiches(seen, last_step_s=0.2)  # a last step still writing after the interrupt

    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    t = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            tables_mod.run_jobs(_two_jobs(tmp_path, "2", tables_mod.Background(slow)),
                                name="demo")
    finally:
        timer.cancel()
    assert seen == ["cancelled"] and time.monotonic() - t < 10
    assert snapshot(tmp_path) == before


def test_geopackage_failure_keeps_previous(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = write_geopackage(tiny_result(), tmp_path / "zoning_99.gpkg")
    before = _snapshot(tmp_path)

    def boom(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked (simulated)")

    monkeypatch.setattr(gpkg_mod, "_finish_sqlite", boom)
    with pytest.raises(sqlite3.OperationalError):
        write_geopackage(tiny_result(evil_name=False), target)
    assert _snapshot(tmp_path) == before
    assert pyogrio.read_info(target, layer="epci_scores")["features"] == 4


def test_map_failure_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = write_map(tiny_result(), tmp_path / "carte.html")
    before = _snapshot(tmp_path)

    def half(self: Path, text: str, encoding: str | None = None) -> int:
        with open(self, "w", encoding=encoding) as fh:
            fh.write(text[: len(text) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", half)
    with pytest.raises(KeyboardInterrupt):
        write_map(tiny_result(evil_name=False), target)
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before


# --------------------------------------------------------------------------- CLI


def test_cli_map_from_geopackage(tmp_path: Path, tiny_gpkg: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["map", "--from", str(tiny_gpkg), "-o", str(tmp_path / "cartes")])
    assert res.exit_code == 0, res.output
    html = tmp_path / "cartes" / "zoning_99.html"
    assert html.is_file() and "zoningMap(" in html.read_text(encoding="utf-8")
    assert str(html) in res.output


def test_cli_map_finds_the_only_geopackage(tmp_path: Path) -> None:
    write_geopackage(tiny_result(), tmp_path / "zoning_99.gpkg")
    res = CliRunner().invoke(main, ["map", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "zoning_99.html").is_file()


def test_cli_map_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    gpkg = write_geopackage(tiny_result(), tmp_path / "src" / "zoning_t.gpkg")
    res = runner.invoke(main, ["map", "--from", str(gpkg), "-o",
                               str(blocker / "maps")])
    assert res.exit_code == 2 and "output folder not writable" in res.output
    assert "Traceback" not in res.output
    foreign = tmp_path / "src" / "foreign.gpkg"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE t (a INTEGER)")
    res = runner.invoke(main, ["map", "--from", str(foreign), "-o", str(tmp_path)])
    assert res.exit_code == 2 and "not a readable GeoPackage" in res.output
    res = runner.invoke(main, ["map", "-o", str(tmp_path)])
    assert res.exit_code == 2 and "--from" in res.output
    res = runner.invoke(main, ["map", "--from", str(tmp_path / "nope.gpkg"), "-o",
                               str(tmp_path)])
    assert res.exit_code == 2 and "not found" in res.output
    res = runner.invoke(main, ["map", "--from", str(tmp_path / "nope.gpkg"), "--size", "big"])
    assert res.exit_code == 2 and "WIDTHxHEIGHT" in res.output


def test_run_without_travel_times(tmp_path: Path) -> None:
    """No travel times computed: no sites, no commune times; every output still written."""
    r = tiny_result()
    empty = gpd.GeoDataFrame({"nom": pd.Series(dtype=str)},
                             geometry=gpd.GeoSeries([], crs=2154), crs=2154).rename_axis("finess")
    com = r.communes.drop(columns=["t_urgence_min", "t_su_min", "t_smur_min", "finess_urgence",
                                   "nom_urgence"])
    out = write_all(replace(r, facilities=empty, communes=com), tmp_path)
    payload = _payload(out["map"].read_text(encoding="utf-8"))
    assert payload["sites"]["nom"] == []
    assert set(payload["communes"]["codes_class"]) == {-1}
    assert pyogrio.read_info(out["geopackage"], layer="urgences")["features"] == 0
    assert len(read_geopackage(out["geopackage"]).facilities) == 0


def test_raster_referenced_beside_geopackage(tmp_path: Path) -> None:
    raster = tmp_path / "temps_urgences_99.tif"
    raster.write_bytes(b"II*\x00")  # stands for the GeoTIFF written by the routing code
    r = replace(tiny_result(), raster_path=raster)
    out = write_all(r, tmp_path)
    assert out["raster"] == raster
    params = pyogrio.read_dataframe(out["geopackage"], layer="run_parameters")
    p = dict(zip(params["parametre"], params["valeur"], strict=True))
    assert p["raster_path"] == "temps_urgences_99.tif"  # relative: the folder can be moved
    moved = tmp_path / "moved"
    moved.mkdir()
    for f in (out["geopackage"], raster):
        f.rename(moved / f.name)
    back = read_geopackage(moved / "zoning_99.gpkg")
    assert back.raster_path == moved / "temps_urgences_99.tif"
    assert back.raster_path.is_file()


def test_ranking_sentence_follows_the_method() -> None:
    r = tiny_result()
    assert "score composite décroissant" in common.ranking_sentence(r)
    cumul = replace(r, params={**r.params, "method": "cumul",
                               "config": {"run": {"cumul_quantile": 0.2}}})
    text = common.ranking_sentence(cumul)
    assert "nombre de fragilités" in text and "20\u00a0%" in text
    assert text in webmap.build_payload(cumul)["explanation"]


def test_extra_jobs_share_the_all_or_nothing_step(tmp_path: Path) -> None:
    """The travel-time GeoTIFF is written with the other outputs: if it fails, none lands."""

    def broken_raster(path: Path) -> None:
        path.write_bytes(b"II*\x00 half a tiff")
        raise OSError("raster writer failed (simulated)")

    target = tmp_path / "temps_urgences_99.tif"
    with pytest.raises(OSError, match="simulated"):
        write_all(tiny_result(), tmp_path, extra_jobs=[(target, broken_raster)])
    assert list(tmp_path.iterdir()) == []

    written = write_all(tiny_result(), tmp_path,
                        extra_jobs=[(target, lambda p: p.write_bytes(b"tiff"))])
    assert written["raster"] == target and target.read_bytes() == b"tiff"
    assert written["geopackage"].is_file() and written["xlsx"].is_file()


def test_map_credits_name_the_road_network_of_the_run() -> None:
    r = tiny_result()
    assert "réseau routier" not in webmap.build_payload(r)["attribution"]
    tm = replace(r, notes=[*r.notes, "Temps de trajet : réseau routier numéroté (Travel Mapping)"])
    credit = webmap.build_payload(tm)["attribution"]
    assert "réseau routier Travel Mapping" in credit and "OpenStreetMap" not in credit


def test_an_ahead_background_job_runs_alone_until_it_releases_the_others(
        tmp_path: Path) -> None:
    """``Background(ahead=True)`` (the fiches: pages built alone, then printed while the other
    writers run): the other jobs start only once it calls ``release``; one that fails before
    releasing stops the run before any other job, and nothing is replaced."""
    from _files import snapshot

    events: list[str] = []

    def fiches(path: Path, cancelled: threading.Event, release: Callable[[], None]) -> None:
        path.mkdir()
        time.sleep(0.2)
        events.append("pages built")
        release()
        time.sleep(0.2)  # the prints go on while the other job writes
        (path / "x.pdf").write_text("pdf", encoding="utf-8")
        events.append("printed")

    def table(p: Path) -> None:
        events.append("table")
        p.write_text("a", encoding="utf-8")

    tables_mod.run_jobs([(tmp_path / "a.csv", table),
                         (tmp_path / "fiches", tables_mod.Background(fiches, ahead=True))],
                        name="demo")
    assert events == ["pages built", "table", "printed"]
    assert (tmp_path / "fiches" / "x.pdf").is_file()
    before = snapshot(tmp_path)
    events.clear()

    def broken(path: Path, cancelled: threading.Event, release: Callable[[], None]) -> None:
        raise ExportError("a fiche page failed (simulated)")

    with pytest.raises(ExportError, match="simulated"):
        tables_mod.run_jobs([(tmp_path / "a.csv", table),
                             (tmp_path / "fiches", tables_mod.Background(broken, ahead=True))],
                            name="demo")
    assert events == [] and snapshot(tmp_path) == before
    # called directly, it runs at once, its release a no-op
    tables_mod.Background(fiches, ahead=True)(tmp_path / "direct")
    assert events == ["pages built", "printed"]


def test_decimal_commas_write_what_pandas_writes() -> None:
    """The French CSV's float columns, turned into text by numpy (``decimal_commas``), are
    written exactly as ``to_csv(decimal=",")`` writes the floats: digits, signs, exponents,
    infinities and missing values."""
    from zoning.exports.tables import decimal_commas

    vals = [0.1, -0.0, 0.0, 1e-7, 1e16, 123456789012.0, -2.5, np.nan, 1 / 3, 5e-324,
            1.7976931348623157e308, 100.0, 2.675, -1e-5, np.inf, -np.inf]
    df = pd.DataFrame({"a": vals, "n": ["x;y"] * len(vals), "i": range(len(vals)),
                       "e": pd.array([1.5] * (len(vals) - 1) + [None], dtype="Float64")})
    kw = {"sep": ";", "decimal": ",", "index": False, "na_rep": "NA", "lineterminator": "\r\n"}
    assert decimal_commas(df).to_csv(**kw) == df.to_csv(**kw)
    assert decimal_commas(df)["e"].dtype == "Float64"  # only float64 columns are converted
    assert df["a"].dtype == np.float64  # the input is left as it was
