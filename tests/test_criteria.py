"""Criteria per EPCI on the real data (integration) and on tiny frames (unit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from zoning.config import load_config
from zoning.criteria import (
    ALD_UNAVAILABLE_NOTE,
    CriterionResult,
    _ald,
    ald_criterion,
    compute_criteria,
    urgences_criterion,
    weighted_median,
)
from zoning.scoring import score
from zoning.territory import Territory, load_territory

Crits = dict[str, CriterionResult]

CAUSSES_AIGOUAL = "200034601"  # CC Causses Aigoual Cévennes (30)
TOULOUSE = "243100518"  # Toulouse Métropole
MONT_LOZERE = "200069128"  # CC Mont Lozère (30, 48)
CONQUES = "241200641"  # CC Conques-Marcillac (holds 12218, a commune nouvelle after COG 2024)


# --------------------------------------------------------------------------- unit


def test_weighted_median_by_group() -> None:
    v = pd.Series([1.0, 2.0, 3.0, 10.0, 20.0, np.nan])
    w = pd.Series([1.0, 1.0, 5.0, 3.0, 1.0, 100.0])
    g = pd.Series(["a", "a", "a", "b", "b", "b"])
    m = weighted_median(v, w, g)
    assert m.to_dict() == {"a": 3.0, "b": 10.0}


# --------------------------------------------------------------------------- integration


@pytest.fixture(scope="module")
def territory(data_dir: Path) -> Territory:
    return load_territory(data_dir, "76")


@pytest.fixture(scope="module")
def crits(territory: Territory, data_dir: Path) -> Crits:
    return compute_criteria(territory, load_config(), data_dir, travel=None)


def _hand_apl(data_dir: Path, siren: str) -> tuple[float, float]:
    """APL and >60 share of one EPCI by hand: raw DREES CSV + commune table, plain pandas."""
    apl = pd.read_csv(data_dir / "health" / "drees_apl_mg_2022_2023_communes.csv",
                      dtype={"code_commune": str})
    age = pd.read_csv(data_dir / "health" / "drees_apl_mg_62_60ans_2022_2023_communes.csv",
                      dtype={"code_commune": str})
    apl = apl[apl["millesime"] == 2023].merge(age[age["millesime"] == 2023],
                                               on=["code_commune", "millesime"])
    com = pd.read_csv(data_dir / "admin" / "communes_epci_cog2025.csv", dtype=str)
    com = com[com["epci_siren"] == siren]
    old = set(com["code_insee"])
    for codes in com["codes_cog2024"].dropna():
        old |= set(codes.split(";"))
    rows = apl[apl["code_commune"].isin(old)]
    w = rows["pop_standardisee_mg"]
    value = (w * rows["apl_mg"]).sum() / w.sum()
    share = 1 - (w * rows["apl_mg_60ans_et_moins"]).sum() / (w * rows["apl_mg"]).sum()
    return float(value), float(share)


@pytest.mark.integration
@pytest.mark.parametrize("siren", [CAUSSES_AIGOUAL, TOULOUSE, CONQUES])
def test_apl_equals_hand_computation(
    crits: Crits, data_dir: Path, siren: str
) -> None:
    value, share = _hand_apl(data_dir, siren)
    assert crits["apl"].values[siren] == pytest.approx(value, rel=1e-12)
    assert crits["age_mg"].values[siren] == pytest.approx(100 * share, rel=1e-12)  # percent
    assert crits["apl"].coverage[siren] == pytest.approx(1.0)


@pytest.mark.integration
def test_criteria_cover_every_epci(crits: Crits, territory: Territory) -> None:
    assert len(territory.epci) == 161
    for cid in ("apl", "age_mg", "niveau_vie"):
        r = crits[cid]
        assert r.available and r.values.index.equals(territory.epci.index)
        assert r.values.notna().all(), cid
    # Occitanie APL 2023 per commune ranges 0..10.8: EPCI means lie strictly inside
    assert 1.0 < crits["apl"].values.min() < crits["apl"].values.max() < 10.8
    assert ((crits["age_mg"].values > 1) & (crits["age_mg"].values < 100)).all()  # percent
    nv = crits["niveau_vie"]
    assert 15000 < nv.values.min() < nv.values.max() < 35000
    assert ((nv.coverage > 0.5) & (nv.coverage <= 1)).all()
    assert (nv.coverage >= 0.9).sum() >= 140  # provenance: 150 EPCI >= 90 % (COG 2026)
    assert "approximation" in nv.note


@pytest.mark.integration
def test_niveau_vie_hand_weighted_median(crits: Crits, data_dir: Path) -> None:
    f = pd.read_csv(data_dir / "health" / "insee_filosofi_2021_cc_COM.csv", sep=";", dtype=str)
    com = pd.read_csv(data_dir / "admin" / "communes_epci_cog2025.csv", dtype=str)
    com = com[com["epci_siren"] == TOULOUSE]
    old = set(com["code_insee"])
    for codes in com["codes_cog2024"].dropna():
        old |= set(codes.split(";"))
    f = f[f["CODGEO"].isin(old) & (f["MED21"] != "s")]
    med = f["MED21"].str.replace(",", ".").astype(float)
    w = f["NBPERSMENFISC21"].str.replace(",", ".").astype(float)
    order = np.argsort(med.to_numpy(), kind="stable")
    cw = np.cumsum(w.to_numpy()[order])
    expected = med.to_numpy()[order][np.searchsorted(cw, cw[-1] / 2)]
    assert crits["niveau_vie"].values[TOULOUSE] == expected


@pytest.mark.integration
def test_ald_from_cartosante_by_default(crits: Crits) -> None:
    ald = crits["ald"]
    assert ald.available and ald.values.notna().sum() >= 150
    assert "bassin de vie" in ald.what and "CartoSanté 2024" in ald.what


@pytest.mark.integration
def test_ald_unavailable_without_files(territory: Territory, tmp_path: Path) -> None:
    ald = _ald(territory, tmp_path, None)  # a data directory without the CartoSanté files
    assert not ald.available and ald.values.isna().all()
    assert ald.note == ALD_UNAVAILABLE_NOTE and "donnée indisponible" in ald.note


@pytest.mark.integration
def test_ald_departement_csv_population_weighted(territory: Territory, tmp_path: Path) -> None:
    # two-département EPCI: CC Mont Lozère (Gard 30 + Lozère 48)
    com = territory.communes[territory.communes["epci_siren"] == MONT_LOZERE]
    assert set(com["dep"]) == {"30", "48"}
    part = {"30": 20.0, "48": 30.0}
    ald = pd.DataFrame({"part_ald": list(part.values())},
                       index=pd.Index(list(part), name="dep"))
    r = ald_criterion(ald, territory)
    p = com.groupby("dep")["population"].sum()
    expected = (p["30"] * 20 + p["48"] * 30) / p.sum()
    assert r.available and r.values[MONT_LOZERE] == pytest.approx(expected)
    assert 20 < expected < 30
    # EPCI wholly outside 30/48 have no value (never invented)
    assert r.values[TOULOUSE] != r.values[TOULOUSE]
    assert r.coverage[MONT_LOZERE] == pytest.approx(1.0)
    assert r.values[CAUSSES_AIGOUAL] == pytest.approx(20.0)  # Gard only


@pytest.mark.integration
def test_orientation_each_criterion(crits: Crits, territory: Territory) -> None:
    cfg = load_config()
    t = score(crits, cfg, territory.epci["population"], draws=0)
    # lowest APL -> most vulnerable APL score
    assert t.loc[crits["apl"].values.idxmin(), "apl_score"] == t["apl_score"].max() == 1.0
    assert t.loc[crits["apl"].values.idxmax(), "apl_score"] == 0.0
    # highest share of supply from older GPs -> most vulnerable
    assert t.loc[crits["age_mg"].values.idxmax(), "age_mg_score"] == 1.0
    # lowest income -> most vulnerable
    assert t.loc[crits["niveau_vie"].values.idxmin(), "niveau_vie_score"] == 1.0
    assert t.loc[crits["niveau_vie"].values.idxmax(), "niveau_vie_score"] == 0.0
    # urgences: larger share beyond 30 min -> more vulnerable (any EPCI values)
    et = pd.DataFrame({"share_beyond": np.linspace(0, 1, len(territory.epci)),
                       "t_mean_min": np.linspace(5, 50, len(territory.epci))},
                      index=territory.epci.index)
    u = urgences_criterion(et, territory, cfg)
    assert u.values.max() == pytest.approx(100.0)  # shown in %
    t2 = score({**crits, "urgences": u}, cfg, territory.epci["population"], draws=0)
    assert t2.loc[u.values.idxmax(), "urgences_score"] == 1.0
    assert t2.loc[u.values.idxmin(), "urgences_score"] == 0.0


@pytest.mark.integration
def test_weights_renormalise_when_missing(crits: Crits, territory: Territory) -> None:
    cfg = load_config()
    t = score(crits, cfg, territory.epci["population"], draws=0)
    w = t.attrs["weights"]
    assert set(t.attrs["missing"]) == {"urgences"}  # travel times not computed here
    assert w == pytest.approx({"apl": 0.25, "age_mg": 0.25, "ald": 0.25, "niveau_vie": 0.25})
    full = crits["ald"].values.notna()
    expected = t[["apl_score", "age_mg_score", "ald_score", "niveau_vie_score"]].mean(axis=1)
    assert np.allclose(t.loc[full, "composite"], expected[full])
    # EPCI in secret bassins: composite over the three others (weights renormalised)
    expected3 = t[["apl_score", "age_mg_score", "niveau_vie_score"]].mean(axis=1)
    assert (~full).sum() == 7
    assert np.allclose(t.loc[~full, "composite"], expected3[~full])
    assert t.loc[~full, "ald_score"].isna().all()


@pytest.mark.integration
def test_identical_inputs_identical_ranks_and_seeded_sensitivity(
    crits: Crits, territory: Territory
) -> None:
    cfg = load_config()
    pop = territory.epci["population"]
    a = score(crits, cfg, pop, draws=300, seed=11)
    shuffled = pop.sample(frac=1.0, random_state=3)
    b = score(crits, cfg, shuffled, draws=300, seed=11)
    pd.testing.assert_series_equal(a["rank"], b.loc[a.index, "rank"])
    pd.testing.assert_frame_equal(a[["probability", "rank_p05", "rank_p95", "robustesse"]],
                                  b.loc[a.index, ["probability", "rank_p05", "rank_p95",
                                                  "robustesse"]])
    assert a["selected"].sum() == 28 and a["probability"].sum() == pytest.approx(28.0)
    c = score(crits, cfg, pop, draws=300, seed=12)
    assert not a["probability"].equals(c["probability"])
    assert (a.loc[a["robustesse"] == "robuste", "selected"]).all()


@pytest.mark.integration
def test_france_travel_criterion_on_the_france_graph(france_all: Any, occitanie: Any,
                                                    tmp_path: Path) -> None:
    fr = france_all.runs[0]  # the national run of the session's --region all (= --region FR)
    u_fr, u_oc = fr.criteria["urgences"].values, occitanie.epci["urgences"]
    assert len(fr.table) > 1200 and fr.table["rank"].is_unique
    # Occitanie EPCI: same values as the regional run (the graph covers them)
    pd.testing.assert_series_equal(u_fr.reindex(u_oc.index), u_oc, check_names=False)
    assert u_oc.notna().all()
    # the France graph (the default) covers metropolitan France: criterion 4 for nearly all,
    # the others named with their reason (Issue 15: at least 1,200 of the 1,232 EPCI)
    assert len(u_fr) == 1232 and int(u_fr.notna().sum()) >= 1200
    why = fr.result.epci["motif_indisponible"]
    assert (why.reindex(u_fr.index[u_fr.isna()]).str.len() > 0).all()
    assert (why.reindex(u_fr.index[u_fr.notna()]) == "").all()
    # Bordeaux Métropole, the graph's largest hole: its communes get a flagged access-model
    # time or none, never an unflagged one when they are far from the network
    com = fr.result.communes
    bm = com[com["epci_siren"] == "243300316"]
    assert len(bm) == 28
    # (farther than routing.far_km from the nearest node: loin_reseau)
    far = bm[bm["loin_reseau"]]
    assert len(far) >= 5 and (far["modele_acces"] != "réseau routier").all()
    assert (bm.loc[~bm["loin_reseau"], "modele_acces"] == "réseau routier").all()
    assert bm.at["33063", "modele_acces"] in ("modèle d'accès urbain",
                                              "hors couverture du réseau routier")
    assert np.isnan(u_fr["243300316"])
    assert "modèle d'accès urbain" in why["243300316"]
    assert 0.25 < fr.result.epci.at["243300316", "part_modele_urbain"] < 1
    # the README's national figures
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    n_ok, n_all = int(u_fr.notna().sum()), len(u_fr)
    assert (f"criterion 4\nis computed for {n_ok:,} of the {n_all:,} EPCI. The other "
            f"{n_all - n_ok} get" in readme)
    names = fr.result.epci.loc[u_fr.index[u_fr.isna()], "epci_nom"]
    assert sorted(names) == ["Bordeaux Métropole", "CC de Belle Ile en Mer", "Nantes Métropole"]
    for name in names:
        assert name in readme
    assert int(fr.table["selected"].sum()) == 151 and "selects 151" in readme
    # ... and the national map stays under 20 MB
    from zoning.exports import write_map

    size = write_map(fr.result, tmp_path / "zoning_FR.html").stat().st_size
    assert size < 20 * 1024 * 1024, f"national map {size / 1e6:.1f} MB"
    deps = fr.result.epci["dep"]
    for dep in ("35", "59", "67", "33"):
        assert u_fr[deps[deps == dep].index].notna().any(), dep
    com = fr.result.communes
    assert com.loc[com["hors_couverture"], "t_urgence_min"].isna().all()
    # EPCI without travel time are scored on their other criteria
    missing = u_fr[u_fr.isna()].index
    no_ald = fr.criteria["ald"].values.reindex(missing).isna().astype(int)
    assert (fr.table.loc[missing, "n_criteres"] == 4 - no_ald).all()
    assert fr.table.loc[missing, "composite"].notna().all()


@pytest.mark.integration
def test_filosofi_epci_file_replaces_approximation(
    territory: Territory, data_dir: Path, tmp_path: Path
) -> None:
    from zoning.sources import read_filosofi

    # INSEE EPCI layout written here: one published median, one secret (test inputs)
    f = tmp_path / "cc_filosofi_2021_EPCI.csv"
    f.write_text(f"CODGEO;NBMENFISC21;MED21\n{TOULOUSE};1;23456,5\n{CONQUES};1;s\n",
                 encoding="utf-8")
    from zoning.criteria import niveau_vie_criterion
    from zoning.sources import read_filosofi_epci

    epci_file = read_filosofi_epci(data_dir, f)
    assert epci_file.loc[TOULOUSE, "med_niveau_vie"] == 23456.5
    filo = read_filosofi(data_dir)
    base = niveau_vie_criterion(filo, territory)
    r = niveau_vie_criterion(filo, territory, epci_file)
    assert r.values[TOULOUSE] == 23456.5 and r.coverage[TOULOUSE] == 1.0
    # secret at EPCI level: the approximation is kept
    assert r.values[CONQUES] == base.values[CONQUES]
    others = r.values.index.difference([TOULOUSE])
    pd.testing.assert_series_equal(r.values[others], base.values[others])
    assert "EPCI" in r.note
    bad = tmp_path / "communes.csv"
    bad.write_text("CODGEO;MED21\n31555;22140\n", encoding="utf-8")
    from zoning.errors import DataFormatError

    with pytest.raises(DataFormatError, match="not the commune one"):
        read_filosofi_epci(data_dir, bad)
