"""One scoring run: territory → travel times → criteria → scoring → :class:`RunResult` → exports.

The CLI (``zoning score``, ``zoning explain``) and library users call :func:`run`; outputs are
written by :func:`write_outputs` (``zoning.exports.write_all`` plus the travel-time GeoTIFF,
all or nothing).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning import __version__, progress
from zoning.atomic import file_sha256
from zoning.background import in_background
from zoning.config import Config
from zoning.criteria import CriterionResult, compute_criteria, with_travel
from zoning.errors import DataFileNotFoundError, DataFormatError, TerritoryError
from zoning.fmt import fr_number, fr_percent
from zoning.labels import base_label, criterion_label, criterion_unit
from zoning.results import CriterionMeta, NoteSection, RunResult
from zoning.scoring import Comparison, compare, find_epci, score
from zoning.traveltimes import TravelInputs, TravelTimes, run_travel_times, travel_inputs

log = logging.getLogger(__name__)

COVERAGE_COLUMNS: tuple[str, ...] = ("part_loin_reseau", "part_modele_urbain",
                                     "part_hors_couverture", "motif_indisponible")
"""Per-EPCI road-network coverage columns of :func:`zoning.traveltimes.epci_times` shown in
every output (share of the population far from the network, timed by the urban access
model, outside the coverage; why criterion 4 is unavailable)."""

@dataclass
class Run:
    """A run's result plus what the CLI prints beside it.

    Attributes
    ----------
    result
        The bundle handed to the exports.
    table
        The score table (:func:`zoning.scoring.score`), sorted by rank.
    criteria
        Criterion results (values, coverage, commune details).
    comparison
        Comparison with the reference list, when one was given.
    """

    result: RunResult
    table: pd.DataFrame
    criteria: dict[str, CriterionResult]
    comparison: Comparison | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- reference


def read_reference(path: Path, names: pd.Series) -> list[str]:
    """Read a reference list of EPCI (SIREN or names, one per row) and resolve it to SIREN.

    Parameters
    ----------
    path
        CSV read by :func:`zoning.sources.read_reference_list`.
    names
        EPCI names of the scored territory, index SIREN.

    Returns
    -------
    list of str
        SIREN in file order.

    Raises
    ------
    DataFileNotFoundError, DataFormatError, TerritoryError
        Missing or unreadable file; SIREN or names not in the territory (all listed at once).
    """
    from zoning.sources import read_reference_list

    values = read_reference_list(path)
    known = set(names.index.astype(str))
    out: list[str] = []
    problems: list[str] = []
    for v in values:
        digits = v.replace(" ", "")
        if digits.isdigit():
            if digits in known:
                out.append(digits)
            else:
                problems.append(f"unknown SIREN {digits}")
            continue
        try:
            out.append(find_epci(v, names))
        except (TerritoryError, LookupError) as exc:
            problems.append(str(exc))
    if problems:
        raise TerritoryError(
            f"{path}: column {values.name!r}: {len(problems)} EPCI not in the scored territory: "
            + "; ".join(problems) + " (fix the file, or choose the matching --region)"
        )
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------- run


def run(
    config: Config,
    data_dir: Path,
    region: str | None = None,
    top: int | None = None,
    strict: bool = False,
    reference: Path | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    ald_path: Path | None = None,
    travel: TravelTimes | None | bool = True,
    filosofi_epci_path: Path | None = None,
    territory: Any = None,
    criteria: dict[str, CriterionResult] | None = None,
    prepare: Any = False,
) -> Run:
    """Run the whole scoring for a region.

    Parameters
    ----------
    config
        Validated configuration.
    data_dir
        Data directory.
    region
        INSEE region code or ``FR``; default ``run.region``.
    top
        Number of priority zones (overrides the configuration).
    strict
        A criterion without data is an error instead of being dropped.
    reference
        CSV list of reference EPCI to compare the selection with.
    draws, seed
        Override the sensitivity draws and the seed.
    ald_path
        User ALD CSV (commune, EPCI or département level).
    filosofi_epci_path
        EPCI-level Filosofi file (replaces the approximation from commune medians).
    travel
        ``True``: compute travel times (:func:`zoning.traveltimes.run_travel_times`);
        ``False``/``None``: skip (criterion 4 missing); or a precomputed
        :class:`zoning.traveltimes.TravelTimes`.
    territory, criteria
        A territory and criterion results already computed (``score --region all`` cuts
        each region from the national run: :func:`run_all`); default: read and computed here.
    prepare
        ``True`` when the outputs will be written: the territory's web-map geometry
        (:class:`zoning.exports.geometry.PreparedGeometry`), then the travel-time GeoTIFF's
        bands, are computed in a background thread while the run routes and scores, and
        handed to the writers in ``result.prepared``; or a ``PreparedGeometry`` of a
        territory this one was cut from (:func:`run_all`: its geometry only).

    Returns
    -------
    Run
        ``result`` (:class:`~zoning.results.RunResult`), ``table``, ``criteria``, ``comparison``.
    """
    from zoning.territory import landmarks, load_territory

    region = str(region or config.run.region)
    if top is None and config.run.selection == "top":
        top = config.run.zones_for(region)
    data_dir = Path(data_dir)
    inputs: Future[TravelInputs] | None = None
    if travel is True:  # facilities, graph, 1 km grid and routing, while the territory is read
        inputs = in_background(lambda: travel_inputs(config, data_dir, region), "zoning-routing")
    if territory is None:
        with progress.step("Territoire (EPCI, communes)"):
            territory = load_territory(data_dir, region=region)
    prepared = prepare
    if prepare is True:  # map geometry, on the core the pipeline leaves idle
        from zoning.exports.geometry import PreparedGeometry

        prepared = PreparedGeometry(territory.epci, territory.communes)
    names = territory.epci["epci_nom"].astype(str)
    # read the reference list before the long steps: a bad file fails at once
    ref_sirens = read_reference(reference, names) if reference is not None else None
    tin: TravelTimes | None
    ahead: Future[dict[str, CriterionResult]] | None = None
    # the maps' place names (two small files), while the run routes and scores
    marks = in_background(lambda: landmarks(data_dir, territory.communes), "zoning-landmarks")
    if travel is True and criteria is None:
        # criteria 1, 2, 3 and 5 (reading their files, mostly) while the run routes: they do
        # not depend on travel times; criterion 4 is added once the times are known
        ahead = in_background(lambda: compute_criteria(
            territory, config, data_dir, None, ald_path=ald_path,
            filosofi_epci_path=filosofi_epci_path), "zoning-criteria")
    if travel is True:
        with progress.step("Temps de trajet vers les urgences (SU / SMUR)"):
            tin = run_travel_times(territory, config, data_dir,
                                   inputs=inputs.result if inputs is not None else None)
        if prepare is True:  # the GeoTIFF's bands, while the criteria and scores are computed
            prepared.prepare_raster(tin, config, territory.epci, RASTER_RESOLUTION_M)
    elif isinstance(travel, TravelTimes):
        tin = travel
    else:
        tin = None
    if criteria is not None:
        crits = criteria
    elif ahead is not None:
        with progress.step("Critères"):
            crits = with_travel(ahead.result(), tin, territory, config)
    else:
        with progress.step("Critères"):
            crits = compute_criteria(territory, config, data_dir, tin, ald_path=ald_path,
                                     filosofi_epci_path=filosofi_epci_path)
    with progress.step("Score, classement et analyse de sensibilité"):
        table = score(crits, config, territory.epci["population"], strict=strict, top=top,
                      draws=draws, seed=seed)
    comparison = compare(table, ref_sirens) if ref_sirens is not None else None

    epci = territory.epci.join(table, how="left")
    if tin is not None:  # where the road network stops: said for every EPCI, in every output
        cov = [c for c in COVERAGE_COLUMNS if c in tin.epci.columns]
        epci = epci.join(tin.epci[cov], how="left")
    epci = epci.sort_values("rank")
    sections: list[NoteSection] = []
    if comparison is not None:
        epci["in_reference"] = epci.index.isin(comparison.reference)
        sections.append(reference_section(comparison, names, reference))
    communes = _communes_frame(territory, crits, tin, marks.result())
    facilities = tin.sites if tin is not None else _empty_facilities()
    metas = _criteria_meta(config, crits, table)
    notes = _notes(config, crits, table, tin, territory)
    params = _params(config, data_dir, region, top, strict, table, crits, reference, comparison,
                     territory.epci["population"])
    params["travel"] = tin is not None
    params["input_files"] = {
        key: _file_record(path) for key, path in
        (("ald", ald_path), ("filosofi_epci", filosofi_epci_path), ("reference", reference))
        if path is not None}
    result = RunResult(
        region=region, region_name=str(getattr(territory, "region_name", region)),
        epci=gpd.GeoDataFrame(epci, geometry="geometry", crs=territory.epci.crs),
        communes=communes, facilities=facilities, criteria=metas, notes=notes, params=params,
        sections=sections, prepared=prepared or None,
    )
    return Run(result=result, table=table, criteria=crits, comparison=comparison,
               extra={"travel": tin, "territory": territory, "config": config})


def reference_section(
    comparison: Comparison, names: pd.Series, reference: Path | str | None = None
) -> NoteSection:
    """French note block comparing the selection with the reference list (map, XLSX).

    Parameters
    ----------
    comparison
        :func:`zoning.scoring.compare` result.
    names
        EPCI names, index SIREN.
    reference
        The reference file (named in the first line).

    Returns
    -------
    NoteSection
    """
    def name(s: str) -> str:
        return f"{names.get(s, s)} ({s})"

    src = f" ({Path(reference).name})" if reference is not None else ""
    jac = fr_number(comparison.jaccard, 2)
    lines = [
        f"Liste de référence{src} : {len(comparison.reference)} EPCI ; "
        f"{len(comparison.both)} sont aussi zones prioritaires, {len(comparison.only_model)} "
        f"zones prioritaires n'y figurent pas, {len(comparison.only_reference)} EPCI de la liste "
        f"ne sont pas retenus (indice de Jaccard {jac}).",
    ]
    if comparison.only_model:
        lines.append("Zones prioritaires hors de la liste : "
                     + " ; ".join(name(s) for s in comparison.only_model) + ".")
    if comparison.only_reference:
        lines.append("Dans la liste mais non retenus : " + " ; ".join(
            f"{name(s)}, rang {int(comparison.ranks[s])}" for s in comparison.only_reference)
            + ".")
    lines.append("Tableaux : colonne « Dans la liste de référence » ; carte : couche "
                 "« Liste de référence et zones prioritaires ».")
    return NoteSection("Comparaison avec la liste de référence", lines)


def zones_in_region(config: Config, region: str, territory: Any, national: Any) -> int:
    """Priority zones of a region in ``score --region all``: its configured number
    (``run.priority_zones_by_region``), else the national share of EPCI (151 of 1,232)
    applied to its EPCI, at least 1."""
    if region in config.run.priority_zones_by_region:
        return min(config.run.zones_for(region), len(territory.epci))
    share = config.run.zones_for("FR") / max(len(national.epci), 1)
    return max(1, round(share * len(territory.epci)))


def run_all(
    config: Config,
    data_dir: Path,
    *,
    draws: int | None = None,
    seed: int | None = None,
    ald_path: Path | None = None,
    filosofi_epci_path: Path | None = None,
    travel: bool = True,
    prepare: bool = False,
) -> list[Run]:
    """Metropolitan France and each of its 13 regions, reading and routing once.

    The national run reads the files, routes once and computes the criteria; each region is
    then cut from it (:func:`zoning.territory.subset_region`,
    :func:`zoning.traveltimes.subset_travel`, criteria restricted to its EPCI; criterion 4
    recomputed from its EPCI times) and scored on its own (:func:`zones_in_region` zones).
    EPCI values do not depend on the territory, so each regional run equals ``score --region``.
    ``prepare``: the national territory's web-map geometry is computed in the background
    (see :func:`run`) and shared by the regions.

    Returns
    -------
    list of Run
        The national run first, then the regions in code order.
    """
    from zoning.territory import METROPOLE, subset_region
    from zoning.traveltimes import subset_travel

    national = run(config, data_dir, region=METROPOLE, draws=draws, seed=seed,
                   ald_path=ald_path, filosofi_epci_path=filosofi_epci_path, travel=travel,
                   prepare=prepare)
    fr_terr = national.extra["territory"]
    fr_tin: TravelTimes | None = national.extra["travel"]
    out = [national]
    for reg in sorted(fr_terr.epci["reg"].dropna().astype(str).unique()):
        terr = subset_region(fr_terr, reg)
        tin = subset_travel(fr_tin, terr) if fr_tin is not None else None
        idx = terr.epci.index
        crits = {k: replace(r, values=r.values.reindex(idx), coverage=r.coverage.reindex(idx))
                 for k, r in national.criteria.items()}
        crits = with_travel(crits, tin, terr, config)
        with progress.step(f"Région {terr.region_name}"):
            out.append(run(config, data_dir, region=reg, top=zones_in_region(config, reg, terr,
                                                                            fr_terr),
                           draws=draws, seed=seed, travel=tin if tin is not None else False,
                           territory=terr, criteria=crits,
                           prepare=national.result.prepared or False))
    return out


def _empty_facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"nom": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs="EPSG:2154"),
        crs="EPSG:2154",
    ).rename_axis("finess")


def _communes_frame(
    territory: Any, crits: dict[str, CriterionResult], tin: TravelTimes | None,
    marks: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The run's communes: territory, criteria details, travel times and, when given, the
    maps' orientation columns (:func:`zoning.territory.landmarks`)."""
    com = territory.communes[["nom", "dep", "epci_siren", "population", "geometry"]].copy()
    if "in_region" in territory.communes.columns:
        com["in_region"] = territory.communes["in_region"].astype(bool)
    if marks is not None:  # orientation on the maps: département names, main towns
        com = com.join(marks)
    apl = crits.get("apl")
    if apl is not None and apl.details is not None:
        com["apl_mg"] = apl.details["apl_mg"].reindex(com.index)
    nv = crits.get("niveau_vie")
    if nv is not None and nv.details is not None:
        com["med_niveau_vie"] = nv.details["med_niveau_vie"].reindex(com.index)
    ald = crits.get("ald")
    if ald is not None and ald.details is not None and "part_ald" in ald.details:
        for col in ("part_ald", "bv2022", "bv_nom"):
            if col in ald.details:
                com[col] = ald.details[col].reindex(com.index)
    if tin is not None:
        tt = tin.communes.drop(columns=[c for c in tin.communes.columns if c in com.columns
                                        or c == "geometry"])
        com = com.join(tt, how="left")
    return gpd.GeoDataFrame(com, geometry="geometry", crs=territory.communes.crs)


def _criteria_meta(
    config: Config, crits: dict[str, CriterionResult], table: pd.DataFrame
) -> list[CriterionMeta]:
    used: dict[str, float] = table.attrs.get("weights", {})
    out = []
    for c in config.criteria:
        r = crits.get(c.id)
        avail = bool(r is not None and r.available and c.id in used)
        out.append(CriterionMeta(
            id=c.id, label=criterion_label(config, c.id, r), unit=criterion_unit(config, c.id),
            direction=c.direction,
            weight=float(used.get(c.id, 0.0)), available=avail,
            source=r.source if r is not None else c.source,
            vintage=r.vintage if r is not None else "",
            note=r.note if r is not None else "donnée indisponible",
        ))
    return out


_pct = functools.partial(fr_percent, decimals=1, symbol=" %")
"""Shares in the French notes: ``5,3 %``."""


def _notes(
    config: Config, crits: dict[str, CriterionResult], table: pd.DataFrame,
    tin: TravelTimes | None, territory: Any,
) -> list[str]:
    notes: list[str] = []
    used: dict[str, float] = table.attrs.get("weights", {})
    missing: list[str] = table.attrs.get("missing", [])
    n_av = len(used)
    for cid in missing:
        c = config.criterion(cid)
        r = crits.get(cid)
        why = r.note if r is not None and r.note else "donnée indisponible"
        notes.append(
            f"Critère « {criterion_label(config, cid, r)} » : {why}. Son poids "
            f"({_pct(c.weight)}) est réparti sur les {n_av} critères disponibles."
        )
    notes.append(
        f"Critères disponibles : {n_av} sur {len(config.criteria)} ; poids utilisés : "
        + ", ".join(f"{base_label(criterion_label(config, k, crits.get(k)))} {_pct(w)}"
                    for k, w in used.items()) + "."
    )
    for cid in used:
        r = crits[cid]
        n_nan = int(r.values.reindex(table.index).isna().sum())
        if n_nan:
            notes.append(
                f"Critère « {criterion_label(config, cid, r)} » : {n_nan} EPCI sans valeur ; "
                "leur "
                "score composite est calculé sur les critères disponibles (poids renormalisés)."
            )
    for cid in ("age_mg", "ald"):
        r = crits.get(cid)
        if cid in used and r is not None and r.note:
            notes.append(f"{criterion_label(config, cid, r)} : {r.note}.")
    nv = crits.get("niveau_vie")
    if nv is not None and nv.available:
        low = int((nv.coverage.reindex(table.index) < 0.9).sum())
        notes.append(
            f"Niveau de vie : {nv.note}. Couverture de la population : médiane "
            f"{_pct(float(nv.coverage.median()))}, {low} EPCI couverts à moins de 90 %."
        )
    notes += _mapping_notes(crits)
    if tin is not None and tin.note:
        notes.append(f"Temps de trajet : {tin.note}.")
    elif tin is None:
        notes.append("Temps de trajet vers les urgences non calculés : critère 4 indisponible.")
    d = table.attrs.get("draws", 0)
    if d:
        notes.append(
            f"Robustesse : {d} tirages Monte-Carlo (poids tirés selon une loi de Dirichlet "
            f"centrée sur les poids configurés, concentration {config.sensitivity.concentration:g} "
            f"; méthode de normalisation tirée parmi {', '.join(config.sensitivity.normalisations)}"
            f"), graine {table.attrs.get('seed')} ; « robuste » = sélectionné dans au moins "
            f"{_pct(config.sensitivity.robust_threshold)} des tirages."
        )
    return notes


MAPPED_SOURCES = {"apl": "APL (DREES)", "niveau_vie": "Filosofi (INSEE)"}
"""Criteria whose source is keyed by COG 2024 codes (``age_mg`` shares the APL rows)."""


def _mapping_notes(crits: dict[str, CriterionResult]) -> list[str]:
    """One French note per COG-2024-keyed source: every unmatched code, listed."""
    notes = []
    for cid, name in MAPPED_SOURCES.items():
        r = crits.get(cid)
        m = r.mapping if r is not None else None
        if m is None:
            continue
        if m.unmatched:
            what = (f"{len(m.unmatched)} code(s) sans correspondance, lignes ignorées : "
                    + ", ".join(m.unmatched))
        else:
            what = "aucun code sans correspondance"
        missing = (f" ; {len(m.missing)} commune(s) du territoire sans ligne : "
                   + ", ".join(m.missing) if m.missing else "")
        notes.append(f"Codes communes COG 2024 → COG 2025, {name} : {m.matched} lignes "
                     f"rattachées au territoire, {what}{missing}.")
    return notes


def portable_path(path: str | Path | None) -> str | None:
    """A path as outputs may record it: relative to the working folder when under it (or
    already relative), else its last component only (never an absolute machine path)."""
    if path is None or str(path) == "":
        return None if path is None else ""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.name


def _file_record(path: Path) -> dict[str, str]:
    """Name, path and sha256 of a file a run read (recorded in the run parameters)."""
    return {"name": Path(path).name, "path": portable_path(path) or Path(path).name,
            "sha256": file_sha256(path)}


def _params(
    config: Config, data_dir: Path, region: str, top: int | None, strict: bool,
    table: pd.DataFrame, crits: dict[str, CriterionResult], reference: Path | None,
    comparison: Comparison | None, population: pd.Series,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "version": __version__,
        "computed_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "region": region,
        # outputs never record an absolute path of the machine that made them
        "data_dir": portable_path(data_dir),
        "config_path": portable_path(config.source_path),
        "config": config.model_dump(mode="json", exclude={"source_path"}),
        "top": top if top is not None else config.run.priority_zones,
        "selection": "top" if top is not None else config.run.selection,
        "strict": strict,
        "method": config.run.method,
        "weights_used": dict(table.attrs.get("weights", {})),
        "missing_criteria": list(table.attrs.get("missing", [])),
        "draws": int(table.attrs.get("draws", 0)),
        "seed": int(table.attrs.get("seed", config.run.seed)),
        "vintages": {
            **{k: r.vintage for k, r in crits.items()},
            "territoire": "COG 2025, EPCI 2025/2026 (DGCL), populations municipales 2023",
        },
        "cog2024_mapping": {
            cid: {"rows": m.n_rows, "matched": m.matched, "outside": m.outside,
                  "unmatched": m.unmatched, "territory_communes_without_data": m.missing}
            for cid in MAPPED_SOURCES
            if (r := crits.get(cid)) is not None and (m := r.mapping) is not None
        },
        "n_epci": int(len(table)),
        "n_selected": int(table["selected"].sum()),
        "population_selected": int(np.nansum(
            population.reindex(table.index[table["selected"].to_numpy(dtype=bool)]))),
    }
    if comparison is not None:
        params["reference"] = {
            "file": portable_path(reference),
            "both": comparison.both,
            "only_model": comparison.only_model,
            "only_reference": comparison.only_reference,
            "ranks": {k: int(v) for k, v in comparison.ranks.items()},
        }
    return params


# --------------------------------------------------------------------------- outputs


RASTER_RESOLUTION_M = 1000.0
"""Cell size of the run's travel-time GeoTIFF (the population grid's)."""


def raster_job(run_: Run, out_dir: Path) -> tuple[Path, Callable[[Path], None]] | None:
    """The travel-time GeoTIFF of the run as an export job (minutes to SU, SMUR, either).

    Written whenever the run has travel times, also when some EPCI lack criterion 4: raster
    cells are timed like any origin, and those "hors couverture du réseau routier" are
    nodata (no time the network cannot support). Sets ``run_.result.raster_path`` so that
    the GeoPackage records it.

    Parameters
    ----------
    run_
        The run (its travel times and territory).
    out_dir
        Output folder.

    Returns
    -------
    tuple of (Path, callable) or None
        The target and a writer taking a temporary path; None when the run has no travel
        times (``--no-travel``).
    """
    tin: TravelTimes | None = run_.extra.get("travel")
    if tin is None:
        return None
    territory = run_.extra["territory"]
    config = run_.extra["config"]
    target = Path(out_dir) / f"temps_urgences_{run_.result.region}.tif"
    run_.result.raster_path = target

    prepared = run_.result.prepared

    def write(tmp: Path) -> None:
        from zoning.exports import write_time_raster

        # the EPCI polygons are the union of the territory's communes: the same cells as
        # rasterising the 35,000 commune polygons, 6x quicker (tests/test_traveltimes.py)
        bands = (prepared.time_raster(tin, config, territory.epci, RASTER_RESOLUTION_M)
                 if prepared is not None else None)
        write_time_raster(tin, tmp, config, resolution_m=RASTER_RESOLUTION_M,
                          mask=territory.epci, raster=bands)

    return target, write


def write_outputs(run_: Run, out_dir: Path, extra_jobs: Sequence[Any] = (),
                  chromium: Any = None) -> list[Path]:
    """Write every output of the run to ``out_dir``, all or nothing.

    GeoPackage, HTML map, CSV and XLSX tables (``zoning.exports.write_all``), the
    travel-time GeoTIFF and ``fiches/`` (one A4 page, HTML and PDF, per selected zone):
    everything is staged first and the targets are replaced only once all were written.

    Parameters
    ----------
    run_
        The run to write.
    out_dir
        Output folder (created if needed).
    extra_jobs
        More ``(target, writer)`` pairs written in the same step (the scenario table).
    chromium
        A :class:`zoning.exports.browser.Prelaunched` Chromium for the fiches (default: one
        started when they are printed).

    Returns
    -------
    list of Path
        Files written.
    """
    from zoning.exports import write_all
    from zoning.exports.fiche import fiches_job

    raster = raster_job(run_, Path(out_dir))
    jobs = ([raster] if raster is not None else []) + list(extra_jobs)
    if raster is not None:  # its QGIS style, same name: QGIS opens the GeoTIFF with it
        from zoning.exports.travel import raster_qml

        jobs.append((raster[0].with_suffix(".qml"),
                     lambda p: p.write_text(raster_qml(), encoding="utf-8")))
    if bool(run_.result.epci["selected"].fillna(False).astype(bool).any()):
        jobs.append(fiches_job(run_.result, Path(out_dir), chromium))  # fiches/: a page a zone
    with progress.step("Écriture des résultats (GeoPackage, carte, tableaux, GeoTIFF, "
                       "fiches)"):
        written = write_all(run_.result, Path(out_dir), extra_jobs=jobs)
    return list(written.values())



# --------------------------------------------------------------------------- scenarios

COLOCATED_M = 100.0
"""A closed site within this distance of a site left open shares its location."""


@dataclass
class ScenarioRun:
    """A run under a scenario (sites closed / added) next to the current situation.

    Attributes
    ----------
    base, scenario
        The two runs (same configuration, territory and selection rule).
    label
        French description of the scenario (``fermeture 340780717 (CL ST LOUIS GANGES)``).
    changes
        Index ``epci_siren``: ``epci_nom``, ``rang_avant``, ``rang_apres``,
        ``selection_avant``, ``selection_apres``, ``mouvement`` (``"entre"``, ``"sort"`` or
        ``""``), ``part_au_dela_avant``, ``part_au_dela_apres``, ``ecart_part_au_dela``,
        ``pop_au_dela_avant``, ``pop_au_dela_apres``; sorted by decreasing absolute change
        of the share beyond the threshold, then by rank after.
    colocated
        French sentences, one per closed site that shares its location with a site left
        open (its closure then changes no time).
    """

    base: Run
    scenario: Run
    label: str
    changes: pd.DataFrame
    colocated: list[str]

    @property
    def entering(self) -> list[str]:
        """SIREN of the EPCI that enter the priority zones under the scenario."""
        return self.changes.index[self.changes["mouvement"] == "entre"].tolist()

    @property
    def leaving(self) -> list[str]:
        """SIREN of the EPCI that leave the priority zones under the scenario."""
        return self.changes.index[self.changes["mouvement"] == "sort"].tolist()


def colocated_sites(
    facilities: gpd.GeoDataFrame, close: Sequence[str], config: Config,
    within_m: float = COLOCATED_M,
) -> list[str]:
    """French sentences naming, for each closed site, the open sites at the same place.

    Only sites that count for the travel indicator (``travel.facilities``) are
    considered: closing a SMUR antenna of a hospital whose SU stays open changes no
    time under ``su_or_smur``.
    """
    from zoning.traveltimes import URGENCE_LABELS, kind_masks

    closed = [c for c in close if c in facilities.index]
    if not closed:
        return []
    counts = pd.Series(kind_masks(facilities, config.travel.facilities)["urgence"],
                       index=facilities.index)
    open_sites = facilities[counts & ~facilities.index.isin(closed)]
    out = []
    for finess in closed:
        site = facilities.geometry.loc[finess]
        near = open_sites[open_sites.geometry.distance(site) <= within_m]
        if len(near):
            names = ", ".join(f"{i} ({near.at[i, 'nom']})" for i in near.index)
            out.append(
                f"le site fermé {finess} ({facilities.at[finess, 'nom']}) partage son "
                f"emplacement avec {names}, qui reste ouvert : sa fermeture ne change pas le "
                f"temps d'accès au plus proche {URGENCE_LABELS[config.travel.facilities]}"
            )
    return out


def scenario_label(facilities: gpd.GeoDataFrame, close: Sequence[str],
                   add: Sequence[Any]) -> str:
    """``fermeture FINESS (nom), ajout NOM (lon, lat)`` in French."""
    parts = [f"fermeture {c} ({facilities.at[c, 'nom']})" if c in facilities.index
             else f"fermeture {c}" for c in close]
    parts += [f"ajout {a.name} ({a.lon:.4f}, {a.lat:.4f})" for a in add]
    return ", ".join(parts)


def run_scenario(
    config: Config, data_dir: Path, close: Sequence[str] = (), add: Sequence[Any] = (),
    **kwargs: Any,
) -> ScenarioRun:
    """The run of :func:`run` under a scenario, and what changes against the current one.

    Criterion 4 is recomputed with the sites of ``close`` removed and those of ``add``
    (:class:`zoning.traveltimes.AddedSite` or ``"lon,lat,name"``) added, on the same graph
    and grid; every other criterion is the same, and the EPCI are re-ranked and re-selected
    with the same rule and draws.

    Parameters
    ----------
    config, data_dir
        As for :func:`run`.
    close, add
        FINESS to close, sites to add.
    **kwargs
        Other :func:`run` arguments (``region``, ``top``, ``draws``...), except ``travel``.

    Returns
    -------
    ScenarioRun

    Raises
    ------
    RoutingError
        When a FINESS to close is not in the facility file, or a site to add is malformed
        (before any long step).
    """
    from zoning.territory import load_territory
    from zoning.traveltimes import parse_added_site

    added = [parse_added_site(a) if isinstance(a, str) else a for a in add]
    closed = [str(c).strip() for c in close]
    region = str(kwargs.get("region") or config.run.region)
    with progress.step("Territoire (EPCI, communes)"):
        territory = load_territory(Path(data_dir), region=region)
    with progress.step("Temps de trajet vers les urgences (SU / SMUR), actuels et scénario"):
        tin = run_travel_times(territory, config, data_dir, close=closed, add=added)
    sites = tin.sites
    label = scenario_label(sites, closed, added)
    scen_tin = tin.scenario
    if scen_tin is not None:
        scen_tin = dataclasses.replace(
            scen_tin, note=f"{scen_tin.note} ; scénario : {label}" if scen_tin.note
            else f"scénario : {label}")
    base = run(config, data_dir, travel=tin, **kwargs)
    scen = run(config, data_dir, travel=scen_tin if scen_tin is not None else tin, **kwargs)
    return ScenarioRun(base=base, scenario=scen, label=label,
                       changes=scenario_changes(base, scen),
                       colocated=colocated_sites(sites, closed, config))


def scenario_changes(base: Run, scenario: Run) -> pd.DataFrame:
    """Per EPCI: rank, selection and share beyond the threshold, before and after."""
    b, s = base.table, scenario.table
    out = pd.DataFrame(index=pd.Index(b.index, name="epci_siren"))
    out["epci_nom"] = base.result.epci["epci_nom"].reindex(out.index)
    out["rang_avant"] = b["rank"]
    out["rang_apres"] = s["rank"].reindex(out.index)
    out["selection_avant"] = b["selected"].astype(bool)
    out["selection_apres"] = s["selected"].reindex(out.index).fillna(False).astype(bool)
    out["mouvement"] = np.where(out["selection_apres"] & ~out["selection_avant"], "entre",
                                np.where(~out["selection_apres"] & out["selection_avant"],
                                         "sort", ""))
    bt, st = base.extra.get("travel"), scenario.extra.get("travel")
    for col, name in (("share_beyond", "part_au_dela"), ("pop_beyond", "pop_au_dela")):
        before = bt.epci[col].reindex(out.index) if bt is not None else np.nan
        after = st.epci[col].reindex(out.index) if st is not None else np.nan
        out[f"{name}_avant"] = before
        out[f"{name}_apres"] = after
    out["ecart_part_au_dela"] = out["part_au_dela_apres"] - out["part_au_dela_avant"]
    key = out["ecart_part_au_dela"].abs().fillna(0.0)
    order = np.lexsort((out["rang_apres"].to_numpy(), -key.to_numpy()))
    return out.iloc[order]


# --------------------------------------------------------------------------- calibration


@dataclass
class CalibrationRun:
    """``zoning calibrate``: the weights a reference list implies, and the run they give.

    Attributes
    ----------
    calibration
        :class:`zoning.calibration.Calibration` (weights, intervals, agreement, EPCI).
    base
        The run with the configured weights (criteria, territory, travel times).
    fitted
        The run with the fitted weights, carrying the calibration report (a note section
        and annex tables) and the reference comparison: what is written.
    config_text
        The criteria file of the fitted weights (TOML), as ``zoning score --config`` reads it.
    config_path
        Where it is written.
    lines
        The French report lines.
    """

    calibration: Any
    base: Run
    fitted: Run
    config_text: str
    config_path: Path
    lines: list[str]


def run_calibration(
    config: Config,
    data_dir: Path,
    reference: Path,
    out_dir: Path,
    region: str | None = None,
    *,
    bootstrap: int = 200,
    cv: int | str = 5,
    seed: int | None = None,
    draws: int | None = None,
    ald_path: Path | None = None,
    filosofi_epci_path: Path | None = None,
    travel: TravelTimes | None | bool = True,
) -> CalibrationRun:
    """Fit the weights a reference list implies, then score the region with them.

    Parameters
    ----------
    config
        Configuration (criteria, normalisations; its weights are the baseline compared).
    data_dir
        Data directory.
    reference
        CSV list of EPCI (SIREN or names, official full names accepted).
    out_dir
        Output folder: names the criteria file written (``criteres_calibres_<region>.toml``).
    region
        Region code (default ``run.region``).
    bootstrap, cv, seed
        See :func:`zoning.calibration.calibrate`.
    draws
        Sensitivity draws of the fitted run (default: config).
    ald_path, filosofi_epci_path, travel
        As for :func:`run`.

    Returns
    -------
    CalibrationRun
    """
    import tomllib

    from zoning import calibration as cal_mod
    from zoning.config import config_to_toml, parse_config
    from zoning.results import AnnexTable

    region = str(region or config.run.region)
    base = run(config, data_dir, region=region, reference=reference, draws=0,
               ald_path=ald_path, filosofi_epci_path=filosofi_epci_path, travel=travel)
    assert base.comparison is not None
    territory = base.extra["territory"]
    names = territory.epci["epci_nom"].astype(str)
    with progress.step("Calibration des poids sur la liste de référence"):
        cal = cal_mod.calibrate(base.criteria, config, territory.epci["population"],
                                base.comparison.reference, bootstrap=bootstrap, cv=cv,
                                seed=seed)
    weights = cal.weights_for_config(config)
    n_ref = len(cal.reference)
    zones = {**config.run.priority_zones_by_region, region: n_ref}
    fitted_cfg = config.model_copy(update={
        "criteria": [c.model_copy(update={"weight": weights[c.id]}) for c in config.criteria],
        "run": config.run.model_copy(update={
            "region": region, "selection": "top", "method": "composite",
            "priority_zones_by_region": zones}),
    })
    path = Path(out_dir) / f"criteres_calibres_{region}.toml"
    header_lines = [
        f"Critères et poids ajustés par « zoning calibrate » sur la liste {Path(reference).name}",
        f"({n_ref} EPCI, région {region}) ; relancer : zoning score --config {path.name}",
    ]
    for c in config.criteria:
        line = f"  {c.id} : poids {weights[c.id]:.4f}"
        if c.id not in cal.weights.index:
            line += " (donnée indisponible : non estimé)"
        elif cal.bootstrap:
            lo, hi = cal.intervals.loc[c.id, ["low", "high"]].to_numpy(dtype="float64")
            line += f", intervalle bootstrap [{lo:.3f} ; {hi:.3f}]"
        header_lines.append(line)
    header_lines.append(f"Sélection : les {n_ref} premiers (taille de la liste), méthode "
                        "composite.")
    header = "\n".join(header_lines)
    text = config_to_toml(fitted_cfg, header)
    fitted_cfg = parse_config(tomllib.loads(text), source=str(path))  # what score will read
    fitted = run(fitted_cfg, data_dir, region=region, reference=reference, draws=draws,
                 ald_path=ald_path, filosofi_epci_path=filosofi_epci_path,
                 travel=base.extra.get("travel") or False)
    lines = cal_mod.summary_lines(cal, config, names, source=Path(reference).name)
    if config.run.method == "cumul":
        lines.insert(1, "La configuration classe les EPCI par cumul des fragilités ; la "
                        "calibration porte sur le score composite, méthode écrite dans le "
                        "fichier de critères.")
    lines.append(f"Carte, tableaux et GeoPackage calculés avec les poids ajustés (fichier "
                 f"{path.name}, accepté par « zoning score --config »).")
    res = fitted.result
    res.sections.append(NoteSection("Calibration des poids sur la liste de référence", lines))
    res.annexes.extend([
        AnnexTable("calibration_poids", "Calibration - poids",
                   cal_mod.weights_frame(cal, config), cal_mod.WEIGHT_LABELS),
        AnnexTable("calibration_accord", "Calibration - accord",
                   cal_mod.agreement_frame(cal), cal_mod.AGREEMENT_LABELS),
        AnnexTable("calibration_epci", "Calibration - EPCI",
                   cal_mod.epci_frame(cal, names), cal_mod.epci_labels(cal, config)),
    ])
    res.params["calibration"] = {
        "reference": str(reference), "weights": {k: float(v) for k, v in cal.weights.items()},
        "intervals": {k: [float(r["low"]), float(r["high"])]
                      for k, r in cal.intervals.iterrows()},
        "bootstrap": cal.bootstrap, "cv": cal.cv, "seed": cal.seed,
        "in_sample": [cal.in_sample.top_overlap, cal.in_sample.n, cal.in_sample.auc],
        "cross_validated": [cal.cross_validated.top_overlap, cal.cross_validated.n,
                            cal.cross_validated.auc],
        "config_file": str(path),
    }
    return CalibrationRun(calibration=cal, base=base, fitted=fitted, config_text=text,
                          config_path=path, lines=lines)


def write_calibration(crun: CalibrationRun, out_dir: Path) -> list[Path]:
    """Write the fitted run's outputs (one output set, all or nothing), then the criteria file.

    The criteria file is written atomically on its own, after the set, and is not a member
    of it: a later ``zoning score --config criteres_calibres_<region>.toml`` writing to the
    same folder replaces the set's files but never deletes the file it was run with.
    """
    from zoning.atomic import atomic_path
    from zoning.errors import ExportError

    written = write_outputs(crun.fitted, out_dir)
    try:
        with atomic_path(crun.config_path) as tmp:
            Path(tmp).write_text(crun.config_text, encoding="utf-8")
    except OSError as exc:
        raise ExportError(
            f"{crun.config_path}: cannot write the criteria file ({exc.strerror or exc}); the "
            "other outputs were written (choose a writable output folder with --output)"
        ) from exc
    return [*written, crun.config_path]


def inputs_of_run(run_file: Path, data_dir: Path | None
                  ) -> tuple[Config, Path, dict[str, Any]]:
    """Configuration, data directory and run arguments recorded in a written GeoPackage.

    Parameters
    ----------
    run_file
        A GeoPackage written by ``zoning score`` (its run parameters).
    data_dir
        Data directory given on the command line; default: the run's (resolved like
        ``--data-dir``).

    Returns
    -------
    tuple
        ``(config, data_dir, kwargs)``: the configuration, the data directory and the
        keyword arguments of :func:`run` that reproduce the written run.

    Raises
    ------
    DataFileNotFoundError, DataFormatError
        A file the run read (``--ald``, ``--filosofi-epci``, ``--reference``) is gone, or
        has changed since (its sha256 differs).
    """
    from zoning.config import parse_config
    from zoning.exports import read_geopackage
    from zoning.settings import resolve_data_dir

    p = read_geopackage(run_file).params
    config = parse_config(dict(p.get("config") or {}), source=f"{run_file} (run parameters)")
    ddir = Path(data_dir) if data_dir is not None else Path(str(p.get("data_dir", "")))
    if data_dir is None:
        ddir = resolve_data_dir(ddir)
    files: dict[str, Any] = dict(p.get("input_files") or {})
    paths: dict[str, Path | None] = {}
    for key in ("ald", "filosofi_epci", "reference"):
        rec = files.get(key)
        if not rec:
            paths[key] = None
            continue
        path = Path(str(rec["path"]))
        if not path.is_file() or file_sha256(path) != rec.get("sha256"):
            error = DataFileNotFoundError if not path.is_file() else DataFormatError
            raise error(
                f"{run_file}: the run read {path} ({key}), which is "
                f"{'gone' if not path.is_file() else 'changed since (sha256 differs)'}: "
                "rerun zoning score, or give the inputs as options")
        paths[key] = path
    if p.get("selection") == "population_share":
        top = None
    else:
        top = int(p["top"]) if p.get("top") is not None else None
    kwargs: dict[str, Any] = {
        "region": str(p.get("region") or config.run.region), "top": top,
        "strict": bool(p.get("strict", False)), "reference": paths["reference"],
        "draws": int(p.get("draws", config.sensitivity.draws)),
        "seed": int(p.get("seed", config.run.seed)), "ald_path": paths["ald"],
        "travel": bool(p.get("travel", True)), "filosofi_epci_path": paths["filosofi_epci"],
    }
    return config, ddir, kwargs


def resolve_epci(result: RunResult, query: str) -> str:
    """SIREN of the EPCI named or numbered ``query`` in the run (see :func:`find_epci`)."""
    return find_epci(query, result.epci["epci_nom"].astype(str))


_COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AaBb]\d{3})$")


def resolve_place(result: RunResult, query: str) -> tuple[str, str]:
    """What ``query`` names in the run: ``("epci", SIREN)`` or ``("commune", code INSEE)``.

    A 9-digit SIREN is an EPCI, a 5-character code a commune; a name is first looked up among
    the communes (exact name, accents and case ignored: "Le Vigan" names two communes and is
    ambiguous, "le vigan (30)" is not), then among the EPCI names, then as a fragment of a
    commune name.

    Raises
    ------
    TerritoryError, AmbiguousNameError
        Nothing or several places match (the message lists them, with their codes).
    """
    from zoning.errors import AmbiguousNameError
    from zoning.scoring import _fold

    q = query.strip()
    com = result.communes
    if _COMMUNE_CODE.match(q):
        code = q.upper()
        if code not in com.index:
            raise TerritoryError(
                f"commune {code!r} is not in the scored territory (give the INSEE code of a "
                "commune of the region, or use --region)")
        return "commune", code
    if q.isdigit():
        return "epci", resolve_epci(result, q)
    names = com["nom"].astype(str) + " (" + com["dep"].astype(str) + ")"
    exact = com.index[(_fold(com["nom"].astype(str)) == _fold(pd.Series([q])).iloc[0])
                      .to_numpy()]
    if len(exact) == 1:
        return "commune", str(exact[0])
    if len(exact) > 1:
        raise _ambiguous_communes(q, exact, names, "names", "give the INSEE code, or the name "
                                  "with its département, e.g. 'Le Vigan (30)'")
    try:
        return "epci", resolve_epci(result, q)
    except AmbiguousNameError:
        raise
    except TerritoryError:
        pass
    folded = _fold(names)
    hits = com.index[folded.str.contains(_fold(pd.Series([q])).iloc[0], regex=False)
                     .to_numpy()]
    if len(hits) == 1:
        return "commune", str(hits[0])
    if len(hits) > 1:
        raise _ambiguous_communes(q, hits, names, "matches", "give the INSEE code or a longer "
                                  "name")
    raise TerritoryError(
        f"no EPCI and no commune of the scored territory is named {q!r} (give a SIREN, "
        "an INSEE code or another name)")


def _ambiguous_communes(query: str, codes: pd.Index, names: pd.Series, verb: str,
                        fix: str) -> Exception:
    """The one "several communes" error of :func:`resolve_place`: ``query`` ``verb`` the
    communes ``codes`` (code and "name (dép.)", the first 12 listed), then how to fix it."""
    from zoning.errors import AmbiguousNameError

    cands = [f"{c} {names[c]}" for c in sorted(codes)]
    more = f"; … and {len(cands) - 12} more" if len(cands) > 12 else ""
    return AmbiguousNameError(
        f"{query!r} {verb} {len(cands)} communes: {'; '.join(cands[:12])}{more} ({fix})", cands)


def commune_facts(result: RunResult, code: str) -> dict[str, Any]:
    """One commune's own inputs in the run: population, APL, median living standard, ALD
    value of its bassin de vie, travel times and nearest sites (NaN / "" when absent)."""
    row = result.communes.loc[code]

    def get(col: str) -> Any:
        return row[col] if col in row.index else None

    return {c: get(c) for c in (
        "nom", "dep", "epci_siren", "population", "apl_mg", "med_niveau_vie", "part_ald",
        "bv2022", "bv_nom", "t_su_min", "nom_su", "finess_su", "t_smur_min", "nom_smur",
        "finess_smur", "t_urgence_min", "nom_urgence", "finess_urgence", "access_km",
        "far_from_network", "hors_emprise_reseau")}


def worst_communes(
    result: RunResult, siren: str, column: str, n: int = 3, ascending: bool = True
) -> pd.DataFrame:
    """The ``n`` communes of the EPCI with the lowest (``ascending``) or highest ``column``.

    Parameters
    ----------
    result
        The run.
    siren
        EPCI SIREN.
    column
        Column of ``result.communes`` (e.g. ``apl_mg``, ``t_urgence_min``).
    n
        Number of communes.
    ascending
        Lowest values first (else highest); ties go to the most populated commune.

    Returns
    -------
    pandas.DataFrame
        ``nom``, ``column``, ``population`` (empty when the column is absent).
    """
    com = result.communes
    if column not in com.columns:
        return pd.DataFrame(columns=["nom", column, "population"])
    sub = com.loc[com["epci_siren"] == siren, ["nom", column, "population"]].dropna(
        subset=[column])
    return pd.DataFrame(sub.sort_values([column, "population"], ascending=[ascending, False])
                        .head(n))


def nearest_emergency(result: RunResult, siren: str) -> dict[str, Any] | None:
    """The SU/SMUR reached fastest from the EPCI's communes, its time, the population-
    weighted mean time, and (``habituel``) the site that is nearest for the largest share of
    the EPCI's population (a travel-time statement, not observed use); None when the run has
    no travel times."""
    com = result.communes
    if "t_urgence_min" not in com.columns:
        return None
    sub = com[(com["epci_siren"] == siren) & com["t_urgence_min"].notna()]
    if sub.empty:
        return None
    best = sub["t_urgence_min"].idxmin()
    w = sub["population"].astype("float64")
    return {
        "nom": str(sub.at[best, "nom_urgence"]) if "nom_urgence" in sub else "",
        "finess": str(sub.at[best, "finess_urgence"]) if "finess_urgence" in sub else "",
        "commune": str(sub.at[best, "nom"]),
        "t_min": float(sub.at[best, "t_urgence_min"]),
        "t_moyen_min": float((sub["t_urgence_min"] * w).sum() / w.sum()) if w.sum() > 0
        else float("nan"),
        "habituel": str(
            w.groupby(sub["nom_urgence"]).sum().idxmax()) if "nom_urgence" in sub else "",
    }


__all__: Sequence[str] = (
    "CalibrationRun", "Run", "read_reference", "reference_section", "run", "run_calibration",
    "write_calibration", "write_outputs", "raster_job", "resolve_epci", "resolve_place",
    "commune_facts", "worst_communes", "nearest_emergency", "run_all",
)
