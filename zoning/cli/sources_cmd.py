"""``zoning sources``, ``zoning fetch`` and ``zoning check-config``."""

from __future__ import annotations

from pathlib import Path

import click

from zoning import progress
from zoning.cli.options import FiniteFloatRange, config_option, data_dir_option, region_option
from zoning.config import load_config
from zoning.errors import DataFileNotFoundError, DataFormatError, DownloadError
from zoning.fmt import fr_number
from zoning.settings import resolve_data_dir
from zoning.sources import SOURCES, get_source
from zoning.sources.check import (
    DEFAULT_TIMEOUT_S,
    STATUS_FOUND,
    STATUS_INVALID,
    STATUS_MISSING,
    STATUS_OPTIONAL,
    check_sources,
    download_source,
)


def _fmt_rows(n: int | None) -> str:
    """Row count with French digit grouping (narrow no-break space); "–" when unknown."""
    if n is None:
        return "–"
    if n < 0:
        return "n. d."
    return fr_number(n)


@click.command()
@data_dir_option
@config_option
@region_option
def sources(data_dir: Path | None, config_path: Path | None, region: str | None) -> None:
    """List every data source with its vintage, file, status and row count.

    Each file found is read and validated (columns, separator, codes kept as
    text, unique keys, CRS, impossible values such as a negative APL or income), and the
    national files must cover every inhabited commune of the region (a file cut short is
    invalid). Exit code 2 when a required file is missing or a file is invalid; the
    message names every file, column and fix.
    """
    config = load_config(config_path)
    root = resolve_data_dir(data_dir)
    if not root.is_dir():
        raise DataFileNotFoundError(
            f"{root}: data directory not found; give an existing folder with --data-dir or "
            "ZONING_DATA_DIR, or create it and run `zoning fetch`"
        )
    from zoning.criteria import mark_uncovered_sources

    results = mark_uncovered_sources(root, region or config.run.region, config,
                                     check_sources(root))
    click.echo(f"Dossier de données : {root}")
    header = ("source", "millésime", "fichier", "état", "lignes")
    rows = [
        (s.id, s.vintage, s.file + (f" [{','.join(s.layer)}]" if s.layer else ""), status,
         _fmt_rows(n))
        for s, status, n, _ in results
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    widths[1] = min(widths[1], 38)

    def line(r: tuple[str, ...]) -> str:
        cells = [str(c)[: widths[i]].ljust(widths[i]) for i, c in enumerate(r[:-1])]
        return "  ".join([*cells, str(r[-1]).rjust(widths[-1])])

    click.echo(line(header))
    click.echo("  ".join("-" * w for w in widths))
    for r in rows:
        click.echo(line(r))
    invalid = [p for _, status, _, p in results if status == STATUS_INVALID]
    missing = [p for _, status, _, p in results if status == STATUS_MISSING]
    optional = [s.id for s, status, _, _ in results if status == STATUS_OPTIONAL]
    if optional:
        why = {"ald": "ALD départemental : remplacé par CartoSanté par bassin de vie, ou --ald",
               "ald_bv": "ALD CartoSanté : le critère 3 est signalé comme manquant",
               "bv_communes": "bassins de vie : le critère 3 est signalé comme manquant",
               "mg_2019": "effectifs de généralistes 2019 : seule la variante APL du critère 2",
               "filosofi_epci": "Filosofi EPCI 2019 : pas de mesure de l'approximation",
               "smursamu": "SMURSAMU : les SMUR pédiatriques seuls ne sont pas identifiés"}
        reasons = "; ".join(why[i] for i in optional if i in why)
        click.echo(f"Sources facultatives absentes : {', '.join(optional)}"
                   + (f" ({reasons})." if reasons else "."))
    status = {s.id: st for s, st, _, _ in results}
    if status.get("urgences") == STATUS_FOUND and status.get("communes") == STATUS_FOUND:
        _print_site_check(root)
    if invalid:
        raise DataFormatError(" | ".join(invalid + missing))
    if missing:
        raise DataFileNotFoundError(" | ".join(missing))


def _print_site_check(root: Path) -> None:
    """The automatic check of the emergency sites' positions (name, distance to commune)."""
    from zoning.sources import read_communes, read_facilities
    from zoning.sources.sites import MAX_KM, check_sites

    flagged = check_sites(read_facilities(root), read_communes(root))
    fixed = flagged[flagged["corrige"]]
    todo = flagged[~flagged["corrige"]]
    click.echo("")
    click.echo(
        f"Sites d'urgence (SU / SMUR) : {len(flagged)} à position douteuse (le nom désigne un "
        f"autre lieu que la commune géocodée, ou point à plus de {MAX_KM:g} km de sa commune), "
        f"dont {len(fixed)} corrigé(s) par la table zoning/sources/corrections/"
        "facility_coordinates.csv :"
    )
    for f, r in fixed.iterrows():
        click.echo(f"  corrigé  {f} {r['nom']} : {r['probleme']} -> {r['correction']}")
    for f, r in todo.iterrows():
        click.echo(f"  à vérifier  {f} {r['nom']} : {r['probleme']}")


@click.command()
@data_dir_option
@click.option("--only", "only", multiple=True, metavar="ID",
              help="Only this source id (repeatable); see `zoning sources`.")
@click.option("--timeout", type=FiniteFloatRange(min=0, min_open=True),
              default=DEFAULT_TIMEOUT_S, show_default=True, help="Network timeout in seconds.")
def fetch(data_dir: Path | None, only: tuple[str, ...], timeout: float) -> None:
    """Download the official files missing from the data directory.

    Files already present are left alone. Files published as is (INSEE Filosofi,
    Geofabrik OSM extract) are downloaded with checksum verification; files that
    are our documented derivations of official products (GeoPackages, stacked CSV)
    cannot be downloaded: the message says which product to download and how to
    convert it. Exit code 2 when any file is still missing (e.g. offline).
    """
    root = resolve_data_dir(data_dir)
    selected = [get_source(i) for i in only] if only else list(SOURCES)
    problems: list[str] = []
    seen: set[str] = set()
    for src in selected:
        target = src.path(root)
        if src.file in seen:
            continue
        seen.add(src.file)
        if target.is_file():
            click.echo(f"{src.id}: present ({target})")
            continue
        if not src.required and not only:
            click.echo(f"{src.id}: optional, absent ({target}); {src.fix_hint(root)}")
            continue
        try:
            with progress.step(f"Téléchargement {src.id}"):
                path = download_source(src, root, timeout=timeout)
            click.echo(f"{src.id}: downloaded to {path}")
        except DownloadError as exc:
            problems.append(str(exc))
    if problems:
        raise DownloadError(f"{len(problems)} file(s) still missing: " + " | ".join(problems))
    click.echo("All selected files are present.")


@click.command("check-config")
@click.argument("config_file", required=False,
                type=click.Path(dir_okay=False, path_type=Path))
def check_config(config_file: Path | None) -> None:
    """Validate a criteria configuration file (default: config/criteria.toml).

    Every problem is reported at once with the file name and the key path
    (unknown key, negative weight, weights not summing to 1, unknown criterion or
    normalisation, bad types); exit code 2 when the file is invalid.
    """
    cfg = load_config(config_file)
    click.echo(f"{cfg.source_path} : valide ({len(cfg.criteria)} critères, région "
               f"{cfg.run.region}, {cfg.run.priority_zones} zones prioritaires)")
    sens = {"higher_is_better": "plus haut = mieux", "higher_is_worse": "plus haut = pire"}
    for c in cfg.criteria:
        weight = fr_number(c.weight, 2)
        click.echo(f"  {c.id:<11} poids {weight:<5} {sens.get(c.direction, c.direction):<17} "
                   f"{c.label}")


@click.command()
@data_dir_option
@config_option
@region_option
def territory(data_dir: Path | None, config_path: Path | None, region: str | None) -> None:
    """Show how a region resolves to EPCI and communes.

    Each EPCI belongs to the region holding most of its population; the
    territory is those EPCI and all their communes.
    """
    from zoning.territory import load_territory

    root = resolve_data_dir(data_dir)
    terr = load_territory(root, region or load_config(config_path).run.region)
    click.echo(terr.summary())
    by_type = terr.epci["epci_type"].value_counts().sort_index()
    click.echo("EPCI par type : " + ", ".join(f"{k} {v}" for k, v in by_type.items()))
    outside = terr.communes.loc[~terr.communes["in_region"]]
    click.echo(f"Communes hors région rattachées par leur EPCI : {len(outside)}")
    n_mairie = int((terr.communes["point_source"] == "mairie").sum())
    click.echo(f"Points de population : {n_mairie} mairies, "
               f"{len(terr.communes) - n_mairie} points représentatifs")


COMMANDS: list[click.Command] = [sources, fetch, check_config, territory]

__all__ = ["COMMANDS"]
