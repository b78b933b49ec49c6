"""Source catalogue and readers: tiny in-code files (unit) and the real data (integration)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
from _tiny_data import make_data_dir
from click.testing import CliRunner

from zoning.cli import main
from zoning.errors import DataFileNotFoundError, DataFormatError, ZoningError
from zoning.sources import (
    CATALOGUE,
    SOURCES,
    get_source,
    read_ald,
    read_apl,
    read_commune_table,
    read_communes,
    read_epci,
    read_facilities,
    read_filosofi,
    read_mairies,
    read_population_grid,
    read_smur_types,
)
from zoning.sources.readers import NOTE_SMUR_UNKNOWN

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny(tiny_data_dir: Path) -> Path:
    return tiny_data_dir


# --- catalogue -----------------------------------------------------------------------------

def test_catalogue_entries_are_complete() -> None:
    assert len({s.id for s in SOURCES}) == len(SOURCES)
    for s in SOURCES:
        assert s.title_fr and s.title_en and s.publisher and s.vintage and s.licence, s.id
        assert s.url.startswith("https://"), s.id
        assert not Path(s.file).is_absolute() and ".." not in s.file, s.id
        if s.kind == "gpkg":
            assert s.layer, s.id
        if s.download_url:
            assert s.download_url.startswith("https://") and s.sha256, s.id
        if s.derived:
            assert s.how_to, s.id
    required = {s.id for s in SOURCES if s.required}
    assert {"communes", "epci", "apl", "filosofi", "urgences"} <= required
    assert not CATALOGUE["ald"].required


def test_readme_lists_every_expected_file() -> None:
    readme = (ROOT / "data" / "geo" / "README.md").read_text(encoding="utf-8")
    for s in SOURCES:
        assert f"`{s.file}`" in readme, s.file
        assert s.url in readme, s.url
        for layer in s.layer:
            assert f"`{layer}`" in readme, layer


def test_get_source_unknown_lists_ids() -> None:
    with pytest.raises(ZoningError, match="valid ids: communes"):
        get_source("nope")


# --- readers on tiny files -----------------------------------------------------------------

def test_read_communes_tiny(tiny: Path) -> None:
    c = read_communes(tiny)
    assert c.index.name == "code_insee"
    assert list(c.index[:2]) == ["09001", "09002"] and "2A004" in c.index
    assert c.crs.to_epsg() == 2154
    assert c["population"].dtype == np.int64 and int(c["population"].sum()) == 2720
    assert c.loc["09002", "codes_cog2024"] == "09002;09003"
    # projected: a 0.1° square at 43°N is about 8.1 km × 11.1 km
    area_km2 = c.geometry.area.loc["09001"] / 1e6
    assert 85 < area_km2 < 95
    sub = read_communes(tiny, where="reg = '76'")
    assert len(sub) == 6


def test_read_commune_table_matches_layer(tiny: Path) -> None:
    table = read_commune_table(tiny)
    layer = read_communes(tiny)
    pd.testing.assert_frame_equal(table, pd.DataFrame(layer.drop(columns="geometry")),
                                  check_dtype=False)


def test_read_mairies_and_epci_tiny(tiny: Path) -> None:
    m = read_mairies(tiny)
    assert m["in_commune_polygon"].dtype == bool and int(m["in_commune_polygon"].sum()) == 8
    e = read_epci(tiny)
    assert e.index.name == "epci_siren" and len(e) == 5
    assert e.loc["200000003", "reg_majoritaire_pop"] == "84"
    assert int(e["population"].sum()) == int(read_communes(tiny)["population"].sum())


def test_read_apl_joins_the_two_files(tiny: Path) -> None:
    a = read_apl(tiny, 2023)
    assert a.index.name == "code_commune" and a.index.is_unique
    assert list(a.columns) == ["commune", "apl_mg", "apl_mg_moins_65ans",
                               "apl_mg_62ans_et_moins", "apl_mg_60ans_et_moins",
                               "pop_standardisee_mg", "pop_totale"]
    assert a.loc["09002", "apl_mg_60ans_et_moins"] == 1.0
    assert a.loc["31001", "apl_mg_62ans_et_moins"] == 2.0
    assert (a["apl_mg_60ans_et_moins"] <= a["apl_mg"]).all()
    with pytest.raises(DataFormatError, match="millesime.*2021.*available: 2022, 2023"):
        read_apl(tiny, 2021)


def test_read_filosofi_secret_and_decimal_comma(tiny: Path) -> None:
    f = read_filosofi(tiny)
    assert f.index.name == "code_commune"
    assert f.loc["09002", "med_niveau_vie"] == 23000.5
    assert f.loc["31001", "taux_pauvrete"] == 12.5
    assert bool(f.loc["09003", "secret"]) and np.isnan(f.loc["09003", "med_niveau_vie"])
    assert int(f["secret"].sum()) == 1
    assert f["nb_personnes"].dtype == np.float64


def test_read_facilities_flags_and_labels(tiny: Path) -> None:
    f = read_facilities(tiny)
    assert f.index.name == "finess" and f.crs.to_epsg() == 2154
    chu, enfants, antenne, dom = (f.loc[k] for k in
                                  ("310000001", "310000002", "090000003", "970000004"))
    assert chu["su"] and chu["su_pediatrique"] and chu["smur"] and not chu["su_pediatrique_seul"]
    assert chu["type_libelle"] == "Service d'urgences (SU) adulte et pédiatrique + SMUR"
    assert chu["passages_su"] == 35000.0
    assert enfants["su_pediatrique_seul"] and not enfants["su"] and not enfants["smur"]
    assert enfants["type_libelle"] == "SU pédiatrique seul"
    assert antenne["smur_antenne"] and not antenne["su"]
    assert antenne["type_libelle"] == "Antenne SMUR" and np.isnan(antenne["passages_su"])
    assert dom["smur_saisonnier"]
    assert dom["type_libelle"] == "Service d'urgences (SU) + SMUR saisonnier"
    # FINESS overseas codes 9A... are turned into INSEE codes
    assert dom["dep"] == "971" and dom["code_commune"] == "97105"
    # coordinates: lon/lat projected to Lambert-93
    to_l93 = pyproj.Transformer.from_crs(4326, 2154, always_xy=True)
    x, y = to_l93.transform(1.25, 43.05)
    assert chu.geometry.x == pytest.approx(x) and chu.geometry.y == pytest.approx(y)


SMURSAMU_TEXT = (
    "BOR;AN;FI;RS;SMUR;GEN;SAIS;PED;ANT;SAMU\n"
    "SMURSAMU;2022;310000001;CHU TEST;1;1;0;1;0;1\n"  # general + paediatric lines
    "SMURSAMU;2022;090000003;ANTENNE;1;0;0;0;1;0\n"  # antenna: neither GEN nor PED
    "SMURSAMU;2022;970000004;CH OUTRE-MER PÉDIATRIE;1;0;0;1;0;0\n"  # paediatric only
    "SMURSAMU;2022;750000005;SAMU SEUL;0;;;;;1\n"  # not a SMUR, not in the site file
)


def test_read_facilities_paediatric_only_smur(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    # optional raw table absent: no paediatric-only SMUR, and the note says why
    f = read_facilities(root)
    assert not f["smur_pediatrique_seul"].any()
    assert f.attrs["note_smur"] == NOTE_SMUR_UNKNOWN and "SMURSAMU" in NOTE_SMUR_UNKNOWN
    assert read_smur_types(root) is None
    raw = root / "health" / "drees_sae_2022"
    raw.mkdir()
    (raw / "SMURSAMU_2022r.csv").write_text(SMURSAMU_TEXT, encoding="latin-1")
    kinds = read_smur_types(root)
    assert kinds is not None and kinds.index.name == "finess"
    assert kinds["smur_pediatrique_seul"].to_dict() == {
        "310000001": False, "090000003": False, "970000004": True, "750000005": False}
    f = read_facilities(root)
    assert f.attrs["note_smur"] == ""
    assert f.loc[f["smur_pediatrique_seul"]].index.tolist() == ["970000004"]
    dom = f.loc["970000004"]
    assert dom["smur"]  # a SMUR still leaves from the site, ...
    assert dom["type_libelle"] == "Service d'urgences (SU) + SMUR pédiatrique seul"
    assert f.loc["090000003", "type_libelle"] == "Antenne SMUR"  # antennas stay general
    assert f.loc["310000001", "type_libelle"].endswith("+ SMUR")
    # FINESS read as numbers (leading zero lost) is refused, naming the column
    (raw / "SMURSAMU_2022r.csv").write_text(SMURSAMU_TEXT.replace(";090000003;", ";90000003;"),
                                            encoding="latin-1")
    with pytest.raises(DataFormatError, match="column 'FI'"):
        read_facilities(root)


def test_read_population_grid_cell_centres(tiny: Path) -> None:
    g = read_population_grid(tiny)
    assert g.index.name == "grd_id" and g.crs.to_epsg() == 2154
    assert g["population"].dtype == np.float64 and g["population"].sum() == 150.0
    to_l93 = pyproj.Transformer.from_crs(3035, 2154, always_xy=True)
    x, y = to_l93.transform(3600500, 2300500)  # centre of the first EPSG:3035 cell
    first = g.geometry.loc["CRS3035RES1000mN2300000E3600000"]
    assert first.x == pytest.approx(x, abs=1e-3) and first.y == pytest.approx(y, abs=1e-3)
    assert g.loc["CRS3035RES1000mN2300000E3601000", "frac_in_occitanie"] == 0.25


def test_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError) as info:
        read_epci(tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "admin" / "epci_2025_fr.gpkg") in msg
    assert "'epci'" in msg and "ZONING_DATA_DIR" in msg and "https://" in msg
    assert isinstance(info.value, FileNotFoundError)


# --- ALD -----------------------------------------------------------------------------------

def test_read_ald_absent_is_none(tiny: Path) -> None:
    assert read_ald(tiny) is None


def test_read_ald_departement_share(tmp_path: Path) -> None:
    path = tmp_path / "ald.csv"
    path.write_text("dep;part_ald;annee\n09;21,5;2024\n31;18,0;2024\n2A;20,1;2024\n",
                    encoding="utf-8")
    ald = read_ald(tmp_path, path)
    assert ald is not None and ald.attrs["niveau"] == "departement"
    assert ald.index.name == "dep" and list(ald.index) == ["09", "31", "2A"]
    assert ald.loc["09", "part_ald"] == 21.5
    assert ald.attrs["vintage"] == "2024"


def test_read_ald_epci_counts(tmp_path: Path) -> None:
    path = tmp_path / "ald.csv"
    path.write_text("epci_siren,beneficiaires_ald,population\n200000001,250,1000\n"
                    "200000002,100,1000\n", encoding="utf-8")
    ald = read_ald(tmp_path, path)
    assert ald is not None and ald.attrs["niveau"] == "epci"
    assert ald["part_ald"].tolist() == [25.0, 10.0]


def test_read_ald_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "ald.csv"
    path.write_text("region,part_ald\n76,20\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="key column"):
        read_ald(tmp_path, path)
    path.write_text("dep,taux\n09,20\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="part_ald"):
        read_ald(tmp_path, path)
    path.write_text("dep,part_ald\n09,120\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="0–100"):
        read_ald(tmp_path, path)
    with pytest.raises(DataFileNotFoundError):
        read_ald(tmp_path, tmp_path / "absent.csv")
    path.write_bytes(b"")
    with pytest.raises(DataFormatError, match="the ALD file is empty"):
        read_ald(tmp_path, path)
    path.write_text('dep,part_ald\n09,"20\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="cannot read the ALD file as CSV"):
        read_ald(tmp_path, path)


# --- real data -----------------------------------------------------------------------------

@pytest.mark.integration
def test_sources_command_on_real_data(data_dir: Path) -> None:
    result = CliRunner().invoke(main, ["sources", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    out = result.output
    expected = {"communes": "34,875", "communes_epci": "34,875", "epci": "1,255",
                "urgences": "696", "mairies": "34,827", "apl": "69,918", "apl_age": "69,918",
                "filosofi": "34,909", "population_grid": "88,497", "roads": "44,979",
                "smursamu": "461", "ald_bv": "1,709", "bv_communes": "34,935",
                "mg_2019": "35,012", "filosofi_epci": "1,240"}
    for sid, rows in expected.items():
        rows = rows.replace(",", "\u202f")
        assert re.search(rf"^{sid}\s.*\sprésent\s+{rows}$", out, re.M), (sid, out)
    assert re.search(r"^ald\s.*absent \(facultatif\)\s+–$", out, re.M)
    assert re.search(r"^osm_andorra\s.*\sprésent\s+n\. d\.$", out, re.M)
    assert out.splitlines()[1].split() == ["source", "millésime", "fichier", "état", "lignes"]
    # the site check: the Cerdagne SMUR antenna listed as corrected, the others to check
    assert re.search(r"^  corrigé  660010117 CH PERPIGNAN ANTENNE SMUR CH PUIGCERDA : .*Puigcerd",
                     out, re.M)
    assert "Sites d'urgence (SU / SMUR) : " in out and "à vérifier  " in out


@pytest.mark.integration
def test_real_facilities_occitanie(data_dir: Path) -> None:
    f = read_facilities(data_dir)
    assert len(f) == 696 and f.index.is_unique
    occ = f[f["reg"] == "76"]
    # PROVENANCE-health.md: 76 Occitanie sites, 63 general SU + CHIVA Lavelanet (authorised SU),
    # Toulouse children's hospital paediatric-only, 42 SMUR of which 9 antennas.
    assert len(occ) == 76
    assert int(occ["su"].sum()) == 64
    assert occ.loc[occ["su_pediatrique_seul"], "nom"].str.contains("ENFANTS").all()
    assert int(occ["su_pediatrique_seul"].sum()) == 1
    assert int(occ["smur"].sum()) == 42 and int(occ["smur_antenne"].sum()) == 9
    # ... of which 41 general: the SMUR of Toulouse Hôpital des Enfants is paediatric only
    # (raw SAE SMURSAMU: SMUR=1, PED=1, GEN=0, ANT=0)
    assert occ.index[occ["smur_pediatrique_seul"]].tolist() == ["310016977"]
    assert int((occ["smur"] & ~occ["smur_pediatrique_seul"]).sum()) == 41
    # France: 9 paediatric-only SMUR, e.g. Nice Archet and Antoine Béclère
    ped = f.index[f["smur_pediatrique_seul"]]
    assert len(ped) == 9 and {"310016977", "060789195", "920100021"} <= set(ped)
    assert f.loc[ped, "smur"].all() and not f.loc[ped, "smur_antenne"].any()
    assert f.attrs["note_smur"] == ""
    assert f.at["310016977", "type_libelle"] == "SU pédiatrique seul + SMUR pédiatrique seul"
    # every site is inside metropolitan France or an overseas département's bounding area
    bounds = f.loc[f["reg"] == "76"].total_bounds
    assert 450_000 < bounds[0] and bounds[2] < 860_000 and 6_140_000 < bounds[1]


@pytest.mark.integration
def test_real_apl_and_filosofi(data_dir: Path) -> None:
    a = read_apl(data_dir, 2023)
    assert len(a) == 34_954 and a.index.is_unique
    assert a.notna().all().all()
    assert (a["apl_mg_60ans_et_moins"] <= a["apl_mg_62ans_et_moins"] + 1e-9).all()
    assert (a["apl_mg_62ans_et_moins"] <= a["apl_mg_moins_65ans"] + 1e-9).all()
    occ = a[a.index.str[:2].isin(["09", "11", "12", "30", "31", "32", "34", "46", "48", "65",
                                  "66", "81", "82"])]
    assert len(occ) == 4453 and occ["apl_mg"].median() == pytest.approx(2.96, abs=0.01)
    f = read_filosofi(data_dir)
    assert len(f) == 34_909
    # 's' = statistical secrecy (3,593 communes); 'nd' = not available (12, e.g. no household)
    assert int(f["secret"].sum()) == 3593
    assert f.loc[f["secret"], "med_niveau_vie"].isna().all()
    assert int(f["med_niveau_vie"].isna().sum()) == 3593 + 12
    assert 15_000 < f["med_niveau_vie"].median() < 30_000


@pytest.mark.integration
def test_real_population_grid(data_dir: Path) -> None:
    g = read_population_grid(data_dir, "population_grid")
    assert len(g) == 88_497
    assert g["population"].sum() == 9_552_974
    # cells are 1 km apart: nearest-neighbour spacing of centres ≈ 1 km in Lambert-93
    from scipy.spatial import cKDTree

    xy = np.column_stack([g.geometry.x.to_numpy(), g.geometry.y.to_numpy()])
    dist, _ = cKDTree(xy).query(xy, k=2)
    assert np.median(dist[:, 1]) == pytest.approx(1000.0, rel=0.01)
    assert ((xy[:, 0] > 300_000) & (xy[:, 0] < 1_000_000)).all()


def test_split_codes_is_the_pandas_split_explode_strip() -> None:
    """``split_codes`` (Arrow kernels) gives what ``str.split(";").explode().str.strip()``
    gives, without the empty codes: same labels repeated, same order, same dtype."""
    from zoning.sources._io import split_codes

    codes = pd.Series(["01001", "01002;01003", None, "", " 01004 ; 01005;", "2A004", ";"],
                      index=pd.Index(["a", "b", "c", "d", "e", "f", "g"], name="code_insee"),
                      name="codes_cog2024", dtype="str")
    want = codes.fillna("").astype(str).str.split(";").explode().str.strip()
    want = want[want != ""]
    got = split_codes(codes)
    pd.testing.assert_series_equal(got, want)
    assert got.tolist() == ["01001", "01002", "01003", "01004", "01005", "2A004"]
    assert got.index.tolist() == ["a", "b", "b", "e", "e", "f"]
    assert len(split_codes(codes.iloc[:0])) == 0


def test_check_unique_reports_duplicates_and_repeated_missing_keys() -> None:
    """A key column with a repeated code, or two missing keys, is one problem naming the
    column; unique keys (one missing among them) are none."""
    from zoning.sources._io import check_unique

    path = Path("grid.parquet")
    ok = pd.DataFrame({"GRD_ID": pd.array(["a", "b", None, "c"], dtype="str")})
    assert check_unique(path, ok, "GRD_ID") == []
    for keys in (["a", "b", "a", "c"], ["a", None, "b", None]):
        bad = pd.DataFrame({"GRD_ID": pd.array(keys, dtype="str")})
        problems = check_unique(path, bad, "GRD_ID")
        assert len(problems) == 1 and "column 'GRD_ID'" in problems[0]
        assert "1 duplicated key(s)" in problems[0]
    assert "an empty key" in problems[0]


@pytest.mark.parametrize("texts", [
    ["1.5", "-2", "1e3", None, "0.1", "+3", ".5", "5.", "-0"], ["nan", "1"], ["inf", "-inf"],
    ["abc", "1"], ["1,5", "2"], ["NaN", "Infinity"], ["1e400"], ["0x10"], ["1_000"], ["１２"],
])
def test_parse_floats_is_to_numeric(texts: list[str | None]) -> None:
    """Arrow's parse of a text column (or pandas' when Arrow refuses a value) gives
    ``pd.to_numeric(errors="coerce")``'s floats, signs and NaN."""
    from zoning.sources._io import _parse_floats

    text = pd.Series(texts, dtype="str")
    want = pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()
    got = _parse_floats(text)
    assert got.dtype == np.float64 and got.index.equals(text.index)
    assert np.array_equal(got.to_numpy(), want, equal_nan=True)
    assert np.array_equal(np.signbit(got.to_numpy()), np.signbit(want))
