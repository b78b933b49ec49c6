"""Readers of the CartoSanté exports, the INSEE bassin-de-vie table and Filosofi by EPCI, the
ALD criterion by bassin de vie, the facility corrections and the site check.

Integration tests read the real files; each failure mode has a tiny fixture written in code
(invented values, test inputs only).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zoning.errors import DataFormatError
from zoning.sources import (
    read_ald_bassins,
    read_bv_communes,
    read_communes,
    read_facilities,
    read_filosofi_epci,
    read_mg_2019,
)
from zoning.sources.catalogue import ALD_BV_COLUMN, CATALOGUE, MG_2019_COLUMN
from zoning.sources.sites import (
    check_sites,
    named_place,
    read_facility_corrections,
)

CERDAGNE = "246600399"  # CC Pyrénées Cerdagne
PUIGCERDA_SMUR = "660010117"
TOULOUSE = "243100518"
SECRET_EPCI = {  # provenance: Occitanie EPCI entirely in secret bassins (Pays de Nay is in 75)
    "CC Grand Orb Communauté de Communes en Languedoc", "CC du Haut-Languedoc",
    "CC Sidobre Vals et Plateaux", "CC Monts, Rance et Rougier", "CC du Gévaudan",
    "CC du Haut Vallespir", "CC du Quercy Caussadais",
}


def _raw_rows(path: Path, skip: int, sep: str = ";") -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=sep))
    return rows[skip + 1:]


# --------------------------------------------------------------------------- real files


@pytest.mark.integration
def test_ald_bassins_real_file(data_dir: Path) -> None:
    ald = read_ald_bassins(data_dir)
    assert len(ald) == 1709 and ald.index.is_unique
    assert int(ald["secret"].sum()) == 157  # provenance
    assert ald.loc[ald["secret"], "part_ald"].isna().all()  # secret -> missing, never zero
    assert ald["part_ald"].notna().sum() == 1552
    assert ald["part_ald"].median() == pytest.approx(18.5)
    # same values as a plain csv read of the raw export
    raw = {r[0]: r[8] for r in _raw_rows(CATALOGUE["ald_bv"].path(data_dir), 2)}
    for code, name, value in (("09122", "Foix", 20.0), ("09160", "Lavelanet", 23.5),
                              ("11304", "Quillan", 24.2)):
        assert ald.at[code, "part_ald"] == float(raw[code]) == value, name
        assert ald.at[code, "nom"] == name


@pytest.mark.integration
def test_bv_communes_real_file(data_dir: Path) -> None:
    bv = read_bv_communes(data_dir)
    assert len(bv) == 34935 and bv.index.is_unique
    occ = bv[bv["reg"] == "76"]
    assert len(occ) == 4453 and occ["bv2022"].nunique() == 228  # provenance
    assert (bv["bv2022"].str.len() == 5).all()


@pytest.mark.integration
def test_mg_2019_real_file(data_dir: Path) -> None:
    mg = read_mg_2019(data_dir)
    assert len(mg) == 35012
    assert (mg["mg_total"].sum(), mg["mg_60_et_plus"].sum()) == (58625, 18412)
    occ = mg[mg.index.str[:2].isin(["09", "11", "12", "30", "31", "32", "34", "46", "48",
                                    "65", "66", "81", "82"])]
    assert (occ["mg_total"].sum(), occ["mg_60_et_plus"].sum()) == (5954, 1908)
    assert tuple(mg.loc["31555", ["mg_60_et_plus", "mg_total"]]) == (210, 552)  # Toulouse


@pytest.mark.integration
def test_filosofi_epci_read_as_published(data_dir: Path) -> None:
    path = CATALOGUE["filosofi_epci"].path(data_dir)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"  # the published file has a BOM
    f = read_filosofi_epci(data_dir, path)
    assert f.attrs["vintage"] == "2019" and f.index.is_unique
    assert f.at[TOULOUSE, "med_niveau_vie"] == 23090.0  # decimal comma read
    occ = set(read_bv_communes(data_dir).query("reg == '76'")["epci"])
    assert len(occ) == 164 and occ <= set(f.index)


@pytest.mark.integration
def test_ald_by_bassin_hand_computed(data_dir: Path) -> None:
    from zoning.criteria import ald_bassin_criterion
    from zoning.territory import load_territory

    terr = load_territory(data_dir, "76")
    r = ald_bassin_criterion(read_ald_bassins(data_dir), read_bv_communes(data_dir), terr)
    assert r.values.notna().sum() >= 150
    names = terr.epci["epci_nom"]
    assert set(names[r.values.isna()]) == SECRET_EPCI  # flagged, never filled
    for n in SECRET_EPCI:
        assert n in r.note
    assert r.what == ("part des bénéficiaires d'ALD du bassin de vie (CartoSanté 2024), "
                      "rapportée à l'EPCI")
    # by hand for CA Carcassonne Agglo: raw files, plain pandas
    siren = names[names.str.contains("Carcassonne")].index[0]
    com = pd.read_csv(data_dir / "admin" / "communes_epci_cog2025.csv", dtype=str)
    com = com[com["epci_siren"] == siren]
    app = pd.read_csv(CATALOGUE["bv_communes"].path(data_dir), dtype=str).set_index("CODGEO")
    raw = {r_[0]: r_[8] for r_ in _raw_rows(CATALOGUE["ald_bv"].path(data_dir), 2)}
    num = den = 0.0
    for _, c in com.iterrows():
        vals = [float(raw[app.at[o, "BV2022"]]) for o in c["codes_cog2024"].split(";")
                if raw[app.at[o, "BV2022"]] != "N/A - secret statistique"]
        if vals:
            num += float(np.mean(vals)) * int(c["population"])
            den += int(c["population"])
    assert r.values[siren] == pytest.approx(num / den, rel=1e-12)
    assert 0 < r.coverage[siren] <= 1


# --------------------------------------------------------------------------- bad files


def _carto(tmp_path: Path, rel: str, lines: list[str]) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return tmp_path


def test_ald_bassins_secret_is_missing_and_bad_values_refused(tmp_path: Path) -> None:
    rel = CATALOGUE["ald_bv"].file
    head = ["CartoSanté; ; ", "Référentiel géographique : France par bassin de vie; ; ",
            f"Code;Libellé;{ALD_BV_COLUMN}"]
    d = _carto(tmp_path, rel,
               [*head, "09122;Foix;20.0", "09160;Lavelanet;N/A - secret statistique"])
    ald = read_ald_bassins(d)
    assert ald.at["09160", "secret"] and np.isnan(ald.at["09160", "part_ald"])
    assert ald.at["09122", "part_ald"] == 20.0
    d = _carto(tmp_path, rel, [*head, "09122;Foix;0.20", "09160;Lavelanet;0.235"])
    with pytest.raises(DataFormatError, match="fractions"):
        read_ald_bassins(d)
    d = _carto(tmp_path, rel, [*head, "09122;Foix;vingt"])
    with pytest.raises(DataFormatError, match="not numbers"):
        read_ald_bassins(d)
    # impossible values: the catalogue's bounds (VALUE_BOUNDS), checked by _io.check_values
    d = _carto(tmp_path, rel, [*head, "09122;Foix;20.0", "09160;Lavelanet;120.5"])
    with pytest.raises(DataFormatError, match=r"1 row\(s\) .*between 0 and 100.*'09160'"):
        read_ald_bassins(d)
    d = _carto(tmp_path, rel, head[2:] + ["09122;Foix;20.0"])  # title lines removed
    with pytest.raises(DataFormatError, match="missing column"):
        read_ald_bassins(d)


def test_mg_2019_swapped_columns_refused(tmp_path: Path) -> None:
    rel = CATALOGUE["mg_2019"].file
    head = ["CartoSanté; ; ; ", "Référentiel géographique; ; ; ",
            f"Code;Libellé;{MG_2019_COLUMN};{MG_2019_COLUMN}"]
    d = _carto(tmp_path, rel, [*head, "31555;Toulouse;552;210"])
    with pytest.raises(DataFormatError, match="swapped"):
        read_mg_2019(d)
    d = _carto(tmp_path, rel, [*head, "31555;Toulouse;210;552", "31001;Trois;-1;4"])
    with pytest.raises(DataFormatError, match=r"'mg_60_et_plus'.*>= 0.*'31001'"):
        read_mg_2019(d)
    d = _carto(tmp_path, rel, [*head[:2], "Code;Libellé;total", "31555;Toulouse;552"])
    with pytest.raises(DataFormatError, match="header"):
        read_mg_2019(d)


def test_filosofi_epci_layouts(tmp_path: Path) -> None:
    f = tmp_path / "FILO2019_DISP_EPCI.csv"
    f.write_text("CODGEO;LIBGEO;Q219\n200000001;CC Un;18780,5\n200000002;CC Deux;s\n",
                 encoding="utf-8-sig")
    out = read_filosofi_epci(tmp_path, f)
    assert out.at["200000001", "med_niveau_vie"] == 18780.5
    assert np.isnan(out.at["200000002", "med_niveau_vie"])
    f.write_text("CODGEO;Q219\n200000001;18780\n200000002;187,8\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"'Q219'.*between 1000 and 200000.*'200000002'"):
        read_filosofi_epci(tmp_path, f)
    f.write_text("CODGEO;Q219\n09001;18780\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="EPCI-level"):
        read_filosofi_epci(tmp_path, f)
    f.write_text("CODGEO;P19_POP\n200000001;12\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="Q2YY"):
        read_filosofi_epci(tmp_path, f)


# --------------------------------------------------------------------------- sites


def test_named_place() -> None:
    assert named_place("CH PERPIGNAN ANTENNE SMUR CH PUIGCERDA") == ("PUIGCERDA", "ANTENNE")
    assert named_place("CH DAX - ANT. SAISON. SMUR - HOSSEGOR") == ("HOSSEGOR", "ANTENNE")
    assert named_place("ANTENNE DE SMUR - CH CHALONS")[0] == ""  # the parent hospital
    assert named_place("CHIVA SITE ST JEAN DE VERGES") == ("SAINT JEAN DE VERGES", "SITE")
    assert named_place("CH DE RODEZ HOPITAL JACQUES PUEL") == ("", "")  # no marker


def test_corrections_table_is_valid_and_bad_rows_refused(tmp_path: Path) -> None:
    corr = read_facility_corrections()
    assert PUIGCERDA_SMUR in corr.index
    row = corr.loc[PUIGCERDA_SMUR]
    assert row["pays"] == "ES" and row["raison"] and row["source"] and row["date"]
    bad = tmp_path / "c.csv"
    bad.write_text("finess,nom,lat,lon,lieu,pays,raison,source,date\n"
                   "660010117,X,142.4,1.9,Puigcerdà,ES,,ENAIRE,2026-12-01\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="raison"):
        read_facility_corrections(bad)


@pytest.mark.integration
def test_cerdagne_smur_placed_in_puigcerda_and_site_check(data_dir: Path) -> None:
    fac = read_facilities(data_dir)
    site = fac.loc[PUIGCERDA_SMUR]
    assert site["coord_corrigee"] and site["coord_source"].startswith("correction:")
    lonlat = fac.loc[[PUIGCERDA_SMUR]].to_crs(4326).geometry.iloc[0]
    assert (round(lonlat.y, 3), round(lonlat.x, 3)) == (42.444, 1.93)
    assert int(fac["coord_corrigee"].sum()) == 1
    flagged = check_sites(fac, read_communes(data_dir))
    assert flagged.at[PUIGCERDA_SMUR, "corrige"]
    assert "Puigcerda" in flagged.at[PUIGCERDA_SMUR, "probleme"]
    # without the correction the check finds the antenna by its name alone
    empty = read_facility_corrections().iloc[0:0]
    raw = pd.read_csv(CATALOGUE["urgences"].path(data_dir), dtype=str)
    orig = raw.set_index("finess_et").loc[PUIGCERDA_SMUR, ["lat", "lon"]].astype(float)
    assert (orig["lat"], orig["lon"]) == (42.69418, 2.88962)  # Perpignan, as published
    again = check_sites(fac, read_communes(data_dir), corrections=empty)
    assert not again.at[PUIGCERDA_SMUR, "corrige"]


@pytest.mark.integration
def test_age_headcount_hand_computed(data_dir: Path) -> None:
    from zoning.criteria import age_headcount_criterion
    from zoning.territory import load_territory

    terr = load_territory(data_dir, "76")
    r = age_headcount_criterion(read_mg_2019(data_dir), terr, min_gps=5)
    com = pd.read_csv(data_dir / "admin" / "communes_epci_cog2025.csv", dtype=str)
    com = com[com["epci_siren"] == TOULOUSE]
    old = set(com["code_insee"]) | {c for cs in com["codes_cog2024"].dropna()
                                    for c in cs.split(";")}
    rows = [r_ for r_ in _raw_rows(CATALOGUE["mg_2019"].path(data_dir), 2) if r_[0] in old]
    s60, tot = sum(int(r_[2]) for r_ in rows), sum(int(r_[3]) for r_ in rows)
    assert r.values[TOULOUSE] == pytest.approx(100 * s60 / tot)  # percent
    few = r.values.attrs["few"]
    assert len(few) > 0 and (r.values.attrs["n_mg"][few] < 5).all()
    assert f"{len(few)} EPCI comptent moins de 5 généralistes" in r.note
    assert r.values.drop(few).between(0, 100).all()
