"""One A4 page per EPCI (``fiche``) for the people who decide: HTML and PDF, in French.

A fiche shows the EPCI's identity and population, its rank with the sensitivity interval and
robustness, each criterion against the region's distribution (an inline SVG strip: every
EPCI a grey tick, this one red, the unfavourable side on the right), a static SVG map of its
communes' travel times with the nearest SU/SMUR sites, the communes table and the sources
and caveats. Every text from data is HTML-escaped. PDFs are printed by ONE headless Chromium
for all the fiches of a run (:func:`write_fiches`): the fiches go into a few documents of
:data:`FICHES_PER_PRINT`, one page each, each printed once and split into one PDF per EPCI
(``bench/bench_fiches.py`` measures it against printing each fiche on its own). In a run's
output set the fiches are a background job (:func:`fiches_job`): their pages are built
first, then Chromium prints them while the other outputs are written.
"""

from __future__ import annotations

import contextlib
import html
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.errors import ExportError
from zoning.exports._common import (
    MISSING,
    MISSING_COLOR,
    TRAVEL_BREAKS,
    YLGNBU5,
    check_result,
    class_labels,
    computed_at,
    display_scale,
    fixed_classes,
    palette,
    short_label,
    slug,
    sources_lines,
    value_decimals,
    version,
)
from zoning.exports.webmap import criterion_ranks, why_selected
from zoning.fmt import fr_datetime, fr_number, fr_probability, fr_value
from zoning.results import CriterionMeta, RunResult

FIT_ONE_PAGE = """() => {
  /* A4 portrait minus the 9 mm margins is 279 mm = 1054 CSS px high: shrink a long fiche */
  var h = document.documentElement.scrollHeight, max = 1045;
  if (h > max) { document.body.style.zoom = (max / h).toFixed(3); }
}"""
"""Script run before printing one fiche alone: a fiche that would overflow is scaled to one page.

``documentElement.scrollHeight`` is at least the viewport's height (1123 px), so every fiche
is scaled by at most 1045 / 1123.
"""

FIT_EACH_FICHE = """() => {
  /* the same scaling as FIT_ONE_PAGE, section by section of the combined document: every
     height read first, then every zoom written (a section's height does not depend on another's
     zoom; a read after a write would lay the whole document out again, once per fiche) */
  var max = 1045, vh = window.innerHeight;
  var sections = Array.prototype.slice.call(document.querySelectorAll('section.fiche'));
  var heights = sections.map(function (s) {
    return Math.max(Math.round(s.getBoundingClientRect().height), vh);
  });
  sections.forEach(function (s, i) {
    if (heights[i] > max) { s.style.zoom = (max / heights[i]).toFixed(3); }
  });
  return sections.length;
}"""
"""Script run before printing the combined document: each fiche scaled to its own page.

All heights are read before any zoom is written (same zooms): the 151 national fiches fit
about 4x quicker than reading and writing in turn, which lays the whole document out again
after every zoom (``bench/bench_fiches.py --fit --region FR`` prints both).
"""

_COMBINED_CSS = """
section.fiche { width: 192mm; break-after: page; }
section.fiche:last-child { break-after: auto; }
"""

MAX_COMMUNE_ROWS = 16
"""Communes listed on the page (the farthest from emergencies first); the rest are counted."""

_CSS = """
@page { size: A4 portrait; margin: 9mm; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 9.5px/1.3 "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: #1a1a1a;
  margin: 0; width: 192mm; }
h1 { font-size: 17px; margin: 0 0 1px; }
h2 { font-size: 11px; margin: 7px 0 3px; border-bottom: 1px solid #263238; padding-bottom: 1px; }
.sub { color: #444; margin: 0 0 4px; }
.rank { background: #263238; color: #fff; padding: 5px 8px; font-size: 11px; margin: 4px 0; }
.rank b { font-size: 13px; }
.grid { display: grid; grid-template-columns: 108mm 82mm; column-gap: 2mm; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 1.5px 3px; vertical-align: top; }
thead th { background: #eceff1; font-weight: 600; }
tbody tr + tr td { border-top: 1px solid #eee; }
td.n { text-align: right; }
td.r { white-space: nowrap; }
.crit td:first-child { width: 38%; }
.missing { color: #777; font-style: italic; }
.note { color: #555; font-size: 8.5px; }
ul { margin: 2px 0; padding-left: 14px; }
li { margin: 1px 0; }
.legend span { display: inline-block; width: 10px; height: 8px; border: 1px solid #999;
  margin: 0 2px 0 6px; vertical-align: middle; }
footer { margin-top: 5px; color: #666; font-size: 8px; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def fiche_name(result: RunResult, siren: str) -> str:
    """File stem of a fiche: ``fiche_<siren>_<name>`` (ASCII, no spaces)."""
    name = str(result.epci.at[siren, "epci_nom"])
    ascii_name = (pd.Series([name]).str.normalize("NFKD").str.encode("ascii", "ignore")
                  .str.decode("ascii").iloc[0])
    short = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name).strip("_")[:40]
    return f"fiche_{siren}_{short}" if short else f"fiche_{siren}"


# --------------------------------------------------------------------------- pictures


TICK_STEP_PX = 0.25
"""Grid of the grey ticks' x positions on a strip (CSS px).

A strip is 120 CSS px (32 mm) wide and its ticks 1 px wide: moving a tick by at most
0.125 px (0.03 mm, less than one dot of a 600 dpi printer) changes nothing a reader can see,
and with at most 457 distinct positions a national strip (1,232 EPCI) draws a few hundred
ticks instead of 1,232 (ticks on the same position are one tick: they overlap exactly).
"""


class Strip:
    """The distribution of one criterion over the region's EPCI, drawn once for every fiche.

    The grey ticks (every EPCI, the unfavourable side on the right whatever the criterion's
    direction) are one SVG path shared by every fiche of the run; :meth:`svg` adds the red
    tick of one EPCI on top, at its exact position.
    """

    def __init__(self, values: pd.Series, direction: str, width: int = 120,
                 height: int = 16) -> None:
        vals = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
        vals = vals[np.isfinite(vals)]
        self.width, self.height, self.direction = width, height, direction
        self.empty = vals.size == 0
        self.lo = float(vals.min()) if vals.size else 0.0
        hi = float(vals.max()) if vals.size else 0.0
        self.span = hi - self.lo if hi > self.lo else 1.0
        xs = np.unique(np.round(self.x(vals) / TICK_STEP_PX) * TICK_STEP_PX)
        d = "".join(f"M{xi:g},4v{height - 8:g}" for xi in xs)
        self._head = (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                      f'role="img" aria-label="répartition régionale">'
                      f'<rect x="0" y="{height / 2 - 1}" width="{width}" height="2" '
                      f'fill="#eceff1"/><path d="{d}" stroke="#90a4ae" stroke-width="1"/>')

    def x(self, v: np.ndarray | float) -> Any:
        """Horizontal position (px) of values on the strip."""
        t = (np.asarray(v, dtype=float) - self.lo) / self.span
        if self.direction == "higher_is_better":
            t = 1.0 - t
        return 3 + t * (self.width - 6)

    def svg(self, value: float) -> str:
        """The strip with ``value`` marked by a red tick ("" without data or value)."""
        if self.empty or not np.isfinite(value):
            return ""
        xv = float(self.x(value))
        return (f'{self._head}<line x1="{xv:.1f}" y1="0" x2="{xv:.1f}" y2="{self.height}" '
                f'stroke="#c62828" stroke-width="3"/></svg>')


def strip_svg(values: pd.Series, value: float, direction: str, width: int = 120,
              height: int = 16) -> str:
    """The region's distribution of one criterion, this EPCI's value marked in red.

    Every EPCI is a grey tick; the unfavourable side is on the right whatever the
    criterion's direction (:class:`Strip`, which draws the grey ticks once for many fiches).
    """
    return Strip(values, direction, width, height).svg(value)


def _paths(geoms: np.ndarray, tx: Callable[[np.ndarray], np.ndarray]) -> list[str]:
    """SVG path data of each geometry's polygons, one string per geometry.

    Every ring of every polygon part is ``M x,y L x,y ... Z`` in the page's pixels (``tx``),
    one decimal; parts that are not polygons, and empty ones, are skipped. The coordinates
    of all the geometries are transformed and formatted in one pass.
    """
    n = len(geoms)
    polys, owner = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(polys) == 3) & ~shapely.is_empty(polys)  # 3: Polygon
    polys, owner = polys[keep], owner[keep]
    rings, ring_part = shapely.get_rings(polys, return_index=True)  # exterior, then holes
    xy, point_ring = shapely.get_coordinates(rings, return_index=True)
    if len(xy) == 0:
        return [""] * n
    pts = tx(xy)
    text = np.array(list(map("{:.1f},{:.1f}".format, pts[:, 0].tolist(), pts[:, 1].tolist())),
                    dtype=object)
    first = np.r_[True, point_ring[1:] != point_ring[:-1]]
    last = np.r_[first[1:], True]
    pieces = (np.where(first, "M", " L").astype(object) + text
              + np.where(last, "Z", "").astype(object)).tolist()
    bounds = np.searchsorted(owner[ring_part[point_ring]], np.arange(n + 1)).tolist()
    return ["".join(pieces[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def epci_outline(epci: Any, siren: str) -> Any:
    """The EPCI's polygon (EPSG:2154), None when ``epci`` has no geometry for it."""
    if not isinstance(epci, gpd.GeoDataFrame) or epci.geometry.name not in epci.columns:
        return None
    geom = epci.geometry.loc[siren]
    return None if geom is None or shapely.is_empty(geom) else geom


def map_svg(communes: Any, sites: Any, width: int = 300, height: int = 280,
            outline: Any = None) -> str:
    """Static map (EPSG:2154): communes by travel-time class, nearest sites as dots.

    ``outline`` is the EPCI's polygon (drawn simplified like the communes); without it, the
    union of the simplified communes (slower: they no longer share their borders exactly).
    """
    t = pd.to_numeric(communes.get("t_urgence_min", pd.Series(np.nan, index=communes.index)),
                      errors="coerce").to_numpy(dtype=np.float64)
    xy = (shapely.get_coordinates(sites.geometry.values) if len(sites)
          else np.empty((0, 2)))
    return _map_svg(np.asarray(communes.geometry.values), t, xy,
                    sites["nom"].to_numpy(dtype=object) if len(sites) else np.empty(0, object),
                    width, height, outline)


def _map_svg(geoms: np.ndarray, t: np.ndarray, site_xy: np.ndarray, site_names: np.ndarray,
             width: int = 300, height: int = 280, outline: Any = None) -> str:
    """:func:`map_svg` from arrays: commune polygons and times (minutes), sites' points
    (EPSG:2154) and names."""
    if len(geoms) == 0:
        return ""
    geoms = shapely.simplify(geoms, 60.0)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if len(site_xy):
        sx, sy = site_xy[:, 0], site_xy[:, 1]
        xmin, xmax = min(xmin, sx.min()), max(xmax, sx.max())
        ymin, ymax = min(ymin, sy.min()), max(ymax, sy.max())
    pad = 0.06 * max(xmax - xmin, ymax - ymin, 1000.0)
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    k = min(width / (xmax - xmin), height / (ymax - ymin))

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([(xy[:, 0] - xmin) * k, (ymax - xy[:, 1]) * k])

    cls = fixed_classes(t, TRAVEL_BREAKS)
    colors = palette(cls.k, YLGNBU5)
    outline = (shapely.simplify(outline, 60.0) if outline is not None and not
               shapely.is_empty(outline) else shapely.union_all(geoms))
    paths = _paths(np.append(geoms, outline), tx)
    shapes = [f'<path d="{d}" fill="{MISSING_COLOR if code < 0 else colors[code]}" '
              'stroke="#fff" stroke-width="0.6"/>'
              for d, code in zip(paths[:-1], cls.codes.tolist(), strict=True)]
    shapes.append(f'<path d="{paths[-1]}" fill="none" stroke="#111" stroke-width="1.6"/>')
    for (px, py), site_name in zip(tx(site_xy).tolist() if len(site_xy) else [],
                                   site_names.tolist(), strict=True):
        shapes.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="#fff" stroke="#000" '
                      f'stroke-width="2"/><text x="{px + 6:.1f}" y="{py + 3:.1f}" '
                      f'font-size="8" paint-order="stroke" stroke="#fff" stroke-width="2">'
                      f'{_e(site_name)[:38]}</text>')
    # scale bar: 10 km (or 5 km for small EPCI)
    km = 10 if (xmax - xmin) > 25_000 else 5
    bar = km * 1000 * k
    shapes.append(f'<g font-size="8"><rect x="6" y="{height - 12}" width="{bar:.1f}" height="3" '
                  f'fill="#263238"/><text x="6" y="{height - 15}">{km} km</text>'
                  f'<text x="{width - 14}" y="14" font-weight="700">N</text>'
                  f'<path d="M{width - 11},18 l4,10 h-8 z" fill="#263238"/></g>')
    w, h = (xmax - xmin) * k, (ymax - ymin) * k
    legend = "".join(f'<span style="background:{c}"></span>{_e(lab)}'
                     for c, lab in zip(colors, class_labels(cls, 0, "min"), strict=True))
    return (f'<svg width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.1f} {h:.1f}" '
            f'role="img" aria-label="carte des temps d\'accès">{"".join(shapes)}</svg>'
            f'<div class="legend note">Temps au SU ou SMUR le plus proche : {legend}'
            f'<span style="background:{MISSING_COLOR}"></span>{MISSING}</div>')


# --------------------------------------------------------------------------- page


@dataclass(frozen=True)
class _Criterion:
    meta: CriterionMeta
    values: np.ndarray  # display scale (percent for shares), in the order of result.epci
    unit: str
    decimals: int
    ranks: np.ndarray  # float (NaN without value), same order
    n: int
    strip: Strip


@dataclass(frozen=True)
class FicheParts:
    """What every fiche of a run shares, computed once for many fiches (:func:`fiche_parts`).

    Columns are numpy arrays: a fiche picks its rows by position instead of building
    pandas objects (rows, sub-frames) of its own.

    Attributes
    ----------
    why
        ``why_selected(result.epci)``.
    criteria
        Per criterion: values at display scale, decimals, ranks and the region's strip.
    epci_pos
        Position of each EPCI (SIREN as text) in ``result.epci``.
    epci_fields
        The ``result.epci`` columns a fiche shows (object arrays, ``""`` for an absent
        ``epci_type`` or ``dep``), and ``geometry`` (None without EPCI polygons).
    communes
        The ``result.communes`` columns a fiche shows: ``code``, ``nom``, ``population``
        and ``t_urgence_min`` (float, NaN when unknown), ``nom_urgence`` (object),
        ``finess_urgence`` (text, None when unknown) and ``geometry``.
    commune_rows
        Row positions in ``communes`` of each EPCI's communes (SIREN as text).
    sources, caveats
        The French "Sources et précautions" lines.
    facility_finess
        ``result.facilities``' FINESS as text (the sites a fiche's communes reach are found in
        it).
    facility_xy, facility_names
        The sites' points (EPSG:2154) and names, in the order of ``facility_finess``.
    """

    why: pd.Series
    criteria: tuple[_Criterion, ...]
    epci_pos: dict[str, int]
    epci_fields: dict[str, Any]
    communes: dict[str, np.ndarray]
    commune_rows: dict[str, np.ndarray]
    sources: tuple[str, ...]
    caveats: tuple[str, ...]
    facility_finess: pd.Index
    facility_xy: np.ndarray
    facility_names: np.ndarray


_EPCI_FIELDS = ("epci_nom", "rank", "selected", "population", "probability", "composite")


def _commune_columns(communes: Any) -> dict[str, np.ndarray]:
    n = len(communes)

    def number(col: str) -> np.ndarray:
        if col not in communes.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(communes[col], errors="coerce").to_numpy(dtype=np.float64,
                                                                      na_value=np.nan)

    finess = (communes["finess_urgence"] if "finess_urgence" in communes.columns
              else pd.Series(None, index=communes.index, dtype=object))
    return {
        "code": communes.index.to_numpy(dtype=object),
        "nom": communes["nom"].to_numpy(dtype=object),
        "population": number("population"),
        "t_urgence_min": number("t_urgence_min"),
        "nom_urgence": (communes["nom_urgence"].to_numpy(dtype=object)
                        if "nom_urgence" in communes.columns else np.full(n, "", dtype=object)),
        "finess_urgence": finess.astype(str).where(finess.notna(), None).to_numpy(dtype=object),
        "geometry": np.asarray(communes.geometry.values),
    }


def fiche_parts(result: RunResult, why: pd.Series | None = None) -> FicheParts:
    """Compute once what :func:`fiche_html` needs for every fiche of ``result``.

    Raises
    ------
    ExportError
        When the run lacks a column the fiches need (:func:`check_result`).
    """
    check_result(result)
    epci = result.epci
    crits = []
    for c in result.criteria:
        factor, unit = display_scale(c)
        vals = pd.to_numeric(epci[c.id], errors="coerce") * factor
        dec = min(value_decimals(vals), 1) if unit.startswith("%") else value_decimals(vals)
        crits.append(_Criterion(c, vals.to_numpy(dtype=np.float64, na_value=np.nan), unit, dec,
                                criterion_ranks(vals, c.direction)
                                .to_numpy(dtype=np.float64, na_value=np.nan),
                                int(vals.notna().sum()), Strip(vals, c.direction)))
    groups = result.communes.groupby(result.communes["epci_siren"].astype(str), sort=False)
    # caveats said plainly: missing criteria, approximations (ALD by bassin de vie...)
    caveats = [f"{short_label(c.label)} : {MISSING}" + (f" ({c.note})" if c.note else "")
               for c in result.criteria if not c.available]
    caveats += [f"{short_label(c.label)} : {c.note}" for c in result.criteria
                if c.available and c.note]
    caveats += [str(x) for x in result.notes if str(x).startswith(("Temps de trajet",
                                                                   "Robustesse"))]
    fields: dict[str, Any] = {f: epci[f].to_numpy(dtype=object) for f in _EPCI_FIELDS}
    for f in ("epci_type", "dep"):
        fields[f] = (epci[f].to_numpy(dtype=object) if f in epci.columns
                     else np.full(len(epci), "", dtype=object))
    has_geom = isinstance(epci, gpd.GeoDataFrame) and epci.geometry.name in epci.columns
    fields["geometry"] = np.asarray(epci.geometry.values) if has_geom else None
    fac = result.facilities
    return FicheParts(why=why_selected(epci) if why is None else why, criteria=tuple(crits),
                      epci_pos={str(k): i for i, k in enumerate(epci.index)},
                      epci_fields=fields,
                      communes=_commune_columns(result.communes),
                      commune_rows={str(k): v for k, v in groups.indices.items()},
                      sources=tuple(sources_lines(result)), caveats=tuple(caveats),
                      facility_finess=pd.Index(fac.index.astype(str).to_numpy(dtype=object),
                                               dtype=object),
                      facility_xy=(shapely.get_coordinates(fac.geometry.values) if len(fac)
                                   else np.empty((0, 2))),
                      facility_names=(fac["nom"].to_numpy(dtype=object) if len(fac)
                                      else np.empty(0, dtype=object)))


def fiche_html(result: RunResult, siren: str, why: pd.Series | None = None,
               parts: FicheParts | None = None) -> str:
    """The HTML page of one EPCI's fiche (self-contained, A4 portrait when printed).

    ``why`` is ``why_selected(result.epci)`` and ``parts`` is ``fiche_parts(result)`` when the
    caller computed them once for many fiches (``parts`` wins).
    """
    if parts is None:
        parts = fiche_parts(result, why)
    i = parts.epci_pos.get(siren)
    if i is None:
        raise KeyError(siren)
    field = {f: v[i] for f, v in parts.epci_fields.items() if v is not None}
    n = len(parts.epci_pos)
    name = str(field["epci_nom"])
    rows_of = parts.commune_rows.get(siren, np.empty(0, dtype=np.intp))
    com = {c: v[rows_of] for c, v in parts.communes.items()}
    n_com = len(rows_of)
    rank = pd.to_numeric(field["rank"], errors="coerce")
    rank_txt = MISSING if pd.isna(rank) else f"{int(rank)} / {n}"
    why_txt = parts.why.loc[siren]
    sel = bool(field["selected"]) if pd.notna(field["selected"]) else False

    crit_rows = []
    for k in parts.criteria:
        c = k.meta
        v = k.values[i]
        if not c.available or pd.isna(v):
            what = MISSING if not c.available else f"{MISSING} pour cet EPCI"
            crit_rows.append(f'<tr><td>{_e(short_label(c.label))}</td>'
                             f'<td class="missing" colspan="3">{_e(what)}</td></tr>')
            continue
        crit_rows.append(
            f'<tr><td>{_e(short_label(c.label))}</td>'
            f'<td class="n">{_e(fr_value(v, k.unit, k.decimals, missing=MISSING))}</td>'
            f'<td class="n r">{int(k.ranks[i])}\u00a0/\u00a0{k.n}</td>'
            f'<td>{k.strip.svg(float(v))}</td></tr>')

    t, popn = com["t_urgence_min"], com["population"]
    # the farthest first, then the most populated; unknown first (a stable sort: ties keep
    # the communes' order)
    order = np.lexsort((np.where(np.isnan(popn), -np.inf, -popn),
                        np.where(np.isnan(t), -np.inf, -t)))[:MAX_COMMUNE_ROWS]
    noms, nears, codes = com["nom"], com["nom_urgence"], com["code"]
    rows = []
    for j in order.tolist():
        near = nears[j]
        rows.append(f'<tr><td>{_e(noms[j])}</td><td>{_e(codes[j])}</td>'
                    f'<td class="n">{fr_number(popn[j], 0, missing=MISSING)}</td>'
                    f'<td class="n">{_e(fr_value(t[j], "min", 0, missing=MISSING))}</td>'
                    f'<td>{_e(near if isinstance(near, str) and near else MISSING)}</td></tr>')
    more = n_com - MAX_COMMUNE_ROWS
    more_txt = (f'<p class="note">… et {more} autres communes plus proches des urgences : '
                f'liste complète dans {slug(result)}_communes.csv.</p>' if more > 0 else "")

    site_pos = np.empty(0, dtype=np.intp)
    finess = com["finess_urgence"]
    if len(parts.facility_finess) and len(finess):
        ids = pd.unique(finess[pd.notna(finess)])
        if parts.facility_finess.is_unique:
            pos = parts.facility_finess.get_indexer(ids)
            site_pos = np.sort(pos[pos >= 0])
        else:
            site_pos = np.flatnonzero(parts.facility_finess.isin(ids))
    geom = field.get("geometry")
    outline = None if geom is None or shapely.is_empty(geom) else geom
    svg = _map_svg(com["geometry"], t, parts.facility_xy[site_pos],
                   parts.facility_names[site_pos], outline=outline)

    when = fr_datetime(computed_at(result)) or "date inconnue"
    pop = fr_number(field["population"], 0, missing=MISSING)
    dep = _e(field["dep"])
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{_e(name)} — fiche zoning</title>
<style>{_CSS}</style></head><body>
<h1>{_e(name)}</h1>
<p class="sub">{_e(field["epci_type"])} — SIREN {_e(siren)} — département {dep} —
{pop} habitants — {n_com} communes — {_e(result.region_name)}</p>
<div class="rank">Rang <b>{rank_txt}</b> (1 = plus vulnérable) ;
{"<b>zone prioritaire</b>" if sel else "hors zone prioritaire"} — {_e(why_txt)} ;
probabilité de sélection {fr_probability(field["probability"], missing=MISSING)} ;
score composite {fr_number(field["composite"], 2, missing=MISSING)} (0 à 1).</div>
<div class="grid"><div>
<h2>Les cinq critères face aux {n} EPCI de la région</h2>
<table class="crit"><thead><tr><th>Critère</th><th>Valeur</th><th>Rang</th><th>Répartition régionale
</th></tr></thead><tbody>{"".join(crit_rows)}</tbody></table>
<p class="note">Rang : 1 = le plus défavorable de la région. Répartition : chaque trait gris
est un EPCI, le trait rouge celui-ci ; à droite, le plus défavorable.</p>
<h2>Communes les plus éloignées des urgences</h2>
<table><thead><tr><th>Commune</th><th>Code</th><th>Population</th><th>Temps</th>
<th>Site le plus proche</th></tr></thead><tbody>{"".join(rows)}</tbody></table>{more_txt}
</div><div>
<h2>Temps de trajet routier vers les urgences</h2>
{svg}
</div></div>
<h2>Sources et précautions</h2>
<ul class="note">{"".join(f"<li>{_e(s)}</li>" for s in parts.sources)}</ul>
<ul class="note">{"".join(f"<li>{_e(s)}</li>" for s in parts.caveats)}</ul>
<footer>zoning {_e(version(result))} — calcul du {_e(when)} — fiche générée automatiquement ;
les valeurs manquantes sont signalées « {MISSING} », jamais remplacées.</footer>
</body></html>"""


def _body(page: str) -> str:
    return page.split("<body>", 1)[1].rsplit("</body>", 1)[0]


def combined_html(pages: Sequence[str]) -> str:
    """All fiches in one document, each in its own ``section`` printed on its own page."""
    sections = "".join(f'<section class="fiche">{_body(p)}</section>\n' for p in pages)
    return (f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
            f"<title>fiches zoning</title><style>{_CSS}{_COMBINED_CSS}</style></head>"
            f"<body>\n{sections}</body></html>")


def _split_pdf(combined: Path, targets: Sequence[Path]) -> None:
    """One PDF per page of ``combined``; the page count must equal the number of fiches.

    pikepdf (qpdf) copies each page with the resources it uses: 151 national fiches in
    0.35 s, 7x quicker than pypdf's pure-Python writer
    (``bench/bench_fiches.py --parts --region FR`` prints both).
    """
    import pikepdf

    try:
        with pikepdf.open(combined) as src:
            if len(src.pages) != len(targets):
                raise ExportError(f"{combined}: the combined fiches printed on "
                                  f"{len(src.pages)} pages for {len(targets)} fiches (a fiche "
                                  "did not fit one A4 page)")
            for page, target in zip(src.pages, targets, strict=True):
                with pikepdf.new() as one:
                    one.pages.append(page)
                    one.save(target)
    except pikepdf.PdfError as exc:
        raise ExportError(f"{combined}: Chromium's print of the fiches is not a readable PDF "
                          f"({exc}); no output was replaced, run again") from exc


FICHES_PER_PRINT = 40
"""Fiches per combined print: the national run's 151 fiches go in 4 prints, each queued as soon
as its fiches are built, so that Chromium prints one document while the next is built."""


def write_fiches(result: RunResult, folder: str | Path, sirens: Sequence[str],
                 pdf: bool = True, cancelled: threading.Event | None = None,
                 chromium: Any = None, release: Callable[[], None] | None = None
                 ) -> list[Path]:
    """Write the HTML (and PDF) fiche of each EPCI into ``folder``, one Chromium for all.

    The PDFs come from a few prints of documents of :data:`FICHES_PER_PRINT` fiches (one page
    each, each scaled to its page as it would be alone), split page by page; Chromium prints
    a document while the next one is built. ``chromium``: a
    :class:`zoning.exports.browser.Prelaunched` Chromium to print with (started while the
    run was computed); default: one started here. ``release`` is called once every page is
    built and queued for printing (:class:`zoning.exports.tables.Background` ``ahead``: the
    run's other writers start then).

    Returns
    -------
    list of Path
        Files written (HTML, then PDF, per EPCI).

    Raises
    ------
    ExportError
        When Chromium fails, a printed document has not one page per fiche, or
        ``cancelled`` was set (checked between steps: a run staging the fiches in a worker
        thread, :class:`zoning.exports.tables.Background`, failed elsewhere).
    """
    if pdf and len(sirens) and chromium is None:
        from zoning.exports.browser import Prelaunched

        own = Prelaunched()
        try:
            return write_fiches(result, folder, sirens, pdf, cancelled, own, release)
        finally:
            own.close()
    folder = Path(folder)
    abort = threading.Event()  # this writer failed: the prints still queued are skipped

    def check() -> None:
        if abort.is_set() or (cancelled is not None and cancelled.is_set()):
            raise ExportError(f"{folder}: writing the fiches was cancelled")

    folder.mkdir(parents=True, exist_ok=True)
    parts = fiche_parts(result)
    out: list[Path] = []
    pdfs: list[Path] = []
    prints: list[tuple[Any, Path, list[Path]]] = []  # (queued print, its PDF, fiche PDFs)
    with contextlib.ExitStack() as stack:
        tmp = (Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=".fiches-",
                                                                    dir=folder)))
               if pdf else None)
        try:
            for start in range(0, len(sirens), FICHES_PER_PRINT):
                htmls: list[str] = []
                for siren in sirens[start:start + FICHES_PER_PRINT]:
                    check()
                    stem = fiche_name(result, str(siren))
                    page_html = fiche_html(result, str(siren), parts=parts)
                    (folder / f"{stem}.html").write_text(page_html, encoding="utf-8")
                    htmls.append(page_html)
                    out.append(folder / f"{stem}.html")
                    pdfs.append(folder / f"{stem}.pdf")
                if tmp is not None:
                    doc, combined = tmp / f"fiches-{start}.html", tmp / f"fiches-{start}.pdf"
                    doc.write_text(combined_html(htmls), encoding="utf-8")
                    prints.append((chromium.submit(_printer(doc, combined, check)), combined,
                                   pdfs[-len(htmls):]))
            if release is not None:
                release()
            for job, combined, targets in prints:  # in order; each raises its print's error
                job.result()
                check()
                _split_pdf(combined, targets)
        except BaseException:
            abort.set()
            for job, _, _ in prints:  # the temporary folder outlives every print using it
                job.exception()
            raise
    return out + (pdfs if pdf else [])


def _printer(doc: Path, combined: Path, check: Callable[[], None]) -> Callable[[Any], None]:
    """A print of ``doc`` (fiches) to ``combined``, run in the browser's thread."""
    from zoning.exports import browser

    def print_all(b: Any) -> None:
        from playwright.sync_api import Error as PlaywrightError  # Chromium runs: importable

        check()
        page = None
        try:
            # one page for every document (a new page would open a new window)
            page = browser.reused_page(b, 794, 1123)
            page.emulate_media(media="print")
            page.goto(doc.resolve().as_uri())
            page.evaluate(FIT_EACH_FICHE)
            check()
            browser.print_pdf(page, combined, landscape=False)
        except BaseException as exc:
            if page is not None:  # the next print starts on a fresh page
                browser.discard_page(b, page)
            if not isinstance(exc, PlaywrightError):
                raise
            # Chromium crashed or timed out: one line, no traceback
            raise ExportError(f"{combined}: Chromium could not print the fiches "
                              f"({str(exc).splitlines()[0]}); no output was replaced, run "
                              "again") from None

    return print_all


def fiches_job(result: RunResult, out_dir: str | Path, chromium: Any = None
               ) -> tuple[Path, Any]:
    """The ``fiches/`` folder of the selected zones as an export job (staged with the run).

    A :class:`zoning.exports.tables.Background` job, ``ahead``: its pages are built first
    (alone: the GIL to themselves), then the other outputs of the run are written while
    Chromium prints them. ``chromium``: see :func:`write_fiches`.
    """
    from zoning.exports.tables import Background

    sel = list(result.epci.index[result.epci["selected"].fillna(False).astype(bool)]
               .astype(str))
    return Path(out_dir) / "fiches", Background(
        lambda tmp, cancelled, release: write_fiches(result, tmp, sel, cancelled=cancelled,
                                                     chromium=chromium, release=release),
        ahead=True)
