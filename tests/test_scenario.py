"""``zoning score --close / --add``: criterion 4 recomputed under a scenario, EPCI re-ranked."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoning.cli import main
from zoning.config import load_config
from zoning.pipeline import colocated_sites

CONFIG = load_config()
GANGES_SU = "340780717"  # CL ST LOUIS GANGES (SU)
GANGES_SMUR = "340022771"  # CHU MTP SMUR ANTENNE GANGES, same point
VIGANAIS = "243000270"  # CC du Pays Viganais: its communes reach the Ganges sites first


def _scenario_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        assert first.startswith("# scénario : fermeture")
        return {r["epci_siren"]: r for r in csv.DictReader(f)}


@pytest.mark.integration
def test_colocated_sites_of_ganges(data_dir: Path) -> None:
    from zoning.sources import read_facilities

    fac = read_facilities(data_dir)
    (sentence,) = colocated_sites(fac, [GANGES_SU], CONFIG)
    assert GANGES_SMUR in sentence and "partage son emplacement" in sentence
    assert colocated_sites(fac, [GANGES_SU, GANGES_SMUR], CONFIG) == []


@pytest.mark.integration
def test_score_close_moves_an_epci_across_30_min(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    res = CliRunner().invoke(main, [
        "-q", "score", "--data-dir", str(data_dir), "--draws", "0", "-o", str(out),
        "--close", GANGES_SU, "--close", GANGES_SMUR])
    assert res.exit_code == 0, res.output
    assert "Entrent dans les zones prioritaires : CC du Pays Viganais (rang" in res.output
    rows = _scenario_rows(out / "zoning_76_scenario_epci.csv")
    vig = rows[VIGANAIS]
    # the Viganais was mostly within 30 min of Ganges; without Ganges all of it is beyond
    assert float(vig["part_au_dela_avant"]) < 0.2 and float(vig["part_au_dela_apres"]) == 1.0
    assert vig["mouvement"] == "entre" and vig["selection_avant"] == "False"
    entering = [s for s, r in rows.items() if r["mouvement"] == "entre"]
    leaving = [s for s, r in rows.items() if r["mouvement"] == "sort"]
    assert len(entering) == len(leaving) >= 1  # 28 zones either way
    # closing sites never brings anyone nearer
    assert all(float(r["ecart_part_au_dela"]) >= -1e-12 for r in rows.values())
    # the outputs are the scenario's, and say so
    with open(out / "zoning_76_epci.csv", encoding="utf-8") as f:
        scored = {r["epci_siren"]: r for r in csv.DictReader(f)}
    assert scored[VIGANAIS]["selected"] == "True"
    assert "scénario : fermeture 340780717 (CL ST LOUIS GANGES)" in res.output


def test_scenario_summary_says_colocated_instead_of_no_change(
        capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from zoning.cli.score_cmd import _print_scenario
    from zoning.pipeline import ScenarioRun

    changes = pd.DataFrame({
        "epci_nom": ["CC A", "CC B"], "rang_avant": [1, 2], "rang_apres": [1, 2],
        "selection_avant": [True, False], "selection_apres": [True, False],
        "mouvement": ["", ""], "part_au_dela_avant": [0.5, 0.0],
        "part_au_dela_apres": [0.5, 0.0], "ecart_part_au_dela": [0.0, 0.0],
    }, index=pd.Index(["200000001", "200000002"], name="epci_siren"))
    sentence = ("le site fermé 1 (SU) partage son emplacement avec 2 (SMUR), qui reste "
                "ouvert : sa fermeture ne change pas le temps d'accès au plus proche SU ou SMUR")
    run = ScenarioRun(base=None, scenario=None, label="fermeture 1 (SU)",  # type: ignore[arg-type]
                      changes=changes, colocated=[sentence])
    _print_scenario(run, 30.0)
    text = capsys.readouterr().out
    assert "Le site fermé 1 (SU) partage son emplacement avec 2 (SMUR)" in text
    assert "Aucune part de population ne change : le site fermé partage son emplacement" in text
    assert "Aucun EPCI ne change" not in text
    _print_scenario(ScenarioRun(base=None, scenario=None, label="x",  # type: ignore[arg-type]
                                changes=changes, colocated=[]), 30.0)
    assert "Aucun EPCI ne change de part de population à plus de 30 min" in (
        capsys.readouterr().out)


def test_score_scenario_bad_input_exits_2(tiny_data_dir: Path) -> None:
    for args in (["--close", "999999999"], ["--add", "abc"], ["--close", "310000001",
                                                              "--no-travel"]):
        res = CliRunner().invoke(main, ["-q", "score", "--data-dir", str(tiny_data_dir),
                                        "--draws", "0", "--no-export", *args])
        assert res.exit_code == 2, (args, res.output)
