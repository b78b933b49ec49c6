"""Self-contained interactive web map (Folium + inlined Leaflet 1.9.4), usable offline.

The HTML file embeds Leaflet (from the ``django-js-lib-leaflet`` package), its CSS with
images as ``data:`` URIs, the map code (``assets/map.js``) and the data. Only the
optional OpenStreetMap basemap tiles use the network: polygons, markers, legend,
search and tooltips work without it.

Geometries are simplified as a coverage in EPSG:2154 (shared borders stay shared),
reprojected to EPSG:4326 here only, and stored as delta-encoded integer coordinates
(1e-5 degree, about 1 m). Every text coming from data is embedded as JSON with
``<``, ``>`` and ``&`` escaped and inserted in the page with ``textContent``.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement

from zoning.atomic import atomic_path
from zoning.exports._common import (
    COMMUNE_LABELS,
    MISSING,
    MISSING_COLOR,
    TRAVEL_BREAKS,
    YLGNBU5,
    YLORRD5,
    check_result,
    class_labels,
    computed_at,
    display_decimals,
    display_scale,
    fixed_classes,
    missing_criteria_notes,
    palette,
    quantile_classes,
    ranking_sentence,
    short_label,
    site_categories,
    sources_lines,
    version,
)
from zoning.exports.geometry import (
    COMMUNE_TOLERANCE_M,
    DEP_TOLERANCE_M,
    EPCI_TOLERANCE_M,
    PreparedGeometry,
    departement_keys,
    dissolve_polygons,
    region_communes,
    simplify_for_web,
    simplify_in_code_order,
)
from zoning.fmt import fr_datetime, fr_number, fr_probability, fr_value
from zoning.results import RunResult
from zoning.sources import emergency_services

PRECISION = 5
"""Decimals kept in web-map coordinates (1e-5 degree, about 1 m)."""

PRIORITY_LAYER = "Priorité : score composite et zones prioritaires"
COMMUNE_LAYER = "Temps d'accès au SU ou SMUR le plus proche (communes)"
SU_LAYER = "Services d'urgences (SU)"
SMUR_LAYER = "SMUR (équipes mobiles d'urgence)"
REFERENCE_LAYER = "Liste de référence et zones prioritaires"
REFERENCE_CLASSES = (
    ("#5e3c99", "Dans la liste de référence et zone prioritaire"),
    ("#e66101", "Dans la liste de référence seulement"),
    ("#fdb863", "Zone prioritaire seulement (hors de la liste de référence)"),
    ("#f7f7f7", "Ni l'un ni l'autre"),
)
"""Colours (PuOr, colour-blind safe) and labels of the reference-comparison layer."""


def _leaflet_dir() -> Path:
    import js_lib_leaflet

    return Path(js_lib_leaflet.__file__).resolve().parent / "static" / "js_lib_leaflet"


def _asset(name: str) -> str:
    return resources.files("zoning.exports").joinpath("assets", name).read_text(encoding="utf-8")


def leaflet_inline() -> tuple[str, str]:
    """Leaflet 1.9.4 JavaScript and CSS, the CSS images turned into ``data:`` URIs."""
    d = _leaflet_dir()
    js = (d / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    css = (d / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(m: re.Match[str]) -> str:
        data = base64.b64encode((d / "images" / m.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)
    return js, css


def safe_json(obj: Any) -> str:
    """JSON text safe inside a ``<script>`` element (no raw ``<``, ``>``, ``&``)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# --------------------------------------------------------------------------- geometry


def _prepared(result: RunResult) -> PreparedGeometry | None:
    """The run's geometry prepared while it was computed (``pipeline.run(prepare=True)``)."""
    prepared = result.prepared
    return prepared if isinstance(prepared, PreparedGeometry) else None


def epci_geometry(result: RunResult, tolerance_m: float) -> gpd.GeoSeries:
    """The run's EPCI as drawn (:func:`simplify_in_code_order`, EPSG:4326), in the run's
    order."""
    prepared = _prepared(result)
    web = prepared.epci_web(result.epci.index, tolerance_m) if prepared is not None else None
    return web if web is not None else simplify_in_code_order(result.epci.geometry,
                                                              tolerance_m)


def commune_geometry(result: RunResult, tolerance_m: float) -> gpd.GeoSeries:
    """The run's communes as drawn (:func:`simplify_for_web`, EPSG:4326), in the run's order."""
    com = result.communes
    prepared = _prepared(result)
    web = prepared.communes_web(com.index, tolerance_m) if prepared is not None else None
    return web if web is not None else simplify_for_web(com.geometry, tolerance_m)


def departement_outlines(result: RunResult, sub: gpd.GeoDataFrame,
                         keys: np.ndarray) -> gpd.GeoSeries:
    """Exact outline of each département of the region (union of its communes ``sub``,
    :func:`region_communes`, by their département codes ``keys``; EPSG:2154), indexed by the
    sorted département codes."""
    geoms = np.asarray(sub.geometry.values)
    prepared = _prepared(result)
    outlines = (prepared.departement_polygons(sub.index, keys, geoms) if prepared is not None
                else dissolve_polygons(geoms, keys))
    return gpd.GeoSeries(outlines.to_numpy(), index=outlines.index, crs=sub.crs)


def encode_geometries(geoms: gpd.GeoSeries, precision: int = PRECISION) -> dict[str, Any]:
    """Encode polygons as delta-coded integer coordinates (decoded by ``assets/map.js``).

    Returns
    -------
    dict
        ``scale`` (10**precision), ``c`` flat x/y deltas (running across rings), ``r`` number
        of points of each ring, ``p`` number of rings of each polygon, ``g`` number of
        polygons of each geometry.
    """
    arr = geoms.values
    parts, part_geom = shapely.get_parts(arr, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    scale = 10 ** precision
    q = np.round(coords * scale).astype("int64")
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype="int64"))
    return {
        "scale": scale,
        "c": d.ravel().tolist(),
        "r": np.bincount(coord_ring, minlength=len(rings)).tolist(),
        "p": np.bincount(ring_part, minlength=len(parts)).tolist(),
        "g": np.bincount(part_geom, minlength=len(arr)).tolist(),
    }


def _nullable(values: pd.Series, decimals: int) -> list[Any]:
    arr = pd.to_numeric(values, errors="coerce").astype("float64").round(decimals)
    return arr.astype(object).where(arr.notna(), None).tolist()


# --------------------------------------------------------------------------- payload


def _items(colors: list[str], labels: list[str]) -> list[dict[str, str]]:
    return [{"color": c, "label": lab} for c, lab in zip(colors, labels, strict=True)]


def criterion_ranks(values: pd.Series, direction: str) -> pd.Series:
    """Rank of each EPCI on one criterion among the region's EPCI (1 = most unfavourable).

    ``higher_is_worse``: the highest value ranks 1; ``higher_is_better``: the lowest. Ties
    share the best rank; missing values have no rank (NaN).
    """
    vals = pd.to_numeric(values, errors="coerce")
    return vals.rank(ascending=direction != "higher_is_worse", method="min")


def why_selected(epci: pd.DataFrame) -> pd.Series:
    """French sentence per EPCI: selected or not, how robustly, rank interval."""
    prob = epci["probability"].map(lambda p: fr_probability(p, missing=MISSING))
    lo = pd.to_numeric(epci["rank_p05"], errors="coerce")
    hi = pd.to_numeric(epci["rank_p95"], errors="coerce")
    interval = pd.Series("", index=epci.index)
    has = lo.notna() & hi.notna()
    interval[has] = (" ; rang " + lo[has].astype(int).astype(str) + " à "
                     + hi[has].astype(int).astype(str))
    rob = epci["robustesse"].astype(str)
    sel = epci["selected"].fillna(False).astype(bool)
    text = pd.Series("hors zone prioritaire", index=epci.index)
    text[sel & (rob == "robuste")] = "robuste : retenue dans " + prob + " des tirages"
    text[sel & (rob != "robuste")] = "limite : retenue dans seulement " + prob + " des tirages"
    text[~sel & (prob != MISSING)] = "hors zone : retenue dans " + prob + " des tirages"
    return text + interval


def _epci_part(result: RunResult, tolerance_m: float) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                                gpd.GeoSeries]:
    epci = result.epci
    n = len(epci)
    geoms = epci_geometry(result, tolerance_m)
    selected = epci["selected"].fillna(False).astype(bool)
    rank = pd.to_numeric(epci["rank"], errors="coerce")

    labels = ["SIREN", "Département", "Population", "Rang (1 = plus vulnérable)",
              "Zone prioritaire", "Probabilité de sélection", "Score composite (0 à 1)"]
    cols: list[pd.Series] = [
        pd.Series(epci.index.astype(str), index=epci.index),
        epci["dep"].astype("string").fillna(MISSING),
        epci["population"].map(lambda v: fr_number(v, 0, missing=MISSING)),
        rank.map(lambda r: MISSING if pd.isna(r) else f"{int(r)} / {n}"),
        selected.map({True: "oui", False: "non"}),
        epci["probability"].map(lambda p: fr_probability(p, missing=MISSING)),
        epci["composite"].map(lambda v: fr_number(v, 2, missing=MISSING)),
    ]
    labels.insert(5, "Pourquoi")
    cols.insert(5, why_selected(epci))
    has_ref = "in_reference" in epci.columns
    if has_ref:
        in_ref = epci["in_reference"].fillna(False).astype(bool)
        labels.insert(6, "Dans la liste de référence")
        cols.insert(6, in_ref.map({True: "oui", False: "non"}))
    for c in result.criteria:
        labels.append(short_label(c.label))  # the value carries the unit
        if c.available:
            factor, shown_unit = display_scale(c)
            vals = pd.to_numeric(epci[c.id], errors="coerce") * factor
            dec = display_decimals(vals, shown_unit)
            text = vals.map(lambda v, u=shown_unit, d=dec: fr_value(v, u, d, missing=MISSING))
            crank = criterion_ranks(vals, c.direction)
            n_ok = int(vals.notna().sum())
            text = text.where(crank.isna(), text + " — rang " + crank.map(
                lambda r: "" if pd.isna(r) else f"{int(r)}") + f" / {n_ok}")
            cols.append(text)
        else:
            cols.append(pd.Series(MISSING, index=epci.index))
    values = pd.concat(cols, axis=1).astype(str).to_numpy().tolist()
    pts = shapely.point_on_surface(geoms.values)

    data = {
        "geom": encode_geometries(geoms),
        "names": epci["epci_nom"].astype(str).tolist(),
        "selected": selected.astype(int).tolist(),
        "robust": (epci["robustesse"].astype(str) == "robuste").astype(int).tolist(),
        "pt": np.round(np.column_stack([shapely.get_y(pts), shapely.get_x(pts)]),
                       PRECISION).tolist(),
        "labels": labels,
        "values": values,
    }

    layers: list[dict[str, Any]] = []
    cls = quantile_classes(epci["composite"], 5, 2)
    colors = palette(cls.k, YLORRD5)
    items = _items(colors, class_labels(cls, 2))
    robust = selected & (epci["robustesse"].astype(str) == "robuste")
    thr = ((result.params.get("config") or {}).get("sensitivity") or {}).get("robust_threshold")
    thr_txt = f" : retenue dans au moins {fr_number(100 * float(thr), 0)} % des tirages" \
        if isinstance(thr, (int, float)) else ""
    items.append({"kind": "outline",
                  "label": f"Zone prioritaire robuste ({int(robust.sum())} EPCI{thr_txt})"})
    items.append({"kind": "outline dashed",
                  "label": f"Zone prioritaire limite ({int((selected & ~robust).sum())} EPCI)"})
    items.append({"color": MISSING_COLOR, "label": MISSING})
    layers.append({
        "name": PRIORITY_LAYER, "priority": True, "visible": True,
        "codes": cls.codes.tolist(), "colors": colors,
        "legend": {"title": "Score composite (quintiles ; plus foncé = plus vulnérable)",
                   "items": items},
    })
    if has_ref:
        layers.append(_reference_layer(selected, in_ref))
    for c in result.criteria:
        factor, shown_unit = display_scale(c)
        unit = f" ({shown_unit})" if shown_unit else ""
        if not c.available or epci[c.id].notna().sum() == 0:
            layers.append({
                "name": f"{c.label} — {MISSING}", "priority": False, "visible": False,
                "codes": [-1] * n, "colors": [],
                "legend": {"title": c.label, "items": [{"color": MISSING_COLOR, "label": MISSING}],
                           "note": c.note},
            })
            continue
        vals = pd.to_numeric(epci[c.id], errors="coerce") * factor
        dec = display_decimals(vals, shown_unit)
        cls = quantile_classes(vals, 5, dec)
        colors = palette(cls.k, YLORRD5)
        if c.direction == "higher_is_better":
            colors = colors[::-1]  # low values are the unfavourable ones: darker
        items = _items(colors, class_labels(cls, dec))
        items.append({"color": MISSING_COLOR, "label": MISSING})
        layers.append({
            "name": f"{c.label}{unit}", "priority": False, "visible": False,
            "codes": cls.codes.tolist(), "colors": colors,
            "legend": {"title": f"{c.label}{unit} ; plus foncé = plus défavorable",
                       "items": items, "note": c.note},
        })
    return data, layers, geoms


def _reference_layer(selected: pd.Series, in_ref: pd.Series) -> dict[str, Any]:
    """EPCI coloured by agreement between the selection and the reference list."""
    sel, ref = selected.to_numpy(dtype=bool), in_ref.to_numpy(dtype=bool)
    codes = np.select([ref & sel, ref, sel], [0, 1, 2], default=3)
    counts = np.bincount(codes, minlength=len(REFERENCE_CLASSES))
    items = [{"color": col, "label": f"{lab} ({int(k)} EPCI)"}
             for (col, lab), k in zip(REFERENCE_CLASSES, counts, strict=True)]
    return {
        "name": REFERENCE_LAYER, "priority": False, "visible": False,
        "codes": codes.tolist(), "colors": [c for c, _ in REFERENCE_CLASSES],
        "legend": {"title": "Comparaison de la sélection avec la liste de référence",
                   "items": items},
    }


def _communes_part(result: RunResult, tolerance_m: float,
                   site_index: pd.Series) -> dict[str, Any] | None:
    com = result.communes
    if len(com) == 0:
        return None
    geoms = commune_geometry(result, tolerance_m)

    def col(name: str) -> pd.Series:
        if name in com.columns:
            return pd.to_numeric(com[name], errors="coerce")
        return pd.Series(np.nan, index=com.index)

    t = col("t_urgence_min")
    cls = fixed_classes(t, TRAVEL_BREAKS)
    colors = palette(cls.k, YLGNBU5)
    items = _items(colors, class_labels(cls, 0, "min"))
    items.append({"color": MISSING_COLOR, "label": MISSING})
    if "finess_urgence" in com.columns:
        near = com["finess_urgence"].map(site_index).fillna(-1).astype("int64").tolist()
    else:
        near = [-1] * len(com)
    dep = com["dep"].astype(str) if "dep" in com.columns else com.index.to_series().str[:2]
    epci_pos = pd.Series(np.arange(len(result.epci)), index=result.epci.index.astype(str))
    return {
        "name": COMMUNE_LAYER,
        "geom": encode_geometries(geoms),
        "nom": com["nom"].astype(str).tolist(),
        "code": com.index.astype(str).tolist(),
        "dep": dep.tolist(),
        "pop": _nullable(col("population"), 0),
        "t": _nullable(t, 1),
        "tsu": _nullable(col("t_su_min"), 1),
        "tsmur": _nullable(col("t_smur_min"), 1),
        "near": near,
        # position of the commune's EPCI in the EPCI arrays (-1: not a scored EPCI)
        "epci": com["epci_siren"].astype(str).map(epci_pos).fillna(-1).astype("int64").tolist(),
        "codes_class": cls.codes.tolist(),
        "colors": colors,
        "labels": {"t": "Temps au SU ou SMUR le plus proche", "su": "Temps au SU le plus proche",
                   "smur": "Temps au SMUR le plus proche", "near": COMMUNE_LABELS["nom_urgence"]},
        "legend": {"title": "Temps de trajet routier au SU ou SMUR le plus proche", "items": items},
    }


def _sites_part(result: RunResult) -> dict[str, Any]:
    fac = result.facilities
    fac = fac[fac.geometry.notna() & ~fac.geometry.is_empty]
    pts = fac.geometry.to_crs(4326)

    kinds = emergency_services(fac)
    su = kinds["su"] | kinds["su_pediatrique_seul"]  # the SU layer shows paediatric SU too
    smur = kinds["smur"] | kinds["smur_pediatrique_seul"]
    return {
        "name_su": SU_LAYER, "name_smur": SMUR_LAYER,
        "nom": (fac["nom"].astype(str).tolist() if "nom" in fac.columns
                else fac.index.astype(str).tolist()),
        "finess": fac.index.astype(str).tolist(),
        "type": (fac["type_libelle"].astype("string").fillna(MISSING).tolist()
                 if "type_libelle" in fac.columns else [MISSING] * len(fac)),
        "cat": site_categories(fac).tolist(),
        "lat": np.round(pts.y.to_numpy(), PRECISION).tolist(),
        "lon": np.round(pts.x.to_numpy(), PRECISION).tolist(),
        "su": su.astype(int).tolist(),
        # sites of the neighbouring regions (they serve the region's communes too): faded
        "out": (fac["reg"].astype(str) != str(result.region)).astype(int).tolist()
        if "reg" in fac.columns and str(result.region) != "FR" else [0] * len(fac),
                "smur": smur.astype(int).tolist(),
        "legend_su": {"title": "Sites d'urgences", "items": [
            {"kind": "su", "label": "Service d'urgences (SU, adulte ou pédiatrique)"},
            {"kind": "su out", "label": "Site hors de la région (pâle)"}]},
        "legend_smur": {"title": "SMUR", "items": [
            {"kind": "smur", "label": "SMUR, antenne SMUR ou SMUR pédiatrique seul "
                                     "(voir le type au survol)"}]},
    }


ORIENTATION_LAYER = "Repères : départements, villes principales, noms des EPCI"


def _orientation_part(result: RunResult) -> dict[str, Any] | None:
    """Département outlines and names, main towns (orientation without basemap tiles)."""
    com = result.communes
    if len(com) == 0 or "dep" not in com.columns:
        return None
    sub = region_communes(com)
    out: dict[str, Any] = {
        "name": ORIENTATION_LAYER,
        "legend": {"title": "Repères", "items": [
            {"kind": "dep", "label": "Limite de département"},
            {"kind": "town town-1", "label": "Préfecture"},
            {"kind": "town town-2", "label": "Ville principale d'arrondissement (en zoomant)"},
        ], "note": "Noms des EPCI affichés en zoomant ; au survol, chaque EPCI et chaque "
                   "commune donne ses chiffres."},
        "towns": [],
    }
    if len(sub):
        names = (sub["dep_nom"].astype(str).where(sub["dep_nom"].astype(str) != "", sub["dep"])
                 if "dep_nom" in sub.columns else sub["dep"].astype(str))
        keys = departement_keys(sub)
        deps = departement_outlines(result, sub, keys.to_numpy())
        geoms = simplify_for_web(deps, DEP_TOLERANCE_M)
        pts = shapely.point_on_surface(geoms.values)
        out["deps"] = {
            "geom": encode_geometries(geoms),
            "names": names.groupby(keys.to_numpy()).first().reindex(deps.index).astype(str)
            .tolist(),
            "pt": np.round(np.column_stack([shapely.get_y(pts), shapely.get_x(pts)]),
                           PRECISION).tolist(),
        }
    if "repere" in com.columns:
        from zoning.territory import MAIN_TOWN, PREFECTURE

        kinds = com["repere"].astype(str).map({PREFECTURE: 1, MAIN_TOWN: 2})
        towns = com[kinds.notna()]
        if len(towns):
            pts4326 = gpd.GeoSeries(shapely.point_on_surface(towns.geometry.values),
                                    crs=towns.crs).to_crs(4326)
            out["towns"] = [
                {"nom": str(n), "kind": int(k), "lat": round(float(y), PRECISION),
                 "lon": round(float(x), PRECISION)}
                for n, k, x, y in zip(towns["nom"], kinds[kinds.notna()], pts4326.x, pts4326.y,
                                      strict=True)
            ]
    return out


def _attribution(result: RunResult) -> str:
    """Data credits; the road network is named from the run's notes (never assumed)."""
    notes = " ".join(result.notes)
    roads = [name for name in ("Travel Mapping", "OpenStreetMap") if name in notes]
    road_txt = f", réseau routier {' et '.join(roads)}" if roads else ""
    return f"Données : DREES, INSEE, IGN, DGCL, Eurostat{road_txt} ; calcul zoning"


def build_payload(result: RunResult, epci_tolerance_m: float = EPCI_TOLERANCE_M,
                  commune_tolerance_m: float = COMMUNE_TOLERANCE_M) -> dict[str, Any]:
    """Everything the page script needs, as JSON-ready Python objects.

    Parameters
    ----------
    result
        The run to draw.
    epci_tolerance_m, commune_tolerance_m
        Simplification tolerances in metres.
    """
    check_result(result)
    sites = _sites_part(result)
    site_index = pd.Series(np.arange(len(sites["finess"])), index=sites["finess"])
    site_index = site_index[~site_index.index.duplicated()]
    epci, layers, geoms = _epci_part(result, epci_tolerance_m)
    communes = _communes_part(result, commune_tolerance_m, site_index)
    w, s, e, n = geoms.total_bounds
    n_sel = int(result.epci["selected"].fillna(False).astype(bool).sum())
    n_crit = sum(1 for c in result.criteria if c.available)
    absent = [short_label(c.label) for c in result.criteria if not c.available]
    absent_txt = (f" ({', '.join(absent)} : {MISSING}, poids réparti sur les autres)"
                  if absent else "")
    when = fr_datetime(computed_at(result)) or "date inconnue"
    return {
        "title": f"Zones prioritaires « déserts médicaux » — {result.region_name}",
        "subtitle": (f"{len(result.epci)} EPCI classés sur {n_crit} critères disponibles sur "
                     f"{len(result.criteria)}{absent_txt} ; les {n_sel} zones prioritaires "
                     "sont entourées d'un trait noir épais (plein : robuste, tirets : limite)."),
        "explanation": (
            "Chaque EPCI reçoit, pour chaque critère du Pacte de lutte contre les déserts "
            "médicaux, un score normalisé de 0 (moins vulnérable) à 1 (plus vulnérable) ; le "
            f"score composite est leur moyenne pondérée. {ranking_sentence(result)} La "
            "probabilité de sélection mesure la stabilité de ce choix quand les poids et la "
            "normalisation varient."),
        "computed_at": when,
        "sources": sources_lines(result),
        "notes": missing_criteria_notes(result),
        "sections": [{"title": sec.title, "lines": list(sec.lines)} for sec in result.sections],
        "footer": (f"zoning {version(result)} — géométries simplifiées pour le web (frontières "
                   "communes conservées) ; fond de carte OpenStreetMap facultatif (en ligne)."),
        "attribution": _attribution(result),
        "missing": MISSING,
        "missing_color": MISSING_COLOR,
        "bounds": [[float(s), float(w)], [float(n), float(e)]],
        "epci": epci,
        "epci_layers": layers,
        "communes": communes,
        "sites": sites,
        "orientation": _orientation_part(result),
        "print": {"north": "N", "title": f"Zones prioritaires « déserts médicaux » — "
                                         f"{result.region_name}"},
    }


# --------------------------------------------------------------------------- HTML


class _Raw(Element):
    """Text inserted verbatim in the page (never re-parsed as a Jinja template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _ZoningScript(MacroElement):
    """Adds the page script after the map's own script (so the map variable exists)."""

    def __init__(self, payload_json: str) -> None:
        super().__init__()
        self._name = "ZoningScript"
        self.payload_json = payload_json

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure: Any = self.get_root()
        parent: Any = self._parent
        map_name = parent.get_name()
        code = (f"{_asset('map.js')}\nvar zoning_data = {self.payload_json};\n"
                f"zoningMap({map_name}, zoning_data);\n")
        figure.script.add_child(_Raw(code), name=self.get_name())


def render_map(result: RunResult, epci_tolerance_m: float = EPCI_TOLERANCE_M,
               commune_tolerance_m: float = COMMUNE_TOLERANCE_M) -> str:
    """The self-contained HTML page of the map."""
    payload = build_payload(result, epci_tolerance_m, commune_tolerance_m)
    (s, w), (n, e) = payload["bounds"]
    fig = folium.Figure(title=html.escape(payload["title"]))
    # no prefer_canvas: map.js gives every vector layer ONE SVG renderer itself (a canvas
    # per pane takes the pointer events of the panes below it)
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=8, tiles=None,
                   control_scale=False)
    # no CDN: drop folium's default jQuery/Bootstrap/font-awesome/Leaflet links, inline Leaflet
    m.default_js = []
    m.default_css = []
    m.add_to(fig)
    leaflet_js, leaflet_css = leaflet_inline()
    fig.header.add_child(_Raw('<meta charset="utf-8">'), name="charset")
    fig.header.add_child(_Raw(f"<style>{leaflet_css}</style>"), name="leaflet_css")
    fig.header.add_child(_Raw(f"<style>{_asset('map.css')}</style>"), name="zoning_css")
    fig.header.add_child(_Raw(f"<script>{leaflet_js}</script>"), name="leaflet_js")
    m.add_child(_ZoningScript(safe_json(payload)))
    page = str(fig.render())
    return page.replace("<html>", '<html lang="fr">', 1)


def map_job(result: RunResult, path: str | Path,
            epci_tolerance_m: float = EPCI_TOLERANCE_M,
            commune_tolerance_m: float = COMMUNE_TOLERANCE_M,
            ) -> tuple[Path, Callable[[Path], None]]:
    """The map target and a function writing it to a given (temporary) path."""
    check_result(result)

    def write(tmp: Path) -> None:
        tmp.write_text(render_map(result, epci_tolerance_m, commune_tolerance_m), encoding="utf-8")

    return Path(path), write


def write_map(result: RunResult, path: str | Path,
              epci_tolerance_m: float = EPCI_TOLERANCE_M,
              commune_tolerance_m: float = COMMUNE_TOLERANCE_M) -> Path:
    """Write the interactive map of a run as one self-contained HTML file (atomically).

    Parameters
    ----------
    result
        The run to draw (geometries in EPSG:2154).
    path
        Target ``.html`` file.
    epci_tolerance_m, commune_tolerance_m
        Simplification tolerances in metres.

    Returns
    -------
    Path
        ``path``.
    """
    target, write = map_job(result, path, epci_tolerance_m, commune_tolerance_m)
    with atomic_path(target) as tmp:
        write(tmp)
    return target
