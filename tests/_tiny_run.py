"""Run results for the export tests (no test functions here).

``tiny_result()`` builds a small run IN CODE (a few squares, fake SIRENs) for unit tests.
The exports at real size run on the real pipeline (tests/test_exports_integration.py).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from zoning.results import CriterionMeta, RunResult

CRITERIA = [
    CriterionMeta("apl", "Accès aux médecins généralistes (APL)",
                  "consultations/an/hab. standardisé", "higher_is_better", 0.25, True,
                  "DREES, APL médecins généralistes", "2023"),
    CriterionMeta("age_mg", "Présence de jeunes médecins", "part de l'APL", "higher_is_worse",
                  0.25, True, "DREES, APL par âge des médecins", "2023"),
    CriterionMeta("ald", "Part des patients en ALD", "% de la population", "higher_is_worse", 0.0,
                  False, "Cnam, ALD", "", "fichier ALD absent : critère non calculé"),
    CriterionMeta("urgences", "Éloignement des urgences", "% de la population",
                  "higher_is_worse", 0.25, True, "DREES, SAE 2022 (SU/SMUR)", "2022"),
    CriterionMeta("niveau_vie", "Niveau de vie", "€/an par UC", "higher_is_better", 0.25, True,
                  "INSEE, Filosofi", "2021"),
]

EVIL = "<script>alert(1)</script>"


def _scores(epci: pd.DataFrame, raw: dict[str, np.ndarray], top: int) -> pd.DataFrame:
    """Placeholder ranking: percentile ranks oriented by direction, equal weights."""
    out = epci.copy()
    scores = []
    for c in CRITERIA:
        out[c.id] = raw[c.id]
        s = pd.Series(raw[c.id], index=epci.index).rank(pct=True)
        if c.direction == "higher_is_better":
            s = 1.0 - s + 1.0 / len(s)
        out[f"{c.id}_score"] = s.where(pd.Series(raw[c.id], index=epci.index).notna())
        if c.available:
            scores.append(out[f"{c.id}_score"])
    out["composite"] = pd.concat(scores, axis=1).mean(axis=1)
    out["rank"] = out["composite"].rank(ascending=False, method="first").astype("int64")
    out["selected"] = out["rank"] <= top
    out["probability"] = np.clip(1.0 - (out["rank"] - top) / (2.0 * top) - 0.3, 0, 1).round(3)
    out["rank_p05"] = np.maximum(out["rank"] - 2, 1)
    out["rank_p95"] = out["rank"] + 2
    out["robustesse"] = np.where(out["probability"] >= 0.9, "robuste",
                                 np.where(out["selected"], "limite", "hors zone"))
    return out


def tiny_result(evil_name: bool = True) -> RunResult:
    """Four 10 km square EPCI in a row, two communes each, three sites (EPSG:2154)."""
    x0, y0 = 600_000.0, 6_250_000.0
    sirens = ["200000001", "200000002", "200000003", "200000004"]
    names = ["CC du Plateau", "CA de la Vallée", EVIL if evil_name else "CC des Monts",
             "CC Côte & Mer {{ x }}"]
    geoms = [box(x0 + 10_000 * i, y0, x0 + 10_000 * (i + 1), y0 + 10_000) for i in range(4)]
    epci = gpd.GeoDataFrame(
        {"epci_nom": names, "epci_type": ["CC", "CA", "CC", "CC"], "dep": ["09", "31", "31", "11"],
         "population": [12_000, 85_000, 4_500, 9_800], "n_communes": [2, 2, 2, 2]},
        geometry=geoms, crs=2154, index=pd.Index(sirens, name="epci_siren"))
    raw = {
        "apl": np.array([2.1, 3.9, 1.4, 2.8]),
        "age_mg": np.array([0.42, 0.25, 0.61, 0.33]),
        "ald": np.full(4, np.nan),
        "urgences": np.array([12.0, 0.0, 67.5, 30.2]),
        "niveau_vie": np.array([19_800.0, 23_400.0, 18_900.0, 21_000.0]),
    }
    epci = gpd.GeoDataFrame(_scores(epci, raw, top=2), geometry="geometry", crs=2154)

    codes, cnames, csiren, cgeoms = [], [], [], []
    for i, s in enumerate(sirens):
        for j in range(2):
            codes.append(f"{epci['dep'].iloc[i]}{100 + 2 * i + j:03d}")
            cnames.append(f"Commune {i}-{j}" if (i, j) != (2, 1) else "Saint-Évil <b>gras</b>")
            csiren.append(s)
            cgeoms.append(box(x0 + 10_000 * i + 5_000 * j, y0, x0 + 10_000 * i + 5_000 * (j + 1),
                              y0 + 10_000))
    t = np.array([5.0, 12.0, 8.0, 3.0, 41.0, 55.0, 24.0, np.nan])
    communes = gpd.GeoDataFrame(
        {"nom": cnames, "dep": [c[:2] for c in codes], "epci_siren": csiren,
         "population": [6000, 6000, 60000, 25000, 3000, 1500, 5000, 4800],
         "t_urgence_min": t, "t_su_min": t + 2, "t_smur_min": t,
         "finess_urgence": ["310000001"] * 7 + [None], "nom_urgence": ["CH Test"] * 7 + [None]},
        geometry=cgeoms, crs=2154, index=pd.Index(codes, name="code_insee"))
    facilities = gpd.GeoDataFrame(
        {"nom": ["CH Test", "Clinique <i>Sud</i>", "Antenne SMUR des Monts"],
         "type_libelle": ["SU et SMUR", "SU", "Antenne SMUR"],
         "su": [True, True, False], "smur": [True, False, True],
         "su_pediatrique_seul": [False, False, False], "smur_antenne": [False, False, True],
         "passages_su": [30000.0, 12000.0, np.nan]},
        geometry=[Point(x0 + 15_000, y0 + 5_000), Point(x0 + 2_000, y0 + 8_000),
                  Point(x0 + 36_000, y0 + 5_000)],
        crs=2154, index=pd.Index(["310000001", "310000002", "110000003"], name="finess"))
    return RunResult(
        region="99", region_name="Région test", epci=epci, communes=communes,
        facilities=facilities, criteria=list(CRITERIA),
        notes=["Réseau routier : couche de test (pas de calcul réel)."],
        params={"computed_at": "2026-11-25T21:00:00", "version": "0.1.0",
                "vintages": {"Découpage EPCI": "2025"}, "config": {"path": "config/criteria.toml"}},
    )
