"""Travel-time outputs: the GeoTIFF of times to SU / SMUR / either, and the tables of
``zoning travel-times`` (communes, EPCI, scenario difference)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.atomic import atomic_path, output_set
from zoning.config import Config
from zoning.text import formula_safe_frame
from zoning.traveltimes import (
    KIND_LABELS,
    KINDS,
    URGENCE_LABELS,
    TravelTimes,
    _origin_arrays,
    scenario_difference,
)

COMMUNES_CSV = "temps_urgences_communes.csv"
EPCI_CSV = "temps_urgences_epci.csv"
RASTER_TIF = "temps_urgences.tif"
SCENARIO_DIFF_CSV = "scenario_urgences_epci_difference.csv"


@dataclass(frozen=True)
class TimeRaster:
    """The GeoTIFF's bands before writing: minutes to SU, SMUR and either (float32, nodata -1),
    on a grid of ``height`` x ``width`` cells placed by ``transform`` (an affine) in ``crs``."""

    bands: tuple[np.ndarray, ...]
    transform: Any
    width: int
    height: int
    crs: Any


def time_raster(
    travel: TravelTimes,
    config: Config,
    resolution_m: float = 1000.0,
    mask: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
) -> TimeRaster:
    """Travel times from each raster cell centre to SU, SMUR and either (EPSG:2154).

    Each cell centre is treated as an origin (nearest graph node + access leg), so the
    raster agrees with the commune and grid-cell tables. Cells outside ``mask`` and those
    the network does not reach ("hors couverture") are nodata (-1), never extrapolated.

    Parameters
    ----------
    travel
        Result of :func:`zoning.traveltimes.run_travel_times`.
    config
        ``[routing]`` access-leg model.
    resolution_m
        Cell size in metres.
    mask
        Geometries limiting the raster (default: the graph bounding box, no mask).

    Returns
    -------
    TimeRaster
    """
    from affine import Affine
    from rasterio.features import geometry_mask

    graph = travel.graph
    if mask is not None:
        xmin, ymin, xmax, ymax = (float(b) for b in mask.total_bounds)
    else:
        xmin, ymin, xmax, ymax = graph.bounds
    res = float(resolution_m)
    xmin, ymin = math.floor(xmin / res) * res, math.floor(ymin / res) * res
    xmax, ymax = math.ceil(xmax / res) * res, math.ceil(ymax / res) * res
    width, height = int(round((xmax - xmin) / res)), int(round((ymax - ymin) / res))
    transform = Affine(res, 0.0, xmin, 0.0, -res, ymax)
    cx = xmin + (np.arange(width) + 0.5) * res
    cy = ymax - (np.arange(height) + 0.5) * res
    gx, gy = np.meshgrid(cx, cy)
    inside = np.ones((height, width), dtype=bool)
    if mask is not None:
        inside = geometry_mask(list(mask.geometry if hasattr(mask, "geometry") else mask),
                               out_shape=(height, width), transform=transform, invert=True)
    # each cell centre is an origin like a commune point or a grid cell: same access model,
    # no time where the network does not reach ("hors couverture": nodata, never extrapolated)
    # (the times only, from the cell-centre coordinates: no points, no facility names)
    keep = inside.ravel()
    times = _origin_arrays(graph, gx.ravel()[keep], gy.ravel()[keep], travel.node_times,
                           config, context=travel.context, crs=graph.crs)
    bands = []
    for kind in KINDS:
        band = np.full((height, width), -1.0, dtype=np.float32)
        t = times[f"t_{kind}_min"]
        band[inside] = np.where(np.isfinite(t), t, -1.0).astype(np.float32)
        bands.append(band)
    return TimeRaster(tuple(bands), transform, width, height, graph.crs)


def write_time_raster(
    travel: TravelTimes,
    path: str | os.PathLike[str],
    config: Config,
    resolution_m: float = 1000.0,
    mask: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    raster: TimeRaster | None = None,
) -> Path:
    """Write the travel times to SU, SMUR and either as a 3-band GeoTIFF (EPSG:2154).

    The bands are those of :func:`time_raster` (minutes, float32, nodata -1). The file is
    written atomically and carries the road-network note in its metadata (tag ``RESEAU``)
    and per-band descriptions.

    Parameters
    ----------
    travel
        Result of :func:`zoning.traveltimes.run_travel_times`.
    path
        Target ``.tif``.
    config
        ``[routing]`` access-leg model.
    resolution_m
        Cell size in metres (1 km by default; finer is allowed).
    mask
        Geometries limiting the raster (default: the graph bounding box, no mask).
    raster
        The bands already computed by ``time_raster(travel, config, resolution_m, mask)``
        (while the run was scored: :class:`zoning.exports.geometry.PreparedGeometry`);
        default: computed here.

    Returns
    -------
    Path
    """
    import rasterio

    if raster is None:
        raster = time_raster(travel, config, resolution_m, mask)
    target = Path(path)
    with atomic_path(target) as tmp:
        with rasterio.open(
            tmp, "w", driver="GTiff", width=raster.width, height=raster.height,
            count=len(KINDS), dtype="float32", crs=raster.crs, transform=raster.transform,
            nodata=-1.0, compress="deflate",
        ) as dst:
            for i, (kind, band) in enumerate(zip(KINDS, raster.bands, strict=True), start=1):
                dst.write(band, i)
                label = KIND_LABELS[kind] if kind != "urgence" else URGENCE_LABELS[travel.either]
                dst.set_band_description(i, f"temps d'accès (min) au plus proche {label}")
            dst.update_tags(RESEAU=travel.note, UNITE="minutes",
                            SEUIL_MIN=str(travel.threshold_min),
                            METHODE="centre de cellule -> noeud le plus proche + trajet d'accès")
    return target


RASTER_CLASSES = ((10, "< 10 min", "#ffffcc"), (20, "10 – 20 min", "#c7e9b4"),
                  (30, "20 – 30 min", "#7fcdbb"), (45, "30 – 45 min", "#41b6c4"),
                  (60, "45 – 60 min", "#225ea8"), (math.inf, "≥ 60 min", "#081d58"))
"""Travel-time classes of the GeoTIFF's QGIS style (upper bound in minutes, label, colour)."""


def raster_qml(band: int = 3) -> str:
    """QGIS style (``.qml``) of the travel-time GeoTIFF: discrete classes 0–10–20–30–45–60+.

    Saved beside the ``.tif`` with the same name, QGIS opens the raster with it (band 3 =
    nearest SU or SMUR) instead of a red-green-blue composite of the three bands.
    """
    from xml.sax.saxutils import quoteattr

    items = "\n".join(
        f'          <item alpha="255" value={quoteattr("inf" if math.isinf(v) else str(v))} '
        f'label={quoteattr(lab)} color={quoteattr(col)}/>' for v, lab, col in RASTER_CLASSES)
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28" styleCategories="AllStyleCategories">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="{band}" opacity="1" alphaBand="-1"
                    classificationMin="0" classificationMax="60" nodataColor="">
      <rasterTransparency/>
      <minMaxOrigin><limits>None</limits><extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy></minMaxOrigin>
      <rastershader>
        <colorrampshader colorRampType="DISCRETE" classificationMode="3" clip="0"
                         minimumValue="0" maximumValue="60">
{items}
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
"""


def _scenario_name(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_scenario.{ext}" if dot else f"{name}_scenario"


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    # a name starting with = + - @ would run as a formula when the CSV is opened
    formula_safe_frame(frame).to_csv(path, encoding="utf-8")


def commune_time_table(travel: TravelTimes, territory: Any) -> pd.DataFrame:
    """Per commune of the territory: attributes, times and facilities reached, network note."""
    com = territory.communes[["nom", "dep", "reg", "epci_siren", "population"]]
    out = com.join(travel.communes, how="left")
    out["reseau_routier"] = travel.note
    out.index.name = "code_insee"
    return out


def epci_time_table(travel: TravelTimes, territory: Any) -> pd.DataFrame:
    """Per EPCI of the territory: name, département, population and the time summaries."""
    out = territory.epci[["epci_nom", "dep", "population"]].join(travel.epci, how="left")
    out["seuil_min"] = travel.threshold_min
    out["reseau_routier"] = travel.note
    return out


def write_travel_outputs(
    travel: TravelTimes, territory: Any, config: Config, out_dir: str | os.PathLike[str],
    resolution_m: float = 1000.0, removed: list[str] | None = None,
) -> list[str]:
    """Write the files of ``zoning travel-times`` (and of its scenario, when there is one).

    Per situation: commune and EPCI CSV tables and the GeoTIFF (masked to the territory's
    communes); with a scenario, the same files suffixed ``_scenario`` and the per-EPCI
    difference table. All or nothing: the files are one output set (``temps_urgences``,
    :func:`zoning.atomic.output_set`) and replace the previous ones together; files of a
    previous run that this one does not write (a previous scenario) are removed.

    Parameters
    ----------
    travel
        :func:`zoning.traveltimes.run_travel_times` result (``.scenario`` optional).
    territory
        The territory.
    config
        ``[routing]`` access-leg model (raster cells).
    out_dir
        Output folder.
    resolution_m
        GeoTIFF cell size.
    removed
        When given, receives the names of the previous run's files that were removed.

    Returns
    -------
    list of str
        Names of the files written.
    """
    mask = territory.epci.geometry  # the communes' union: same cells, 6x quicker to rasterise
    written: list[str] = []
    with output_set(Path(out_dir), "temps_urgences") as staged:
        for situation, suffix in ((travel, False), (travel.scenario, True)):
            if situation is None:
                continue
            names = [_scenario_name(n) if suffix else n
                     for n in (COMMUNES_CSV, EPCI_CSV, RASTER_TIF)]
            _write_csv(commune_time_table(situation, territory), staged.path(names[0]))
            _write_csv(epci_time_table(situation, territory), staged.path(names[1]))
            write_time_raster(situation, staged.path(names[2]), config,
                              resolution_m=resolution_m, mask=mask)
            qml = Path(names[2]).with_suffix(".qml").name  # QGIS loads it with the raster
            staged.path(qml).write_text(raster_qml(), encoding="utf-8")
            written += [*names, qml]
        if travel.scenario is not None:
            diff = scenario_difference(travel, travel.scenario)
            diff = territory.epci[["epci_nom"]].join(diff, how="right")
            diff["reseau_routier"] = travel.note
            _write_csv(diff, staged.path(SCENARIO_DIFF_CSV))
            written.append(SCENARIO_DIFF_CSV)
    if removed is not None:
        removed += [p.name for p in staged.removed]
    return written
