"""Territory model: region → EPCI → communes, populations, population points.

An EPCI belongs to the region holding most of its population (computed from
the commune populations, cross-checked against ``reg_majoritaire_pop`` of the
EPCI file). The territory is the set of those EPCI and *all* their communes,
including the few that lie in a neighbouring region; the region's own communes
are kept apart in :attr:`Territory.region_communes` (Occitanie: 161 EPCI,
4,441 communes and 6,080,598 inhabitants; the region itself has 4,446 communes
and 6,124,653 inhabitants).

Codes of APL and Filosofi are COG 2024; :func:`map_cog2024` maps them onto the
current (COG 2025) communes and reports every code it cannot place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.errors import DataFormatError, TerritoryError
from zoning.fmt import fr_number
from zoning.sources import read_commune_table, read_communes, read_epci, read_mairies
from zoning.sources._io import in_codes, split_codes

log = logging.getLogger(__name__)

REGION_NAMES: dict[str, str] = {
    "01": "Guadeloupe",
    "02": "Martinique",
    "03": "Guyane",
    "04": "La Réunion",
    "06": "Mayotte",
    "11": "Île-de-France",
    "24": "Centre-Val de Loire",
    "27": "Bourgogne-Franche-Comté",
    "28": "Normandie",
    "32": "Hauts-de-France",
    "44": "Grand Est",
    "52": "Pays de la Loire",
    "53": "Bretagne",
    "75": "Nouvelle-Aquitaine",
    "76": "Occitanie",
    "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur",
    "94": "Corse",
}
"""INSEE region codes and names (COG, unchanged since 2016)."""

OVERSEAS_REGIONS: frozenset[str] = frozenset({"01", "02", "03", "04", "06"})
METROPOLE = "FR"
"""Region argument meaning metropolitan France (every region but the five overseas ones)."""

ARRONDISSEMENT_PARENTS: dict[str, str] = {"751": "75056", "693": "69123", "132": "13055"}
"""Municipal arrondissements (Paris 751xx, Lyon 6938x, Marseille 132xx) -> their commune."""

_ARRONDISSEMENT_RE = r"^(?:751(?:0[1-9]|1\d|20)|6938[1-9]|132(?:0[1-9]|1[0-6]))$"


@dataclass
class Territory:
    """A region resolved to its EPCI and their communes (all geometry in EPSG:2154).

    Attributes
    ----------
    region
        INSEE region code, or ``"FR"`` (metropolitan France).
    region_name
        Region name in French.
    epci
        Index ``epci_siren``: ``epci_nom, epci_type, dep`` (département holding most of
        its population), ``population`` (sum over all its communes), ``n_communes``,
        ``reg`` (region holding most of its population), ``population_region``
        (inhabitants of its communes inside the region), ``reg_majoritaire_pop``
        (as given in the EPCI file), ``deps``, ``regs``, ``geometry``.
    communes
        Index ``code_insee``: the communes of those EPCI (also those outside the
        region): ``nom, dep, reg, epci_siren, population, codes_cog2024, in_region,
        point_source`` (``"mairie"`` or ``"point représentatif"``), ``geometry``.
    points
        Index ``code_insee``: population point per commune (town hall when it lies
        inside the commune polygon, else ``representative_point()``).
    cog2024_to_2025
        National mapping, index COG 2024 code -> current commune code.
    region_communes
        Attributes (no geometry) of the communes lying in the region itself,
        index ``code_insee``: ``nom, dep, reg, epci_siren, population``.
    """

    region: str
    region_name: str
    epci: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    points: gpd.GeoSeries
    cog2024_to_2025: pd.Series
    region_communes: pd.DataFrame
    data_dir: Path = field(default_factory=Path)

    @property
    def population(self) -> int:
        """Inhabitants of the territory's communes (all communes of its EPCI)."""
        return int(self.communes["population"].sum())

    @property
    def region_population(self) -> int:
        """Inhabitants of the region's own communes."""
        return int(self.region_communes["population"].sum())

    def summary(self) -> str:
        """One French line describing the territory."""
        n = fr_number
        return (
            f"{self.region_name} ({self.region}) : {len(self.epci)} EPCI, "
            f"{n(len(self.communes))} communes, {n(self.population)} habitants "
            f"(région : {n(len(self.region_communes))} communes, "
            f"{n(self.region_population)} hab.)"
        )


def _majority(table: pd.DataFrame, by: str) -> pd.Series:
    """For each EPCI, the value of ``by`` holding most of its population (ties: smallest code)."""
    grouped = (
        table.groupby(["epci_siren", by], observed=True)["population"].sum().reset_index()
        .sort_values(["epci_siren", "population", by], ascending=[True, False, True])
    )
    first = grouped.drop_duplicates("epci_siren")
    return first.set_index("epci_siren")[by]


def valid_regions(table: pd.DataFrame) -> dict[str, str]:
    """Region codes present in the commune table, with their names (plus ``FR``)."""
    codes = sorted(table["reg"].dropna().unique().tolist())
    out = {c: REGION_NAMES.get(c, c) for c in codes}
    out[METROPOLE] = "France métropolitaine"
    return out


def build_cog2024_mapping(table: pd.DataFrame) -> pd.Series:
    """COG 2024 code -> current code, from the ``codes_cog2024`` column of the commune table.

    Every current commune maps from itself as well (its own code is always in the list
    in the official data; added if absent).
    """
    exploded = split_codes(table["codes_cog2024"])
    mapping = pd.Series(exploded.index.to_numpy(), index=exploded.to_numpy(), name="code_insee")
    own = pd.Series(table.index.to_numpy(), index=table.index.to_numpy(), name="code_insee")
    mapping = pd.concat([mapping, own[~in_codes(own.index, mapping.index)]])
    dup = mapping.index.duplicated(keep=False)
    if dup.any():
        raise TerritoryError(
            "codes_cog2024: COG 2024 code(s) assigned to several current communes: "
            + ", ".join(sorted(set(mapping.index[dup]))[:5])
        )
    mapping.index.name = "code_cog2024"
    return mapping.sort_index()


def _sql_in(column: str, values: Iterable[str]) -> str:
    quoted = ",".join("'" + v.replace("'", "''") + "'" for v in sorted(set(values)))
    return f"{column} IN ({quoted})"


def load_territory(data_dir: str | Path, region: str = "76") -> Territory:
    """Resolve a region to its EPCI, communes, populations and population points.

    Parameters
    ----------
    data_dir
        The data directory.
    region
        INSEE region code (``"76"`` = Occitanie) or ``"FR"`` for metropolitan France
        (all regions but 01, 02, 03, 04 and 06).

    Returns
    -------
    Territory

    Raises
    ------
    TerritoryError
        When the region code is unknown (the message lists the valid codes).
    """
    data_dir = Path(data_dir)
    region = str(region).strip().upper()
    if region.isdigit() and len(region) == 1:
        region = region.zfill(2)
    table = read_commune_table(data_dir)
    valid = valid_regions(table)
    if region not in valid:
        listing = ", ".join(f"{c} ({n})" for c, n in valid.items())
        raise TerritoryError(f"--region / run.region: unknown region code {region!r}; "
                             f"valid codes: {listing}")
    regions = (set(valid) - OVERSEAS_REGIONS - {METROPOLE}) if region == METROPOLE else {region}

    members = table[table["epci_siren"].notna()]
    epci_reg = _majority(members, "reg")
    epci_dep = _majority(members, "dep")
    selected = epci_reg[epci_reg.isin(regions)].index
    if len(selected) == 0:
        raise TerritoryError(f"region {region!r}: no EPCI has most of its population there")

    commune_attrs = members[in_codes(members["epci_siren"], selected)]
    if len(selected) <= 400:
        gdf = read_communes(data_dir, where=_sql_in("epci_siren", selected))
        epci_gdf = read_epci(data_dir, where=_sql_in("epci_siren", selected))
    else:
        gdf = read_communes(data_dir)
        epci_gdf = read_epci(data_dir)
    gdf = gdf[in_codes(gdf["epci_siren"], selected)]
    epci_gdf = epci_gdf[in_codes(epci_gdf.index, selected)]
    missing_geom = commune_attrs.index.difference(gdf.index)
    if len(missing_geom):
        raise TerritoryError(
            f"communes layer lacks {len(missing_geom)} commune(s) of the membership table "
            f"(e.g. {', '.join(missing_geom[:3])}); use the same COG vintage for both files"
        )
    missing_epci = selected.difference(epci_gdf.index)
    if len(missing_epci):
        raise TerritoryError(
            f"EPCI layer lacks {len(missing_epci)} EPCI of the membership table "
            f"(e.g. {', '.join(missing_epci[:3])}); use the same vintage for both files"
        )

    communes = gdf.loc[commune_attrs.index, ["nom", "dep", "reg", "epci_siren", "population",
                                             "codes_cog2024", "geometry"]].copy()
    communes["in_region"] = communes["reg"].isin(regions)

    # Population points: town hall when inside its commune polygon, else representative point.
    deps = sorted(communes["dep"].unique().tolist())
    mairies = read_mairies(data_dir, where=_sql_in("dep", deps))
    mairie_geom = mairies.geometry.reindex(communes.index)
    mairie_arr = mairie_geom.to_numpy()
    has = ~shapely.is_missing(mairie_arr) & ~shapely.is_empty(mairie_arr)
    inside = np.zeros(len(communes), dtype=bool)
    inside[has] = shapely.contains(communes.geometry.to_numpy()[has], mairie_arr[has])
    rep = communes.geometry.representative_point()
    pts = np.where(inside, mairie_arr, rep.to_numpy())
    points = gpd.GeoSeries(pts, index=communes.index, crs=communes.crs, name="geometry")
    communes["point_source"] = np.where(inside, "mairie", "point représentatif")

    # EPCI attributes computed from the communes; cross-check the file.
    agg = commune_attrs.groupby("epci_siren").agg(
        population=("population", "sum"), n_communes=("population", "size"))
    pop_region = commune_attrs[commune_attrs["reg"].isin(regions)].groupby(
        "epci_siren")["population"].sum()
    epci = gpd.GeoDataFrame(
        {
            "epci_nom": epci_gdf["epci_nom"],
            "epci_type": epci_gdf["epci_type"],
            "dep": epci_dep.reindex(epci_gdf.index),
            "population": agg["population"].reindex(epci_gdf.index).astype("int64"),
            "n_communes": agg["n_communes"].reindex(epci_gdf.index).astype("int64"),
            "reg": epci_reg.reindex(epci_gdf.index),
            "population_region": pop_region.reindex(epci_gdf.index).fillna(0).astype("int64"),
            "reg_majoritaire_pop": epci_gdf["reg_majoritaire_pop"],
            "deps": epci_gdf["deps"],
            "regs": epci_gdf["regs"],
        },
        geometry=epci_gdf.geometry,
        crs=epci_gdf.crs,
    ).sort_index()
    epci.index.name = "epci_siren"
    disagree = epci.index[epci["reg"] != epci["reg_majoritaire_pop"]]
    if len(disagree):
        log.warning("%d EPCI: majority region from commune populations differs from "
                    "reg_majoritaire_pop of the EPCI file (%s); the computed one is used",
                    len(disagree), ", ".join(disagree[:5]))
    pop_diff = epci.index[epci["population"] != epci_gdf["population"].reindex(epci.index)]
    if len(pop_diff):
        log.warning("%d EPCI: population differs from the EPCI file (%s)", len(pop_diff),
                    ", ".join(pop_diff[:5]))

    region_communes = table.loc[table["reg"].isin(regions),
                                ["nom", "dep", "reg", "epci_siren", "population"]]
    name = valid[region]
    territory = Territory(
        region=region,
        region_name=name,
        epci=epci,
        communes=communes.sort_index(),
        points=points.sort_index(),
        cog2024_to_2025=build_cog2024_mapping(table),
        region_communes=region_communes,
        data_dir=data_dir,
    )
    log.info(territory.summary())
    return territory


def subset_region(territory: Territory, region: str) -> Territory:
    """One region's territory cut from the metropolitan one, without reading a file again.

    The same EPCI and communes as ``load_territory(data_dir, region)``: the EPCI whose
    population lies mostly in ``region`` (``epci["reg"]``) and all their communes.

    Parameters
    ----------
    territory
        The ``"FR"`` territory (:func:`load_territory`).
    region
        INSEE region code of a metropolitan region.

    Returns
    -------
    Territory

    Raises
    ------
    TerritoryError
        When no EPCI of the territory belongs to ``region``.
    """
    region = str(region)
    epci = territory.epci[territory.epci["reg"] == region].copy()
    if epci.empty:
        raise TerritoryError(f"region {region!r}: no EPCI of {territory.region_name} has most "
                             "of its population there")
    communes = territory.communes[territory.communes["epci_siren"].isin(epci.index)].copy()
    communes["in_region"] = communes["reg"] == region
    pop_region = communes.loc[communes["in_region"]].groupby("epci_siren")["population"].sum()
    epci["population_region"] = pop_region.reindex(epci.index).fillna(0).astype("int64")
    rc = territory.region_communes
    return Territory(
        region=region,
        region_name=REGION_NAMES.get(region, region),
        epci=epci,
        communes=communes,
        points=territory.points.reindex(communes.index),
        cog2024_to_2025=territory.cog2024_to_2025,
        region_communes=rc[rc["reg"] == region],
        data_dir=territory.data_dir,
    )


@dataclass
class CodeMappingReport:
    """What :func:`map_cog2024` did with each COG 2024 row.

    Attributes
    ----------
    n_rows
        Rows of the input frame.
    matched
        Rows placed on a commune of the territory.
    outside
        Rows placed on a current commune outside the territory (out of scope).
    unmatched
        Codes unknown to the COG 2024 -> 2025 mapping (reported, not placed).
    arrondissements
        Municipal-arrondissement codes: summed into their city when the city row is
        absent, else left out because the city row already covers them.
    merged
        Current code -> the COG 2024 codes aggregated into it (only when > 1).
    missing
        Territory communes that received no row.
    """

    n_rows: int
    matched: int
    outside: int
    unmatched: list[str]
    arrondissements: list[str]
    merged: dict[str, list[str]]
    missing: list[str]

    def text(self) -> str:
        """One English line for logs."""
        return (
            f"{self.n_rows} rows: {self.matched} on territory communes, {self.outside} outside, "
            f"{len(self.unmatched)} unmatched ({', '.join(self.unmatched[:10]) or 'none'}), "
            f"{len(self.arrondissements)} arrondissements, {len(self.merged)} merged communes, "
            f"{len(self.missing)} territory communes without data "
            f"({', '.join(self.missing[:10]) or 'none'})"
        )


def _joined_codes(old: pd.Series, new: np.ndarray) -> pd.Series:
    """``old`` codes ';'-joined per ``new`` code (sorted by ``new``, rows in input order).

    Most communes have one COG 2024 code: only the merged ones are joined in Python.
    """
    key = pd.Series(new)
    multi = key.duplicated(keep=False).to_numpy()
    single = pd.Series(old.to_numpy()[~multi], index=new[~multi])
    joined = pd.Series(old.to_numpy()[multi]).groupby(new[multi], sort=False).agg(";".join)
    return pd.concat([single, joined]).sort_index().astype(str)


def map_cog2024(
    frame: pd.DataFrame,
    territory: Territory,
    *,
    sum_columns: Iterable[str] = (),
    weighted_means: Mapping[str, str] | None = None,
    code_column: str | None = None,
    aggregate: bool = True,
) -> tuple[pd.DataFrame, CodeMappingReport]:
    """Aggregate COG-2024-keyed rows onto the territory's current communes.

    Parameters
    ----------
    frame
        Rows keyed by a COG 2024 commune code: the index (e.g. ``code_commune`` from
        :func:`zoning.sources.read_apl`) or ``code_column``.
    territory
        The territory (its ``cog2024_to_2025`` mapping and communes are used).
    sum_columns
        Columns summed over the old communes of a merged commune (NaN ignored;
        all-NaN gives NaN).
    weighted_means
        ``{column: weight_column}``: columns averaged with these weights over the
        rows where both are known (e.g. APL weighted by ``pop_standardisee_mg``,
        the DREES rule; a Filosofi median weighted by ``nb_personnes``, an
        approximation).
    code_column
        Column holding the code, when it is not the index.
    aggregate
        False: return the rows themselves (those placed on a territory commune, index
        unchanged) with their current ``code_insee`` column, for statistics that need
        the old communes (a weighted median of commune medians); ``sum_columns`` and
        ``weighted_means`` are then ignored.

    Returns
    -------
    (DataFrame, CodeMappingReport)
        The frame indexed by ``code_insee`` (territory communes having at least one
        row), with the aggregated columns plus ``n_codes_2024`` and ``codes_2024``
        (';'-joined); columns not listed keep the value of the first row of each
        group. The report lists unmatched codes (also logged).
    """
    weighted = dict(weighted_means or {})
    sums = list(sum_columns)
    codes = (frame[code_column] if code_column else frame.index.to_series()).astype(str)
    codes = pd.Series(codes.to_numpy(), index=frame.index)
    mapping = territory.cog2024_to_2025

    is_arr = codes.str.fullmatch(_ARRONDISSEMENT_RE).to_numpy()
    parent = codes.str.slice(0, 3).map(ARRONDISSEMENT_PARENTS)
    parent_present = in_codes(parent, codes)
    target = codes.map(mapping)
    arr_into_city = is_arr & ~parent_present
    target = target.where(~pd.Series(arr_into_city, index=codes.index),
                          parent.map(mapping))
    arr_left_out = is_arr & parent_present
    target = target.where(~pd.Series(arr_left_out, index=codes.index), None)

    unmatched_mask = target.isna().to_numpy() & ~arr_left_out
    in_territory = in_codes(target, territory.communes.index)
    outside_mask = target.notna().to_numpy() & ~in_territory

    unmatched = sorted(codes[unmatched_mask].unique().tolist())
    arrondissements = sorted(codes[is_arr].unique().tolist())
    placed = target[in_territory].to_numpy()
    if not aggregate:
        rows = frame.loc[in_territory].copy()
        rows["code_insee"] = placed
        joined = _joined_codes(codes[in_territory], placed)
        joined = joined[joined.str.contains(";", regex=False)]
        report = CodeMappingReport(
            n_rows=len(frame), matched=int(in_territory.sum()), outside=int(outside_mask.sum()),
            unmatched=unmatched, arrondissements=arrondissements,
            merged={str(k): str(v).split(";") for k, v in joined.items()},
            missing=sorted(territory.communes.index.difference(pd.Index(placed)).tolist()),
        )
        _log_report(report)
        return rows, report

    work = frame.loc[in_territory].copy()
    if code_column:
        work = work.drop(columns=code_column)
    work["_code"] = placed
    work["_old"] = codes[in_territory].to_numpy()

    grouped = work.groupby("_code", sort=True)
    other = [c for c in work.columns if c not in {*sums, *weighted, "_code", "_old"}]
    parts: dict[str, pd.Series] = {}
    for col in other:
        parts[col] = grouped[col].first()
    for col in sums:
        parts[col] = grouped[col].sum(min_count=1)
    for col, wcol in weighted.items():
        ok = work[col].notna() & work[wcol].notna()
        num = (work[col] * work[wcol]).where(ok).groupby(work["_code"]).sum(min_count=1)
        den = work[wcol].where(ok).groupby(work["_code"]).sum(min_count=1)
        mean = num / den
        # zero total weight: fall back to the plain mean of the known values
        plain = work[col].groupby(work["_code"]).mean()
        parts[col] = mean.where(den > 0, plain)
    parts["n_codes_2024"] = grouped["_old"].size()
    parts["codes_2024"] = _joined_codes(work["_old"], placed)
    ordered = [c for c in frame.columns if c in parts and c != code_column]
    out = pd.DataFrame(parts)[ordered + ["n_codes_2024", "codes_2024"]]
    out.index.name = "code_insee"

    multi = out.loc[out["n_codes_2024"] > 1, "codes_2024"]
    merged = {str(k): str(v).split(";") for k, v in multi.items()}
    report = CodeMappingReport(
        n_rows=len(frame), matched=int(in_territory.sum()), outside=int(outside_mask.sum()),
        unmatched=unmatched, arrondissements=arrondissements, merged=merged,
        missing=sorted(territory.communes.index.difference(out.index).tolist()),
    )
    _log_report(report)
    return out, report


def _log_report(report: CodeMappingReport) -> None:
    """Log the report (INFO: the run notes and parameters carry it to every output)."""
    if report.unmatched:
        log.info("COG 2024 mapping: %d code(s) not in the COG 2025 mapping: %s",
                    len(report.unmatched), ", ".join(report.unmatched[:20]))
    if report.missing:
        log.info("COG 2024 mapping: %d territory commune(s) without data: %s",
                    len(report.missing), ", ".join(report.missing[:20]))
    log.info("COG 2024 mapping: %s", report.text())


PREFECTURE = "préfecture"
MAIN_TOWN = "ville principale d'arrondissement"
"""Kinds of orientation places on the map (column ``repere`` of :func:`landmarks`)."""


def landmarks(data_dir: str | Path, communes: pd.DataFrame) -> pd.DataFrame:
    """Orientation data for the maps: département names and the main towns, per commune.

    The préfecture is the département's ``chefLieu`` (etalab ``departements.json``). The
    COG files in the data directory do not say which commune is a sous-préfecture, so the
    second level is the most populous commune of each arrondissement (etalab
    ``communes.json``), labelled as such: usually the sous-préfecture, not always.

    Parameters
    ----------
    data_dir
        The data directory.
    communes
        Index ``code_insee``; ``dep``, ``population`` and (optional) ``in_region``: towns
        of communes outside the region are not named.

    Returns
    -------
    DataFrame
        Index like ``communes``; ``dep_nom`` (département name, ``""`` when unknown) and
        ``repere`` (:data:`PREFECTURE`, :data:`MAIN_TOWN` or ``""``). Both columns are
        empty strings when the optional files are absent (the map then has no place names).
    """
    from zoning.errors import DataFileNotFoundError
    from zoning.sources import read_arrondissements, read_departements

    out = pd.DataFrame({"dep_nom": "", "repere": ""}, index=communes.index)
    try:
        deps = read_departements(data_dir)
    except DataFileNotFoundError as exc:
        log.info("no département names for the map: %s", exc)
        return out
    out["dep_nom"] = communes["dep"].astype(str).map(deps["nom"]).fillna("").astype(str)
    try:
        arr = read_arrondissements(data_dir).reindex(communes.index)
    except DataFileNotFoundError as exc:
        log.info("no arrondissements for the map: %s", exc)
        arr = pd.Series(pd.NA, index=communes.index, dtype="string")
    pop = pd.to_numeric(communes["population"], errors="coerce").fillna(0)
    inside = pd.Series(True, index=communes.index)
    if "in_region" in communes.columns:
        inside = communes["in_region"].fillna(False).astype(bool)
    ok = arr.notna() & inside
    biggest = pop[ok].groupby(arr[ok]).idxmax()
    out.loc[out.index.isin(biggest.to_numpy()), "repere"] = MAIN_TOWN
    pref = out.index.isin(deps["chef_lieu"].astype(str).to_numpy()) & inside.to_numpy()
    out.loc[pref, "repere"] = PREFECTURE
    return out


def communes_without_rows(codes_2024: Iterable[str], territory: Territory) -> pd.Index:
    """Inhabited communes of the territory that a national COG-2024-keyed file must cover
    but does not.

    A commune needs a row when it has inhabitants and existed in the COG 2024 (a commune
    re-created in 2025 has no 2024 row of its own; an uninhabited one has no data). It is
    covered when one of its COG 2024 codes, or an arrondissement of it, has a row.

    Parameters
    ----------
    codes_2024
        The commune codes (COG 2024) the file has rows for.
    territory
        The territory.

    Returns
    -------
    pandas.Index
        ``code_insee`` of the communes left without a row, sorted.
    """
    codes = pd.Series(pd.Index(list(codes_2024)).astype(str).unique())
    arr = codes.str.fullmatch(_ARRONDISSEMENT_RE).to_numpy(dtype=bool)
    codes = pd.concat([codes[~arr], codes[arr].str.slice(0, 3).map(ARRONDISSEMENT_PARENTS)])
    com = territory.communes
    present = (in_codes(com.index, codes.map(territory.cog2024_to_2025).dropna())
               | in_codes(com.index, codes))
    needs = ((com["population"] > 0) & (com["codes_cog2024"].fillna("").astype(str) != "")
             ).to_numpy(dtype=bool)
    return pd.Index(com.index[needs & ~present], name="code_insee").sort_values()


def check_coverage(path: Path | str, what: str, codes_2024: Iterable[str],
                   territory: Territory) -> None:
    """Refuse a national file that lacks rows for inhabited communes of the territory.

    A file cut short that still parses would otherwise score EPCI on a part of their
    communes (or not at all).

    Parameters
    ----------
    path
        The file (named in the message).
    what
        What the rows carry, e.g. ``"APL"``.
    codes_2024
        The COG 2024 codes of its rows (with a value).
    territory
        The territory.

    Raises
    ------
    DataFormatError
        Naming the file, the number of communes without a row and examples.
    """
    missing = communes_without_rows(codes_2024, territory)
    if len(missing):
        com = territory.communes
        ex = ", ".join(f"{c} {com.at[c, 'nom']}" for c in missing[:3])
        n_epci = com.loc[missing, "epci_siren"].nunique()
        raise DataFormatError(
            f"{path}: {len(missing)} inhabited commune(s) of {territory.region_name} have no "
            f"{what} row (e.g. {ex}; {n_epci} EPCI affected): the file looks cut short or "
            "filtered; download the complete official file again")
