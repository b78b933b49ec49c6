"""Outputs for people: ranked tables, GeoPackage for QGIS, offline web map, screenshots.

Every function takes a :class:`zoning.results.RunResult` (geometries in EPSG:2154) and
writes atomically: a failed export leaves the previous files intact and no partial file.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoning.exports.screenshot import screenshot  # light; its name is also a submodule's
from zoning.results import RunResult

if TYPE_CHECKING:  # imported on first use (folium and xlsxwriter are slow to import)
    from zoning.exports.geopackage import read_geopackage, write_geopackage
    from zoning.exports.tables import Job, ensure_output_dir, scenario_job, write_tables
    from zoning.exports.travel import write_time_raster, write_travel_outputs
    from zoning.exports.webmap import write_map

_LAZY = {
    "read_geopackage": "geopackage", "write_geopackage": "geopackage",
    "ensure_output_dir": "tables", "write_tables": "tables", "scenario_job": "tables",
    "Job": "tables", "write_map": "webmap", "write_time_raster": "travel",
    "write_travel_outputs": "travel",
}

__all__ = ["ensure_output_dir", "read_geopackage", "scenario_job", "screenshot", "write_all",
           "write_geopackage", "write_map", "write_tables", "write_time_raster",
           "write_travel_outputs"]


def __getattr__(name: str) -> Any:
    """Import the submodule holding ``name`` on first use (``zoning travel-times`` needs no
    folium nor xlsxwriter)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zoning.exports' has no attribute {name!r}")
    return getattr(importlib.import_module(f"zoning.exports.{module}"), name)


def write_all(
    result: RunResult, out_dir: str | Path, french_csv: bool = True,
    extra_jobs: Sequence[Job] = (),
) -> dict[str, Path]:
    """Write every output of a run into ``out_dir``, all or nothing.

    Every file is first written into a staging folder beside the targets; the whole set
    then replaces the previous one in one short step (:func:`zoning.atomic.output_set`),
    so a failure or an interruption leaves the previous outputs intact and no partial
    file, and files of the previous run that this one does not write (a GeoTIFF of a run
    with travel times) are removed: the folder never mixes two runs.

    Parameters
    ----------
    result
        The run to export.
    out_dir
        Output folder (created if needed), e.g. ``maps/``.
    french_csv
        Also write the ``;``-separated, decimal-comma CSV variants.
    extra_jobs
        More ``(target, writer)`` pairs written in the same all-or-nothing step (the
        travel-time GeoTIFF); ``writer`` receives the staged path to write.

    Returns
    -------
    dict of str to Path
        ``geopackage``, ``map``, ``csv_epci``, ``csv_communes``, (``csv_epci_fr``,
        ``csv_communes_fr``), ``xlsx``, and ``raster`` when the run wrote a GeoTIFF.
    """
    from zoning.exports._common import slug
    from zoning.exports.geopackage import geopackage_job
    from zoning.exports.tables import run_jobs, table_jobs
    from zoning.exports.webmap import map_job

    out_dir = Path(out_dir)
    stem = slug(result)
    jobs = [geopackage_job(result, out_dir / f"{stem}.gpkg"),
            map_job(result, out_dir / f"{stem}.html")]
    jobs += table_jobs(result, out_dir, french_csv)
    run_jobs(jobs + list(extra_jobs), name=stem)
    out: dict[str, Path] = {}
    for target, _ in jobs:
        name = target.name[len(stem):].lstrip("_")
        key = {".gpkg": "geopackage", ".html": "map", ".xlsx": "xlsx"}.get(
            name, "csv_" + name.removesuffix(".csv"))
        out[key] = target
    for target, _ in extra_jobs:
        out["raster" if target.suffix == ".tif" else target.name] = target
    if "raster" not in out and result.raster_path is not None:
        out["raster"] = Path(result.raster_path)
    return out
