"""``zoning travel-times``: road travel times to the nearest SU / SMUR (thin wiring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from zoning import progress
from zoning.atomic import check_output_target
from zoning.cli.options import (
    FiniteFloatRange,
    config_option,
    data_dir_option,
    output_option,
    region_option,
)
from zoning.config import load_config
from zoning.errors import ExportError
from zoning.fmt import fr_number, fr_percent
from zoning.settings import resolve_data_dir


def _int(x: float) -> str:
    return fr_number(x, sep=" ")


def _dec(x: float, signed: bool = False) -> str:
    """One decimal, French decimal comma; "–" when missing."""
    return fr_number(x, 1, sep=" ", signed=signed)


def _pct(x: float) -> str:
    return fr_percent(x, 1, sep=" ", symbol=" %")


def _print_summary(travel: Any, territory: Any, title: str) -> None:
    thr = travel.threshold_min
    worst = travel.worst_epci(10)
    names = territory.epci["epci_nom"]
    rows = pd.DataFrame({
        "EPCI": names.reindex(worst.index).astype(str).str.slice(0, 45).to_numpy(),
        "Dép.": territory.epci["dep"].reindex(worst.index).astype(str).to_numpy(),
        f"Pop. > {thr:g} min": [_int(v) for v in worst["pop_beyond"]],
        f"Part > {thr:g} min": [_pct(v) for v in worst["share_beyond"]],
        "Temps moyen (min)": [_dec(v) for v in worst["t_mean_min"]],
        "Pondération": worst["weights_source"].to_numpy(),
    }, index=pd.Index(worst.index, name="SIREN"))
    click.echo(f"\n{title}")
    click.echo(f"EPCI avec la plus forte part de population à plus de {thr:g} min :")
    click.echo(rows.to_string())
    reg = travel.regional
    click.echo(
        f"Région {territory.region_name} : {_pct(reg['share_beyond'])} de la population "
        f"({_int(reg['pop_beyond'])} hab. sur {_int(reg['population'])}, "
        f"pondération {reg['weights_source']}) à plus de {thr:g} min"
    )
    click.echo(travel.criterion4_summary(territory.epci["epci_nom"]))
    code, t = travel.longest_commune()
    com = territory.communes
    fin = travel.communes.at[code, "nom_urgence"]
    click.echo(
        f"Commune la plus éloignée : {com.at[code, 'nom']} ({code}, {com.at[code, 'dep']}) : "
        f"{_dec(t)} min jusqu'à {fin}"
    )


@click.command("travel-times")
@data_dir_option
@config_option
@region_option
@click.option("--facilities", "either", type=click.Choice(["su", "smur", "su_or_smur"]),
              default=None,
              help="Facility set of the EPCI indicator (default: travel.facilities of the config). "
              "SU and SMUR times are always reported too.")
@click.option("--threshold", type=FiniteFloatRange(min=0.0, min_open=True), default=None,
              help="Threshold in minutes (default: travel.threshold_min of the config, 30).")
@click.option("--close", multiple=True, metavar="FINESS",
              help="Scenario: close this site (repeatable).")
@click.option("--add", multiple=True, metavar="LON,LAT,NAME",
              help="Scenario: add a site counting as SU and SMUR, e.g. '1.95,44.2,Nouveau SU' "
              "(repeatable).")
@click.option("--network", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Road network: an .osm.pbf extract (repeatable to merge extracts) or a line "
              "layer with a road-class column (default: the Travel Mapping graph of the data "
              "directory).")
@click.option("--class-column", default="road_class", show_default=True,
              help="Road-class column of a line-layer network.")
@click.option("--resolution", type=FiniteFloatRange(min=50.0), default=1000.0, show_default=True,
              help="GeoTIFF cell size in metres.")
@click.option("--no-grid", is_flag=True,
              help="Weight EPCI means by commune populations instead of the 1 km grid.")
@output_option
@click.pass_context
def travel_times(ctx: click.Context, data_dir: Path | None, config_path: Path | None,
                 region: str | None, either: str | None, threshold: float | None,
                 close: tuple[str, ...], add: tuple[str, ...], network: tuple[Path, ...],
                 class_column: str, resolution: float, no_grid: bool, output: Path) -> None:
    """Road travel times to the nearest emergency service (SU, SMUR) per commune and EPCI.

    Writes per-commune and per-EPCI CSV tables and a GeoTIFF of the times
    (EPSG:2154), and prints the EPCI with the largest share of population beyond
    the threshold, the regional share and the commune farthest away. With
    --close / --add, the scenario is computed too and the difference per EPCI
    is written and printed.
    """
    from zoning import traveltimes as tt
    from zoning.exports import write_travel_outputs
    from zoning.territory import load_territory

    config = load_config(config_path)
    ddir = resolve_data_dir(data_dir)
    added = [tt.parse_added_site(a) for a in add]  # fail before any long step
    check_output_target(output)
    with progress.step("Chargement du territoire"):
        territory = load_territory(ddir, region or config.run.region)
    base = tt.run_travel_times(territory, config, ddir, network=list(network) or None,
                               class_column=class_column, use_grid=not no_grid, either=either,
                               threshold_min=threshold, close=close, add=added)
    graph = base.graph
    scenario = base.scenario
    # every computation succeeded: write the outputs
    try:
        with progress.step("Écriture des fichiers"):
            removed: list[str] = []
            written = write_travel_outputs(base, territory, config, output, resolution,
                                           removed=removed)
    except OSError as exc:
        raise ExportError(f"{output}: cannot write the outputs ({exc.strerror or exc}); "
                          "no output was replaced (choose another folder with --output)"
                          ) from None

    label = tt.URGENCE_LABELS[base.either]
    click.echo(f"Réseau : {base.note}")
    click.echo(f"Graphe : {graph.summary()}")
    click.echo(f"Établissements utilisés : {len(base.sites)} sites SU/SMUR à portée du réseau "
               f"(toutes régions) ; indicateur : plus proche {label}")
    _print_summary(base, territory, "Situation actuelle")
    if scenario is not None:
        _print_summary(scenario, territory, "Scénario (" + ", ".join(
            [f"fermeture {c}" for c in close] + [f"ajout {a.name}" for a in added]) + ")")
        diff = tt.scenario_difference(base, scenario)
        changed = diff[diff["delta_t_mean_min"].abs() > 1e-9].head(10)
        click.echo("\nEPCI les plus touchés par le scénario (temps moyen, part au-delà du seuil) :")
        if len(changed):
            table = pd.DataFrame({
                "EPCI": territory.epci["epci_nom"].reindex(changed.index).astype(str)
                .str.slice(0, 45).to_numpy(),
                "Avant (min)": [_dec(v) for v in changed["t_mean_min_avant"]],
                "Après (min)": [_dec(v) for v in changed["t_mean_min_apres"]],
                "Écart (min)": [_dec(v, signed=True) for v in changed["delta_t_mean_min"]],
                "Part avant": [_pct(v) for v in changed["share_beyond_avant"]],
                "Part après": [_pct(v) for v in changed["share_beyond_apres"]],
            }, index=pd.Index(changed.index, name="SIREN"))
            click.echo(table.to_string())
        else:
            click.echo("aucun EPCI ne change")
    click.echo(f"\nFichiers écrits dans {output} : {', '.join(written)}")
    if removed:
        click.echo("Supprimés (fichiers de la précédente exécution que celle-ci ne produit pas) : "
                   + ", ".join(removed))


COMMANDS: list[click.Command] = [travel_times]
