"""``zoning.calibration`` on tiny frames built in code, the reference outputs (column, map layer,
note sections, annex tables) on the tiny export fixture, full official EPCI names, and the
criteria file writer. The calibration on the real Occitanie data is in
tests/test_weights_calibration_integration.py."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _tiny_run import tiny_result
from openpyxl import load_workbook
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from zoning.calibration import (
    SimplexLogit,
    calibrate,
    compatible_ranges,
    epci_frame,
    summary_lines,
)
from zoning.config import config_to_toml, load_config, parse_config
from zoning.criteria import CriterionResult
from zoning.errors import AmbiguousNameError, ScoringError, TerritoryError
from zoning.exports import write_map, write_tables
from zoning.labels import base_label
from zoning.results import AnnexTable, NoteSection
from zoning.scoring import composite, criterion_scores, find_epci, rank_values

IDS = ("apl", "age_mg", "ald", "urgences", "niveau_vie")


def _features(n: int = 200, k: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n, k))


def test_simplex_logit_recovers_direction_of_a_logistic_model() -> None:
    x = _features(2000)
    w = np.array([0.5, 0.0, 0.3, 0.2])
    rng = np.random.default_rng(1)
    p = 1.0 / (1.0 + np.exp(-(-12.0 + 20.0 * x @ w)))
    y = (rng.uniform(size=len(p)) < p).astype(int)
    m = SimplexLogit().fit(x, y)
    assert m.weights_.sum() == pytest.approx(1.0)
    assert (m.weights_ >= 0).all()
    assert np.abs(m.weights_ - w).max() < 0.06
    assert m.weights_[1] < 0.03  # a criterion playing no role gets (almost) no weight
    assert 14 < m.scale_ < 26 and -15 < m.intercept_ < -9
    proba = m.predict_proba(x)
    assert proba.shape == (len(x), 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_simplex_logit_never_gives_a_negative_weight() -> None:
    """A criterion pointing the wrong way (the list prefers low scores) is bounded at 0."""
    x = _features(400)
    y = ((x[:, 0] - x[:, 1]) > 0.3).astype(int)
    m = SimplexLogit().fit(x, y)
    assert m.weights_[1] == 0.0 and m.weights_[0] > 0.9


def test_simplex_logit_plugs_into_sklearn() -> None:
    x = _features(300)
    y = (x @ np.array([0.25, 0.25, 0.25, 0.25]) > 0.6).astype(int)
    est = clone(SimplexLogit(penalty=1e-3))
    scores = cross_val_score(est, x, y, cv=3, scoring="roc_auc")
    assert scores.min() > 0.95


def test_missing_values_use_the_composite_of_score() -> None:
    """An EPCI lacking a criterion gets the composite over the others, renormalised, exactly as
    ``scoring.composite``; a row without any value has no probability (never filled)."""
    x = _features(300)
    x[::7, 2] = np.nan
    x[5] = np.nan
    y = (np.nan_to_num(x) @ np.array([0.4, 0.3, 0.0, 0.3]) > 0.55).astype(int)
    m = SimplexLogit().fit(x, y)
    frame = pd.DataFrame(x, columns=list("abcd"))
    expected = composite(frame, dict(zip("abcd", m.weights_, strict=True))).to_numpy()
    np.testing.assert_allclose(m.composite(x), expected, equal_nan=True)
    assert m.predict_proba(x)[5, 1] == 0.0 and np.isnan(m.composite(x)[5])


def _crit(cid: str, values: np.ndarray, index: pd.Index, available: bool = True
          ) -> CriterionResult:
    return CriterionResult(id=cid, values=pd.Series(values, index=index),
                           coverage=pd.Series(1.0, index=index), available=available,
                           source="test", vintage="", note="")


def _tiny_criteria(n: int = 120, seed: int = 3) -> tuple[dict[str, CriterionResult], pd.Series]:
    index = pd.Index([f"2000{i:05d}" for i in range(n)], name="epci_siren")
    rng = np.random.default_rng(seed)
    crits = {cid: _crit(cid, rng.uniform(1, 5, n), index) for cid in IDS if cid != "ald"}
    crits["ald"] = _crit("ald", np.full(n, np.nan), index, available=False)
    crits["urgences"].values.iloc[[4, 9]] = np.nan  # two EPCI without a travel time
    pop = pd.Series(rng.integers(1000, 50000, n), index=index, dtype="float64")
    return crits, pop


def _top(crits: dict[str, CriterionResult], pop: pd.Series, weights: dict[str, float],
         n: int) -> list[str]:
    config = load_config()
    _, scores, _ = criterion_scores(crits, config, pop.index)
    ranks = rank_values(composite(scores, weights).to_numpy(), pop)
    return list(pop.index[ranks <= n])


def test_calibrate_on_a_top_n_list() -> None:
    crits, pop = _tiny_criteria()
    true = {"apl": 0.4, "age_mg": 0.1, "urgences": 0.3, "niveau_vie": 0.2}
    ref = _top(crits, pop, true, 20)
    cal = calibrate(crits, load_config(), pop, ref, bootstrap=20, cv=4, seed=1)
    assert cal.criteria == ["apl", "age_mg", "urgences", "niveau_vie"]
    assert cal.missing == ["ald"]  # said, never estimated
    assert cal.weights.sum() == pytest.approx(1.0)
    assert max(abs(cal.weights[k] - v) for k, v in true.items()) < 0.1
    assert cal.in_sample.top_overlap == 20 and cal.in_sample.auc == pytest.approx(1.0)
    assert cal.cross_validated.auc > 0.9
    assert (cal.intervals["low"] <= cal.weights + 1e-9).all()
    assert (cal.intervals["high"] >= cal.weights - 1e-9).all()
    assert len(cal.epci) == len(pop) and set(cal.epci.index[cal.epci["in_reference"]]) == set(ref)
    assert cal.epci.loc[pop.index[4], "n_criteres"] == 3
    w = cal.weights_for_config(load_config())
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-9) and w["ald"] == 0.0
    lines = summary_lines(cal, load_config(), pd.Series("x", index=pop.index), source="ref.csv")
    assert any(line.startswith("Poids implicites") for line in lines)
    assert cal.compatible is not None  # a top-N list of some weighting: reproducible
    assert any(line.startswith("La liste est exactement reproductible") for line in lines)
    ald = base_label(load_config().criterion("ald").label)
    assert any(f"{ald} » : donnée indisponible" in line for line in lines)
    assert any("2 EPCI n'ont pas de valeur pour tous les critères" in line for line in lines)
    worst = epci_frame(cal, pd.Series("x", index=pop.index))
    assert worst["ecart"].is_monotonic_decreasing


def test_compatible_ranges_known_answer() -> None:
    """In the list: (1, 0); out: (0, 1) and (0.4, 0.4). With w = (a, 1 - a) the list is
    reproduced iff a >= 1 - a and a >= 0.4, i.e. a in [0.5, 1]; a row with a missing value is
    left out; an EPCI of the list below every other on every criterion makes it impossible."""
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.4], [np.nan, 0.9]])
    y = np.array([1, 0, 0, 0])
    r = compatible_ranges(x, y, ["a", "b"])
    assert r is not None
    np.testing.assert_allclose(r.loc["a"].to_numpy(), [0.5, 1.0], atol=1e-9)
    np.testing.assert_allclose(r.loc["b"].to_numpy(), [0.0, 0.5], atol=1e-9)
    assert compatible_ranges(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([1, 0]),
                             ["a", "b"]) is None


def test_calibrate_bad_inputs() -> None:
    crits, pop = _tiny_criteria()
    config = load_config()
    with pytest.raises(ScoringError, match="not in the scored territory"):
        calibrate(crits, config, pop, ["999999999"], bootstrap=0)
    with pytest.raises(ScoringError, match="both in and out"):
        calibrate(crits, config, pop, list(pop.index), bootstrap=0)
    with pytest.raises(ScoringError, match="folds"):
        calibrate(crits, config, pop, list(pop.index[:3]), bootstrap=0, cv=5)
    two = {k: (v if k == "apl" else _crit(k, np.full(len(pop), np.nan), pop.index, False))
           for k, v in crits.items()}
    with pytest.raises(ScoringError, match="at least two criteria"):
        calibrate(two, config, pop, list(pop.index[:10]), bootstrap=0)
    cal = calibrate(crits, config, pop, list(pop.index[:10]), bootstrap=0, cv="loo")
    assert cal.cv == "leave-one-out" and cal.intervals["low"].isna().all()


# --------------------------------------------------------------------------- names, config file


def test_find_epci_accepts_full_official_names() -> None:
    names = pd.Series(["CC du Pays de Mirepoix", "CA Alès Agglomération", "CC Arize Lèze",
                       "CC des Albères, de la Côte Vermeille et de l'Illibéris",
                       "CC du Pays de Sommières"],
                      index=[f"20000000{i}" for i in range(5)])
    assert find_epci("Communauté de communes du Pays de Mirepoix", names) == "200000000"
    assert find_epci("Communauté de Communes Pays de Mirepoix", names) == "200000000"
    assert find_epci("Communauté d'agglomération Alès Agglomération", names) == "200000001"
    assert find_epci("Communauté de communes Arize-Lèze", names) == "200000002"
    assert find_epci("Communauté de communes des Albères, de la Côte Vermeille et de "
                     "l'Illibéris", names) == "200000003"
    with pytest.raises(TerritoryError, match="closest names: 200000000 CC du Pays de Mirepoix"):
        find_epci("Communauté de communes du Pays de Mirepoixx", names)
    with pytest.raises(AmbiguousNameError):
        find_epci("Communauté de communes du Pays", names)


def test_config_file_round_trip(tmp_path: Path) -> None:
    config = load_config()
    changed = config.model_copy(update={"criteria": [
        c.model_copy(update={"weight": w}) for c, w in
        zip(config.criteria, [0.4087, 0.0991, 0.0, 0.3069, 0.1853], strict=True)]})
    text = config_to_toml(changed, "poids ajustés\nsur une liste")
    assert text.startswith("# poids ajustés\n# sur une liste\n")
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    back = load_config(path)
    assert back.model_dump(exclude={"source_path"}) == changed.model_dump(
        exclude={"source_path"})
    assert parse_config(tomllib.loads(config_to_toml(config))).weights == config.weights


# --------------------------------------------------------------------------- outputs


def _with_reference() -> tuple:
    r = tiny_result(evil_name=False)
    r.epci["in_reference"] = r.epci.index.isin(["200000001", "200000002"])
    r.sections.append(NoteSection("Comparaison avec la liste de référence",
                                  ["1 en commun <b>x</b>"]))
    r.annexes.append(AnnexTable(
        "calibration_poids", "Calibration - poids",
        pd.DataFrame({"poids": [0.6, 0.4]},
                     index=pd.Index(["apl", "urgences"], name="critere_id")),
        {"critere_id": "Critère", "poids": "Poids ajusté"}))
    return r


def test_reference_in_tables_and_annexes(tmp_path: Path) -> None:
    written = write_tables(_with_reference(), tmp_path)
    names = {p.name for p in written}
    assert {"zoning_99_calibration_poids.csv", "zoning_99_calibration_poids_fr.csv"} <= names
    epci = pd.read_csv(tmp_path / "zoning_99_epci.csv", dtype={"epci_siren": str})
    assert epci.set_index("epci_siren")["in_reference"].to_dict() == {
        "200000001": True, "200000002": True, "200000003": False, "200000004": False}
    fr = pd.read_csv(tmp_path / "zoning_99_epci_fr.csv", sep=";", encoding="utf-8-sig")
    assert sorted(fr["Dans la liste de référence"]) == ["non", "non", "oui", "oui"]
    annex = pd.read_csv(tmp_path / "zoning_99_calibration_poids_fr.csv", sep=";",
                        encoding="utf-8-sig", decimal=",")
    assert annex.columns.tolist() == ["Critère", "Poids ajusté"]
    wb = load_workbook(tmp_path / "zoning_99.xlsx")
    assert wb.sheetnames[-1] == "Calibration - poids"
    assert [c.value for c in wb["Calibration - poids"][1]] == ["Critère", "Poids ajusté"]
    meth = [str(v) for row in wb["Méthode et sources"].iter_rows(values_only=True)
            for v in row if v is not None]
    assert "Comparaison avec la liste de référence" in meth and "1 en commun <b>x</b>" in meth


def test_reference_layer_and_sections_on_the_map(tmp_path: Path) -> None:
    html = write_map(_with_reference(), tmp_path / "carte.html").read_text(encoding="utf-8")
    m = re.search(r"var zoning_data = (\{.*?\});\nzoningMap", html, re.S)
    assert m is not None
    payload = json.loads(m.group(1))
    layer = next(x for x in payload["epci_layers"]
                 if x["name"] == "Liste de référence et zones prioritaires")
    # tiny fixture: EPCI 1 and 3 selected, 1 and 2 in the list
    assert layer["codes"] == [0, 1, 2, 3] and not layer["visible"]
    assert [i["label"].split(" (")[-1] for i in layer["legend"]["items"]] == ["1 EPCI)"] * 4
    labels = payload["epci"]["labels"]
    col = labels.index("Dans la liste de référence")
    assert [v[col] for v in payload["epci"]["values"]] == ["oui", "oui", "non", "non"]
    assert payload["sections"] == [{"title": "Comparaison avec la liste de référence",
                                    "lines": ["1 en commun <b>x</b>"]}]
    assert "<b>x</b>" not in html  # data text stays escaped JSON
    assert "D.sections" in html
