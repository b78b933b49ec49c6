"""``zoning calibrate``: thin wiring over :func:`zoning.pipeline.run_calibration`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from zoning.cli.options import config_option, data_dir_option, region_option
from zoning.config import load_config
from zoning.fmt import fr_number, fr_percent
from zoning.labels import decimals, short_label
from zoning.settings import resolve_data_dir


def _cv(value: str) -> int | str:
    v = value.strip().lower()
    if v == "loo":
        return "loo"
    try:
        k = int(v)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a number of folds (e.g. 5) or 'loo'") from None
    if k < 2:
        raise click.BadParameter(f"{k}: at least 2 folds (or 'loo')")
    return k


def _worst_table(rows: pd.DataFrame, names: pd.Series, config: Any, ids: list[str]) -> str:
    out: dict[str, list[str]] = {
        "EPCI": [f"{str(names.get(s, s))[:40]} ({s})" for s in rows.index],
        "Proba. ajustée": [fr_percent(p, 0, sep=" ") for p in rows["probability"]],
        "Proba. hors éch.": [fr_percent(p, 0, sep=" ") for p in rows["probability_cv"]],
        "Rang ajusté": [str(int(r)) for r in rows["rank"]],
    }
    for cid in ids:
        out[short_label(config, cid)] = [fr_number(v, decimals(cid), sep=" ")
                                         for v in rows[cid]]
    return pd.DataFrame(out).to_string(index=False)


@click.command()
@click.option("--reference", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV list of the reference EPCI (SIREN, short or full official names).")
@data_dir_option
@config_option
@region_option
@click.option("--bootstrap", type=click.IntRange(min=0), default=200, show_default=True,
              help="Bootstrap resamples for the weight intervals (0: none).")
@click.option("--cv", "cv", default="5", show_default=True,
              help="Cross-validation: number of stratified folds, or 'loo' (leave-one-out).")
@click.option("--seed", type=int, default=None,
              help="Seed of the folds and the bootstrap (default: config run.seed).")
@click.option("--draws", type=click.IntRange(min=0), default=None,
              help="Sensitivity draws of the run with the fitted weights (default: config).")
@click.option("--ald", "ald_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="CSV of the share of the population in ALD (as for score).")
@click.option("--filosofi-epci", "filosofi_epci", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="INSEE Filosofi key figures at EPCI level (as for score).")
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("maps") / "calibration", show_default=True, help="Output folder.")
@click.option("--worst", type=click.IntRange(min=1), default=5, show_default=True,
              help="EPCI listed in each direction among the worst explained.")
@click.option("--no-travel", is_flag=True,
              help="Skip the travel-time computation (criterion 4 reported missing).")
@click.option("--no-export", is_flag=True, help="Print only; write no file.")
def calibrate(
    reference: Path, data_dir: Path | None, config_path: Path | None, region: str | None,
    bootstrap: int, cv: str, seed: int | None, draws: int | None, ald_path: Path | None,
    filosofi_epci: Path | None, output: Path, worst: int, no_travel: bool, no_export: bool,
) -> None:
    """Learn from a reference list: the weighting it implies and where it departs from the data.

    Fits non-negative criterion weights summing to 1 that best reproduce the reference list,
    prints them with bootstrap intervals, the agreement in sample and cross-validated (top-N
    overlap, ROC AUC) and the EPCI the data explain worst; writes the run scored with the
    fitted weights (map, tables with a calibration sheet, GeoPackage) and the criteria file
    criteres_calibres_<region>.toml for `zoning score --config`.
    """
    from zoning import pipeline

    folds = _cv(cv)
    config = load_config(config_path)
    ddir = resolve_data_dir(data_dir)
    if not no_export:
        from zoning.exports import ensure_output_dir

        ensure_output_dir(output)
    crun = pipeline.run_calibration(
        config, ddir, reference, output, region=region, bootstrap=bootstrap, cv=folds,
        seed=seed, draws=draws, ald_path=ald_path, filosofi_epci_path=filosofi_epci,
        travel=not no_travel,
    )
    cal = crun.calibration
    names = crun.base.extra["territory"].epci["epci_nom"].astype(str)
    r = crun.fitted.result
    click.echo(f"{r.region_name} : calibration sur {len(cal.reference)} EPCI de référence "
               f"({reference.name}), {len(cal.epci)} EPCI classés.")
    click.echo("")
    click.echo("Poids implicites :")
    wt = pd.DataFrame({
        "Critère": [config.criterion(c).label.split(" (")[0] for c in cal.criteria],
        "Poids ajusté": [fr_number(cal.weights[c], 3) for c in cal.criteria],
        f"IC {fr_number(100 * cal.level, 0)} % (bootstrap)": [
            "–" if not cal.bootstrap else
            f"{fr_number(cal.intervals.at[c, 'low'], 3)} – "
            f"{fr_number(cal.intervals.at[c, 'high'], 3)}" for c in cal.criteria],
        "Poids configuré": [fr_number(cal.configured[c], 3) for c in cal.criteria],
    })
    if cal.compatible is not None:
        wt["Plage reproduisant la liste"] = [
            f"{fr_number(cal.compatible.at[c, 'low'], 3)} – "
            f"{fr_number(cal.compatible.at[c, 'high'], 3)}" for c in cal.criteria]
    click.echo(wt.to_string(index=False))
    for cid in cal.missing:
        click.echo(f"  {config.criterion(cid).label} : donnée indisponible, non estimé.")
    click.echo("")
    for line in crun.lines[1:]:
        if line.startswith(("Poids implicites", "Dans la liste mais", "Hors de la liste")):
            continue  # shown as tables
        click.echo(f"  - {line}")
    click.echo("")
    click.echo("EPCI de la liste les moins bien expliqués (probabilité ajustée la plus faible) :")
    click.echo(_worst_table(cal.worst_in(worst), names, config, cal.criteria))
    click.echo("")
    click.echo("EPCI hors de la liste que les données désignent le plus (probabilité ajustée "
               "la plus élevée) :")
    click.echo(_worst_table(cal.worst_out(worst), names, config, cal.criteria))
    if not no_export:
        click.echo("")
        for p in pipeline.write_calibration(crun, output):
            click.echo(f"écrit : {p}")


COMMANDS: list[click.Command] = [calibrate]
