"""Small test files: folder snapshots (output-set tests), a tiny road line layer (graph tests)."""

from __future__ import annotations

from pathlib import Path


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` (hidden ones too): file bytes, or "<dir>"."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = "<dir>" if p.is_dir() else p.read_bytes()
    return out


def write_lines(path: Path, classes: list[str], column: str = "road_class") -> Path:
    """A square with a diagonal (4 nodes, 5 lines, the third one bent), in Lambert-93 around
    Toulouse, written as layer ``edges`` of a GeoPackage in EPSG:4326; ``classes`` = the
    road class of each line, in column ``column``."""
    import geopandas as gpd
    from shapely.geometry import LineString

    x0, y0 = 574_000.0, 6_280_000.0
    lines = [
        LineString([(x0, y0), (x0 + 1000, y0)]),
        LineString([(x0 + 1000, y0), (x0 + 1000, y0 + 1000)]),
        LineString([(x0 + 1000, y0 + 1000), (x0 + 500, y0 + 1500), (x0, y0 + 1000)]),
        LineString([(x0, y0 + 1000), (x0, y0)]),
        LineString([(x0, y0), (x0 + 1000, y0 + 1000)]),
    ]
    gdf = gpd.GeoDataFrame({column: classes}, geometry=lines, crs="EPSG:2154").to_crs(4326)
    gdf.to_file(path, layer="edges", driver="GPKG")
    return path
