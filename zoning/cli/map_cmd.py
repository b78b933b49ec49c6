"""``zoning map``: redraw the web map from a GeoPackage written by ``zoning score``."""

from __future__ import annotations

from pathlib import Path

import click

from zoning.errors import ExportError


def _find_gpkg(output: Path) -> Path:
    found = sorted(output.glob("zoning_*.gpkg"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise ExportError(f"{output}: no zoning_*.gpkg here; give the GeoPackage written by "
                          "zoning score with --from FILE.gpkg")
    names = ", ".join(p.name for p in found)
    raise ExportError(f"{output}: several GeoPackages ({names}); choose one with --from")


@click.command("map")
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GeoPackage written by zoning score (default: the only zoning_*.gpkg in the "
              "output folder).")
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("maps"), show_default=True, help="Output folder of the HTML map.")
@click.option("--screenshot", "png", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also save a PNG picture of the map (headless Chromium).")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also print a static A4 landscape PDF of the map (title, legend, scale bar, "
              "north arrow, sources; headless Chromium).")
@click.option("--offline-tiles", is_flag=True,
              help="For the picture: block the network (no basemap tiles).")
@click.option("--size", default="1400x900", show_default=True,
              help="Picture size in pixels, WIDTHxHEIGHT.")
@click.pass_context
def map_command(ctx: click.Context, source: Path | None, output: Path, png: Path | None,
                pdf: Path | None, offline_tiles: bool, size: str) -> None:
    """Rebuild the interactive map (HTML) from a previously written GeoPackage.

    The map is one self-contained file that opens offline in any browser. Example:
    zoning map --from maps/zoning_76.gpkg -o maps/ --screenshot maps/zoning_76.png
    --pdf maps/zoning_76.pdf
    """
    from zoning import progress
    from zoning.atomic import output_set
    from zoning.exports import ensure_output_dir, read_geopackage, screenshot
    from zoning.exports._common import slug
    from zoning.exports.webmap import map_job

    width, height = parse_size(size)
    gpkg = source if source is not None else _find_gpkg(output)
    ensure_output_dir(output)
    if png is not None:
        ensure_output_dir(png.parent, option="--screenshot")
    if pdf is not None:
        ensure_output_dir(pdf.parent, option="--pdf")
    with progress.step("Lecture du GeoPackage"):
        result = read_geopackage(gpkg)
    stem = slug(result)
    target, write = map_job(result, output / f"{stem}.html")
    # the map and its picture are one output set: both replace the previous ones, or neither
    with output_set(output, f"carte_{stem}") as staged:
        with progress.step("Écriture de la carte"):
            write(staged.path(target.name))
        if png is not None:
            with progress.step("Capture d'écran (Chromium)"):
                screenshot(staged.path(target.name), staged.path_for(png), width=width,
                           height=height, offline=offline_tiles)
        if pdf is not None:  # part of the same set
            from zoning.exports.browser import map_pdf

            with progress.step("Carte A4 en PDF (Chromium)"):
                map_pdf(staged.path(target.name), staged.path_for(pdf))
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    if not quiet:
        click.echo(f"Carte : {target}")
        if png is not None:
            click.echo(f"Image : {png}")
        if pdf is not None:
            click.echo(f"PDF : {pdf}")


MAX_PIXELS = 16384
"""Largest picture side Chromium renders (its texture limit)."""


def parse_size(size: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` in pixels, each between 1 and :data:`MAX_PIXELS`.

    Raises
    ------
    click.BadParameter
        On anything else (``0x0``, ``big``, ``-5x3``).
    """
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{size!r}: expected WIDTHxHEIGHT, e.g. 1400x900",
                                 param_hint="--size") from None
    if not (1 <= width <= MAX_PIXELS and 1 <= height <= MAX_PIXELS):
        raise click.BadParameter(f"{size!r}: width and height must be between 1 and "
                                 f"{MAX_PIXELS} pixels, e.g. 1400x900", param_hint="--size")
    return width, height


COMMANDS: list[click.Command] = [map_command]
