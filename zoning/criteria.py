"""The five criteria per EPCI, with coverage metadata.

Each function returns a :class:`CriterionResult` whose ``values`` are indexed by the SIREN of
every EPCI of the territory (NaN = no value for that EPCI, never invented) and whose
``coverage`` is the share of the EPCI population the value rests on.

Aggregation rules
-----------------
``apl``
    DREES rule: EPCI APL = ``Σ w·APL / Σ w`` over the DREES communes of the EPCI with
    ``w = pop_standardisee_mg``. DREES rows are keyed by COG 2024 codes; each maps to one current
    commune through :func:`zoning.territory.map_cog2024` (rows of merged communes all go to the
    merged commune; municipal arrondissements to their city unless the city has its own row;
    unmatched codes are reported in ``CriterionResult.mapping``), which maps to its EPCI.
``age_mg``
    ``age.indicator = "apl"`` (default): share (%) of the accessible GP supply delivered by GPs
    older than ``apl.age_limit``: ``100 × (1 − Σ w·APL_≤age / Σ w·APL)`` with the same rows and
    weights. ``"effectifs_2019"``: share (%) of self-employed GPs aged 60 or over (CartoSanté
    head counts, 31/12/2019), EPCI with fewer than ``age.min_gps`` GPs flagged.
``ald``
    Share of ALD beneficiaries (%). Default: CartoSanté 2024 by bassin de vie
    (:func:`ald_bassin_criterion`): each commune takes its bassin's value, the EPCI the mean of
    its communes' values weighted by population (a context value, not an EPCI statistic;
    secret bassins give no value). A user CSV (``--ald``) at commune, EPCI or département level
    replaces it; département values are given to each EPCI as the mean over its communes
    weighted by population.
``urgences``
    From :func:`zoning.traveltimes.epci_times`: ``share_beyond`` (in %) or ``t_mean_min``
    (``travel.indicator``). EPCI without travel times (outside the road network) stay NaN.
``niveau_vie``
    Filosofi 2021 commune medians cannot be combined into the exact EPCI median. Approximation:
    the **median of the commune medians weighted by the number of persons** (``nb_personnes``),
    over the communes with a published median; communes under statistical secrecy are excluded.
    Coverage = share of the EPCI population (current communes) whose every COG 2024 part has a
    published median. When an EPCI-level Filosofi file is present it is used instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from zoning.atomic import file_sha256
from zoning.errors import DataFormatError
from zoning.territory import CodeMappingReport, map_cog2024

if TYPE_CHECKING:
    from zoning.config import Config
    from zoning.sources.catalogue import Source
    from zoning.territory import Territory
    from zoning.traveltimes import TravelTimes

AGE_COLUMNS: dict[int, str] = {
    60: "apl_mg_60ans_et_moins",
    62: "apl_mg_62ans_et_moins",
    65: "apl_mg_moins_65ans",
}
"""APL variant restricted to GPs at or below each age limit."""

ALD_UNAVAILABLE_NOTE = (
    "donnée indisponible : ni l'export CartoSanté par bassin de vie "
    "(health/cartosante_indicateurs_bassins_de_vie_2024.csv) avec la table INSEE d'appartenance "
    "des communes (admin/insee_appartenance_geo_communes_2024_COM.csv), ni fichier --ald"
)

FILOSOFI_NOTE = (
    "approximation : médiane des médianes communales pondérée par le nombre de personnes "
    "(Filosofi ne permet pas de recalculer la médiane exacte de l'EPCI) ; communes sous secret "
    "statistique exclues"
)


@dataclass
class CriterionResult:
    """One criterion computed for every EPCI of the territory.

    Attributes
    ----------
    id
        Criterion id (``apl``, ``age_mg``, ``ald``, ``urgences``, ``niveau_vie``).
    values
        Index ``epci_siren``; float64, NaN = missing for that EPCI.
    coverage
        Index ``epci_siren``; share (0..1) of the EPCI population with data.
    available
        False when the criterion has no data at all (e.g. ALD offline).
    source
        Publisher and dataset (French).
    vintage
        Data vintage.
    note
        French note shown in outputs (approximation, missing data).
    details
        Optional commune-level frame used by explanations (index ``code_insee``).
    what
        French description of what the value is when it depends on the data read (ALD:
        bassin-de-vie value or the user's file); used by :mod:`zoning.labels`.
    mapping
        For COG-2024-keyed sources (APL, Filosofi): what :func:`zoning.territory.map_cog2024`
        did with the rows, unmatched codes included (reported in every output).
    """

    id: str
    values: pd.Series
    coverage: pd.Series
    available: bool
    source: str
    vintage: str
    note: str = ""
    details: pd.DataFrame | None = field(default=None, repr=False)
    what: str = ""
    mapping: CodeMappingReport | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- helpers


def _coverage_from_communes(covered: pd.Series, territory: Territory) -> pd.Series:
    """Share of each EPCI's population living in communes flagged ``covered``."""
    com = territory.communes
    ok = covered.reindex(com.index, fill_value=False).astype(bool)
    pop = com["population"].astype("float64")
    num = pop.where(ok, 0.0).groupby(com["epci_siren"]).sum()
    den = pop.groupby(com["epci_siren"]).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (num / den).reindex(territory.epci.index)
    return cov.fillna(0.0)


def _empty(territory: Territory) -> pd.Series:
    return pd.Series(np.nan, index=territory.epci.index, dtype="float64")


# --------------------------------------------------------------------------- 1 and 2: APL


def _rows_in_territory(
    frame: pd.DataFrame, territory: Territory
) -> tuple[pd.DataFrame, CodeMappingReport]:
    """COG-2024-keyed rows with their current commune and EPCI (rows outside dropped), and the
    report of :func:`zoning.territory.map_cog2024` (unmatched codes)."""
    rows, report = map_cog2024(frame, territory, aggregate=False)
    rows["epci_siren"] = territory.communes.loc[rows["code_insee"], "epci_siren"].to_numpy()
    return rows, report


def apl_criterion(apl: pd.DataFrame, territory: Territory, millesime: int) -> CriterionResult:
    """Criterion 1: APL per EPCI, mean of commune APL weighted by ``pop_standardisee_mg``.

    Parameters
    ----------
    apl
        :func:`zoning.sources.read_apl` frame (index COG 2024 ``code_commune``).
    territory
        The territory.
    millesime
        APL vintage (for the metadata).

    Returns
    -------
    CriterionResult
    """
    rows, mapping = _rows_in_territory(apl, territory)
    rows = rows[rows["apl_mg"].notna()]
    w = rows["pop_standardisee_mg"].astype("float64")
    num = (w * rows["apl_mg"]).groupby(rows["epci_siren"]).sum()
    den = w.groupby(rows["epci_siren"]).sum()
    vals = (num / den.where(den > 0)).reindex(territory.epci.index)
    covered = pd.Series(True, index=pd.Index(rows["code_insee"].unique()))
    cov = _coverage_from_communes(covered, territory)
    return CriterionResult(
        id="apl", values=vals.astype("float64"), coverage=cov, available=bool(vals.notna().any()),
        source="DREES, indicateur d'accessibilité potentielle localisée (APL) aux médecins "
        "généralistes",
        vintage=str(millesime),
        note="moyenne des APL communales pondérée par la population standardisée (règle DREES)",
        details=_commune_apl(rows), mapping=mapping,
    )


def _commune_apl(rows: pd.DataFrame) -> pd.DataFrame:
    w = rows["pop_standardisee_mg"].astype("float64")
    g = rows.groupby("code_insee")
    out = pd.DataFrame({
        "apl_mg": (w * rows["apl_mg"]).groupby(rows["code_insee"]).sum()
        / w.groupby(rows["code_insee"]).sum().where(lambda s: s > 0),
        "epci_siren": g["epci_siren"].first(),
    })
    out.index.name = "code_insee"
    return out


def age_criterion(
    apl: pd.DataFrame, territory: Territory, age_limit: int, millesime: int
) -> CriterionResult:
    """Criterion 2: share of the accessible GP supply from GPs older than ``age_limit``.

    ``1 − Σ w·APL_≤age / Σ w·APL`` over the DREES communes of the EPCI, ``w`` =
    ``pop_standardisee_mg``. NaN when the EPCI has no accessible supply (Σ w·APL = 0).

    Parameters
    ----------
    apl
        :func:`zoning.sources.read_apl` frame with the age variants (index COG 2024).
    territory
        The territory.
    age_limit
        60, 62 or 65: the supply of GPs at or below this age counts as "young".
    millesime
        APL vintage (for the metadata).

    Returns
    -------
    CriterionResult
        Values in percent, 0..100 (share of the accessible supply from older GPs).

    Raises
    ------
    DataFormatError
        When the APL frame lacks the variant for ``age_limit``.
    """
    col = AGE_COLUMNS.get(int(age_limit))
    if col is None or col not in apl.columns:
        raise DataFormatError(
            f"APL data: column {col or 'apl_mg_<age>'!r} (GPs aged {age_limit} or under) is "
            f"missing; available columns: {', '.join(map(str, apl.columns))} (use apl.age_limit "
            "60, 62 or 65 with the DREES age-variant file in health/)"
        )
    rows, mapping = _rows_in_territory(apl, territory)
    rows = rows[rows["apl_mg"].notna() & rows[col].notna()]
    w = rows["pop_standardisee_mg"].astype("float64")
    tot = (w * rows["apl_mg"]).groupby(rows["epci_siren"]).sum()
    young = (w * rows[col]).groupby(rows["epci_siren"]).sum()
    vals = (100.0 * (1.0 - young / tot.where(tot > 0))).reindex(territory.epci.index)
    covered = pd.Series(True, index=pd.Index(rows["code_insee"].unique()))
    return CriterionResult(
        id="age_mg", values=vals.astype("float64"),
        coverage=_coverage_from_communes(covered, territory),
        available=bool(vals.notna().any()),
        source="DREES, APL aux médecins généralistes par âge des médecins",
        vintage=str(millesime),
        note=f"1 − APL des médecins de {age_limit} ans et moins / APL (pondération DREES), en %",
        mapping=mapping,
    )


def age_headcount_criterion(
    mg: pd.DataFrame, territory: Territory, min_gps: int = 5
) -> CriterionResult:
    """Criterion 2, head-count variant: share of self-employed GPs aged 60 or over (%).

    ``100 × Σ GPs 60+ / Σ GPs`` over the communes of the EPCI (CartoSanté, 31/12/2019). The
    2019 commune codes are mapped to current communes with
    :func:`zoning.territory.map_cog2024` (counts summed over merged communes; codes unknown
    to the mapping are reported). NaN when the EPCI has no GP; an EPCI with fewer than
    ``min_gps`` GPs keeps its share but is flagged in the note (too few for a meaningful share).

    Parameters
    ----------
    mg
        :func:`zoning.sources.read_mg_2019` (index ``code_commune``).
    territory
        The territory.
    min_gps
        Below this number of GPs the EPCI is flagged.

    Returns
    -------
    CriterionResult
        ``details``: index ``code_insee``, ``mg_60_et_plus``, ``mg_total``; ``attrs`` of
        ``values``: ``n_mg`` (GPs per EPCI), ``few`` (SIREN of the flagged EPCI).
    """
    from zoning.territory import map_cog2024

    com, report = map_cog2024(mg[["mg_60_et_plus", "mg_total"]], territory,
                              sum_columns=["mg_60_et_plus", "mg_total"])
    tc = territory.communes
    c60 = com["mg_60_et_plus"].reindex(tc.index)
    ctot = com["mg_total"].reindex(tc.index)
    s60 = c60.groupby(tc["epci_siren"]).sum().reindex(territory.epci.index).fillna(0.0)
    stot = ctot.groupby(tc["epci_siren"]).sum().reindex(territory.epci.index).fillna(0.0)
    vals = (100.0 * s60 / stot.where(stot > 0)).astype("float64")
    cov = _coverage_from_communes(ctot.notna(), territory)
    few = stot.index[(stot < min_gps)]
    names = territory.epci["epci_nom"].astype(str)
    note = ("part des médecins généralistes libéraux de 60 ans et plus parmi les généralistes "
            "libéraux des communes de l'EPCI (CartoSanté, effectifs au 31/12/2019)")
    if len(few):
        note += (f" ; {len(few)} EPCI comptent moins de {min_gps} généralistes : part peu "
                 "significative (" + ", ".join(
                     f"{names[s]} {int(stot[s])}" for s in few[:10])
                 + (", …" if len(few) > 10 else "") + ")")
    if report.unmatched:
        note += (f" ; {len(report.unmatched)} code(s) commune 2019 absents de la table de "
                 "passage vers le COG 2025 (non comptés)")
    vals.attrs["n_mg"] = stot
    vals.attrs["few"] = list(few)
    details = pd.DataFrame({"mg_60_et_plus": c60, "mg_total": ctot})
    details.index.name = "code_insee"
    return CriterionResult(
        id="age_mg", values=vals, coverage=cov, available=bool(vals.notna().any()),
        source="CartoSanté (Atlasanté), médecins généralistes libéraux par âge",
        vintage="31/12/2019", note=note, details=details, mapping=report,
    )


# --------------------------------------------------------------------------- 3: ALD


def ald_criterion(ald: pd.DataFrame | None, territory: Territory) -> CriterionResult:
    """Criterion 3: share of the population in ALD (%).

    Parameters
    ----------
    ald
        None (no data: the criterion is unavailable), or a :func:`zoning.sources.read_ald`
        frame: index ``code_insee``, ``epci_siren`` or ``dep`` (the level, also in
        ``attrs["niveau"]``), column ``part_ald`` (percent).
    territory
        The territory.

    Returns
    -------
    CriterionResult
    """
    meta: dict[str, Any] = {
        "id": "ald",
        "source": "Assurance Maladie, bénéficiaires d'ALD par département",
    }
    if ald is None:
        return CriterionResult(
            values=_empty(territory),
            coverage=pd.Series(0.0, index=territory.epci.index),
            available=False, vintage="", note=ALD_UNAVAILABLE_NOTE, **meta,
        )
    level, values = _ald_level_values(ald)
    com = territory.communes
    pop = com["population"].astype("float64")
    vintage = str(ald.attrs.get("vintage", ""))
    if level == "epci":
        vals = values.reindex(territory.epci.index)
        cov = pd.Series(np.where(vals.notna(), 1.0, 0.0), index=territory.epci.index)
        note = "valeurs par EPCI fournies"
    else:
        key = com.index.to_series() if level == "commune" else com["dep"].astype(str)
        v = key.map(values).astype("float64")
        ok = v.notna()
        num = (v.fillna(0.0) * pop).groupby(com["epci_siren"]).sum()
        den = pop.where(ok, 0.0).groupby(com["epci_siren"]).sum()
        vals = (num / den.where(den > 0)).reindex(territory.epci.index)
        cov = _coverage_from_communes(ok, territory)
        note = (
            "valeur départementale, pondérée par la population des communes de l'EPCI"
            if level == "departement" else "moyenne communale pondérée par la population"
        )
    return CriterionResult(
        values=vals.astype("float64"), coverage=cov, available=bool(vals.notna().any()),
        vintage=vintage, note=note, **meta,
    )


ALD_BV_SOURCE = "CartoSanté (Atlasanté), indicateurs 2024 : part des bénéficiaires d'ALD"
ALD_BV_WHAT = ("part des bénéficiaires d'ALD du bassin de vie (CartoSanté 2024), rapportée à "
               "l'EPCI")
"""What the default criterion-3 value is (French; shown in every output)."""


def ald_bassin_criterion(
    ald_bv: pd.DataFrame, bv_communes: pd.DataFrame, territory: Territory
) -> CriterionResult:
    """Criterion 3 from CartoSanté: share of ALD beneficiaries of each commune's bassin de vie.

    Each commune (COG 2024) takes the value of its bassin de vie 2022 (INSEE table); communes
    are mapped to COG 2025 with :func:`zoning.territory.map_cog2024` (a merged commune takes
    the mean of its parts' known values); the EPCI value is the mean over its communes with a
    value, weighted by their population, and ``coverage`` the share of its population in
    communes with a value. Bassins under statistical secrecy give no value, never zero: an
    EPCI whose communes all fall in secret bassins has none (NaN), and the note names it.

    Parameters
    ----------
    ald_bv
        :func:`zoning.sources.read_ald_bassins` (index ``code_bv``, ``part_ald`` in %).
    bv_communes
        :func:`zoning.sources.read_bv_communes` (index COG 2024 ``code_insee``, ``bv2022``).
    territory
        The territory.

    Returns
    -------
    CriterionResult
        ``details``: index ``code_insee``, ``part_ald`` (%), ``bv2022``, ``bv_nom``.
    """
    from zoning.territory import map_cog2024

    rows = bv_communes[["bv2022"]].copy()
    rows["part_ald"] = rows["bv2022"].map(ald_bv["part_ald"]).astype("float64")
    rows["_w"] = 1.0
    com, _report = map_cog2024(rows, territory, weighted_means={"part_ald": "_w"})
    tc = territory.communes
    v = com["part_ald"].reindex(tc.index).astype("float64")
    pop = tc["population"].astype("float64")
    ok = v.notna()
    num = (v.fillna(0.0) * pop).groupby(tc["epci_siren"]).sum()
    den = pop.where(ok, 0.0).groupby(tc["epci_siren"]).sum()
    vals = (num / den.where(den > 0)).reindex(territory.epci.index).astype("float64")
    cov = _coverage_from_communes(ok, territory)
    names = territory.epci["epci_nom"].astype(str)
    secret_epci = vals.index[vals.isna()]
    note = ("moyenne des valeurs des bassins de vie de ses communes, pondérée par leur "
            "population : valeur de contexte, pas une statistique de l'EPCI")
    thin = int(((cov < 0.5) & vals.notna()).sum())
    if thin:
        note += (f" ; {thin} EPCI dont la valeur ne repose que sur moins de la moitié de la "
                 "population (voir la couverture)")
    if len(secret_epci):
        note += (f" ; {len(secret_epci)} EPCI entièrement en bassins de vie sous secret "
                 "statistique, sans valeur (jamais complétée) : "
                 + ", ".join(names.reindex(secret_epci).fillna("?")))
    details = pd.DataFrame({
        "part_ald": v,
        "bv2022": com["bv2022"].reindex(tc.index),
    })
    details["bv_nom"] = details["bv2022"].map(ald_bv["nom"])
    details.index.name = "code_insee"
    return CriterionResult(
        id="ald", values=vals, coverage=cov, available=bool(vals.notna().any()),
        source=ALD_BV_SOURCE, vintage=str(ald_bv.attrs.get("vintage", "2024")), note=note,
        details=details, what=ALD_BV_WHAT,
    )


ALD_LEVELS = {"code_insee": "commune", "epci_siren": "epci", "dep": "departement"}
"""Index name of a :func:`zoning.sources.read_ald` frame -> its geographic level."""


def _ald_level_values(ald: pd.DataFrame) -> tuple[str, pd.Series]:
    """Level and ``part_ald`` values (index: string codes) of a :func:`read_ald` frame."""
    level = ald.attrs.get("niveau") or ALD_LEVELS.get(str(ald.index.name))
    if level not in ALD_LEVELS.values() or "part_ald" not in ald.columns:
        raise DataFormatError(
            "ALD data: expected a zoning.sources.read_ald frame (index code_insee, epci_siren "
            f"or dep; column part_ald); got index {ald.index.name!r}, columns "
            f"{', '.join(map(str, ald.columns))}"
        )
    vals = ald["part_ald"].astype("float64")
    vals.index = pd.Index(ald.index.astype(str), name="code")
    return str(level), vals[~vals.index.duplicated(keep="first")]


# --------------------------------------------------------------------------- 4: travel


def urgences_criterion(
    epci_times: pd.DataFrame | None, territory: Territory, config: Config,
    note: str = "",
) -> CriterionResult:
    """Criterion 4: population beyond ``threshold_min`` of an SU/SMUR (%), or the mean time.

    Parameters
    ----------
    epci_times
        :func:`zoning.traveltimes.epci_times` frame (index ``epci_siren``), or None when travel
        times could not be computed (criterion unavailable).
    territory
        The territory.
    config
        ``travel.indicator`` and ``travel.threshold_min``.
    note
        Extra French note (road network used).

    Returns
    -------
    CriterionResult
    """
    thr = config.travel.threshold_min
    meta: dict[str, Any] = {
        "id": "urgences",
        "source": "DREES SAE 2022 (sites SU / SMUR) et temps de trajet routiers calculés",
        "vintage": "SAE 2022",
    }
    if epci_times is None:
        return CriterionResult(
            values=_empty(territory), coverage=pd.Series(0.0, index=territory.epci.index),
            available=False,
            note="donnée indisponible : temps de trajet non calculés" + (f" ; {note}" if note
                                                                           else ""),
            **meta,
        )
    et = epci_times.reindex(territory.epci.index)
    if config.travel.indicator == "share_beyond":
        share = et["share_beyond"].astype("float64")
        # contract: a share in 0..1; the criterion is shown in %
        vals = share * 100.0 if share.max(skipna=True) <= 1.0 + 1e-9 else share
        what = f"part de la population à plus de {thr:g} min"
    else:
        vals = et["t_mean_min"].astype("float64")
        what = "temps moyen pondéré par la population (min)"
    if "coverage" in et.columns:
        cov = et["coverage"].astype("float64").fillna(0.0)
    else:
        cov = pd.Series(np.where(vals.notna(), 1.0, 0.0), index=territory.epci.index)
    n_missing = int(vals.isna().sum())
    parts = [what]
    if n_missing:
        why = et["motif_indisponible"] if "motif_indisponible" in et.columns else None
        named = ([f"{territory.epci.at[i, 'epci_nom']} ({why.at[i]})" for i in
                  vals.index[vals.isna()][:10] if isinstance(why.at[i], str) and why.at[i]]
                 if why is not None else [])
        parts.append(
            f"{n_missing} EPCI sans valeur (donnée indisponible, jamais extrapolée)"
            + (" : " + ", ".join(named) if named else "")
            + (" …" if n_missing > 10 else "")
        )
    if note:
        parts.append(note)
    return CriterionResult(
        values=vals, coverage=cov, available=bool(vals.notna().any()), note=" ; ".join(parts),
        **meta,
    )


# --------------------------------------------------------------------------- 5: income


def weighted_median(values: pd.Series, weights: pd.Series, groups: pd.Series) -> pd.Series:
    """Weighted median per group (vectorised): the smallest value whose cumulated weight
    reaches half the group's total weight.

    Parameters
    ----------
    values, weights, groups
        Aligned series; rows with NaN value or weight <= 0 are ignored.

    Returns
    -------
    pandas.Series
        Index = group labels.
    """
    df = pd.DataFrame({"v": values.to_numpy(dtype="float64"),
                       "w": weights.to_numpy(dtype="float64"),
                       "g": groups.to_numpy()})
    df = df[df["v"].notna() & (df["w"] > 0)]
    if df.empty:
        return pd.Series(dtype="float64")
    df = df.sort_values(["g", "v"], kind="mergesort")
    cum = df.groupby("g", sort=False)["w"].cumsum()
    half = df.groupby("g", sort=False)["w"].transform("sum") / 2.0
    reached = df[cum.to_numpy() >= half.to_numpy() - 1e-9]
    return reached.groupby("g", sort=True)["v"].first()


def niveau_vie_criterion(
    filosofi: pd.DataFrame, territory: Territory, filosofi_epci: pd.DataFrame | None = None
) -> CriterionResult:
    """Criterion 5: median disposable income per consumption unit (€/year).

    Parameters
    ----------
    filosofi
        :func:`zoning.sources.read_filosofi` frame (index COG 2024 ``code_commune``).
    territory
        The territory.
    filosofi_epci
        Optional EPCI-level Filosofi frame (index ``epci_siren``, column ``med_niveau_vie``):
        used instead of the approximation where it has a value.

    Returns
    -------
    CriterionResult
    """
    rows, mapping = _rows_in_territory(filosofi, territory)
    published = rows["med_niveau_vie"].notna() & ~rows["secret"].astype(bool)
    vals = weighted_median(rows["med_niveau_vie"].where(published), rows["nb_personnes"],
                           rows["epci_siren"]).reindex(territory.epci.index)
    # a current commune is covered when every one of its COG 2024 parts is published
    all_pub = published.groupby(rows["code_insee"]).all()
    cov = _coverage_from_communes(all_pub, territory)
    note = FILOSOFI_NOTE
    vintage = "2021"
    if filosofi_epci is not None and "med_niveau_vie" in filosofi_epci.columns:
        direct = filosofi_epci["med_niveau_vie"].reindex(territory.epci.index).astype("float64")
        vals = direct.where(direct.notna(), vals)
        cov = cov.where(direct.isna(), 1.0)
        year = str(filosofi_epci.attrs.get("vintage", "") or "")
        n_direct, n_rest = int(direct.notna().sum()), int(direct.isna().sum())
        name = Path(str(filosofi_epci.attrs.get("source", ""))).name
        note = (f"médiane Filosofi {year} publiée au niveau EPCI ({name}) pour {n_direct} EPCI"
                .replace("  ", " "))
        if n_rest:
            note += f" ; pour les {n_rest} autres, " + FILOSOFI_NOTE + " (revenus 2021)"
        vintage = f"{year} (EPCI)" + (" et 2021 (communes)" if n_rest else "") if year else \
            "2021"
    details = pd.DataFrame({
        "med_niveau_vie": rows["med_niveau_vie"].where(published).to_numpy(),
        "code_insee": rows["code_insee"].to_numpy(),
    }).groupby("code_insee")["med_niveau_vie"].median().to_frame()
    return CriterionResult(
        id="niveau_vie", values=vals.astype("float64").rename("niveau_vie"), coverage=cov,
        available=bool(vals.notna().any()),
        source="INSEE, Filosofi (revenu disponible médian par unité de consommation)",
        vintage=vintage, note=note, details=details, mapping=mapping,
    )


# --------------------------------------------------------------------------- all five


def compute_criteria(
    territory: Territory,
    config: Config,
    data_dir: Path,
    travel: TravelTimes | None = None,
    *,
    ald_path: Path | None = None,
    filosofi_epci_path: Path | None = None,
) -> dict[str, CriterionResult]:
    """Compute the five criteria for the territory's EPCI.

    Parameters
    ----------
    territory
        From :func:`zoning.territory.load_territory`.
    config
        Validated configuration (APL vintage and age limit, travel indicator).
    data_dir
        Data directory.
    travel
        :func:`zoning.traveltimes.run_travel_times` result (EPCI summaries and the French note
        on the road network); None makes criterion 4 unavailable.
    ald_path
        User ALD CSV (commune, EPCI or département level); default: the catalogue file if present.
    filosofi_epci_path
        EPCI-level Filosofi file (:func:`zoning.sources.read_filosofi_epci`, as INSEE
        publishes it: ``FILO2019_DISP_EPCI.csv`` or ``cc_filosofi_2021_EPCI.csv``): its medians
        replace the approximation from commune medians.

    Returns
    -------
    dict
        Criterion id -> :class:`CriterionResult`, in the order of the configuration.
    """
    from zoning import sources

    apl = sources.read_apl(data_dir, config.apl.millesime)
    filo = sources.read_filosofi(data_dir)
    check_source_coverage(territory, data_dir, config, apl, filo)
    filo_epci = (sources.read_filosofi_epci(data_dir, filosofi_epci_path)
                 if filosofi_epci_path else None)
    out: dict[str, CriterionResult] = {
        "apl": apl_criterion(apl, territory, config.apl.millesime),
        "age_mg": (age_criterion(apl, territory, config.apl.age_limit, config.apl.millesime)
                   if config.age.indicator == "apl" else
                   age_headcount_criterion(sources.read_mg_2019(data_dir), territory,
                                           config.age.min_gps)),
        "ald": _ald(territory, data_dir, ald_path),
        "urgences": urgences_criterion(None if travel is None else travel.epci, territory,
                                       config, note="" if travel is None else travel.note),
        "niveau_vie": niveau_vie_criterion(filo, territory, filo_epci),
    }
    return {c.id: out[c.id] for c in config.criteria if c.id in out}


def with_travel(criteria: dict[str, CriterionResult], travel: TravelTimes | None,
                territory: Territory, config: Config) -> dict[str, CriterionResult]:
    """``criteria`` with criterion 4 computed from ``travel`` (same order, the others kept).

    :func:`zoning.pipeline.run` computes the other criteria while the run routes
    (``travel=None``), then adds criterion 4 here; :func:`zoning.pipeline.run_all` recomputes
    it for each region from its EPCI times. Without a criterion 4 in ``criteria`` (not
    configured), ``criteria`` is returned unchanged.
    """
    if "urgences" not in criteria:
        return criteria
    out = dict(criteria)
    out["urgences"] = urgences_criterion(None if travel is None else travel.epci, territory,
                                         config, note="" if travel is None else travel.note)
    return out


def coverage_codes(config: Config, apl: pd.DataFrame | None, filosofi: pd.DataFrame | None
                   ) -> dict[str, tuple[str, pd.Index]]:
    """For each source with a coverage rule: what its rows carry, and the COG 2024 codes of
    its rows that carry it (APL rows with a value, age-variant rows with the configured
    variant, every Filosofi row: a secret median is a row). None: that file is not read."""
    out: dict[str, tuple[str, pd.Index]] = {}
    if filosofi is not None:
        out["filosofi"] = ("Filosofi", pd.Index(filosofi.index))
    if apl is None:
        return out
    out["apl"] = ("APL", apl.index[apl["apl_mg"].notna()])
    col = AGE_COLUMNS.get(int(config.apl.age_limit))
    if config.age.indicator == "apl" and col in apl.columns and col not in (
            "apl_mg", "apl_mg_moins_65ans"):
        out["apl_age"] = (f"APL ≤ {config.apl.age_limit} ans", apl.index[apl[col].notna()])
    return out


def mark_uncovered_sources(data_dir: Path, region: str, config: Config,
                           results: list[tuple[Source, str, int | None, str]]
                           ) -> list[tuple[Source, str, int | None, str]]:
    """Mark invalid the valid files that lack rows for inhabited communes of ``region``.

    Runs when the territory files (communes, EPCI, town halls) and the files with a
    coverage rule (:attr:`Source.coverage`: APL, its age variants, Filosofi) are valid
    (``zoning sources --region``).

    Parameters
    ----------
    data_dir, region, config
        The data directory, region code and configuration (APL variant).
    results
        :func:`zoning.sources.check.check_sources` rows ``(source, status, rows, problem)``.

    Returns
    -------
    list
        The same rows, ``INVALIDE`` with the coverage problem where a file falls short.
    """
    from zoning import progress
    from zoning.sources import read_apl, read_filosofi
    from zoning.sources.check import STATUS_FOUND, STATUS_INVALID
    from zoning.territory import check_coverage as check
    from zoning.territory import load_territory

    ok = {s.id for s, st, _, _ in results if st == STATUS_FOUND}
    if not {"communes", "communes_epci", "epci", "mairies"} <= ok:
        return results
    with progress.step("Couverture des communes de la région"):
        territory = load_territory(data_dir, region)
        apl = (read_apl(data_dir, config.apl.millesime) if {"apl", "apl_age"} <= ok
               else None)
        codes = coverage_codes(config, apl, read_filosofi(data_dir) if "filosofi" in ok
                               else None)
    out = []
    for src, st, rows, problem in results:
        if src.coverage == "communes" and src.id in codes:
            try:
                check(src.path(data_dir), codes[src.id][0], codes[src.id][1], territory)
            except DataFormatError as exc:
                st, problem = STATUS_INVALID, str(exc)
        out.append((src, st, rows, problem))
    return out


def check_source_coverage(territory: Territory, data_dir: Path, config: Config,
                          apl: pd.DataFrame, filosofi: pd.DataFrame) -> None:
    """Refuse APL / Filosofi files that lack inhabited communes of the territory.

    Raises
    ------
    DataFormatError
        From :func:`zoning.territory.check_coverage`, naming the file.
    """
    from zoning.sources.catalogue import CATALOGUE
    from zoning.territory import check_coverage

    for sid, (what, codes) in coverage_codes(config, apl, filosofi).items():
        src = CATALOGUE[sid]
        if src.coverage == "communes":
            check_coverage(src.path(data_dir), what, codes, territory)


def _ald(territory: Territory, data_dir: Path, ald_path: Path | None) -> CriterionResult:
    """Criterion 3: the user's ``--ald`` file, else CartoSanté by bassin de vie, else the
    optional département file, else unavailable."""
    from zoning import sources
    from zoning.sources.catalogue import CATALOGUE

    if ald_path is None and all(CATALOGUE[i].path(data_dir).is_file()
                                for i in ("ald_bv", "bv_communes")):
        return ald_bassin_criterion(sources.read_ald_bassins(data_dir),
                                    sources.read_bv_communes(data_dir), territory)
    frame = sources.read_ald(data_dir, ald_path)
    result = ald_criterion(frame, territory)
    if frame is None:
        return result
    return _user_ald(result, frame, Path(ald_path or CATALOGUE["ald"].path(data_dir)),
                     territory, data_dir)


ALD_FRACTION_MAX = 1.0
"""An ALD file whose every share is at most this is read as fractions, and refused."""


def _user_ald(result: CriterionResult, frame: pd.DataFrame, path: Path, territory: Territory,
              data_dir: Path) -> CriterionResult:
    """Criterion 3 from the user's file: checked (percent, codes that match), and labelled
    with the file's name and sha256, never as an official source.

    Raises
    ------
    DataFormatError
        The shares look like fractions (every value ≤ 1) while percentages are expected, or no
        code of the file matches the territory.
    """
    from zoning import sources
    from zoning.sources._io import in_codes, split_codes

    level = str(frame.attrs.get("niveau", ""))
    share = (pd.to_numeric(frame["part_ald"], errors="coerce") if "part_ald" in frame.columns
             else pd.Series(dtype="float64"))
    if share.notna().any() and share.max() <= ALD_FRACTION_MAX:
        raise DataFormatError(
            f"{path}: column 'part_ald': every value is at most 1 (max {share.max():g}): these "
            "look like fractions; give percentages of the population (0–100, e.g. 18.5 for "
            "18.5 %)")
    codes = pd.Index(frame.index.astype(str))
    table = sources.read_commune_table(data_dir)
    if level == "epci":
        known = pd.Index(table["epci_siren"].dropna().astype(str).unique())
        in_terr = codes.isin(territory.epci.index)
        what = "EPCI"
    elif level == "departement":
        known = pd.Index(table["dep"].astype(str).unique())
        in_terr = codes.isin(territory.communes["dep"].astype(str).unique())
        what = "département"
    else:
        known = table.index.union(pd.Index(split_codes(table["codes_cog2024"]).unique()))
        mapping = territory.cog2024_to_2025
        in_terr = in_codes(codes, territory.communes.index) | in_codes(
            codes, mapping[in_codes(mapping, territory.communes.index)].index)
        what = "commune"
    unknown = sorted(codes[~in_codes(codes, known)])
    n_epci = int(result.values.notna().sum())
    if not in_terr.any() or n_epci == 0:
        raise DataFormatError(
            f"{path}: no {what} code of the file matches the scored territory "
            f"({territory.region_name}): {len(codes)} row(s), e.g. "
            f"{', '.join(codes[:3])} (check the key column and --region)")
    digest = file_sha256(path)
    niveau = {"epci": "EPCI", "departement": "département", "commune": "commune"}.get(level,
                                                                                     level)
    result.source = f"fichier fourni par l'utilisateur : {path.name} (sha256 {digest})"
    result.what = f"part de la population en ALD (fichier fourni {path.name}, niveau {niveau})"
    note = (f"{result.note} ; valeur pour {n_epci} EPCI sur {len(territory.epci)} "
            f"({int(in_terr.sum())} code(s) {what} du fichier dans le territoire)")
    if unknown:
        note += (f" ; {len(unknown)} code(s) inconnu(s) du COG 2025, ignoré(s) : "
                 + ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else ""))
    result.note = note
    result.vintage = result.vintage or "selon le fichier fourni"
    return result
