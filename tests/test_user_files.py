"""Files given on the command line (--ald, --filosofi-epci, --reference) and the COG 2024
mapping report, on the tiny data directory (tests/_tiny_data.py): readers in zoning.sources,
one clear error per bad file, values recomputed here by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _tiny_data import COMMUNES, SIREN
from click.testing import CliRunner

from zoning import pipeline
from zoning.cli import main
from zoning.config import load_config
from zoning.criteria import ald_criterion
from zoning.errors import DataFileNotFoundError, DataFormatError, TerritoryError
from zoning.sources import read_ald, read_filosofi_epci, read_reference_list
from zoning.territory import load_territory

POP = {code: pop for code, _, _, _, _, pop, _ in COMMUNES}


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["--quiet", *args])
    return res.exit_code, res.output


def test_ald_commune_level_population_weighted(tiny_data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "ald.csv"
    path.write_text("code_insee;part_ald\n09001;10,0\n09002;25,0\n31001;12\n", encoding="utf-8")
    ald = read_ald(tiny_data_dir, path)
    assert ald is not None and ald.attrs["niveau"] == "commune"
    r = ald_criterion(ald, load_territory(tiny_data_dir, "76"))
    a = (10.0 * POP["09001"] + 25.0 * POP["09002"]) / (POP["09001"] + POP["09002"])
    assert r.values[SIREN["A"]] == pytest.approx(a)  # 20.0
    # EPCI B: one commune of two has a value: mean over it, coverage = its population share
    assert r.values[SIREN["B"]] == pytest.approx(12.0)
    assert r.coverage[SIREN["B"]] == pytest.approx(POP["31001"] / (POP["31001"] + POP["31002"]))
    assert pd.isna(r.values[SIREN["D"]]) and r.coverage[SIREN["D"]] == 0.0


def test_ald_epci_level(tiny_data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "ald.csv"
    path.write_text(f"epci_siren,part_ald\n{SIREN['A']},17.5\n{SIREN['D']},22\n",
                    encoding="utf-8")
    ald = read_ald(tiny_data_dir, path)
    assert ald is not None and ald.attrs["niveau"] == "epci"
    r = ald_criterion(ald, load_territory(tiny_data_dir, "76"))
    assert r.values.to_dict() == pytest.approx(
        {SIREN["A"]: 17.5, SIREN["B"]: float("nan"), SIREN["D"]: 22.0}, nan_ok=True)
    assert r.coverage.to_dict() == {SIREN["A"]: 1.0, SIREN["B"]: 0.0, SIREN["D"]: 1.0}


@pytest.mark.parametrize("option", ["--ald", "--filosofi-epci", "--reference"])
def test_latin1_user_file_is_one_clear_error(tiny_data_dir: Path, tmp_path: Path,
                                             option: str) -> None:
    text = {"--ald": "dep;part_ald;commentaire\n09;21,5;Ariège\n",
            "--filosofi-epci": f"CODGEO;LIBGEO;MED21\n{SIREN['A']};CC Ariège;21000\n",
            "--reference": "nom\nCC Ariège\n"}[option]
    path = tmp_path / "user.csv"
    path.write_bytes(text.encode("latin-1"))
    code, out = _cli("score", "--data-dir", str(tiny_data_dir), "--no-travel", "--draws", "0",
                     "--top", "1", "--no-export", option, str(path))
    assert code == 2, out
    assert "Traceback" not in out and out.count("Error: ") == 1
    assert f"Error: {path}: not" in out and "UTF-8" in out


def test_filosofi_epci_reader(tmp_path: Path) -> None:
    path = tmp_path / "epci.csv"
    path.write_text(f"CODGEO;LIBGEO;MED21\n{SIREN['A']};CC Un;21 000\n{SIREN['B']};CC;s\n",
                    encoding="utf-8")
    with pytest.raises(DataFormatError, match="'MED21': 1 value"):
        read_filosofi_epci(tmp_path, path)  # "21 000" is not a number: reported, never guessed
    path.write_text(f"CODGEO;LIBGEO;MED21\n{SIREN['A']};CC Un;21000,5\n{SIREN['B']};CC;s\n",
                    encoding="utf-8")
    f = read_filosofi_epci(tmp_path, path)
    assert f.index.tolist() == [SIREN["A"], SIREN["B"]]
    assert f.loc[SIREN["A"], "med_niveau_vie"] == 21000.5
    assert pd.isna(f.loc[SIREN["B"], "med_niveau_vie"])
    with pytest.raises(DataFileNotFoundError, match="cc_filosofi_2021_EPCI"):
        read_filosofi_epci(tmp_path, tmp_path / "absent.csv")


def test_reference_list_reader_and_resolution(tiny_data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    path.write_text(f"{SIREN['A']}\n{SIREN['D']}\n", encoding="utf-8")  # no header
    assert read_reference_list(path).tolist() == [SIREN["A"], SIREN["D"]]
    path.write_text(f"region;epci_siren\n76;{SIREN['D']}\n76;\n76;999999999\n",
                    encoding="utf-8")
    values = read_reference_list(path)
    assert values.tolist() == [SIREN["D"], "999999999"] and values.name == "epci_siren"
    names = load_territory(tiny_data_dir, "76").epci["epci_nom"]
    with pytest.raises(TerritoryError, match="unknown SIREN 999999999"):
        pipeline.read_reference(path, names)
    path.write_text("nom\n\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="no EPCI listed"):
        read_reference_list(path)


def test_unmatched_cog2024_codes_reported_in_outputs(tiny_data_dir: Path) -> None:
    """The tiny APL file has a row 09999 that no COG 2025 commune comes from."""
    run = pipeline.run(load_config(), tiny_data_dir, region="76", travel=False, draws=0, top=1)
    notes = [n for n in run.result.notes if n.startswith("Codes communes COG 2024")]
    assert len(notes) == 2
    apl, filo = notes
    assert "APL" in apl and "1 code(s) sans correspondance, lignes ignorées : 09999" in apl
    assert "Filosofi" in filo and "aucun code sans correspondance" in filo
    # every inhabited commune has a Filosofi row (a file without some is refused:
    # tests/test_bad_input.py::filosofi_cut_short), so none is listed as without a row
    assert "sans ligne" not in filo
    mapping = run.result.params["cog2024_mapping"]
    assert mapping["apl"]["unmatched"] == ["09999"] and mapping["niveau_vie"]["unmatched"] == []


def _run_with_travel(tiny: Path, n_outside: int, indicator: str = "share_beyond"):
    """A tiny run whose travel times are given (criterion 4 from a hand-made EPCI table)."""
    from types import SimpleNamespace

    import geopandas as gpd

    from zoning.traveltimes import TravelTimes

    config = load_config()
    config = config.model_copy(update={"travel": config.travel.model_copy(
        update={"indicator": indicator})})
    terr = load_territory(tiny, "76")
    epci = pd.DataFrame({"t_mean_min": [12.0, 41.5, 25.0], "share_beyond": [0.0, 0.8, 0.25],
                         "pop_beyond": [0.0, 840.0, 125.0], "weights_source": "communes",
                         "coverage": 1.0},
                        index=pd.Index([SIREN["A"], SIREN["B"], SIREN["D"]], name="epci_siren"))
    communes = pd.DataFrame({"t_urgence_min": 10.0}, index=terr.communes.index)
    sites = gpd.GeoDataFrame({"nom": []}, geometry=gpd.GeoSeries([], crs=2154), crs=2154)
    travel = TravelTimes(communes=communes, epci=epci, cells=None, sites=sites, node_times={},
                         graph=SimpleNamespace(), region="76", either="su_or_smur",
                         threshold_min=30.0, note="réseau test", n_outside=n_outside)
    return pipeline.run(config, tiny, region="76", travel=travel, draws=0, top=1), travel


def test_mean_time_indicator(tiny_data_dir: Path) -> None:
    run, travel = _run_with_travel(tiny_data_dir, 0, indicator="mean_time")
    urg = run.criteria["urgences"]
    pd.testing.assert_series_equal(urg.values, travel.epci["t_mean_min"].reindex(
        urg.values.index), check_names=False)
    assert "temps moyen" in urg.note
    share, _ = _run_with_travel(tiny_data_dir, 0)
    assert share.criteria["urgences"].values.to_dict() == pytest.approx(
        {SIREN["A"]: 0.0, SIREN["B"]: 80.0, SIREN["D"]: 25.0})  # shares shown in %


def test_geotiff_written_when_epci_fall_outside_the_network(tiny_data_dir: Path,
                                                            tmp_path: Path) -> None:
    # raster cells are timed like any origin (zoning.exports.travel.write_time_raster): cells
    # hors couverture du réseau routier are nodata, so the GeoTIFF never carries a time the
    # network cannot support, and is written whether or not some EPCI lack criterion 4
    inside, _ = _run_with_travel(tiny_data_dir, 0)
    assert pipeline.raster_job(inside, tmp_path) is not None  # the GeoTIFF would be written
    outside, _ = _run_with_travel(tiny_data_dir, 1)
    assert pipeline.raster_job(outside, tmp_path) is not None
    assert outside.result.raster_path is not None


def test_population_share_selection_with_sensitivity(tiny_data_dir: Path) -> None:
    """--population-share with the Monte-Carlo draws on: the main selection follows the rule
    (worst EPCI first while the cumulated population stays within the share; the worst is
    always taken), and the labels follow the draws' probabilities."""
    config = load_config()
    share = 0.5
    config = config.model_copy(update={"run": config.run.model_copy(
        update={"selection": "population_share", "population_share": share})})
    run = pipeline.run(config, tiny_data_dir, region="76", travel=False, draws=200, seed=7)
    t = run.table.sort_values("rank")
    assert t.attrs["draws"] == 200 and t["probability"].between(0, 1).all()
    pop = run.result.epci["population"].reindex(t.index).astype(float)
    target = share * pop.sum()
    expected = (pop.cumsum() <= target + 1e-9).to_numpy().copy()
    expected[0] = True
    assert t["selected"].to_numpy(dtype=bool).tolist() == expected.tolist()
    thr = config.sensitivity.robust_threshold
    for siren, row in t.iterrows():
        label = ("robuste" if row["selected"] and row["probability"] >= thr else
                 "limite" if row["selected"] or row["probability"] > 0 else "hors zone")
        assert row["robustesse"] == label, siren
    assert run.result.params["selection"] == "population_share"
