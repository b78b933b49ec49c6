"""``zoning score`` and ``zoning explain``: thin wiring over :mod:`zoning.pipeline`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click
import pandas as pd

from zoning.cli.options import (
    FiniteFloatRange,
    config_option,
    data_dir_option,
    draws_option,
    output_option,
    region_option,
    seed_option,
)
from zoning.config import load_config
from zoning.fmt import floor_percent, fr_number, fr_percent
from zoning.labels import base_label, decimals, short_label
from zoning.settings import resolve_data_dir


def _fmt_int(x: float) -> str:
    return fr_number(x, sep=" ")


def _fmt(x: Any, spec: int | str) -> str:
    """French number (plain-space grouping, decimal comma); ``spec`` = decimals or "pct"."""
    if spec == "pct":
        return fr_percent(x, 1, symbol="")
    return fr_number(x, int(spec), sep=" ")


def _clip(names: pd.Series, width: int) -> pd.Series:
    """Names cut to ``width`` characters, an ellipsis marking the cut ones."""
    long = names.str.len() > width
    return names.where(~long, names.str.slice(0, width - 1) + "…")


def _table_text(table: pd.DataFrame, epci: pd.DataFrame, config: Any, missing: list[str]) -> str:
    rows: dict[str, list[str]] = {
        "Rang": table["rank"].astype(int).astype(str).tolist(),
        "EPCI": _clip(epci.loc[table.index, "epci_nom"].astype(str), 42).tolist(),
        "Dép.": epci.loc[table.index, "dep"].astype(str).tolist(),
        "Population": [_fmt_int(v) for v in epci.loc[table.index, "population"]],
    }
    for c in config.criteria:
        head, spec = short_label(config, c.id), decimals(c.id)
        if c.id in missing:
            head += " *"
            rows[head] = ["n.d."] * len(table)
        else:
            rows[head] = [_fmt(v, spec) for v in table[c.id]]
    if config.run.method == "cumul" and "n_fragilites" in table:
        rows["Fragilités"] = [str(int(v)) for v in table["n_fragilites"]]
    rows["Composite"] = [_fmt(v, 3) for v in table["composite"]]
    rows["Sélection"] = ["oui" if s else "" for s in table["selected"]]
    rows["Probabilité"] = [
        "–" if pd.isna(p) else f"{floor_percent(p)} %" for p in table["probability"]
    ]
    rows["Robustesse"] = table["robustesse"].astype(str).tolist()
    frame = pd.DataFrame(rows)
    return frame.to_string(index=False)


def run_options(f: Any) -> Any:
    """The inputs of a run, shared by ``score`` and ``explain`` (same options, same run)."""
    options = [
        data_dir_option, config_option, region_option,
        click.option("--top", type=int, default=None,
                     help="Number of priority zones (default: run.priority_zones_by_region of "
                     "the config for the region, else run.priority_zones: 28 for Occitanie, "
                     "151 for FR)."),
        click.option("--population-share", type=FiniteFloatRange(0, 1, min_open=True),
                     default=None,
                     help="Select the worst EPCI up to this share of the population (e.g. "
                     "0.053) instead of a fixed number."),
        click.option("--strict", is_flag=True,
                     help="A criterion without data is an error instead of being dropped "
                     "with its weight spread over the others."),
        click.option("--reference", type=click.Path(dir_okay=False, path_type=Path),
                     default=None,
                     help="CSV list of EPCI (SIREN or names) to compare the selection with."),
        click.option("--ald", "ald_path", type=click.Path(dir_okay=False, path_type=Path),
                     default=None,
                     help="Your own CSV of the share of the population in ALD (commune, EPCI "
                     "or département level: columns code_insee / epci_siren / dep and "
                     "part_ald in %); replaces CartoSanté by bassin de vie."),
        click.option("--filosofi-epci", "filosofi_epci",
                     type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="INSEE Filosofi at EPCI level as published (FILO2019_DISP_EPCI.csv "
                     "or cc_filosofi_2021_EPCI.csv): replaces the approximation from "
                     "commune medians."),
        draws_option, seed_option,
        click.option("--no-travel", is_flag=True,
                     help="Skip the travel-time computation (criterion 4 reported missing)."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def run_inputs(data_dir: Path | None, config_path: Path | None, region: str | None,
               top: int | None, population_share: float | None, strict: bool,
               reference: Path | None, ald_path: Path | None, filosofi_epci: Path | None,
               draws: int | None, seed: int | None, no_travel: bool
               ) -> tuple[Any, Path, dict[str, Any]]:
    """The configuration, data directory and :func:`zoning.pipeline.run` arguments of the
    options of :func:`run_options`."""
    config = load_config(config_path)
    if population_share is not None:
        if top is not None:
            raise click.UsageError("--top and --population-share are exclusive: give one.")
        config = config.model_copy(update={"run": config.run.model_copy(
            update={"selection": "population_share", "population_share": population_share})})
    kwargs: dict[str, Any] = {
        "region": region, "top": top, "strict": strict, "reference": reference,
        "draws": draws, "seed": seed, "ald_path": ald_path, "travel": not no_travel,
        "filosofi_epci_path": filosofi_epci,
    }
    return config, resolve_data_dir(data_dir), kwargs


@click.command()
@run_options
@output_option
@click.option("--no-export", is_flag=True, help="Print only; write no file.")
@click.option("--close", multiple=True, metavar="FINESS",
              help="Scenario: close this SU/SMUR site (repeatable). Criterion 4 is recomputed, "
              "the EPCI re-ranked; the EPCI entering or leaving the priority zones and the "
              "change of each EPCI's share beyond the threshold are printed and written to "
              "<stem>_scenario_epci.csv.")
@click.option("--add", multiple=True, metavar="LON,LAT,NAME",
              help="Scenario: add a site counting as SU and SMUR, e.g. '3.60,43.93,Nouveau SU' "
              "(WGS84, repeatable).")
def score(
    data_dir: Path | None, config_path: Path | None, region: str | None, top: int | None,
    population_share: float | None, strict: bool, reference: Path | None, ald_path: Path | None,
    filosofi_epci: Path | None, output: Path,
    draws: int | None, seed: int | None, no_travel: bool, no_export: bool,
    close: tuple[str, ...] = (), add: tuple[str, ...] = (),
) -> None:
    """Score, rank and select the priority EPCI ("zones rouges") of a region.

    Prints the ranked table (rank, EPCI, département, population, each criterion, composite,
    selection, selection probability), a summary line, the notes (missing criteria, road
    network), the comparison with --reference, and writes the outputs to --output.
    With --close / --add, everything is that of the scenario, followed by what it changes.
    """
    from zoning import pipeline

    config, ddir, kwargs = run_inputs(data_dir, config_path, region, top, population_share,
                                      strict, reference, ald_path, filosofi_epci, draws, seed,
                                      no_travel)
    if not no_export:
        from zoning.exports import ensure_output_dir

        ensure_output_dir(output)  # fail now, not after the computation
    every_region = region is not None and region.strip().lower() == "all"
    if every_region and (top is not None or reference is not None
                         or population_share is not None or close or add):
        raise click.UsageError("--region all scores each region with its configured number "
                               "of zones: --top, --population-share, --reference, --close "
                               "and --add apply to one region only.")
    if (close or add) and no_travel:
        raise click.UsageError("--close / --add change criterion 4: drop --no-travel.")
    from zoning.exports.browser import prelaunched

    # the fiches' Chromium starts now, on the core the run leaves idle, and prints every set
    with prelaunched(not no_export) as chromium:
        if every_region:
            runs = pipeline.run_all(config, ddir, draws=draws, seed=seed, ald_path=ald_path,
                                    filosofi_epci_path=filosofi_epci, travel=not no_travel,
                                    prepare=not no_export)
            _report(runs[0], config, table=False)
            click.echo("Régions (chacune classée et sélectionnée séparément) :")
            for one in runs[1:]:
                click.echo("  " + _summary_line(one, config))
            if not no_export:
                for one in runs:
                    folder = output / one.result.region
                    written = pipeline.write_outputs(one, folder, chromium=chromium)
                    click.echo(f"écrit : {len(written)} fichiers dans {folder}")
            return
        scenario = None
        if close or add:
            skw = {k: v for k, v in kwargs.items() if k != "travel"}
            scenario = pipeline.run_scenario(config, ddir, close=close, add=add, **skw)
            res = scenario.scenario
        else:
            res = pipeline.run(config, ddir, **kwargs, prepare=not no_export)
        r = res.result
        thr = config.travel.threshold_min
        _report(res, config)
        extra = []
        if scenario is not None:
            _print_scenario(scenario, thr)
            from zoning.exports import scenario_job

            extra.append(scenario_job(r, scenario.changes, scenario.label, output))
        if not no_export:
            written = pipeline.write_outputs(res, output, extra_jobs=extra, chromium=chromium)
            for p in written:
                click.echo(f"écrit : {p}")


def _summary_line(res: Any, config: Any) -> str:
    """``<region> : N EPCI classés, K sélectionnés (population, share) ; critères ...``."""
    r, table = res.result, res.table
    missing = list(table.attrs.get("missing", []))
    sel = table["selected"].to_numpy(dtype=bool)
    pop = r.epci.loc[table.index, "population"].astype("float64")
    pop_sel = float(pop[sel].sum())
    n_av = len(table.attrs.get("weights", {}))
    miss_txt = ""
    if missing:
        miss_txt = " ; " + ", ".join(
            f"{config.criterion(m).label.split(' (')[0]} : donnée indisponible (*)"
            for m in missing)
    share = fr_number(100 * pop_sel / pop.sum(), 1)
    n4 = ""
    tin = res.extra.get("travel")
    if tin is not None:
        n4 = (f" ; critère 4 pour {_fmt_int(tin.epci['share_beyond'].notna().sum())} EPCI sur "
              f"{_fmt_int(len(tin.epci))}")
    partial = "".join(
        f" ; {base_label(short_label(config, k))} : valeur pour "
        f"{int(table[k].notna().sum())} EPCI sur {len(table)}"
        for k in table.attrs.get("weights", {}) if k != "urgences" and table[k].isna().any())
    return (f"{r.region_name} : {len(table)} EPCI classés, {int(sel.sum())} sélectionnés "
            f"(population {_fmt_int(pop_sel)} hab., {share} % de la population) ; "
            f"critères disponibles : {n_av}/{len(config.criteria)}{miss_txt}{partial}{n4}.")


def _report(res: Any, config: Any, table: bool = True) -> None:
    """Print the ranked table (optional), the summary, criterion 4 coverage, zones per region
    (national runs), the notes and the comparison with the reference list."""
    r = res.result
    missing = list(res.table.attrs.get("missing", []))
    if table:
        click.echo(_table_text(res.table, r.epci, config, missing))
        click.echo("")
    click.echo(_summary_line(res, config))
    tin = res.extra.get("travel")
    if tin is not None:
        click.echo(tin.criterion4_summary(res.extra["territory"].epci["epci_nom"]))
    if r.region == "FR":
        from zoning.territory import REGION_NAMES

        sel = r.epci["selected"].fillna(False).astype(bool)
        regs = sorted(r.epci["reg"].dropna().astype(str).unique())  # regions with 0 shown too
        counts = r.epci.loc[sel, "reg"].astype(str).value_counts().reindex(regs, fill_value=0)
        click.echo(f"Zones prioritaires par région ({int(sel.sum())}) : " + " ; ".join(
            f"{REGION_NAMES.get(k, k)} {int(v)}" for k, v in counts.items()))
        click.echo("  La liste officielle de juin 2025 compte 151 EPCI (2 539 784 hab.), dont 143 "
                   "en métropole et 8 en outre-mer, hors du périmètre de zoning (aucun réseau "
                   "routier ni grille de population pour l'outre-mer dans les données) ; le "
                   "nombre configuré (run.priority_zones_by_region, FR = "
                   f"{config.run.zones_for('FR')}) est choisi ici parmi les EPCI de métropole.")
    for note in r.notes:
        click.echo(f"  - {note}")
    if res.comparison is not None:
        _print_comparison(res.comparison, r.epci)


def _print_scenario(sr: Any, threshold: float) -> None:
    ch = sr.changes
    click.echo("")
    click.echo(f"Scénario : {sr.label}")
    for sentence in sr.colocated:
        click.echo(f"  - {sentence[0].upper()}{sentence[1:]}.")

    def names(sirens: list[str]) -> str:
        return "; ".join(f"{ch.at[s, 'epci_nom']} (rang {ch.at[s, 'rang_avant']} → "
                         f"{ch.at[s, 'rang_apres']})" for s in sirens)

    click.echo("  Entrent dans les zones prioritaires : " + (names(sr.entering) or "aucun"))
    click.echo("  Sortent des zones prioritaires : " + (names(sr.leaving) or "aucun"))
    moved = ch[ch["ecart_part_au_dela"].abs() > 1e-12]
    if not len(moved):
        if sr.colocated:
            click.echo("  Aucune part de population ne change : le site fermé partage son "
                       "emplacement avec un site qui reste ouvert (voir ci-dessus).")
        else:
            click.echo(f"  Aucun EPCI ne change de part de population à plus de {threshold:g} min.")
        return
    click.echo(f"  Part de la population à plus de {threshold:g} min, EPCI qui changent "
               f"({len(moved)}) :")
    frame = pd.DataFrame({
        "EPCI": _clip(moved["epci_nom"].astype(str), 42).to_numpy(),
        "Avant": [fr_percent(v) for v in moved["part_au_dela_avant"]],
        "Après": [fr_percent(v) for v in moved["part_au_dela_apres"]],
        "Écart (points)": [fr_number(100 * v, 1, signed=True) for v in moved["ecart_part_au_dela"]],
        "Rang": [f"{a} → {b}" for a, b in zip(moved["rang_avant"], moved["rang_apres"],
                                                strict=True)],
        "Zone": [{"entre": "entre", "sort": "sort"}.get(m, "oui" if sel else "")
                 for m, sel in zip(moved["mouvement"], moved["selection_apres"], strict=True)],
    }, index=pd.Index(moved.index, name="SIREN"))
    click.echo(frame.to_string())


def _print_comparison(cmp: Any, epci: pd.DataFrame) -> None:
    def name(s: str) -> str:
        return f"{s} {str(epci.at[s, 'epci_nom'])}"

    click.echo("")
    click.echo(
        f"Comparaison avec la liste de référence ({len(cmp.reference)} EPCI) : "
        f"{len(cmp.both)} en commun, {len(cmp.only_model)} sélectionnés par le modèle seulement, "
        f"{len(cmp.only_reference)} dans la référence seulement (Jaccard {cmp.jaccard:.2f})."
    )
    if cmp.only_model:
        click.echo("  Sélectionnés par le modèle seulement : "
                   + "; ".join(name(s) for s in cmp.only_model))
    if cmp.only_reference:
        click.echo("  Dans la référence seulement : "
                   + "; ".join(name(s) for s in cmp.only_reference))
    click.echo("  Rang de chaque EPCI de la référence :")
    for s, rk in cmp.ranks.items():
        click.echo(f"    {rk:>4}  {name(str(s))}")


@click.command()
@click.argument("query", metavar="EPCI|COMMUNE")
@run_options
@click.option("--run", "run_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="A GeoPackage written by zoning score (e.g. maps/zoning_76.gpkg): take "
              "every input of that run (configuration, region, top, draws, seed, files) from "
              "its run parameters instead of the options.")
def explain(
    query: str, data_dir: Path | None, config_path: Path | None, region: str | None,
    top: int | None, population_share: float | None, strict: bool, reference: Path | None,
    ald_path: Path | None, filosofi_epci: Path | None, draws: int | None, seed: int | None,
    no_travel: bool, run_file: Path | None,
) -> None:
    """Explain why an EPCI (SIREN or name) or a commune (INSEE code or name) ranks where it does.

    Takes the same inputs as ``zoning score`` (or, with --run, those of a written run), so the
    explanation never contradicts the table. Shows each criterion's raw value with its unit,
    percentile, contribution to the composite, the rank and the selection probability, the
    worst communes inside the EPCI and the nearest SU/SMUR with its travel time; for a commune,
    first its own values, travel times and nearest sites, then its EPCI's explanation.
    """
    from zoning import pipeline

    if run_file is not None:
        given = [n for n, v in (("--config", config_path), ("--region", region), ("--top", top),
                                ("--population-share", population_share),
                                ("--strict", strict), ("--reference", reference),
                                ("--ald", ald_path), ("--filosofi-epci", filosofi_epci),
                                ("--draws", draws), ("--seed", seed),
                                ("--no-travel", no_travel)) if v]
        if given:
            raise click.UsageError(f"--run takes every input from the written run: drop "
                                   f"{', '.join(given)}.")
        config, ddir, kwargs = pipeline.inputs_of_run(run_file, data_dir)
    else:
        config, ddir, kwargs = run_inputs(data_dir, config_path, region, top, population_share,
                                          strict, reference, ald_path, filosofi_epci, draws,
                                          seed, no_travel)
    res = pipeline.run(config, ddir, **kwargs)
    r = res.result
    kind, code = pipeline.resolve_place(r, query)
    if kind == "commune":
        _print_commune(pipeline.commune_facts(r, code), code, config)
        siren = str(r.communes.at[code, "epci_siren"])
        click.echo("")
    else:
        siren = code
    _print_epci(res, config, siren)


def _minutes(x: Any) -> str:
    return "–" if x is None or pd.isna(x) else f"{_fmt(x, 0)} min"


def _print_commune(f: dict[str, Any], code: str, config: Any) -> None:
    """A commune's own values, travel times and nearest sites."""
    click.echo(f"Commune {f['nom']} ({code}, département {f['dep']}, "
               f"{_fmt_int(float(f['population']))} hab.)")
    vals = []
    if f.get("apl_mg") is not None and pd.notna(f["apl_mg"]):
        vals.append(f"APL {_fmt(f['apl_mg'], 2)} consultations/an/hab. standardisé")
    if f.get("med_niveau_vie") is not None and pd.notna(f["med_niveau_vie"]):
        vals.append(f"niveau de vie médian {_fmt(f['med_niveau_vie'], 0)} €/an par UC "
                    "(Filosofi 2021)")
    if f.get("bv_nom"):
        ald = ("sous secret statistique" if f.get("part_ald") is None or pd.isna(f["part_ald"])
               else f"{_fmt(f['part_ald'], 1)} %")
        vals.append(f"part des bénéficiaires d'ALD de son bassin de vie ({f['bv_nom']}, "
                    f"CartoSanté 2024) {ald}")
    if vals:
        click.echo("Valeurs de la commune : " + " ; ".join(vals) + ".")
    if f.get("t_urgence_min") is None and f.get("hors_emprise_reseau") is None:
        click.echo("Urgences : temps de trajet non calculés (--no-travel).")
        return
    if f.get("t_urgence_min") is None or pd.isna(f["t_urgence_min"]):
        click.echo("Urgences : commune hors de l'emprise du réseau routier disponible, temps "
                   "non calculé (jamais extrapolé).")
        return

    def site(kind: str) -> str:
        name, fin = f.get(f"nom_{kind}"), f.get(f"finess_{kind}")
        return f" ({name}, FINESS {fin})" if name else ""

    thr = config.travel.threshold_min
    beyond = float(f["t_urgence_min"]) > thr
    click.echo(
        f"Temps de trajet depuis la commune : SU le plus proche {_minutes(f['t_su_min'])}"
        f"{site('su')} ; SMUR le plus proche {_minutes(f['t_smur_min'])}{site('smur')} ; SU ou "
        f"SMUR {_minutes(f['t_urgence_min'])}"
        f" ({'au-delà' if beyond else 'en deçà'} du seuil de {thr:g} min)."
    )


def _print_epci(res: Any, config: Any, siren: str) -> None:
    """The explanation of one EPCI's position."""
    from zoning import pipeline
    from zoning.scoring import explain as explain_epci

    r = res.result
    ex = explain_epci(res.table, config, siren, res.criteria)
    row = r.epci.loc[siren]
    a = ex.attrs
    click.echo(f"{row['epci_nom']} (SIREN {siren}, {row.get('epci_type', '')}, "
               f"département {row['dep']}, {_fmt_int(float(row['population']))} hab.)")
    prob = ("non évaluée" if math.isnan(a["probability"])
            else f"{floor_percent(a['probability'])} %")
    interval = ("" if pd.isna(a["rank_p05"]) else
                f" ; rang entre {int(a['rank_p05'])} et {int(a['rank_p95'])} (5e–95e centile)")
    frag = ""
    if config.run.method == "cumul" and "n_fragilites" in res.table:
        frag = (f"{int(res.table.at[siren, 'n_fragilites'])} fragilité(s) (critères parmi les "
                f"{_fmt(100 * config.run.cumul_quantile, 0)} % d'EPCI les plus défavorables, "
                "qui décident du rang) ; ")
    click.echo(
        f"Rang {a['rank']} sur {a['n']} ; {frag}score composite {_fmt(a['composite'], 3)} ; "
        f"{'sélectionné' if a['selected'] else 'non sélectionné'} ; probabilité de sélection "
        f"{prob}{interval} ; robustesse {a['robustesse']}."
    )
    click.echo("")
    lines = []
    for cid, e in ex.iterrows():
        val = _fmt(e["valeur"], decimals(str(cid)))
        unit = e["unite"]
        if not e["disponible"] or pd.isna(e["valeur"]):
            what = "donnée indisponible" + ("" if not e["disponible"] else " pour cet EPCI")
            lines.append({"Critère": e["critere"], "Valeur": what,
                          "Percentile": "", "Contribution": "", "Couverture": ""})
            continue
        lines.append({
            "Critère": e["critere"],
            "Valeur": f"{val} {unit}",
            "Percentile": _fmt(e["percentile"], 0),
            "Contribution": f"{_fmt(e['contribution'], 3)} "
                            f"(poids {_fmt(e['poids'], 'pct')} %)",
            "Couverture": _fmt(e["couverture"], "pct") + " %",
        })
    click.echo(pd.DataFrame(lines).to_string(index=False))
    click.echo("Percentile : part des EPCI moins vulnérables sur ce critère (100 = le plus "
               "vulnérable). Les contributions s'additionnent au score composite.")
    click.echo("")
    worst_apl = pipeline.worst_communes(r, siren, "apl_mg", ascending=True)
    if not worst_apl.empty:
        click.echo("Communes à l'APL la plus faible : " + "; ".join(
            f"{n} ({_fmt(v, 2)})"
            for n, v in zip(worst_apl["nom"], worst_apl["apl_mg"], strict=True)))
    worst_t = pipeline.worst_communes(r, siren, "t_urgence_min", ascending=False)
    if not worst_t.empty:
        click.echo("Communes les plus éloignées des urgences : " + "; ".join(
            f"{n} ({v:.0f} min)"
            for n, v in zip(worst_t["nom"], worst_t["t_urgence_min"], strict=True)))
    worst_nv = pipeline.worst_communes(r, siren, "med_niveau_vie", ascending=True)
    if not worst_nv.empty:
        click.echo("Communes au niveau de vie médian le plus bas : " + "; ".join(
            f"{n} ({_fmt(v, 0)} €)"
            for n, v in zip(worst_nv["nom"], worst_nv["med_niveau_vie"], strict=True)))
    near = pipeline.nearest_emergency(r, siren)
    if near is None:
        click.echo("Urgences : temps de trajet non disponibles pour cet EPCI.")
    else:
        click.echo(
            f"Urgence (SU/SMUR) la plus proche : {near['nom']} ({near['finess']}), "
            f"{_fmt(near['t_min'], 1)} min depuis {near['commune']} ; "
            f"temps moyen pondéré par la population {near['t_moyen_min']:.0f} min ; "
            f"site le plus proche pour la plus grande part de la population : "
            f"{near['habituel']}."
        )
    for note in r.notes:
        if "indisponible" in note:
            click.echo(f"Note : {note}")


COMMANDS: list[click.Command] = [score, explain]
