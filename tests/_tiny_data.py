"""A tiny, hand-made data directory with the layout of the real one (built in code).

The values are invented for tests only (never real data): 9 communes in 5 EPCI; APL and
Filosofi rows for every inhabited commune, so that `--region FR` and `--region all` run.

Communes (code, region, EPCI, population):

- 09001 (76, A, 100), 09002 (76, A, 200; absorbed COG 2024 commune 09003)
- 31001 (76, B, 1000), 31002 (76, B, 50)
- 12001 (76, C, 300), 15001 (84, C, 500)      -> C belongs to 84
- 46001 (76, D, 400), 19001 (75, D, 100)      -> D belongs to 76 (one commune outside)
- 2A004 (94, E, 70)

Region 76: 6 communes, 2,050 inhabitants. Its territory: EPCI A, B, D, 6 communes
(incl. 19001), 1,850 inhabitants.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, box

SIREN = {"A": "200000001", "B": "200000002", "C": "200000003", "D": "200000004",
         "E": "200000005"}

COMMUNES = [
    # code, nom, dep, reg, epci, population, codes_cog2024
    ("09001", "Un", "09", "76", "A", 100, "09001"),
    ("09002", "Deux", "09", "76", "A", 200, "09002;09003"),
    ("31001", "Trois", "31", "76", "B", 1000, "31001"),
    ("31002", "Quatre", "31", "76", "B", 50, "31002"),
    ("12001", "Cinq", "12", "76", "C", 300, "12001"),
    ("15001", "Six", "15", "84", "C", 500, "15001"),
    ("46001", "Sept", "46", "76", "D", 400, "46001"),
    ("19001", "Huit", "19", "75", "D", 100, "19001"),
    ("2A004", "Neuf", "2A", "94", "E", 70, "2A004"),
]

REGION_76_COMMUNES = 6
REGION_76_POPULATION = 2050
TERRITORY_76_EPCI = {SIREN["A"], SIREN["B"], SIREN["D"]}
TERRITORY_76_COMMUNES = {"09001", "09002", "31001", "31002", "46001", "19001"}
TERRITORY_76_POPULATION = 1850


def _squares() -> list:
    return [box(1.0 + 0.1 * i, 43.0, 1.1 + 0.1 * i, 43.1) for i in range(len(COMMUNES))]


def commune_frame() -> pd.DataFrame:
    """The commune attribute table (strings for codes)."""
    df = pd.DataFrame(COMMUNES, columns=["code_insee", "nom", "dep", "reg", "epci",
                                         "population", "codes_cog2024"])
    df["epci_siren"] = df.pop("epci").map(SIREN)
    df["epci_nom"] = "CC " + df["epci_siren"].str[-1]
    df["epci_type"] = "CC"
    return df[["code_insee", "nom", "dep", "reg", "epci_siren", "epci_nom", "epci_type",
               "population", "codes_cog2024"]]


def write_communes_gpkg(path: Path, crs: str | None = "EPSG:4326") -> None:
    df = commune_frame()
    gdf = gpd.GeoDataFrame(df, geometry=_squares(), crs=crs)
    gdf.to_file(path, layer="communes_cog2025", driver="GPKG")
    centres = [g.centroid for g in _squares()]
    # 31002's town hall is geocoded in another commune: the representative point is used.
    centres[3] = Point(1.05, 43.05)
    mairies = gpd.GeoDataFrame(
        {"code_insee": df["code_insee"], "nom": df["nom"], "adresse": "1 place de la Mairie",
         "dep": df["dep"], "reg": df["reg"],
         "in_commune_polygon": [True] * 3 + [False] + [True] * 5},
        geometry=centres, crs=crs)
    mairies.to_file(path, layer="mairies_cog2025", driver="GPKG")


def write_epci_gpkg(path: Path, crs: str | None = "EPSG:4326",
                    duplicate: bool = False) -> None:
    df = commune_frame()
    gdf = gpd.GeoDataFrame(df, geometry=_squares(), crs="EPSG:4326").dissolve(
        "epci_siren", aggfunc={"population": "sum", "epci_nom": "first", "epci_type": "first",
                               "code_insee": "size", "dep": lambda s: ";".join(sorted(set(s))),
                               "reg": lambda s: ";".join(sorted(set(s)))})
    gdf = gdf.rename(columns={"code_insee": "n_communes", "dep": "deps", "reg": "regs"})
    gdf["reg_majoritaire_pop"] = ["76", "76", "84", "76", "94"]
    gdf = gdf.reset_index()[["epci_siren", "epci_nom", "epci_type", "population", "n_communes",
                             "deps", "regs", "reg_majoritaire_pop", "geometry"]]
    if duplicate:
        gdf.loc[1, "epci_siren"] = gdf.loc[0, "epci_siren"]
    gdf = gdf.set_crs(crs, allow_override=True) if crs else gdf.set_crs(None, allow_override=True)
    gdf.to_file(path, layer="epci_2025", driver="GPKG")


APL_ROWS = [
    # code, commune, apl, apl65, apl62, apl60, pop_std, pop
    ("09001", "Un", 2.0, 1.8, 1.5, 1.2, 100.0, 100),
    ("09002", "Deux", 4.0, 3.0, 2.0, 1.0, 150.0, 150),
    ("09003", "Ancienne", 1.0, 1.0, 1.0, 1.0, 50.0, 50),
    ("31001", "Trois", 3.0, 2.5, 2.0, 1.5, 1000.0, 1000),
    ("31002", "Quatre", 0.5, 0.4, 0.3, 0.2, 50.0, 50),
    ("12001", "Cinq", 2.5, 2.0, 2.0, 2.0, 300.0, 300),
    ("15001", "Six", 2.5, 2.0, 2.0, 2.0, 500.0, 500),
    ("46001", "Sept", 1.5, 1.0, 0.8, 0.5, 400.0, 400),
    ("19001", "Huit", 1.5, 1.0, 0.8, 0.5, 100.0, 100),
    ("2A004", "Neuf", 1.0, 0.8, 0.6, 0.4, 70.0, 70),
    ("09999", "Inconnue", 1.0, 1.0, 1.0, 1.0, 10.0, 10),
]


def apl_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    main_rows, age_rows = [], []
    for millesime in (2022, 2023):
        for code, nom, apl, a65, a62, a60, pstd, pop in APL_ROWS:
            main_rows.append((code, nom, millesime, millesime - 2, apl, a65, pstd, pop))
            age_rows.append((code, millesime, a62, a60))
    main = pd.DataFrame(main_rows, columns=["code_commune", "commune", "millesime",
                                            "annee_population", "apl_mg", "apl_mg_moins_65ans",
                                            "pop_standardisee_mg", "pop_totale"])
    age = pd.DataFrame(age_rows, columns=["code_commune", "millesime", "apl_mg_62ans_et_moins",
                                          "apl_mg_60ans_et_moins"])
    return main, age


FILOSOFI_TEXT = (
    "CODGEO;NBMENFISC21;NBPERSMENFISC21;MED21;PIMP21;TP6021\n"
    "09001;40;95;21000;s;s\n"
    "09002;60;140;23000,5;s;s\n"
    "09003;s;s;s;s;s\n"
    "31001;400;990;25000;55;12,5\n"
    "15001;200;480;20000;s;s\n"
    # national files cover every inhabited commune ("nd": a row without published figures)
    "31002;nd;nd;nd;nd;nd\n"
    "46001;nd;nd;nd;nd;nd\n"
    "19001;nd;nd;nd;nd;nd\n"
    "12001;nd;nd;nd;nd;nd\n"
    "2A004;nd;nd;nd;nd;nd\n"
)

SAE_COLUMNS = [
    "finess_et", "passages_su_gen", "passages_su_ped", "su_generale", "su_pediatrique",
    "autorisation_su", "autorisation_su_saisonniere", "smur", "smur_antenne", "smur_saisonnier",
    "smur_pediatrique", "samu", "raison_sociale", "dep", "reg", "code_commune", "commune",
    "lat", "lon", "coord_source",
]

SAE_ROWS = [
    ["310000001", "30000.0", "5000.0", "1", "1", "1", "0", "1", "0", "0", "0", "1",
     "CHU TEST", "31", "76", "31001", "TROIS", "43.05", "1.25", "eurostat"],
    ["310000002", "", "8000.0", "0", "1", "1", "0", "", "", "", "", "",
     "HOPITAL ENFANTS", "31", "76", "31001", "TROIS", "43.04", "1.26", "eurostat"],
    ["090000003", "", "", "0", "0", "", "", "1", "1", "0", "0", "0",
     "ANTENNE", "09", "76", "09001", "UN", "43.05", "1.05", "eurostat"],
    ["970000004", "12000.0", "", "1", "0", "1", "0", "1", "0", "1", "0", "0",
     "CH OUTRE-MER", "9A", "01", "9A105", "BASSE-TERRE", "16.0", "-61.7", "eurostat"],
]


def sae_frame() -> pd.DataFrame:
    return pd.DataFrame(SAE_ROWS, columns=SAE_COLUMNS)


def write_grid_gpkg(path: Path, crs: str | None = "EPSG:3035") -> None:
    cells = [box(3600000, 2300000, 3601000, 2301000), box(3601000, 2300000, 3602000, 2301000)]
    gdf = gpd.GeoDataFrame(
        {"GRD_ID": ["CRS3035RES1000mN2300000E3600000", "CRS3035RES1000mN2300000E3601000"],
         "T": [120, 30], "frac_in_occitanie": [1.0, 0.25]},
        geometry=cells, crs=crs)
    gdf.to_file(path, layer="census2021_grid1km", driver="GPKG")


def write_roads_gpkg(path: Path) -> None:
    nodes = gpd.GeoDataFrame({"node_id": [0, 1, 2]},
                             geometry=[Point(1.0, 43.0), Point(1.5, 43.0), Point(1.5, 43.1)],
                             crs="EPSG:4326")
    edges = gpd.GeoDataFrame(
        {"u": [0, 1], "v": [1, 2], "length_km": [40.6, 11.1],
         "road_class": ["motorway", "departmental_or_regional"]},
        geometry=[LineString([(1.0, 43.0), (1.5, 43.0)]), LineString([(1.5, 43.0), (1.5, 43.1)])],
        crs="EPSG:4326")
    edges.to_file(path, layer="edges", driver="GPKG")
    nodes.to_file(path, layer="nodes", driver="GPKG")


def make_data_dir(root: Path) -> Path:
    """Write every required file of the catalogue under ``root``; return ``root``."""
    for sub in ("admin", "health", "population", "roads"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    write_communes_gpkg(root / "admin" / "communes_cog2025_fr.gpkg")
    commune_frame().to_csv(root / "admin" / "communes_epci_cog2025.csv", index=False)
    write_epci_gpkg(root / "admin" / "epci_2025_fr.gpkg")
    main, age = apl_frames()
    main.to_csv(root / "health" / "drees_apl_mg_2022_2023_communes.csv", index=False)
    age.to_csv(root / "health" / "drees_apl_mg_62_60ans_2022_2023_communes.csv", index=False)
    (root / "health" / "insee_filosofi_2021_cc_COM.csv").write_text(FILOSOFI_TEXT,
                                                                     encoding="utf-8")
    sae_frame().to_csv(root / "health" / "sae2022_urgences_smur_sites_geoloc.csv", index=False)
    write_grid_gpkg(root / "population" / "eurostat_census2021_grid1km_occitanie_buf50km.gpkg")
    write_roads_gpkg(root / "roads" / "travelmapping_roads_occitanie_buf50km.gpkg")
    return root
