"""Labels that follow the configuration: every output (CSV, XLSX, map, GeoPackage, terminal,
explain) shows what each value is, in one unit per quantity."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from _tiny_run import tiny_result

from zoning.config import Config, load_config
from zoning.criteria import CriterionResult
from zoning.exports import write_all
from zoning.labels import criterion_label, criterion_unit
from zoning.pipeline import _criteria_meta


def _cfg(**sections: dict) -> Config:
    base = load_config()
    upd = {k: getattr(base, k).model_copy(update=v) for k, v in sections.items()}
    return base.model_copy(update=upd)


def test_labels_follow_the_config() -> None:
    for age in (60, 62, 65):
        cfg = _cfg(apl={"age_limit": age})
        assert f"plus de {age} ans" in criterion_label(cfg, "age_mg")
        assert criterion_unit(cfg, "age_mg") == "% de l'offre APL"
    head = _cfg(age={"indicator": "effectifs_2019"})
    assert "60 ans et plus" in criterion_label(head, "age_mg")
    assert "31/12/2019" in criterion_label(head, "age_mg")
    assert criterion_unit(head, "age_mg") == "% des médecins"
    mean = _cfg(travel={"indicator": "mean_time"})
    assert criterion_unit(mean, "urgences") == "min"
    assert "temps de trajet moyen" in criterion_label(mean, "urgences")
    assert "%" not in criterion_label(mean, "urgences") + criterion_unit(mean, "urgences")
    share = _cfg(travel={"threshold_min": 45.0, "facilities": "su"})
    assert criterion_label(share, "urgences").endswith("(population à plus de 45 min d'un SU)")
    assert criterion_unit(share, "urgences") == "% de la population"
    # ALD: what the value rests on replaces the configured label
    r = CriterionResult("ald", pd.Series(dtype="float64"), pd.Series(dtype="float64"), True,
                        "s", "v", what="part des bénéficiaires d'ALD du bassin de vie (x)")
    assert criterion_label(share, "ald", r) == "Part des bénéficiaires d'ALD du bassin de vie (x)"


def _result_for(cfg: Config):
    crits = {c.id: CriterionResult(c.id, pd.Series(dtype="float64"), pd.Series(dtype="float64"),
                                   c.id != "ald", "source", "2023") for c in cfg.criteria}
    table = pd.DataFrame()
    table.attrs["weights"] = {c.id: 0.25 for c in cfg.criteria if c.id != "ald"}
    r = tiny_result(evil_name=False)
    r.criteria = _criteria_meta(cfg, crits, table)
    return r


def _texts(out: dict[str, Path]) -> dict[str, str]:
    """Every French text of the outputs: CSV headers, XLSX cells, map HTML, GeoPackage
    field labels and descriptions."""
    texts: dict[str, str] = {}
    for p in map(Path, out.values()):
        if p.name.endswith("_epci_fr.csv"):
            texts["csv"] = ";".join(next(csv.reader(p.read_text("utf-8-sig").splitlines(),
                                                    delimiter=";")))
        elif p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p, read_only=True)
            texts["xlsx"] = " | ".join(str(c) for ws in wb.worksheets
                                       for row in ws.iter_rows(values_only=True)
                                       for c in row if c is not None)
        elif p.suffix == ".html":
            texts["map"] = p.read_text("utf-8")
        elif p.suffix == ".gpkg":
            with sqlite3.connect(p) as con:
                rows = con.execute("SELECT name, title, description FROM gpkg_data_columns")
                texts["gpkg"] = " | ".join(" ".join(str(x) for x in r) for r in rows)
    assert set(texts) == {"csv", "xlsx", "map", "gpkg"}, list(out)
    return texts


@pytest.mark.parametrize("age", [62, 65])
def test_age_limit_changes_every_output(age: int, tmp_path: Path) -> None:
    texts = _texts(write_all(_result_for(_cfg(apl={"age_limit": age})), tmp_path))
    for where, text in texts.items():
        assert f"plus de {age} ans" in text, where
        assert "plus de 60 ans" not in text, where


def test_mean_time_is_minutes_everywhere(tmp_path: Path) -> None:
    cfg = _cfg(travel={"indicator": "mean_time"})
    label = criterion_label(cfg, "urgences")
    texts = _texts(write_all(_result_for(cfg), tmp_path))
    assert f"{label} (min)" in texts["csv"]
    for where, text in texts.items():
        assert label in text, where
        assert f"{label} (% de la population)" not in text, where
        assert "population à plus de 30 min" not in text, where


def test_shares_are_percent_in_every_output(tmp_path: Path) -> None:
    r = _result_for(load_config())
    r.epci["age_mg"] = r.epci["age_mg"] * 100  # criteria give percent (see test_criteria)
    texts = _texts(write_all(r, tmp_path))
    assert "Présence de jeunes médecins (part de l'offre APL des médecins de plus de 60 ans) " \
           "(% de l'offre APL)" in texts["csv"]
    for where, text in texts.items():
        assert "part de l'APL" not in text, where
    df = pd.read_csv(tmp_path / "zoning_99_epci_fr.csv", sep=";", decimal=",",
                     encoding="utf-8-sig")
    col = next(c for c in df.columns if c.startswith("Présence de jeunes médecins ("))
    assert df[col].max() > 1  # percent, not a 0..1 share
    prob = pd.to_numeric(df["Probabilité de sélection (%)"], errors="coerce")
    assert prob.max() == pytest.approx(100 * r.epci["probability"].max())


@pytest.mark.integration
def test_cumul_shows_the_number_of_fragilities(data_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from zoning.cli import main
    from zoning.config import DEFAULT_CONFIG

    cfg = tmp_path / "cumul.toml"
    cfg.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
        'method = "composite"', 'method = "cumul"', 1), encoding="utf-8")
    args = ["--data-dir", str(data_dir), "--config", str(cfg), "--no-travel", "--draws", "0"]
    res = CliRunner().invoke(main, ["score", *args, "--no-export"])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "Fragilités" in lines[0]
    start = lines[0].index("Fragilités")
    counts = [int(line[start:start + len("Fragilités")].strip()) for line in lines[1:162]]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 1  # they decide the rank
    res = CliRunner().invoke(main, ["explain", "243100518", *args])
    assert res.exit_code == 0, res.stderr
    assert "fragilité(s) (critères parmi les 20 % d'EPCI les plus défavorables" in res.stdout


def test_short_labels_follow_the_config() -> None:
    """Terminal headers and the summary line of ``score`` (and ``calibrate``'s tables) name
    the configured variant: never "Offre > âge" under the head-count variant."""
    from types import SimpleNamespace

    from zoning.cli.score_cmd import _summary_line
    from zoning.labels import short_label

    base = load_config()
    assert short_label(base, "age_mg") == "Offre MG > 60 ans (%)"
    assert short_label(_cfg(apl={"age_limit": 65}), "age_mg") == "Offre MG > 65 ans (%)"
    head = _cfg(age={"indicator": "effectifs_2019"})
    assert short_label(head, "age_mg") == "MG ≥ 60 ans 2019 (%)"
    assert short_label(base, "urgences") == "> 30 min (%)"
    assert short_label(_cfg(travel={"threshold_min": 45.0}), "urgences") == "> 45 min (%)"
    assert short_label(_cfg(travel={"indicator": "mean_time"}), "urgences") == \
        "Tps urgences (min)"
    # the summary counts the EPCI with a value of an incomplete criterion under that label
    idx = pd.Index(["200000001", "200000002", "200000003"], name="epci_siren")
    table = pd.DataFrame({"age_mg": [40.0, None, 20.0], "ald": [19.0, 18.0, None],
                          "selected": [True, False, False]}, index=idx)
    table.attrs["weights"] = {"age_mg": 0.5, "ald": 0.5}
    res = SimpleNamespace(table=table, extra={}, result=SimpleNamespace(
        region_name="Test", epci=pd.DataFrame({"population": [10, 20, 30]}, index=idx)))
    line = _summary_line(res, head)
    assert "MG ≥ 60 ans 2019 : valeur pour 2 EPCI sur 3" in line
    assert "ALD : valeur pour 2 EPCI sur 3" in line and "Offre" not in line
    assert "Offre MG > 60 ans : valeur pour 2 EPCI sur 3" in _summary_line(res, base)
