"""``zoning score --region all``: the national set plus one per region, read and routed once.

The real-data tests share the session's ``france_all`` run (``tests/conftest.py``): one
national run and 13 regional scorings, no pipeline run of their own. The command line
itself (folders, file names, national set equal to ``--region FR``'s) runs on the tiny
data directory, where it takes seconds.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from click.testing import CliRunner

from zoning.cli import main
from zoning.config import load_config
from zoning.exports._common import slug
from zoning.results import RunResult

ROOT = Path(__file__).resolve().parent.parent
CONFIG = load_config()
METRO_REGIONS = ["11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"]


def _zones(code: str, n_epci: int, n_national: int) -> int:
    """Zones of a region in ``--region all``: configured, else the national share of EPCI."""
    configured = CONFIG.run.priority_zones_by_region
    if code in configured:
        return min(configured[code], n_epci)
    return max(1, round(configured["FR"] * n_epci / n_national))


@pytest.mark.integration
def test_region_all_reads_and_routes_once(france_all: SimpleNamespace) -> None:
    # one territory, one graph, one travel-time computation: two multi-source Dijkstras
    # (SU, SMUR), whatever the number of regions
    assert france_all.calls == {"load_territory": 1, "load_network": 1,
                                "compute_travel_times": 1, "nearest_facility": 2}


@pytest.mark.integration
def test_region_all_one_set_per_region_plus_the_national_one(
        france_all: SimpleNamespace) -> None:
    national, regions = france_all.runs[0], france_all.runs[1:]
    assert national.result.region == "FR" and slug(national.result) == "zoning_FR"
    assert [r.result.region for r in regions] == METRO_REGIONS
    epci = national.result.epci
    assert len(epci) == 1232 and int(national.table["selected"].sum()) == 151
    # the national selection is the 151 worst composites of the 1,232 (as --region FR)
    assert set(national.table.index[national.table["rank"] <= 151]) == set(
        national.table.index[national.table["selected"]])
    seen: list[str] = []
    for r in regions:
        code = r.result.region
        assert slug(r.result) == f"zoning_{code}"  # its files: zoning_<code>*
        idx = r.table.index
        assert (epci.loc[idx, "reg"] == code).all() and len(idx) == int((epci["reg"] == code)
                                                                        .sum())
        assert int(r.table["selected"].sum()) == _zones(code, len(idx), len(epci)), code
        assert r.table["rank"].min() == 1 and r.table["rank"].is_unique  # ranked on its own
        seen += list(idx)
    assert sorted(seen) == sorted(epci.index)  # the regions partition the national EPCI
    # Corsica has no configured number: the national share of its 19 EPCI (151/1,232 -> 2)
    corse = regions[METRO_REGIONS.index("94")]
    assert "94" not in CONFIG.run.priority_zones_by_region
    assert len(corse.table) == 19 and int(corse.table["selected"].sum()) == 2
    assert corse.result.epci["urgences"].notna().all()  # Corsica's own network is kept


@pytest.mark.integration
def test_region_all_occitanie_is_the_occitanie_run(france_all: SimpleNamespace,
                                                   occitanie: RunResult) -> None:
    """Each region of ``--region all`` is ``score --region <code>`` (here Occitanie)."""
    occ = france_all.runs[1 + METRO_REGIONS.index("76")]
    a, b = occ.table, occitanie.epci.loc[occ.table.index]
    assert a.index.sort_values().equals(occitanie.epci.index.sort_values())
    for col in ("rank", "selected"):
        assert (a[col] == b[col]).all(), col
    for col in ["composite", *(c.id for c in CONFIG.criteria)]:
        pd.testing.assert_series_equal(a[col], b[col], check_names=False, rtol=1e-12)


@pytest.mark.integration
def test_readme_states_the_national_zones_per_region(france_all: SimpleNamespace) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    national, regions = france_all.runs[0], france_all.runs[1:]
    sel = national.result.epci.loc[national.table.index[national.table["selected"]], "reg"]
    rows = re.findall(r"^\| (.+?) \((\d\d)\) \| ([\d,]+) \| (\d+) \| (\d+) \|$", readme, re.M)
    assert len(rows) == 13, "README: the table of zones per region changed"
    for (name, code, n_epci, n_nat, n_own), r in zip(rows, regions, strict=True):
        assert code == r.result.region and name == r.result.region_name
        assert int(n_epci.replace(",", "")) == len(r.table)
        assert int(n_nat) == int((sel == code).sum()), name
        assert int(n_own) == int(r.table["selected"].sum()), name


# --------------------------------------------------------------------------- command line


@pytest.mark.browser
def test_cli_region_all_writes_one_set_per_region(tiny_data_dir: Path, tmp_path: Path) -> None:
    """Tiny data (5 EPCI in regions 76, 84 and 94): folders, names, national = --region FR."""
    cfg = tmp_path / "criteria.toml"
    cfg.write_text(re.sub(r"(?m)^priority_zones_by_region = .*$",
                          'priority_zones_by_region = { "76" = 1, "FR" = 2 }',
                          (ROOT / "config" / "criteria.toml").read_text(encoding="utf-8")),
                   encoding="utf-8")
    common = ["-q", "score", "--data-dir", str(tiny_data_dir), "--config", str(cfg),
              "--no-travel", "--draws", "0"]
    res = CliRunner().invoke(main, [*common, "--region", "all", "-o", str(tmp_path / "all")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["76", "84", "94", "FR"]
    for folder in (tmp_path / "all").iterdir():
        files = [p.name for p in folder.iterdir() if p.is_file() and p.name[0] != "."]
        assert files and all(f.startswith(f"zoning_{folder.name}") for f in files), files
        assert (folder / f"zoning_{folder.name}_epci.csv").is_file()
        assert len(list((folder / "fiches").glob("*.pdf"))) >= 1
    assert "Régions (chacune classée et sélectionnée séparément)" in res.output
    # Corsica (94, not configured): the national share of its one EPCI, at least 1
    corse = pd.read_csv(tmp_path / "all" / "94" / "zoning_94_epci.csv", dtype=str)
    assert len(corse) == 1 and corse["selected"].tolist() == ["True"]
    # the national set is that of --region FR
    fr = CliRunner().invoke(main, [*common, "--region", "FR", "-o", str(tmp_path / "fr")])
    assert fr.exit_code == 0, fr.output
    a = pd.read_csv(tmp_path / "all" / "FR" / "zoning_FR_epci.csv", dtype=str)
    b = pd.read_csv(tmp_path / "fr" / "zoning_FR_epci.csv", dtype=str)
    drop = [c for c in a.columns if "computed" in c]
    pd.testing.assert_frame_equal(a.drop(columns=drop), b.drop(columns=drop))
    assert a["selected"].eq("True").sum() == 2
    # the count per region lists every region, those without a zone too
    line = "Zones prioritaires par région (2) : Occitanie 1 ; Auvergne-Rhône-Alpes 0 ; Corse 1"
    assert line in fr.output and line in res.output


@pytest.mark.integration
def test_readme_states_why_three_epci_have_no_criterion_4(france_all: SimpleNamespace) -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    epci = france_all.runs[0].result.epci
    missing = epci[epci["urgences"].isna()]
    assert sorted(missing["epci_nom"]) == ["Bordeaux Métropole", "CC de Belle Ile en Mer",
                                           "Nantes Métropole"]
    m = re.search(r"Bordeaux Métropole and Nantes Métropole \((\d+) % and (\d+) % of their "
                  r"population far from the graph in dense areas, timed by the urban access "
                  r"model, more than the quarter `travel.max_share_urban_model` allows", readme)
    assert m, "README: the sentence on the EPCI without criterion 4 changed"
    limit = CONFIG.travel.max_share_urban_model
    for siren, share in (("243300316", m[1]), ("244400404", m[2])):
        part = float(epci.at[siren, "part_modele_urbain"])
        assert round(100 * part) == int(share) and part > limit and limit == 0.25
        assert "modèle d'accès urbain" in epci.at[siren, "motif_indisponible"]
    belle_ile = missing.index[missing["epci_nom"] == "CC de Belle Ile en Mer"][0]
    assert epci.at[belle_ile, "part_hors_couverture"] == 1.0
    assert "100 % of its population is outside the network's coverage" in readme
    assert "hors couverture" in epci.at[belle_ile, "motif_indisponible"]


@pytest.mark.integration
def test_grid_cells_take_their_own_population_as_density(france_all: SimpleNamespace) -> None:
    """``cell_times`` gives each 1 km cell its own population as density (no lookup): the
    same coverage labels and times as looking every cell up in the run's access context,
    on the national grid, where the urban access model serves hundreds of cells."""
    import geopandas as gpd
    import numpy as np

    from zoning import traveltimes as tt

    tin = france_all.runs[0].extra["travel"]
    cells = tin.cells
    dummy = {k: tt.Routed(t, np.full(t.shape, "x", dtype=object),
                          np.full(t.shape, "x", dtype=object))
             for k, t in tin.node_times.items()}
    ref = tt.origin_times(tin.graph, gpd.GeoSeries(gpd.points_from_xy(cells["x"], cells["y"]),
                                                   crs=2154, index=cells.index),
                          dummy, CONFIG, context=tin.context)
    assert (cells["modele_acces"] == tt.COVERAGE_LABELS["urbain"]).sum() > 100
    pd.testing.assert_series_equal(ref["modele_acces"], cells["modele_acces"])
    for kind in tt.KINDS:
        pd.testing.assert_series_equal(ref[f"t_{kind}_min"], cells[f"t_{kind}_min"])
