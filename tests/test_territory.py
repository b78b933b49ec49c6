"""Territory model: EPCI assignment by majority population, points, COG 2024 mapping."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _tiny_data import (
    REGION_76_COMMUNES,
    REGION_76_POPULATION,
    SIREN,
    TERRITORY_76_COMMUNES,
    TERRITORY_76_EPCI,
    TERRITORY_76_POPULATION,
)

from zoning.errors import TerritoryError
from zoning.sources import read_apl, read_commune_table, read_filosofi, read_mairies
from zoning.sources._io import in_codes
from zoning.territory import (
    Territory,
    build_cog2024_mapping,
    load_territory,
    map_cog2024,
)

OCCITANIE_DEPS = ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]
APL_SUMS = ["pop_standardisee_mg", "pop_totale"]
APL_MEANS = {c: "pop_standardisee_mg" for c in
             ("apl_mg", "apl_mg_moins_65ans", "apl_mg_62ans_et_moins", "apl_mg_60ans_et_moins")}


@pytest.fixture
def tiny(tiny_data_dir: Path) -> Path:
    return tiny_data_dir


# --- tiny ----------------------------------------------------------------------------------

def test_epci_belong_to_their_majority_region(tiny: Path) -> None:
    t = load_territory(tiny, "76")
    assert t.region == "76" and t.region_name == "Occitanie"
    assert set(t.epci.index) == TERRITORY_76_EPCI
    assert set(t.communes.index) == TERRITORY_76_COMMUNES
    assert t.population == TERRITORY_76_POPULATION
    assert len(t.region_communes) == REGION_76_COMMUNES
    assert t.region_population == REGION_76_POPULATION
    # EPCI D: 400 inhabitants in 46 (Occitanie), 100 in 19 (Nouvelle-Aquitaine)
    d = t.epci.loc[SIREN["D"]]
    assert d["dep"] == "46" and d["population"] == 500 and d["population_region"] == 400
    assert d["n_communes"] == 2
    assert not t.communes.loc["19001", "in_region"] and t.communes.loc["46001", "in_region"]
    # EPCI C (300 in 12, 500 in 15) belongs to Auvergne-Rhône-Alpes
    assert SIREN["C"] not in t.epci.index and "12001" in t.region_communes.index
    assert t.epci.crs.to_epsg() == 2154 and t.communes.crs.to_epsg() == 2154
    assert t.epci["population"].sum() == t.population


def test_other_regions_and_metropole(tiny: Path) -> None:
    t84 = load_territory(tiny, "84")
    assert list(t84.epci.index) == [SIREN["C"]]
    assert set(t84.communes.index) == {"12001", "15001"}
    fr = load_territory(tiny, "fr")
    assert fr.region == "FR" and fr.region_name == "France métropolitaine"
    assert len(fr.epci) == 5 and len(fr.communes) == 9
    assert fr.population == fr.region_population == 2720


def test_unknown_region(tiny: Path) -> None:
    with pytest.raises(TerritoryError) as info:
        load_territory(tiny, "99")
    msg = str(info.value)
    assert "'99'" in msg and "76 (Occitanie)" in msg and "FR (France métropolitaine)" in msg
    assert isinstance(info.value, ValueError)


def test_population_points(tiny: Path) -> None:
    t = load_territory(tiny, "76")
    mairies = read_mairies(tiny)
    # town hall inside its commune: used as is
    assert t.points.loc["09001"].equals(mairies.geometry.loc["09001"])
    assert t.communes.loc["09001", "point_source"] == "mairie"
    # 31002's town hall lies in another commune: representative point instead
    assert t.communes.loc["31002", "point_source"] == "point représentatif"
    assert t.points.loc["31002"].equals(t.communes.geometry.loc["31002"].representative_point())
    assert shapely.contains(t.communes.geometry.to_numpy(), t.points.to_numpy()).all()
    assert t.points.crs.to_epsg() == 2154 and t.points.index.equals(t.communes.index)


def test_map_cog2024_apl(tiny: Path, caplog: pytest.LogCaptureFixture) -> None:
    t = load_territory(tiny, "76")
    apl = read_apl(tiny, 2023)
    with caplog.at_level(logging.INFO, logger="zoning.territory"):
        mapped, report = map_cog2024(apl, t, sum_columns=APL_SUMS, weighted_means=APL_MEANS)
    assert "09999" in caplog.text  # unmatched codes are logged, not silently dropped
    assert report.unmatched == ["09999"]
    assert report.outside == 3  # 12001, 15001 (EPCI C, region 84) and 2A004 (EPCI E, 94)
    assert report.matched + report.outside + len(report.unmatched) == report.n_rows == len(apl)
    assert report.merged == {"09002": ["09002", "09003"]}
    assert report.missing == []
    assert mapped.index.name == "code_insee" and set(mapped.index) == TERRITORY_76_COMMUNES
    # 09002 absorbed 09003: APL weighted by standardised population, populations summed
    assert mapped.loc["09002", "apl_mg"] == pytest.approx((4.0 * 150 + 1.0 * 50) / 200)
    assert mapped.loc["09002", "pop_totale"] == 200
    assert mapped.loc["09002", "n_codes_2024"] == 2
    assert mapped.loc["31001", "apl_mg"] == 3.0 and mapped.loc["31001", "codes_2024"] == "31001"
    assert mapped["pop_totale"].sum() == apl.loc[list(TERRITORY_76_COMMUNES) + ["09003"],
                                                 "pop_totale"].sum()


def test_map_cog2024_reports_missing_communes(tiny: Path) -> None:
    t = load_territory(tiny, "76")
    filo = read_filosofi(tiny).drop(["19001", "31002", "46001"])  # a file without them
    mapped, report = map_cog2024(filo, t, sum_columns=["nb_personnes"],
                                 weighted_means={"med_niveau_vie": "nb_personnes"})
    assert report.missing == ["19001", "31002", "46001"]
    assert report.outside == 3 and report.unmatched == []  # 15001, 12001 and 2A004
    # 09003 is secret: the merged median is that of 09002 alone
    assert mapped.loc["09002", "med_niveau_vie"] == 23000.5
    assert mapped.loc["09002", "nb_personnes"] == 140
    assert bool(mapped.loc["09002", "secret"]) is False


def test_map_cog2024_code_column(tiny: Path) -> None:
    t = load_territory(tiny, "76")
    frame = pd.DataFrame({"code": ["09001", "09003", "75056"], "n": [1.0, 2.0, 4.0]})
    mapped, report = map_cog2024(frame, t, sum_columns=["n"], code_column="code")
    assert mapped.loc["09001", "n"] == 1.0 and mapped.loc["09002", "n"] == 2.0
    assert "code" not in mapped.columns
    assert report.unmatched == ["75056"]  # not in the tiny commune table


def test_cog_mapping_rejects_ambiguous_codes() -> None:
    table = pd.DataFrame({"codes_cog2024": ["01001;01002", "01002"]},
                         index=pd.Index(["01001", "01003"], name="code_insee"))
    with pytest.raises(TerritoryError, match="01002"):
        build_cog2024_mapping(table)


# --- real data -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def occitanie(data_dir: Path) -> Territory:
    return load_territory(data_dir, "76")


@pytest.mark.integration
def test_occitanie_figures(occitanie: Territory) -> None:
    """161 EPCI covering 4,441 communes and 6,080,598 inhabitants; region: 4,446 / 6,124,653."""
    t = occitanie
    assert len(t.epci) == 161
    assert len(t.communes) == 4441 and t.population == 6_080_598
    assert len(t.region_communes) == 4446 and t.region_population == 6_124_653
    assert t.epci["epci_type"].value_counts().to_dict() == {"CC": 137, "CA": 21, "METRO": 2,
                                                            "CU": 1}
    # our majority computation agrees with the file's reg_majoritaire_pop
    assert (t.epci["reg"] == t.epci["reg_majoritaire_pop"]).all()
    assert (t.epci["population"] == t.epci["population_region"]).sum() == 161 - 3
    # 14 communes outside the region belong to Occitanie EPCI; 19 Occitanie communes belong
    # to EPCI of neighbouring regions (4,446 - (4,441 - 14))
    assert int((~t.communes["in_region"]).sum()) == 14
    assert len(t.region_communes.index.difference(t.communes.index)) == 19
    assert sorted(t.epci["dep"].unique()) == OCCITANIE_DEPS
    assert t.epci.geometry.is_valid.all() and t.epci.crs.to_epsg() == 2154
    toulouse = t.epci[t.epci["epci_nom"].str.contains("Toulouse Métropole")]
    assert len(toulouse) == 1 and toulouse["population"].iloc[0] > 800_000


@pytest.mark.integration
def test_occitanie_population_points(occitanie: Territory, data_dir: Path) -> None:
    t = occitanie
    assert shapely.contains(t.communes.geometry.to_numpy(), t.points.to_numpy()).all()
    flag = read_mairies(data_dir)["in_commune_polygon"].reindex(t.communes.index)
    uses_mairie = t.communes["point_source"] == "mairie"
    # same decision as the provider's in_commune_polygon flag
    assert (uses_mairie == flag.fillna(False).astype(bool)).all()
    assert 4100 < int(uses_mairie.sum()) < 4441


@pytest.mark.integration
@pytest.mark.parametrize("which", ["apl", "filosofi"])
def test_every_occitanie_cog2024_code_mapped_or_reported(occitanie: Territory, data_dir: Path,
                                                         which: str) -> None:
    t = occitanie
    frame = read_apl(data_dir, 2023) if which == "apl" else read_filosofi(data_dir)
    occ = frame[frame.index.str[:2].isin(OCCITANIE_DEPS)]
    assert len(occ) == 4453
    if which == "apl":
        mapped, report = map_cog2024(occ, t, sum_columns=APL_SUMS, weighted_means=APL_MEANS)
    else:
        mapped, report = map_cog2024(occ, t, sum_columns=["nb_personnes"],
                                     weighted_means={"med_niveau_vie": "nb_personnes"})
    # every row is accounted for: on a territory commune, outside it, or reported unmatched
    assert report.matched + report.outside + len(report.unmatched) == 4453
    mapping = t.cog2024_to_2025
    known = occ.index.isin(mapping.index)
    assert sorted(occ.index[~known]) == report.unmatched
    targets = mapping.reindex(occ.index[known])
    assert int(targets.isin(t.communes.index).sum()) == report.matched
    assert report.unmatched == []
    # 12218 Conques-en-Rouergue (absent from the COG 2024 files) gets its predecessor's data
    assert "12218" in mapped.index and mapped.loc["12218", "codes_2024"] == "12076"
    assert sum(len(v) for v in report.merged.values()) - len(report.merged) == 4453 - len(
        set(targets))
    # the rows were restricted to Occitanie codes: the 14 territory communes outside the
    # region are the only ones left without data
    assert report.missing == sorted(t.communes.index[~t.communes["in_region"]])
    if which == "apl":
        assert mapped["pop_totale"].sum() == pytest.approx(
            occ.loc[targets.index[targets.isin(t.communes.index)], "pop_totale"].sum())


@pytest.mark.integration
def test_national_mapping_is_complete(data_dir: Path) -> None:
    table = read_commune_table(data_dir)
    mapping = build_cog2024_mapping(table)
    # PROVENANCE: every one of the 35,029 COG 2024 codes maps to exactly one 2025 commune
    assert mapping.index.is_unique and len(mapping) >= 34_875
    apl = read_apl(data_dir, 2023)
    unknown = apl.index.difference(mapping.index)
    # only municipal arrondissements (Paris, Lyon, Marseille) are not COG communes
    assert all(c[:3] in {"751", "693", "132"} for c in unknown)
    assert mapping.isin(table.index).all()


@pytest.mark.parametrize("kind", ["index", "series", "set", "list", "generator"])
def test_in_codes_answers_like_isin(kind: str) -> None:
    values = pd.Series(["31001", "09002", None, "2A004", "31001", "75056", "1"], dtype="str")
    lookup_codes = ["09002", "31001", "31001", "2A004", "99999"]
    lookup = {"index": pd.Index(lookup_codes), "series": pd.Series(lookup_codes),
              "set": set(lookup_codes), "list": lookup_codes,
              "generator": (c for c in lookup_codes)}[kind]
    got = in_codes(values, lookup)
    assert got.dtype == bool and got.shape == (len(values),)
    assert got.tolist() == values.isin(lookup_codes).tolist()
    assert got.tolist() == [True, True, False, True, True, False, False]


def test_in_codes_arrow_and_object_paths_agree() -> None:
    """Arrow text on both sides (one Arrow lookup) and Python objects (an Index lookup) give
    ``isin``'s answer, a missing value matching a missing one only."""
    codes = ["31001", None, "2A004", "31001"]
    for lookup in (["31001", "2A004"], ["31001", None], []):
        want = pd.Series(codes, dtype="str").isin(pd.Index(lookup, dtype="str")).tolist()
        arrow = in_codes(pd.Series(codes, dtype="str"), pd.Index(lookup, dtype="str"))
        objects = in_codes(np.array(codes, dtype=object), np.array(lookup, dtype=object))
        assert arrow.tolist() == objects.tolist() == want, lookup


def test_merged_codes_joined_in_row_order_for_every_commune() -> None:
    """``codes_2024`` lists the old codes of each commune in the order of the rows, also
    when the merged communes' rows are not contiguous (the vectorised join sorts by code)."""
    communes = gpd.GeoDataFrame({"population": [1, 1, 1]}, geometry=[None] * 3, crs=2154,
                                index=pd.Index(["09002", "31001", "31002"], name="code_insee"))
    terr = Territory(
        region="76", region_name="t", epci=gpd.GeoDataFrame(), communes=communes,
        points=gpd.GeoSeries(crs=2154), region_communes=pd.DataFrame(),
        cog2024_to_2025=pd.Series({"09003": "09002", "31001": "31001", "09002": "09002",
                                   "31555": "31002", "31002": "31002"}))
    frame = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0, 5.0]},
                         index=pd.Index(["09003", "31001", "31002", "09002", "31555"]))
    mapped, report = map_cog2024(frame, terr, sum_columns=["v"])
    assert mapped["codes_2024"].to_dict() == {"09002": "09003;09002", "31001": "31001",
                                               "31002": "31002;31555"}
    assert mapped["v"].to_dict() == {"09002": 5.0, "31001": 2.0, "31002": 8.0}
    assert report.merged == {"09002": ["09003", "09002"], "31002": ["31002", "31555"]}
    rows, report2 = map_cog2024(frame, terr, aggregate=False)
    assert report2.merged == report.merged
    assert rows["code_insee"].tolist() == ["09002", "31001", "31002", "09002", "31002"]
