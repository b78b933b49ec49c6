"""``zoning fiche``: the one-page A4 fiche (HTML and PDF) of one EPCI."""

from __future__ import annotations

from pathlib import Path

import click

from zoning.cli.options import config_option, data_dir_option, output_option, region_option


@click.command("fiche")
@click.argument("epci")
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GeoPackage written by zoning score (default: the only zoning_*.gpkg in the "
              "output folder; when there is none, the run is computed).")
@data_dir_option
@config_option
@region_option
@output_option
@click.option("--no-pdf", is_flag=True, help="Write the HTML page only (no Chromium).")
@click.pass_context
def fiche(ctx: click.Context, epci: str, source: Path | None, data_dir: Path | None,
          config_path: Path | None, region: str | None, output: Path, no_pdf: bool) -> None:
    """Write the one-page fiche of an EPCI (SIREN or name) into OUTPUT/fiches/.

    Identity and population, rank with its interval and robustness, the five criteria
    against the region's distribution, a map of its communes' travel times with the nearest
    sites, the communes table, sources and caveats. Example: zoning fiche "Grand-Figeac"
    """
    from zoning import pipeline, progress
    from zoning.atomic import atomic_path
    from zoning.exports import ensure_output_dir, read_geopackage
    from zoning.exports.fiche import fiche_name, write_fiches

    folder = ensure_output_dir(output / "fiches")
    gpkg = source
    if gpkg is None:
        found = sorted(output.glob("zoning_*.gpkg"))
        gpkg = found[0] if len(found) == 1 else None
    if gpkg is not None:
        with progress.step("Lecture du GeoPackage"):
            result = read_geopackage(gpkg)
    else:
        from zoning.config import load_config
        from zoning.settings import resolve_data_dir

        result = pipeline.run(load_config(config_path), resolve_data_dir(data_dir),
                              region=region).result
    siren = pipeline.resolve_epci(result, epci)
    stem = fiche_name(result, siren)
    with progress.step("Fiche (HTML et PDF)"):
        # written beside, then renamed: a failed fiche leaves the previous one in place
        with atomic_path(folder / f"{stem}.html") as tmp_html:
            tmp_dir = tmp_html.parent / f".{stem}.tmp"
            files = write_fiches(result, tmp_dir, [siren], pdf=not no_pdf)
            try:
                for f in files:
                    if f.suffix == ".pdf":
                        f.replace(folder / f.name)
                files[0].replace(tmp_html)
            finally:
                for f in tmp_dir.glob("*"):
                    f.unlink()
                tmp_dir.rmdir()
    if not (ctx.obj and ctx.obj.get("quiet")):
        click.echo(f"Fiche : {folder / f'{stem}.html'}")
        if not no_pdf:
            click.echo(f"PDF : {folder / f'{stem}.pdf'}")


COMMANDS: list[click.Command] = [fiche]
