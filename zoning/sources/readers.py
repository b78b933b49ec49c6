"""One reader per source: tidy frames keyed by their natural key, codes as strings.

All geometries are returned in EPSG:2154. A missing file raises
:class:`~zoning.errors.DataFileNotFoundError` (naming the source and where to
put the file); bad content raises :class:`~zoning.errors.DataFormatError`
naming the file and the column.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from zoning.errors import DataFormatError
from zoning.sources import _io, health, sites
from zoning.sources.catalogue import CATALOGUE, Source

log = logging.getLogger(__name__)

APL_COLUMNS: tuple[str, ...] = (
    "commune",
    "apl_mg",
    "apl_mg_moins_65ans",
    "apl_mg_62ans_et_moins",
    "apl_mg_60ans_et_moins",
    "pop_standardisee_mg",
    "pop_totale",
)


def _codes_kinds(source: Source) -> dict[str, str]:
    return dict(source.columns)


def read_commune_table(data_dir: str | Path) -> pd.DataFrame:
    """Read the commune → EPCI membership table (``admin/communes_epci_cog2025.csv``).

    Returns
    -------
    DataFrame
        Index ``code_insee``; ``nom, dep, reg, epci_siren, epci_nom, epci_type,
        population (int64), codes_cog2024`` — the communes layer without geometry
        (fast: used by the territory model to select communes before reading polygons).
    """
    src = CATALOGUE["communes_epci"]
    path, df = _io.read_csv_checked(src, data_dir)
    return _finish_communes(path, df, src)


def _finish_communes(path: Path, df: pd.DataFrame, src: Source) -> pd.DataFrame:
    problems = _io.check_codes(path, df, _codes_kinds(src), nullable=("epci_siren",))
    problems += _io.check_unique(path, df, "code_insee")
    problems += _io.as_int64(df, "population", path)
    if not problems:
        problems += _io.check_values(path, df, src.bounds, "code_insee")
    old = _io.split_codes(df["codes_cog2024"])
    bad = ~old.str.fullmatch(r"(?:\d{5}|2[AB]\d{3})")
    if bad.any():
        ex = ", ".join(repr(v) for v in old[bad].unique()[:3])
        problems.append(f"column 'codes_cog2024': {int(bad.sum())} code(s) are not 5-character "
                        f"commune codes (e.g. {ex}); keep the column as text")
    _io.fail(path, problems)
    return df.set_index("code_insee")


def read_communes(data_dir: str | Path, where: str | None = None) -> gpd.GeoDataFrame:
    """Read the COG 2025 commune polygons.

    Parameters
    ----------
    data_dir
        The data directory.
    where
        Optional OGR SQL filter (e.g. ``"reg = '76'"``) applied while reading.

    Returns
    -------
    GeoDataFrame
        Index ``code_insee``; ``nom, dep, reg, epci_siren, epci_nom, epci_type,
        population (int64), codes_cog2024 (str, ';'-separated), geometry`` in EPSG:2154.
    """
    src = CATALOGUE["communes"]
    path, gdf = _io.read_layer_checked(src, data_dir, where=where)
    out = _finish_communes(path, pd.DataFrame(gdf), src)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=gdf.crs)


def read_mairies(data_dir: str | Path, where: str | None = None) -> gpd.GeoDataFrame:
    """Read the town-hall points.

    Returns
    -------
    GeoDataFrame
        Index ``code_insee``; ``nom, in_commune_polygon (bool), geometry`` (EPSG:2154).
        Only points with ``in_commune_polygon`` are reliable (about 5 % are geocoding errors).
    """
    src = CATALOGUE["mairies"]
    path, gdf = _io.read_layer_checked(src, data_dir, where=where)
    problems = _io.check_codes(path, gdf, _codes_kinds(src))
    problems += _io.check_unique(path, gdf, "code_insee")
    problems += _io.to_bool(path, gdf, ["in_commune_polygon"])
    _io.fail(path, problems)
    return gdf.set_index("code_insee")[["nom", "in_commune_polygon", "geometry"]]


def read_epci(data_dir: str | Path, where: str | None = None) -> gpd.GeoDataFrame:
    """Read the EPCI polygons (2025 membership).

    Returns
    -------
    GeoDataFrame
        Index ``epci_siren``; ``epci_nom, epci_type, population, n_communes, deps, regs,
        reg_majoritaire_pop, geometry`` (EPSG:2154).
    """
    src = CATALOGUE["epci"]
    path, gdf = _io.read_layer_checked(src, data_dir, where=where)
    problems = _io.check_codes(path, gdf, _codes_kinds(src))
    problems += _io.check_unique(path, gdf, "epci_siren")
    problems += _io.as_int64(gdf, "population", path)
    problems += _io.as_int64(gdf, "n_communes", path)
    if not problems:
        problems += _io.check_values(path, gdf, src.bounds, "epci_siren")
    _io.fail(path, problems)
    return gdf.set_index("epci_siren")


def read_apl(data_dir: str | Path, millesime: int = 2023) -> pd.DataFrame:
    """Read DREES APL to GPs for one millésime, with the ≤65, ≤62 and ≤60 variants.

    The main APL file and the age-variant file are joined on
    ``code_commune`` + ``millesime``; rows of one without a match in the other
    keep NaN in the missing columns and are logged.

    Parameters
    ----------
    data_dir
        The data directory.
    millesime
        2022 or 2023.

    Returns
    -------
    DataFrame
        Index ``code_commune`` (COG 2024 codes); ``commune, apl_mg, apl_mg_moins_65ans,
        apl_mg_62ans_et_moins, apl_mg_60ans_et_moins, pop_standardisee_mg, pop_totale``
        (float64 except ``commune``).
    """
    main_src, age_src = CATALOGUE["apl"], CATALOGUE["apl_age"]
    frames = []
    for src in (main_src, age_src):
        path, df = _io.read_csv_checked(src, data_dir)
        floats = [c for c, k in src.columns.items() if k == "float"]
        problems = _io.check_codes(path, df, _codes_kinds(src))
        problems += _io.as_int64(df, "millesime", path)
        problems += _io.to_float(path, df, floats)
        if not problems:
            problems += _io.check_values(path, df, src.bounds, "code_commune")
            problems += _zero_weights(df)
        _io.fail(path, problems)
        available = sorted(df["millesime"].unique().tolist())
        if millesime not in available:
            raise DataFormatError(
                f"{path}: column 'millesime': no rows for {millesime} (available: "
                f"{', '.join(map(str, available))}); set apl.millesime in the config accordingly"
            )
        df = df[df["millesime"] == millesime]
        _io.fail(path, _io.check_unique(path, df, "code_commune"))
        frames.append(df.set_index("code_commune").drop(columns="millesime"))
    main, age = frames
    only_main = main.index.difference(age.index)
    only_age = age.index.difference(main.index)
    if len(only_main) or len(only_age):
        log.warning("APL %s: %d commune(s) lack the age variants, %d variant rows have no APL row",
                    millesime, len(only_main), len(only_age))
    out = main.join(age, how="outer")
    out.index.name = "code_commune"
    out = out[list(APL_COLUMNS)]
    out.attrs["millesime"] = millesime
    return out


def _zero_weights(df: pd.DataFrame) -> list[str]:
    """APL rows of inhabited communes must carry a standardised population (their weight)."""
    if not {"pop_standardisee_mg", "pop_totale"} <= set(df.columns):
        return []
    zero = (df["pop_standardisee_mg"] <= 0) & (df["pop_totale"] > 0)
    if not zero.any():
        return []
    i = int(np.flatnonzero(zero.to_numpy())[0])
    return [f"column 'pop_standardisee_mg': {int(zero.sum())} row(s) with a zero weight for an "
            f"inhabited commune (e.g. code_commune {df['code_commune'].iloc[i]!r}, pop_totale "
            f"{df['pop_totale'].iloc[i]:g}); fix these rows or download the official file again"]


def read_filosofi(data_dir: str | Path) -> pd.DataFrame:
    """Read INSEE Filosofi 2021 key figures per commune.

    Returns
    -------
    DataFrame
        Index ``code_commune`` (COG 2024); ``nb_menages, nb_personnes, med_niveau_vie``
        (float64, NaN when secret or not available), ``taux_pauvrete`` (float64, % at 60 %),
        ``secret`` (bool: ``s`` in the file, the median is withheld by statistical secrecy;
        ``nd`` = not available, e.g. no tax household, gives NaN with ``secret`` False).
    """
    src = CATALOGUE["filosofi"]
    path, df = _io.read_csv_checked(src, data_dir)
    problems = _io.check_codes(path, df, _codes_kinds(src))
    problems += _io.check_unique(path, df, "CODGEO")
    secret = df["MED21"].astype("string").str.strip().str.lower().eq("s").fillna(False)
    problems += _io.to_float(path, df, ["NBMENFISC21", "NBPERSMENFISC21", "MED21", "TP6021"],
                             decimal_comma=True, secret=("s", "S", "nd"))
    if not problems:
        problems += _io.check_values(path, df, src.bounds, "CODGEO")
    _io.fail(path, problems)
    out = pd.DataFrame(
        {
            "nb_menages": df["NBMENFISC21"].to_numpy(),
            "nb_personnes": df["NBPERSMENFISC21"].to_numpy(),
            "med_niveau_vie": df["MED21"].to_numpy(),
            "taux_pauvrete": df["TP6021"].to_numpy(),
            "secret": secret.to_numpy(dtype=bool),
        },
        index=pd.Index(df["CODGEO"].to_numpy(dtype=object), name="code_commune"),
    )
    return out


def _facility_labels(df: pd.DataFrame) -> pd.Series:
    """French label of each site type (vectorised)."""
    su_part = pd.Series(
        np.select([df["su"].to_numpy(), df["su_pediatrique_seul"].to_numpy()],
                  ["Service d'urgences (SU)", "SU pédiatrique seul"], default=""),
        index=df.index, dtype=object)
    su_part = su_part.where(~(df["su"] & df["su_pediatrique"]),
                            "Service d'urgences (SU) adulte et pédiatrique")
    smur_part = pd.Series(
        np.select([(df["smur"] & df["smur_pediatrique_seul"]).to_numpy(),
                   (df["smur"] & df["smur_antenne"]).to_numpy(),
                   (df["smur"] & df["smur_saisonnier"]).to_numpy(), df["smur"].to_numpy()],
                  ["SMUR pédiatrique seul", "antenne SMUR", "SMUR saisonnier", "SMUR"],
                  default=""),
        index=df.index, dtype=object)
    both = (su_part != "") & (smur_part != "")
    label = (su_part + smur_part).where(~both, su_part + " + " + smur_part)
    other = pd.Series(np.where(df["samu"], "SAMU seul (ni SU ni SMUR)", "Autre (ni SU ni SMUR)"),
                      index=df.index, dtype=object)
    label = label.where(label != "", other)
    return label.str.slice(0, 1).str.upper() + label.str.slice(1)


_FINESS_DOM = {"A": "971", "B": "972", "C": "973", "D": "974", "E": "975", "F": "976"}

NOTE_SMUR_UNKNOWN = (
    "SMUR pédiatriques seuls non identifiés (table SAE SMURSAMU absente) : "
    "tous les SMUR comptent comme généraux"
)
"""French note when the raw SMURSAMU table is absent (``read_facilities(...).attrs``)."""


def read_smur_types(data_dir: str | Path) -> pd.DataFrame | None:
    """Read the raw SAE 2022 SMURSAMU table: kind of SMUR per FINESS site.

    Returns
    -------
    DataFrame or None
        Index ``finess``; booleans ``smur, smur_generale, smur_pediatrique,
        smur_antenne`` (SAE columns ``SMUR, GEN, PED, ANT``) and
        ``smur_pediatrique_seul`` = a SMUR with a paediatric line only (``SMUR`` and
        ``PED``, neither ``GEN`` nor ``ANT``: antennas have neither ``GEN`` nor ``PED``
        and stay general SMUR). ``None`` when the (optional) file is absent.
    """
    src = CATALOGUE["smursamu"]
    if not src.path(data_dir).is_file():
        return None
    path, df = _io.read_csv_checked(src, data_dir)
    problems = _io.check_codes(path, df, _codes_kinds(src))
    problems += _io.check_unique(path, df, "FI")
    problems += _io.to_bool(path, df, ["SMUR", "GEN", "PED", "ANT"])
    _io.fail(path, problems)
    out = pd.DataFrame(
        {
            "smur": df["SMUR"].to_numpy(),
            "smur_generale": df["GEN"].to_numpy(),
            "smur_pediatrique": df["PED"].to_numpy(),
            "smur_antenne": df["ANT"].to_numpy(),
        },
        index=pd.Index(df["FI"].to_numpy(dtype=object), name="finess"),
    )
    out["smur_pediatrique_seul"] = (out["smur"] & out["smur_pediatrique"]
                                    & ~out["smur_generale"] & ~out["smur_antenne"])
    return out


def read_facilities(data_dir: str | Path) -> gpd.GeoDataFrame:
    """Read the SAE 2022 emergency sites (SU, SMUR) with coordinates.

    Definitions (one row per FINESS site, all 696 rows kept):

    - ``su``: general emergency department (SAE URGENCES2 general row, or an SU
      authorisation that is not paediatric);
    - ``su_pediatrique``: the site has a paediatric SU; ``su_pediatrique_seul``:
      paediatric SU and no general SU (children only);
    - ``smur``: a SMUR leaves from the site; ``smur_antenne``: it is an antenna;
      ``smur_saisonnier``: seasonal (or the SU authorisation is seasonal: ``su_saisonnier``);
    - ``smur_pediatrique_seul``: the SMUR of the site is paediatric only (raw SAE
      SMURSAMU table, source ``smursamu``: ``SMUR=1, PED=1, GEN=0, ANT=0``; False for
      sites not in it). It is not an emergency service for the general population,
      like ``su_pediatrique_seul``. When the optional raw table is absent the column
      is all False and ``attrs["note_smur"]`` says so in French (``""`` otherwise);
    - ``type_libelle``: French label, e.g. "Service d'urgences (SU) + SMUR",
      "SU pédiatrique seul", "Antenne SMUR", "SMUR pédiatrique seul",
      "SAMU seul (ni SU ni SMUR)".

    Returns
    -------
    GeoDataFrame
        Index ``finess``; ``nom, code_commune, commune, dep, reg, su, su_pediatrique,
        su_pediatrique_seul, smur, smur_antenne, smur_saisonnier, smur_pediatrique_seul,
        type_libelle, passages_su`` (float, 2022 attendances general + paediatric), plus
        ``samu``, ``su_saisonnier``, ``smur_pediatrique``, ``coord_source``,
        ``coord_corrigee`` (bool: coordinates replaced by the packaged corrections table,
        :mod:`zoning.sources.sites`; ``coord_source`` is then ``correction:<date>``); points in
        EPSG:2154. ``attrs["note_smur"]``: see ``smur_pediatrique_seul``.
    """
    src = CATALOGUE["urgences"]
    path, df = _io.read_csv_checked(src, data_dir)
    # SAE/FINESS write overseas départements 9A..9F (971..976): use INSEE codes.
    df["dep"] = df["dep"].str.replace(r"^9([A-F])$", lambda m: _FINESS_DOM[m.group(1)], regex=True)
    df["code_commune"] = df["code_commune"].str.replace(r"^9[A-F](?=\d{3}$)", "97", regex=True)
    bools = [c for c, k in src.columns.items() if k == "bool"]
    floats = [c for c, k in src.columns.items() if k == "float"]
    problems = _io.check_codes(path, df, _codes_kinds(src))
    problems += _io.check_unique(path, df, "finess_et")
    problems += _io.to_bool(path, df, bools)
    problems += _io.to_float(path, df, floats)
    if not problems:
        problems += _io.check_values(path, df, src.bounds, "finess_et")
        nocoord = df["lat"].isna() | df["lon"].isna()
        if nocoord.any():
            ex = ", ".join(df.loc[nocoord, "finess_et"].head(3))
            problems.append(f"columns 'lat'/'lon': {int(nocoord.sum())} site(s) without "
                            f"coordinates (e.g. {ex})")
        out_of_range = (df["lat"].abs() > 90) | (df["lon"].abs() > 180)
        if out_of_range.any():
            problems.append(f"columns 'lat'/'lon': {int(out_of_range.sum())} value(s) out of "
                            "range (expected WGS84 degrees)")
    _io.fail(path, problems)
    df = sites.apply_corrections(df, sites.read_facility_corrections())
    su = df["su_generale"] | (df["autorisation_su"] & ~df["su_pediatrique"])
    kinds = read_smur_types(data_dir)
    if kinds is None:
        log.warning("%s: %s", CATALOGUE["smursamu"].path(data_dir), NOTE_SMUR_UNKNOWN)
        ped_only = np.zeros(len(df), dtype=bool)
    else:
        ped_only = (kinds["smur_pediatrique_seul"].reindex(df["finess_et"].to_numpy())
                    .fillna(False).to_numpy(dtype=bool))
    out = pd.DataFrame(
        {
            "nom": df["raison_sociale"],
            "code_commune": df["code_commune"],
            "commune": df["commune"],
            "dep": df["dep"],
            "reg": df["reg"],
            "su": su,
            "su_pediatrique": df["su_pediatrique"],
            "su_pediatrique_seul": df["su_pediatrique"] & ~su,
            "smur": df["smur"],
            "smur_antenne": df["smur"] & df["smur_antenne"],
            "smur_saisonnier": df["smur"] & df["smur_saisonnier"],
            "smur_pediatrique_seul": df["smur"].to_numpy(dtype=bool) & ped_only,
            "samu": df["samu"],
            "su_saisonnier": df["autorisation_su_saisonniere"],
            "smur_pediatrique": df["smur_pediatrique"],
            "passages_su": df[["passages_su_gen", "passages_su_ped"]].sum(axis=1, min_count=1),
            "coord_source": df["coord_source"],
            "coord_corrigee": df["coord_corrigee"],
        }
    )
    out["type_libelle"] = _facility_labels(out)
    out.index = pd.Index(df["finess_et"].to_numpy(dtype=object), name="finess")
    geom = gpd.points_from_xy(df["lon"], df["lat"], crs=4326)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, index=out.index).to_crs(2154))
    cols = ["nom", "code_commune", "commune", "dep", "reg", "su", "su_pediatrique",
            "su_pediatrique_seul", "smur", "smur_antenne", "smur_saisonnier",
            "smur_pediatrique_seul", "type_libelle", "passages_su", "samu", "su_saisonnier",
            "smur_pediatrique", "coord_source", "coord_corrigee", "geometry"]
    gdf = gdf[cols]
    gdf.attrs["note_smur"] = NOTE_SMUR_UNKNOWN if kinds is None else ""
    return gdf


def emergency_services(facilities: pd.DataFrame) -> pd.DataFrame:
    """What counts as an SU or a SMUR: the one place deciding it (routing, maps, tables).

    Paediatric-only services (``su_pediatrique_seul``, ``smur_pediatrique_seul``) do not
    serve the general population: they are neither an ``su`` nor a ``smur`` here.

    Parameters
    ----------
    facilities
        :func:`read_facilities` frame (or any frame with some of its boolean columns; an
        absent column counts as False).

    Returns
    -------
    DataFrame
        Indexed like ``facilities``; booleans ``su`` (general SU), ``smur`` (general SMUR,
        antennas and seasonal ones included), ``smur_antenne`` (general SMUR that is an
        antenna), ``su_pediatrique_seul``, ``smur_pediatrique_seul`` (children only).
    """
    def flag(column: str) -> npt.NDArray[np.bool_]:
        if column not in facilities.columns:
            return np.zeros(len(facilities), dtype=bool)
        return facilities[column].fillna(False).to_numpy(dtype=bool)

    su_ped = flag("su_pediatrique_seul")
    smur_ped = flag("smur") & flag("smur_pediatrique_seul")
    su = flag("su") & ~su_ped
    smur = flag("smur") & ~smur_ped
    return pd.DataFrame({"su": su, "smur": smur, "smur_antenne": smur & flag("smur_antenne"),
                         "su_pediatrique_seul": su_ped, "smur_pediatrique_seul": smur_ped},
                        index=facilities.index)


GRID_SOURCES: tuple[str, ...] = ("population_grid_france", "population_grid")
"""Population grids, preferred first: metropolitan France + 50 km, else Occitanie + 50 km."""


ROAD_SOURCES: tuple[str, ...] = ("roads_france", "roads")
"""Road graphs, preferred first: metropolitan France + 50 km, else Occitanie + 50 km."""


def road_network_source(data_dir: str | Path) -> str:
    """Id of the default road graph: the France graph when present, else Occitanie's."""
    for sid in ROAD_SOURCES:
        if CATALOGUE[sid].path(data_dir).is_file():
            return sid
    return ROAD_SOURCES[0]  # absent: the message names the France file


def population_grid_source(data_dir: str | Path) -> str:
    """Id of the population grid a run uses: the France grid when present, else Occitanie's."""
    for sid in GRID_SOURCES:
        if CATALOGUE[sid].path(data_dir).is_file():
            return sid
    return GRID_SOURCES[-1]  # absent: its reader names the file to put in place


def read_population_grid(data_dir: str | Path, source_id: str | None = None) -> gpd.GeoDataFrame:
    """Read the Census 2021 1 km population grid as cell-centre points.

    The source cells are EPSG:3035 squares; their centres are computed in
    EPSG:3035 (exact) and projected to EPSG:2154.

    Parameters
    ----------
    data_dir
        Data directory.
    source_id
        ``population_grid_france`` (GeoParquet, metropolitan France + 50 km) or
        ``population_grid`` (GeoPackage, Occitanie + 50 km); ``None`` = the France grid
        when its file is present, else the Occitanie one (:func:`population_grid_source`).

    Returns
    -------
    GeoDataFrame
        Index ``grd_id``; ``population`` (float64), ``frac_in_occitanie`` (share of the
        cell area inside Occitanie), ``frac_in_france`` (inside metropolitan France; NaN
        for the Occitanie file), geometry = cell centres (EPSG:2154). ``attrs["source"]``
        is the source id read.
    """
    sid = source_id or population_grid_source(data_dir)
    if sid not in GRID_SOURCES:
        raise ValueError(f"unknown population grid source {sid!r} (one of {GRID_SOURCES})")
    src = CATALOGUE[sid]
    floats = [c for c, k in src.columns.items() if k == "float"]
    if src.kind == "parquet":
        # the lower-left corners (x_ll_3035, y_ll_3035) give the EPSG:3035 cell centres
        # exactly, without decoding 424,328 polygons
        path, gdf = _io.read_parquet_checked(
            src, data_dir, columns=[*src.columns, "x_ll_3035", "y_ll_3035"], geometry=False)
        problems = _io.check_unique(path, gdf, "GRD_ID")
        problems += _io.to_float(path, gdf, [*floats, "x_ll_3035", "y_ll_3035"])
        _io.fail(path, problems)
        from pyproj import Transformer

        tr = Transformer.from_crs(3035, 2154, always_xy=True)
        x, y = tr.transform(gdf["x_ll_3035"].to_numpy() + 500.0,
                            gdf["y_ll_3035"].to_numpy() + 500.0)
        pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=2154)
    else:
        path, gdf = _io.read_layer_checked(src, data_dir, to_crs=None)
        problems = _io.check_unique(path, gdf, "GRD_ID")
        problems += _io.to_float(path, gdf, floats)
        _io.fail(path, problems)
        # centres computed in the grid's own equal-area CRS (exact for EPSG:3035 squares)
        cells = gdf.geometry if not gdf.crs.is_geographic else gdf.geometry.to_crs(3035)
        pts = cells.centroid.to_crs(2154)
    frac_fr = (gdf["frac_in_france"].to_numpy(dtype="float64") if "frac_in_france" in gdf
               else np.full(len(gdf), np.nan))
    out = gpd.GeoDataFrame(
        {"population": gdf["T"].to_numpy(dtype="float64"),
         "frac_in_occitanie": gdf["frac_in_occitanie"].to_numpy(dtype="float64"),
         "frac_in_france": frac_fr},
        geometry=pts.to_numpy(),
        crs=2154,
        index=pd.Index(gdf["GRD_ID"].astype(str).to_numpy(dtype=object), name="grd_id"),
    )
    out.attrs["source"] = sid
    return out


def read_road_edges(data_dir: str | Path) -> pd.DataFrame:
    """Read the edge attributes of the France Travel Mapping graph (GeoParquet, no geometry).

    The road graph itself is built from the same file by
    :func:`zoning.routing.graph_from_line_layer`; this reader gives the attributes the
    builder does not keep (``in_france``, ``in_occitanie_buf50km``), e.g. to check that
    the Occitanie subset is the Occitanie graph.

    Returns
    -------
    DataFrame
        ``u, v`` (int64 node ids, ``u < v``), ``length_km`` (float64), ``road_class``,
        ``in_france``, ``in_occitanie_buf50km`` (bool).
    """
    src = CATALOGUE["roads_france"]
    path, df = _io.read_parquet_checked(src, data_dir, geometry=False)
    problems = _io.as_int64(df, "u", path) + _io.as_int64(df, "v", path)
    problems += _io.to_float(path, df, ["length_km"])
    problems += _io.to_bool(path, df, ["in_france", "in_occitanie_buf50km"])
    _io.fail(path, problems)
    df["road_class"] = df["road_class"].astype(str)
    return df


def read_road_nodes(data_dir: str | Path) -> gpd.GeoDataFrame:
    """Read the nodes of the France Travel Mapping graph (GeoParquet).

    Returns
    -------
    GeoDataFrame
        Index ``node_id`` (int64); ``component`` (int64, 0 = mainland, 1 = Corsica),
        ``in_france`` (bool), geometry = node points (EPSG:2154).
    """
    src = CATALOGUE["roads_france_nodes"]
    path, gdf = _io.read_parquet_checked(src, data_dir, columns=["node_id", "component",
                                                                 "in_france"])
    problems = _io.check_unique(path, gdf, "node_id")
    problems += _io.as_int64(gdf, "node_id", path) + _io.as_int64(gdf, "component", path)
    problems += _io.to_bool(path, gdf, ["in_france"])
    _io.fail(path, problems)
    return gdf.set_index("node_id")


ALD_KEYS: dict[str, tuple[str, str]] = {
    "code_insee": ("commune", "commune"),
    "code_commune": ("commune", "commune"),
    "epci_siren": ("epci", "siren"),
    "dep": ("departement", "dep"),
}
"""Accepted key columns of an ALD file: column -> (level, code kind)."""


def read_ald(data_dir: str | Path, path: str | Path | None = None) -> pd.DataFrame | None:
    """Read the share of patients in ALD, when a file is available.

    Expected CSV (UTF-8, ``,`` or ``;`` separator, ``.`` or ``,`` decimal mark):

    - exactly one key column: ``dep`` (département, e.g. "09"), ``epci_siren``
      (9 digits) or ``code_insee`` / ``code_commune`` (5 characters);
    - either ``part_ald`` (percentage of the population in ALD, 0–100), or
      ``beneficiaires_ald`` and ``population`` (the share is then computed);
    - optional ``annee``.

    Parameters
    ----------
    data_dir
        The data directory (default file ``health/ald_departement.csv``).
    path
        A user CSV; when given it must exist.

    Returns
    -------
    DataFrame or None
        ``None`` when no file is given and the default file is absent (the
        criterion is then reported missing). Otherwise indexed by the key
        (``dep``, ``epci_siren`` or ``code_insee``) with ``part_ald`` (float64, %)
        and, when given, ``beneficiaires_ald``, ``population``;
        ``attrs["niveau"]`` is ``"departement"``, ``"epci"`` or ``"commune"``,
        ``attrs["vintage"]`` the years of the ``annee`` column when present.
    """
    src = CATALOGUE["ald"]
    if path is None:
        file = src.path(data_dir)
        if not file.is_file():
            return None
    else:
        file = Path(path)
    df, sep = _io.read_user_csv(
        file, "ALD file", "give an existing CSV (columns: dep, epci_siren or code_insee, and "
        f"part_ald or beneficiaires_ald + population; see {src.url})")
    keys = [c for c in df.columns if c in ALD_KEYS]
    if len(keys) != 1:
        raise DataFormatError(
            f"{file}: expected exactly one key column among {', '.join(ALD_KEYS)} "
            f"(found: {', '.join(keys) or 'none'}; columns: {', '.join(df.columns)})"
        )
    key = keys[0]
    level, kind = ALD_KEYS[key]
    has_share = "part_ald" in df.columns
    has_counts = {"beneficiaires_ald", "population"} <= set(df.columns)
    if not (has_share or has_counts):
        raise DataFormatError(
            f"{file}: missing column 'part_ald' (or both 'beneficiaires_ald' and 'population')"
        )
    problems = _io.check_codes(file, df, {key: kind})
    problems += _io.check_unique(file, df, key)
    numeric = [c for c in ("part_ald", "beneficiaires_ald", "population") if c in df.columns]
    decimal_comma = sep == ";"
    problems += _io.to_float(file, df, numeric, decimal_comma=decimal_comma)
    if not problems:
        problems += _io.check_values(file, df, CATALOGUE["ald"].bounds, key)
    if not has_share and not problems:
        df["part_ald"] = 100.0 * df["beneficiaires_ald"] / df["population"]
    if not problems:
        out_of_range = (df["part_ald"] < 0) | (df["part_ald"] > 100)
        if out_of_range.any():
            problems.append(f"column 'part_ald': {int(out_of_range.sum())} value(s) outside 0–100 "
                            "(give a percentage)")
    _io.fail(file, problems)
    index_name = "code_insee" if level == "commune" else key
    out = df.set_index(key)[numeric if has_share else ["part_ald", *numeric]]
    out.index.name = index_name
    out.attrs["niveau"] = level
    out.attrs["source"] = str(file)
    if "annee" in df.columns:
        out.attrs["vintage"] = ", ".join(sorted(df["annee"].dropna().astype(str).unique()))
    return out


def _read_json_list(source: Source, data_dir: str | Path) -> tuple[Path, pd.DataFrame]:
    """A gzip-compressed JSON list of records as a frame of strings, columns checked."""
    import gzip
    import json

    path = _io.require_file(source, data_dir)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            records = json.load(fh)
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{path}: not a gzip-compressed JSON list ({exc})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DataFormatError(f"{path}: expected a JSON list of objects (records)")
    frame = pd.DataFrame.from_records(records)
    _io.check_columns(path, frame.columns, source.columns)
    frame = frame[list(source.columns)].astype("string")
    return path, frame


def read_departements(data_dir: str | Path) -> pd.DataFrame:
    """Read the départements of the COG (etalab ``departements.json.gz``).

    Returns
    -------
    DataFrame
        Index ``dep``; ``nom``, ``reg``, ``chef_lieu`` (commune code of the préfecture);
        metropolitan and overseas départements (``zone`` metro or drom) only.
    """
    src = CATALOGUE["departements"]
    path, df = _read_json_list(src, data_dir)
    # départements only: the collectivités d'outre-mer (984, 986...) have no département code
    df = df[df["zone"].isin(["metro", "drom"])].drop(columns="zone")
    df = df.rename(columns={"code": "dep", "region": "reg", "chefLieu": "chef_lieu"})
    problems = _io.check_codes(path, df, {"dep": "dep", "reg": "reg", "chef_lieu": "commune"})
    problems += _io.check_unique(path, df, "dep")
    _io.fail(path, problems)
    return df.set_index("dep")


def read_arrondissements(data_dir: str | Path) -> pd.Series:
    """Arrondissement (INSEE code, e.g. ``"311"``) of every current commune (etalab
    ``communes.json.gz``, rows of type ``commune-actuelle``).

    Returns
    -------
    Series
        Index ``code_insee``, name ``arrondissement`` (string; missing for communes without).
    """
    src = CATALOGUE["arrondissements"]
    path, df = _read_json_list(src, data_dir)
    df = df[df["type"] == "commune-actuelle"].rename(columns={"code": "code_insee"})
    problems = _io.check_codes(path, df, {"code_insee": "commune"})
    problems += _io.check_unique(path, df, "code_insee")
    _io.fail(path, problems)
    return df.set_index("code_insee")["arrondissement"].astype("string")


REFERENCE_KEYS = ("epci_siren", "siren", "code", "nom", "epci_nom", "name", "epci")
"""Accepted header names of a reference list (else the first column, without header)."""


def read_reference_list(path: str | Path) -> pd.Series:
    """Read a reference list of EPCI (``--reference``): SIREN or names, one per row.

    Parameters
    ----------
    path
        CSV: a column among :data:`REFERENCE_KEYS` (``epci_siren``, ``nom``...), else the
        first column of a file without header. UTF-8 text.

    Returns
    -------
    pandas.Series
        The non-empty stripped values in file order, named after the column read.

    Raises
    ------
    DataFileNotFoundError, DataFormatError
        Missing, non-UTF-8, empty or unparsable file; no EPCI listed.
    """
    path = Path(path)
    df, _ = _io.read_user_csv(path, "reference CSV", "give an existing CSV listing EPCI "
                              "(SIREN or names, one per row)", header=False)
    first = [str(v).strip().lower() for v in df.iloc[0].fillna("")]
    col: Any = next((i for k in REFERENCE_KEYS for i, h in enumerate(first) if h == k), None)
    if col is None:  # no header: first column
        name, values = "1re colonne", df[0]
    else:
        name, values = str(df.iat[0, col]).strip(), df[col].iloc[1:]
    values = values.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        raise DataFormatError(f"{path}: column {name!r}: no EPCI listed")
    return pd.Series(values.to_numpy(), name=name)


def source_rows(source_id: str, data_dir: str | Path) -> int:
    """Validate the file of ``source_id`` with its reader and return its row count.

    Raises the same errors as the readers.
    """
    src = CATALOGUE[source_id]
    if src.kind == "pbf":
        path = _io.require_file(src, data_dir)
        with open(path, "rb") as fh:
            head = fh.read(64)
        if b"OSMHeader" not in head:
            raise DataFormatError(f"{path}: not an OSM PBF file (no OSMHeader block)")
        return -1
    readers = {
        "communes": lambda: len(read_communes(data_dir)),
        "mairies": lambda: len(read_mairies(data_dir)),
        "communes_epci": lambda: len(read_commune_table(data_dir)),
        "epci": lambda: len(read_epci(data_dir)),
        "apl": lambda: _apl_rows(data_dir, "apl"),
        "apl_age": lambda: _apl_rows(data_dir, "apl_age"),
        "filosofi": lambda: len(read_filosofi(data_dir)),
        "urgences": lambda: len(read_facilities(data_dir)),
        "smursamu": lambda: _smursamu_rows(data_dir),
        "population_grid": lambda: len(read_population_grid(data_dir, "population_grid")),
        "roads": lambda: _roads_rows(data_dir),
        "roads_france": lambda: _io.count_parquet(CATALOGUE["roads_france"], data_dir),
        "roads_france_nodes": lambda: _io.count_parquet(CATALOGUE["roads_france_nodes"],
                                                        data_dir),
        "population_grid_france": lambda: len(
            read_population_grid(data_dir, "population_grid_france")),
        "ald": lambda: _ald_rows(data_dir),
        "ald_bv": lambda: len(health.read_ald_bassins(data_dir)),
        "bv_communes": lambda: len(health.read_bv_communes(data_dir)),
        "mg_2019": lambda: len(health.read_mg_2019(data_dir)),
        "filosofi_epci": lambda: len(health.read_filosofi_epci(data_dir)),
        "departements": lambda: len(read_departements(data_dir)),
        "arrondissements": lambda: len(read_arrondissements(data_dir)),
    }
    return int(readers[source_id]())


def _apl_rows(data_dir: str | Path, source_id: str) -> int:
    src = CATALOGUE[source_id]
    path, df = _io.read_csv_checked(src, data_dir)
    problems = _io.check_codes(path, df, _codes_kinds(src))
    dup = df.duplicated(["code_commune", "millesime"], keep=False)
    if dup.any():
        problems.append(f"columns 'code_commune'+'millesime': {int(dup.sum())} duplicated rows")
    problems += _io.to_float(path, df, [c for c, k in src.columns.items() if k == "float"])
    if not problems:
        problems += _io.check_values(path, df, src.bounds, "code_commune")
        problems += _zero_weights(df)
    _io.fail(path, problems)
    return len(df)


def _roads_rows(data_dir: str | Path) -> int:
    src = CATALOGUE["roads"]
    n = _io.count_layer(src, data_dir, "edges")
    _io.count_layer(src, data_dir, "nodes")
    return n


def _smursamu_rows(data_dir: str | Path) -> int:
    _io.require_file(CATALOGUE["smursamu"], data_dir)
    frame = read_smur_types(data_dir)
    return 0 if frame is None else len(frame)


def _ald_rows(data_dir: str | Path) -> int:
    src = CATALOGUE["ald"]
    _io.require_file(src, data_dir)
    frame = read_ald(data_dir)
    return 0 if frame is None else len(frame)
