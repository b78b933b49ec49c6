"""QGIS documents written into the GeoPackage: rule-based EPCI styles (QML + SLD) and layer
metadata (QGIS metadata XML).

Every EPCI style is a rule-based renderer whose legend lists, in French, the two priority
outlines ("Zone prioritaire robuste", solid; "Zone prioritaire limite", dashed), the classes
of the mapped value (quintiles, the same as the web map) and the EPCI without data, and labels
the EPCI with their names. The outlines are drawn above every fill (symbol levels: fills in
pass 0, outlines in pass 1). ``gpkg_metadata`` rows in QGIS's own format
(``md_standard_uri = 'http://mrcc.com/qgis.dtd'``, referenced with scope ``table``) are what
QGIS shows in Layer Properties > Metadata: title, abstract, keywords, links to the sources,
history, rights and licences.
"""

from __future__ import annotations

import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zoning.exports._common import (
    MISSING,
    MISSING_COLOR,
    YLORRD5,
    Classes,
    class_labels,
    display_decimals,
    display_scale,
    palette,
    quantile_classes,
)
from zoning.fmt import fr_number
from zoning.results import CriterionMeta, RunResult
from zoning.sources.catalogue import Source

QML_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
QGIS_VERSION = "3.34.0"
METADATA_URI = "http://mrcc.com/qgis.dtd"
"""``gpkg_metadata.md_standard_uri`` of the documents QGIS reads as layer metadata."""

ROBUST_LABEL = "Zone prioritaire robuste"
LIMIT_LABEL = "Zone prioritaire limite"
_NS = uuid.UUID("6f7d0c52-4d1e-4f59-9a51-2b0c3b0e7a13")  # stable rule keys: same run, same file
SE = "http://www.opengis.net/se"
OGC = "http://www.opengis.net/ogc"
SLD = "http://www.opengis.net/sld"


def _rgba(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _key(*parts: str) -> str:
    return "{" + str(uuid.uuid5(_NS, "/".join(parts))) + "}"


def _quote(field: str) -> str:
    return '"' + field.replace('"', '""') + '"'


@dataclass(frozen=True)
class Rule:
    """One legend entry: French label, QGIS filter expression, fill or outline look.

    ``lower``/``upper`` (value classes) and ``robust`` (outlines) drive the SLD filter.
    """

    label: str
    expression: str
    fill: str | None  # hex colour; None = no fill (an outline rule)
    outline: str = "#ffffff"
    width_mm: float = 0.15
    dashed: bool = False
    field: str = ""
    lower: float | None = None
    upper: float | None = None
    upper_inclusive: bool = False
    null: bool = False
    robust: bool | None = None


def _symbol(name: str, rule: Rule) -> ET.Element:
    sym = ET.Element("symbol", {"type": "fill", "name": name,
                                "alpha": "0.85" if rule.fill else "1", "clip_to_extent": "1",
                                "force_rhr": "0", "is_animated": "0", "frame_rate": "10"})
    layer = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0",
                                         "pass": "0" if rule.fill else "1", "id": ""})
    props = {
        "border_width_map_unit_scale": "3x:0,0,0,0,0,0",
        "color": _rgba(rule.fill) if rule.fill else "0,0,0,0",
        "joinstyle": "round",
        "offset": "0,0",
        "offset_unit": "MM",
        "outline_color": _rgba(rule.outline),
        "outline_style": "dash" if rule.dashed else "solid",
        "outline_width": f"{rule.width_mm:g}",
        "outline_width_unit": "MM",
        "style": "solid" if rule.fill else "no",
    }
    # QGIS >= 3.26 reads <Option>, older releases <prop>: both, like the packaged styles
    opts = ET.SubElement(layer, "Option", {"type": "Map"})
    for k, v in props.items():
        ET.SubElement(opts, "Option", {"name": k, "type": "QString", "value": v})
    for k, v in props.items():
        ET.SubElement(layer, "prop", {"k": k, "v": v})
    return sym


def _labeling(field: str) -> ET.Element:
    lab = ET.Element("labeling", {"type": "simple"})
    settings = ET.SubElement(lab, "settings", {"calloutType": "simple"})
    style = ET.SubElement(settings, "text-style", {
        "fieldName": field, "isExpression": "0", "fontFamily": "Noto Sans", "fontSize": "7",
        "fontSizeUnit": "Point", "fontWeight": "50", "fontItalic": "0", "namedStyle": "Regular",
        "textColor": "33,33,33,255", "textOpacity": "1", "multilineHeight": "1",
        "capitalization": "0", "allowHtml": "0", "blendMode": "0", "textOrientation": "horizontal",
    })
    ET.SubElement(style, "families")
    ET.SubElement(style, "text-buffer", {
        "bufferDraw": "1", "bufferSize": "0.7", "bufferSizeUnits": "MM",
        "bufferColor": "255,255,255,255", "bufferOpacity": "0.9", "bufferNoFill": "1",
        "bufferJoinStyle": "128", "bufferBlendMode": "0"})
    ET.SubElement(style, "background", {"shapeDraw": "0"})
    ET.SubElement(style, "shadow", {"shadowDraw": "0"})
    ET.SubElement(settings, "text-format", {"wrapChar": "", "autoWrapLength": "18",
                                            "multilineAlign": "1"})
    ET.SubElement(settings, "placement", {
        "placement": "1", "centroidInside": "1", "centroidWhole": "0", "fitInPolygonOnly": "0",
        "layerType": "PolygonGeometry", "overlapHandling": "PreventOverlap", "priority": "5",
        "dist": "0", "distUnits": "MM", "offsetType": "0", "quadOffset": "4"})
    ET.SubElement(settings, "rendering", {
        "drawLabels": "1", "scaleVisibility": "0", "scaleMin": "0", "scaleMax": "0",
        "obstacle": "1", "obstacleFactor": "1", "obstacleType": "1", "minFeatureSize": "0",
        "limitNumLabels": "0", "maxNumLabels": "2000", "unplacedVisibility": "0",
        "fontLimitPixelSize": "0", "mergeLines": "0", "upsidedownLabels": "0"})
    return lab


def _aliases(labels: dict[str, str], fields: Sequence[str]) -> ET.Element:
    el = ET.Element("aliases")
    for i, f in enumerate(fields):
        if f in labels:
            ET.SubElement(el, "alias", {"field": f, "index": str(i), "name": labels[f]})
    return el


def rules_qml(name: str, title: str, rules: Sequence[Rule], label_field: str,
              labels: dict[str, str], fields: Sequence[str]) -> str:
    """A QML document: rule-based renderer (one rule per legend entry), labels, aliases."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "labelsEnabled": "1",
                               "styleCategories": "Symbology|Labeling|Fields"})
    root.append(ET.Comment(f" zoning: {title} "))
    rend = ET.SubElement(root, "renderer-v2", {"type": "RuleRenderer", "symbollevels": "1",
                                               "enableorderby": "0", "forceraster": "0",
                                               "referencescale": "-1"})
    rules_el = ET.SubElement(rend, "rules", {"key": _key(name, "root")})
    symbols = ET.SubElement(rend, "symbols")
    for i, rule in enumerate(rules):
        ET.SubElement(rules_el, "rule", {"key": _key(name, str(i), rule.label),
                                         "symbol": str(i), "label": rule.label,
                                         "filter": rule.expression})
        symbols.append(_symbol(str(i), rule))
    root.append(_labeling(label_field))
    root.append(_aliases(labels, fields))
    ET.SubElement(root, "layerGeometryType").text = "2"
    ET.indent(root)
    return QML_DOCTYPE + ET.tostring(root, encoding="unicode")


# --------------------------------------------------------------------------- SLD


def _prop(parent: ET.Element, tag: str, field: str, value: str) -> None:
    el = ET.SubElement(parent, f"{{{OGC}}}{tag}")
    ET.SubElement(el, f"{{{OGC}}}PropertyName").text = field
    ET.SubElement(el, f"{{{OGC}}}Literal").text = value


def _sld_filter(rule: Rule) -> ET.Element:
    flt = ET.Element(f"{{{OGC}}}Filter")
    if rule.robust is not None:
        both = ET.SubElement(flt, f"{{{OGC}}}And")
        _prop(both, "PropertyIsEqualTo", "selected", "1")
        _prop(both, "PropertyIsEqualTo" if rule.robust else "PropertyIsNotEqualTo",
              "robustesse", "robuste")
    elif rule.null:
        el = ET.SubElement(flt, f"{{{OGC}}}PropertyIsNull")
        ET.SubElement(el, f"{{{OGC}}}PropertyName").text = rule.field
    else:
        both = ET.SubElement(flt, f"{{{OGC}}}And")
        if rule.lower is not None and math.isfinite(rule.lower):
            _prop(both, "PropertyIsGreaterThanOrEqualTo", rule.field, repr(rule.lower))
        if rule.upper is not None and math.isfinite(rule.upper):
            _prop(both, "PropertyIsLessThanOrEqualTo" if rule.upper_inclusive
                  else "PropertyIsLessThan", rule.field, repr(rule.upper))
    return flt


def _css(parent: ET.Element, tag: str, params: dict[str, str]) -> None:
    el = ET.SubElement(parent, f"{{{SE}}}{tag}")
    for k, v in params.items():
        ET.SubElement(el, f"{{{SE}}}SvgParameter", {"name": k}).text = v


def rules_sld(layer: str, title: str, rules: Sequence[Rule], label_field: str) -> str:
    """The same rules as an SLD 1.1 document (for clients that read SLD), names as labels."""
    ET.register_namespace("se", SE)
    ET.register_namespace("ogc", OGC)
    ET.register_namespace("", SLD)
    root = ET.Element(f"{{{SLD}}}StyledLayerDescriptor", {"version": "1.1.0"})
    nl = ET.SubElement(root, f"{{{SLD}}}NamedLayer")
    ET.SubElement(nl, f"{{{SE}}}Name").text = layer
    us = ET.SubElement(nl, f"{{{SLD}}}UserStyle")
    ET.SubElement(us, f"{{{SE}}}Name").text = title
    fts = ET.SubElement(us, f"{{{SE}}}FeatureTypeStyle")
    # fills first, outlines after: drawn on top, as in the QML
    for rule in sorted(rules, key=lambda r: r.fill is None):
        r = ET.SubElement(fts, f"{{{SE}}}Rule")
        ET.SubElement(r, f"{{{SE}}}Name").text = rule.label
        desc = ET.SubElement(r, f"{{{SE}}}Description")
        ET.SubElement(desc, f"{{{SE}}}Title").text = rule.label
        r.append(_sld_filter(rule))
        ps = ET.SubElement(r, f"{{{SE}}}PolygonSymbolizer")
        if rule.fill:
            _css(ps, "Fill", {"fill": rule.fill, "fill-opacity": "0.85"})
        stroke = {"stroke": rule.outline, "stroke-width": f"{rule.width_mm * 3.78:.2f}"}
        if rule.dashed:
            stroke["stroke-dasharray"] = "8 4"
        _css(ps, "Stroke", stroke)
    r = ET.SubElement(fts, f"{{{SE}}}Rule")
    ET.SubElement(r, f"{{{SE}}}Name").text = "Noms des EPCI"
    ts = ET.SubElement(r, f"{{{SE}}}TextSymbolizer")
    lab = ET.SubElement(ts, f"{{{SE}}}Label")
    ET.SubElement(lab, f"{{{OGC}}}PropertyName").text = label_field
    _css(ts, "Font", {"font-family": "Noto Sans", "font-size": "9"})
    halo = ET.SubElement(ts, f"{{{SE}}}Halo")
    ET.SubElement(halo, f"{{{SE}}}Radius").text = "1"
    _css(halo, "Fill", {"fill": "#ffffff"})
    _css(ts, "Fill", {"fill": "#212121"})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


# --------------------------------------------------------------------------- EPCI styles


@dataclass(frozen=True)
class EpciStyle:
    """One style of the EPCI layer: name shown by QGIS, description, its rules, QML and SLD."""

    name: str
    description: str
    rules: tuple[Rule, ...]
    qml: str
    sld: str
    default: bool


def outline_rules(epci: pd.DataFrame, robust_threshold: object = None) -> list[Rule]:
    """The two priority outlines with their EPCI counts (robust: solid; limit: dashed)."""
    selected = epci["selected"].fillna(False).astype(bool)
    robust = selected & (epci["robustesse"].astype(str) == "robuste")
    thr = (f", retenue dans au moins {fr_number(100 * float(robust_threshold), 0)} % des "
           "tirages") if isinstance(robust_threshold, (int, float)) else ""
    return [
        Rule(f"{ROBUST_LABEL} ({int(robust.sum())} EPCI{thr})",
             "\"selected\" AND \"robustesse\" = 'robuste'", None, "#111111", 0.8,
             robust=True),
        Rule(f"{LIMIT_LABEL} ({int((selected & ~robust).sum())} EPCI)",
             "\"selected\" AND coalesce(\"robustesse\", '') <> 'robuste'", None, "#111111",
             0.8, dashed=True, robust=False),
    ]


def class_rules(field: str, values: pd.Series, classes: Classes, colors: Sequence[str],
                labels: Sequence[str], factor: float = 1.0) -> list[Rule]:
    """One rule per class (``lower <= value < upper``, the last one closed) and one for NaN.

    ``factor`` scales the stored value to the shown one (e.g. a 0..1 share shown in percent).
    """
    expr_value = _quote(field) if factor == 1.0 else f"{_quote(field)} * {factor:g}"
    k = max(classes.k, 0)
    counts = np.bincount(classes.codes[classes.codes >= 0], minlength=k)
    out = []
    for i in range(k):
        lo, hi = classes.bounds[i], classes.bounds[i + 1]
        last = i == classes.k - 1
        parts = []
        if not math.isinf(lo):
            parts.append(f"{expr_value} >= {lo!r}")
        if not math.isinf(hi):
            parts.append(f"{expr_value} {'<=' if last else '<'} {hi!r}")
        expr = " AND ".join(parts) if parts else f"{expr_value} IS NOT NULL"
        out.append(Rule(f"{labels[i]} ({int(counts[i])} EPCI)", expr, colors[i], field=field,
                        lower=lo / factor, upper=hi / factor, upper_inclusive=last))
    n_missing = int(pd.isna(values).sum())
    out.append(Rule(f"{MISSING[:1].upper()}{MISSING[1:]} ({n_missing} EPCI)",
                    f"{_quote(field)} IS NULL", MISSING_COLOR, field=field, null=True))
    return out


def criterion_title(c: CriterionMeta, index: int) -> str:
    return f"Critère {index} : {c.label}"


def epci_styles(result: RunResult, labels: dict[str, str],
                fields: Sequence[str]) -> list[EpciStyle]:
    """The EPCI layer's styles: priority (default, composite quintiles) then one per criterion.

    Parameters
    ----------
    result
        The run (EPCI values, criteria metadata, robustness threshold).
    labels
        French field aliases.
    fields
        The layer's fields in order (for the alias indexes).
    """
    epci = result.epci
    thr = ((result.params.get("config") or {}).get("sensitivity") or {}).get("robust_threshold")
    outlines = outline_rules(epci, thr)
    styles: list[EpciStyle] = []

    def add(name: str, description: str, rules: list[Rule], default: bool) -> None:
        rules_t = tuple(rules)
        qml = rules_qml(name, name, rules_t, "epci_nom", labels, fields)
        styles.append(EpciStyle(name, description, rules_t, qml,
                                rules_sld("epci_scores", name, rules_t, "epci_nom"), default))

    comp = pd.to_numeric(epci["composite"], errors="coerce")
    cls = quantile_classes(comp, 5, 2)
    add("Priorité (score composite, zones prioritaires)",
        "Score composite en quintiles (plus foncé = plus vulnérable), contour des zones "
        "prioritaires (trait plein : robuste ; tirets : limite), noms des EPCI.",
        outlines + class_rules("composite", comp, cls, palette(cls.k, YLORRD5),
                               class_labels(cls, 2)), True)
    for i, c in enumerate(result.criteria, start=1):
        factor, unit = display_scale(c)
        vals = pd.to_numeric(epci[c.id], errors="coerce") if c.id in epci else pd.Series(
            np.nan, index=epci.index)
        shown = vals * factor
        if vals.notna().any():
            dec = display_decimals(shown, unit)
            cls = quantile_classes(shown, 5, dec)
            colors = palette(cls.k, YLORRD5)
            if c.direction == "higher_is_better":
                colors = colors[::-1]  # low values are the unfavourable ones: darker
            rules = class_rules(c.id, vals, cls, colors, class_labels(cls, dec, unit), factor)
        else:
            rules = class_rules(c.id, vals, Classes((), np.full(len(vals), -1)), [], [])
        note = f" {c.note}" if c.note else ""
        title = criterion_title(c, i) + ("" if c.available else f" — {MISSING}")
        add(title,
            f"{c.label} ({unit}) en quintiles, plus foncé = plus défavorable ; contour des "
            f"zones prioritaires.{note}", outlines + rules, False)
    return styles


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class LayerMetadata:
    """What QGIS shows in Layer Properties > Metadata for one layer."""

    identifier: str
    title: str
    abstract: str
    keywords: tuple[str, ...]
    sources: tuple[Source, ...]
    history: tuple[str, ...]
    created: str
    crs_wkt: str
    bounds: tuple[float, float, float, float]


def rights_lines(sources: Sequence[Source]) -> list[str]:
    """One French line per source: publisher, dataset, vintage and licence (attribution)."""
    return [f"Source : {s.publisher} — {s.title_fr} (millésime {s.vintage}) ; licence : "
            f"{s.licence}." for s in sources]


def licences(sources: Sequence[Source]) -> list[str]:
    """The distinct licences of the sources, in order."""
    return list(dict.fromkeys(s.licence for s in sources))


def metadata_xml(md: LayerMetadata) -> str:
    """A QGIS layer metadata document (as QGIS writes it for a GeoPackage layer)."""
    root = ET.Element("qgis", {"version": QGIS_VERSION})
    for tag, text in (("identifier", md.identifier), ("parentidentifier", ""),
                      ("language", "fra"), ("type", "dataset"), ("title", md.title),
                      ("abstract", md.abstract)):
        ET.SubElement(root, tag).text = text
    kw = ET.SubElement(root, "keywords", {"vocabulary": "gmd:topicCategory"})
    ET.SubElement(kw, "keyword").text = "health"
    kw = ET.SubElement(root, "keywords", {"vocabulary": "zoning"})
    for k in md.keywords:
        ET.SubElement(kw, "keyword").text = k
    contact = ET.SubElement(root, "contact")
    for tag, text in (("name", ""), ("organization", "zoning (calcul)"), ("position", ""),
                      ("voice", ""), ("fax", ""), ("email", ""), ("role", "processor")):
        ET.SubElement(contact, tag).text = text
    links = ET.SubElement(root, "links")
    for s in md.sources:
        ET.SubElement(links, "link", {
            "name": f"{s.publisher} — {s.title_fr}", "type": "WWW:LINK", "url": s.url,
            "description": f"Millésime {s.vintage} ; licence : {s.licence}", "format": "",
            "mimeType": "", "size": ""})
    for line in md.history:
        ET.SubElement(root, "history").text = line
    dates = ET.SubElement(root, "dates")
    if md.created:
        ET.SubElement(dates, "date", {"type": "Created", "value": md.created})
    ET.SubElement(root, "fees").text = "Aucun"
    ET.SubElement(root, "constraints", {"type": "Conditions d'utilisation"}).text = (
        "Données dérivées : citer zoning et chacune des sources ci-dessous (publieur, "
        "millésime) ; respecter la licence de chaque source.")
    for line in rights_lines(md.sources):
        ET.SubElement(root, "rights").text = line
    for lic in licences(md.sources):
        ET.SubElement(root, "license").text = lic
    ET.SubElement(root, "encoding").text = "UTF-8"
    crs = ET.SubElement(root, "crs")
    srs = ET.SubElement(crs, "spatialrefsys", {"nativeFormat": "Wkt"})
    ET.SubElement(srs, "wkt").text = md.crs_wkt
    ET.SubElement(srs, "authid").text = "EPSG:2154"
    ET.SubElement(srs, "description").text = "RGF93 v1 / Lambert-93"
    extent = ET.SubElement(root, "extent")
    minx, miny, maxx, maxy = md.bounds
    ET.SubElement(extent, "spatial", {"dimensions": "2", "crs": "EPSG:2154",
                                      "minx": f"{minx:.1f}", "miny": f"{miny:.1f}", "minz": "0",
                                      "maxx": f"{maxx:.1f}", "maxy": f"{maxy:.1f}",
                                      "maxz": "0"})
    ET.indent(root)
    return QML_DOCTYPE + ET.tostring(root, encoding="unicode")
