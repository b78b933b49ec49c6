"""``zoning calibrate`` on the real Occitanie data (161 EPCI, the criteria the run has).

A reference list is built from known weights (the top 28 of their composite): the calibration
must recover those weights within ``TOLERANCE`` and reproduce the list; with random swaps in
the list, the cross-validated agreement must drop and the bootstrap intervals widen.
"""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from zoning import pipeline
from zoning.calibration import Calibration, calibrate
from zoning.cli import main
from zoning.config import load_config
from zoning.scoring import composite, criterion_scores, rank_values

pytestmark = pytest.mark.integration

TRUE_PATTERN = {"apl": 0.35, "age_mg": 0.15, "ald": 0.2, "urgences": 0.3, "niveau_vie": 0.2}
"""Known weights (renormalised over the criteria the run has data for)."""

TOLERANCE = 0.1
"""Largest error allowed on each recovered weight. A top-28 list fixes the weights only up to
the set of weightings that give the same 28 (``Calibration.compatible``: with five criteria
some weights range over 0.2 or more in it), and any point of that set reproduces the list
equally well: the test also checks that the fitted weights lie in it."""

N_LIST = 28
BOOT = 30
SWAPS = 8


@pytest.fixture(scope="module")
def base(data_dir: Path) -> pipeline.Run:
    return pipeline.run(load_config(), data_dir, region="76", draws=0)


@pytest.fixture(scope="module")
def known(base: pipeline.Run) -> tuple[dict[str, float], list[str], pd.Series]:
    config = load_config()
    pop = base.extra["territory"].epci["population"].astype("float64")
    _, scores, available = criterion_scores(base.criteria, config, pop.index)
    ids = [k for k in TRUE_PATTERN if available[k]]
    assert len(ids) >= 4  # at least APL, age, travel time, income (ALD when its data is there)
    total = sum(TRUE_PATTERN[k] for k in ids)
    true = {k: TRUE_PATTERN[k] / total for k in ids}
    ranks = rank_values(composite(scores, true).to_numpy(), pop)
    ref = [str(s) for s in pop.index[ranks <= N_LIST]]
    return true, ref, pop


@pytest.fixture(scope="module")
def clean(base: pipeline.Run, known: tuple) -> Calibration:
    _, ref, pop = known
    return calibrate(base.criteria, load_config(), pop, ref, bootstrap=BOOT, seed=7)


def test_recovers_known_weights_and_reproduces_the_list(clean: Calibration, known: tuple
                                                        ) -> None:
    true, ref, _ = known
    assert clean.criteria == list(true)
    err = {k: abs(float(clean.weights[k]) - v) for k, v in true.items()}
    assert max(err.values()) <= TOLERANCE, err
    ranges = clean.compatible  # weightings reproducing the list exactly (linear programmes)
    assert ranges is not None and clean.n_compatible_rows > 150
    for cid, v in true.items():  # the truth is in the set, and so is the fit
        assert ranges.at[cid, "low"] - 1e-6 <= v <= ranges.at[cid, "high"] + 1e-6
        assert ranges.at[cid, "low"] - 1e-3 <= clean.weights[cid] <= ranges.at[cid, "high"] + 1e-3
    assert clean.in_sample.top_overlap == N_LIST and clean.in_sample.auc == pytest.approx(1.0)
    assert set(clean.epci.index[clean.epci["in_top"]]) == set(ref)
    assert clean.cross_validated.auc > 0.97
    assert clean.cross_validated.top_overlap >= N_LIST - 4
    # the configured (equal) weights explain this list less well than the fitted ones
    assert clean.baseline.top_overlap < clean.in_sample.top_overlap
    assert clean.n_bootstrap_ok == BOOT


def test_noise_lowers_agreement_and_widens_intervals(base: pipeline.Run, known: tuple,
                                                     clean: Calibration) -> None:
    _, ref, pop = known
    rng = np.random.default_rng(11)
    out = [s for s in pop.index.astype(str) if s not in set(ref)]
    added = [str(s) for s in rng.choice(out, SWAPS, replace=False)]
    dropped = {str(s) for s in rng.choice(ref, SWAPS, replace=False)}
    kept = [s for s in ref if s not in dropped]
    noisy = calibrate(base.criteria, load_config(), pop, kept + added, bootstrap=BOOT, seed=7)
    assert noisy.cross_validated.auc < clean.cross_validated.auc - 0.08
    assert noisy.cross_validated.top_overlap < clean.cross_validated.top_overlap
    assert noisy.in_sample.n == N_LIST and noisy.in_sample.top_overlap < N_LIST
    assert noisy.compatible is None  # no weighting reproduces a list with random swaps
    width_clean = float((clean.intervals["high"] - clean.intervals["low"]).mean())
    width_noisy = float((noisy.intervals["high"] - noisy.intervals["low"]).mean())
    assert width_noisy > 1.5 * width_clean, (width_clean, width_noisy)
    # the EPCI swapped into the list are the ones the data explain worst
    worst = set(noisy.worst_in(SWAPS).index)
    assert len(worst & set(added)) >= SWAPS // 2


def _reference_csv(path: Path, sirens: list[str], names: pd.Series) -> Path:
    """The list as an analyst may hold it: full official names, some SIREN."""
    rows = [["nom"]]
    for i, s in enumerate(sirens):
        n = str(names[s])
        if i % 3 == 0:
            rows.append([s])
        elif n.startswith("CC "):
            rows.append(["Communauté de communes " + n[3:]])
        elif n.startswith("CA "):
            rows.append(["Communauté d'agglomération " + n[3:]])
        else:
            rows.append([n])
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_run_calibration_writes_report_and_a_criteria_file_score_accepts(
        data_dir: Path, base: pipeline.Run, known: tuple, tmp_path: Path) -> None:
    _, ref, _ = known
    names = base.extra["territory"].epci["epci_nom"].astype(str)
    ref_csv = _reference_csv(tmp_path / "liste.csv", ref, names)
    out = tmp_path / "cal"
    crun = pipeline.run_calibration(load_config(), data_dir, ref_csv, out, region="76",
                                    bootstrap=10, draws=0, travel=base.extra["travel"])
    assert sorted(crun.calibration.reference) == sorted(ref)  # full names resolved
    written = {p.name for p in pipeline.write_calibration(crun, out)}
    assert {"criteres_calibres_76.toml", "zoning_76.html", "zoning_76.xlsx",
            "zoning_76_calibration_poids.csv", "zoning_76_calibration_epci.csv",
            "zoning_76_calibration_accord.csv"} <= written
    # the criteria file: accepted by score's loader, weights = fitted, and it reproduces the list
    cfg = load_config(out / "criteres_calibres_76.toml")
    assert cfg.weights == crun.calibration.weights_for_config(load_config())
    rerun = pipeline.run(cfg, data_dir, region="76", draws=0, travel=base.extra["travel"])
    assert set(rerun.table.index[rerun.table["selected"]]) == set(ref)
    # the report in the files
    weights = pd.read_csv(out / "zoning_76_calibration_poids.csv", index_col="critere_id")
    for cid in crun.calibration.criteria:
        assert weights.loc[cid, "poids"] == pytest.approx(crun.calibration.weights[cid])
        assert weights.loc[cid, "ic_bas"] <= weights.loc[cid, "poids"] <= weights.loc[
            cid, "ic_haut"] + 1e-9
    for cid in crun.calibration.missing:
        assert np.isnan(weights.loc[cid, "poids"]) and not weights.loc[cid, "estime"]
    per_epci = pd.read_csv(out / "zoning_76_calibration_epci.csv", dtype={"epci_siren": str})
    assert len(per_epci) == 161 and per_epci["in_reference"].sum() == N_LIST
    assert set(crun.calibration.criteria) <= set(per_epci.columns)
    wb = load_workbook(out / "zoning_76.xlsx", read_only=True)
    assert {"Calibration - poids", "Calibration - accord", "Calibration - EPCI"} <= set(
        wb.sheetnames)
    epci = pd.read_csv(out / "zoning_76_epci.csv", dtype={"epci_siren": str})
    assert int(epci["in_reference"].sum()) == N_LIST
    html = (out / "zoning_76.html").read_text(encoding="utf-8")
    assert "Calibration des poids sur la liste de référence" in html
    assert "Liste de référence et zones prioritaires" in html
    assert "Poids implicites" in html
    text = (out / "criteres_calibres_76.toml").read_text(encoding="utf-8")
    assert text.startswith("# Critères et poids ajustés par « zoning calibrate »")
    assert tomllib.loads(text)["run"]["priority_zones_by_region"]["76"] == N_LIST


def test_cli_reports_names_matching_nothing_or_several(data_dir: Path, tmp_path: Path) -> None:
    ref = tmp_path / "liste.csv"
    ref.write_text("nom\nCommunauté de communes du Pays de Mirepoix\nCommunauté de communes "
                   "du Pays de Nulle Part\nPays\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["calibrate", "--reference", str(ref), "--data-dir",
                                    str(data_dir), "--no-export"])
    assert res.exit_code == 2, res.output
    assert "2 EPCI not in the scored territory" in res.stderr
    assert "Nulle Part" in res.stderr and "'Pays' matches" in res.stderr
    bad = CliRunner().invoke(main, ["calibrate", "--reference", str(ref), "--cv", "1"])
    assert bad.exit_code == 2 and "at least 2 folds" in bad.stderr


def test_cli_prints_the_report(data_dir: Path, base: pipeline.Run, known: tuple,
                               tmp_path: Path) -> None:
    """``zoning calibrate`` end to end (without travel times, to stay quick): the French report
    with the weights table and both lists of worst-explained EPCI, nothing written."""
    _, ref, _ = known
    names = base.extra["territory"].epci["epci_nom"].astype(str)
    ref_csv = _reference_csv(tmp_path / "liste.csv", ref, names)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["-q", "calibrate", "--reference", str(ref_csv),
                                    "--data-dir", str(data_dir), "--no-travel", "--no-export",
                                    "--bootstrap", "5", "--draws", "0", "--cv", "4",
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert "calibration sur 28 EPCI de référence" in text
    assert "Poids implicites" in text and "IC 95 % (bootstrap)" in text
    assert "Accord en validation croisée (4 plis stratifiés" in text
    assert "EPCI de la liste les moins bien expliqués" in text
    assert "EPCI hors de la liste que les données désignent le plus" in text
    assert "donnée indisponible, non estimé" in text  # criterion 4 without travel times
    assert not out.exists()
