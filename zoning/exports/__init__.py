"""Outputs for people: ranked tables, GeoPackage for QGIS, offline web map, screenshots.

Every function takes a :class:`zoning.results.RunResult` (geometries in EPSG:2154) and
writes atomically: a failed export leaves the previous files intact and no partial file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from zoning.exports._common import slug
from zoning.exports.geopackage import geopackage_job, read_geopackage, write_geopackage
from zoning.exports.screenshot import screenshot
from zoning.exports.tables import Job, ensure_output_dir, run_jobs, table_jobs, write_tables
from zoning.exports.webmap import map_job, write_map
from zoning.results import RunResult

__all__ = ["ensure_output_dir", "read_geopackage", "screenshot", "write_all",
           "write_geopackage", "write_map", "write_tables"]


def write_all(
    result: RunResult, out_dir: str | Path, french_csv: bool = True,
    extra_jobs: Sequence[Job] = (),
) -> dict[str, Path]:
    """Write every output of a run into ``out_dir``, all or nothing.

    Every file is first written to a temporary file beside its target; the targets are
    replaced only once all of them were written, so a failure leaves the previous
    outputs intact and no partial file.

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
        travel-time GeoTIFF); ``writer`` receives the temporary path to write.

    Returns
    -------
    dict of str to Path
        ``geopackage``, ``map``, ``csv_epci``, ``csv_communes``, (``csv_epci_fr``,
        ``csv_communes_fr``), ``xlsx``, and ``raster`` when the run wrote a GeoTIFF.
    """
    out_dir = Path(out_dir)
    stem = slug(result)
    jobs = [geopackage_job(result, out_dir / f"{stem}.gpkg"),
            map_job(result, out_dir / f"{stem}.html")]
    jobs += table_jobs(result, out_dir, french_csv)
    run_jobs(jobs + list(extra_jobs))
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
