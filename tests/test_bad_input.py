"""The catalogue of bad input: every case is refused in one line, and nothing is touched.

Each case runs a real command in process (click's CliRunner) on a tiny data directory built
in code (``tests/_tiny_data.py``) and checks, as an operator would:

- exit code 2, no traceback;
- exactly one ``Error:`` line, naming the file or option and saying what to do;
- the outputs of a previous run (``score -o``) byte-identical, no staging folder and no
  temporary file left beside them.

Kinds of case: configuration values that cannot mean anything (also given to ``score``),
options, impossible values and files cut short in the data, hostile paths, an output in the
way. The old cases already handled stay here so that they keep working.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from _files import snapshot
from click.testing import CliRunner

from zoning.cli import main
from zoning.config import DEFAULT_CONFIG

APL = Path("health") / "drees_apl_mg_2022_2023_communes.csv"
APL_AGE = Path("health") / "drees_apl_mg_62_60ans_2022_2023_communes.csv"
FILOSOFI = Path("health") / "insee_filosofi_2021_cc_COM.csv"
COMMUNES = Path("admin") / "communes_epci_cog2025.csv"
SAE = Path("health") / "sae2022_urgences_smur_sites_geoloc.csv"
SCORE = ["score", "--no-travel", "--draws", "0", "--top", "2"]
NOT_UTF8 = os.fsdecode(b"donn\xe9es")  # Latin-1 "données": undecodable bytes in a path


@pytest.fixture(scope="module")
def previous(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The outputs of one good ``score`` run, copied before every case."""
    out = tmp_path_factory.mktemp("previous")
    res = CliRunner().invoke(main, ["-q", *SCORE, "--data-dir", str(tiny_data_dir),
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "zoning_76_epci.csv").is_file()
    return out


# --------------------------------------------------------------------------- damage


def edit_csv(path: Path, sep: str, key: str, code: str, column: str, value: str) -> None:
    """Set ``column`` of the row(s) whose ``key`` is ``code`` (every cell kept as text)."""
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    df.loc[df[key] == code, column] = value
    df.to_csv(path, sep=sep, index=False)


def drop_rows(path: Path, sep: str, key: str, codes: list[str]) -> None:
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    df[~df[key].isin(codes)].to_csv(path, sep=sep, index=False)


def config_with(tmp: Path, old: str, new: str) -> Path:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp / "criteria.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, the command, what the one line must say."""

    id: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    damage: Callable[[Path, Path], None] | None = None
    """Breaks the data copy (first argument) or writes a file in the test folder (second)."""


def _cfg(old: str, new: str) -> Callable[[Path, Path], None]:
    return lambda data, tmp: config_with(tmp, old, new) and None


CONFIG_CASES = [
    ("threshold_inf", "threshold_min = 30.0", "threshold_min = inf",
     ("travel.threshold_min", "finite number", "inf")),
    ("concentration_inf", "concentration = 50.0", "concentration = inf",
     ("sensitivity.concentration", "finite number")),
    ("access_speed_inf", "access_speed_kmh = 30.0", "access_speed_kmh = inf",
     ("routing.access_speed_kmh", "finite number")),
    ("speed_nan", "motorway = 115.0", "motorway = nan",
     ("routing.class_speeds_kmh.motorway", "finite number")),
    ("weight_as_text", "weight = 0.2", 'weight = "0.6"',
     ("criteria[0].weight", "'0.6'", "without quotes")),
    ("seed_negative", "seed = 2025", "seed = -1", ("run.seed", "greater than or equal to 0")),
    ("draws_beyond_memory", "draws = 1000 ", "draws = 10000000 ",
     ("sensitivity.draws", "at most 50000", "memory")),
    ("population_share_nan", "population_share = 0.053", "population_share = nan",
     ("run.population_share", "finite number")),
    ("region_as_number", 'region = "76" ', "region = 76 ", ("run.region", 'in quotes: "76"')),
    # already handled before: kept in the catalogue
    ("unknown_key", "seed = 2025", "seed = 2025\nsede = 1", ("run.sede", "unknown key")),
    ("malformed_toml", 'region = "76"', 'region = "76', ("malformed TOML",)),
    ("weights_sum", "weight = 0.2", "weight = 0.5", ("sum to 1.3", "must sum to 1")),
]

CASES: list[Case] = []
for _id, _old, _new, _needles in CONFIG_CASES:
    CASES.append(Case(f"check-config:{_id}", ("check-config", "{tmp}/criteria.toml"),
                      ("criteria.toml", *_needles), _cfg(_old, _new)))
    CASES.append(Case(f"score:{_id}", (*SCORE, "--config", "{tmp}/criteria.toml"),
                      ("criteria.toml", *_needles), _cfg(_old, _new)))

CASES += [
    # options
    Case("draws_beyond_memory", (*SCORE, "--draws", "10000000"),
         ("--draws", "at most 50000", "memory")),
    Case("seed_negative", (*SCORE, "--seed", "-1"), ("--seed", "-1", "0<=x")),
    Case("population_share_nan", ("score", "--no-travel", "--population-share", "nan"),
         ("--population-share", "not a finite number", "0<x<=1")),
    Case("population_share_inf", ("score", "--no-travel", "--population-share", "inf"),
         ("--population-share", "not a finite number")),
    Case("top_zero", (*SCORE[:-2], "--top", "0"), ("--top 0", "between 1 and 3")),
    Case("threshold_nan", ("travel-times", "--threshold", "nan"),
         ("--threshold", "not a finite number")),
    Case("resolution_inf", ("travel-times", "--resolution", "inf"),
         ("--resolution", "not a finite number")),
    Case("map_size_0x0", ("map", "--size", "0x0"), ("--size", "'0x0'", "between 1 and")),
    Case("map_size_text", ("map", "--size", "big"), ("--size", "WIDTHxHEIGHT")),
    Case("map_screenshot_unwritable", ("map", "--from", "{out}/zoning_76.gpkg",
                                       "--screenshot", "{tmp}/a_file/map.png"),
         ("a_file", "--screenshot", "not writable"),
         lambda data, tmp: (tmp / "a_file").write_text("x", encoding="utf-8") and None),
    # impossible values in the data
    Case("apl_negative", tuple(SCORE), (str(APL), "'apl_mg'", "2 row(s)", ">= 0", "-2",
                                        "'09001'", "download the official file again"),
         lambda data, tmp: edit_csv(data / APL, ",", "code_commune", "09001", "apl_mg", "-2")),
    Case("apl_inf", tuple(SCORE), (str(APL), "'apl_mg'", "infinite", "finite numbers"),
         lambda data, tmp: edit_csv(data / APL, ",", "code_commune", "31001", "apl_mg", "inf")),
    Case("apl_year_inf", tuple(SCORE), (str(APL), "'millesime'", "not integers", "'inf'"),
         lambda data, tmp: edit_csv(data / APL, ",", "code_commune", "31001", "millesime",
                                    "inf")),  # found by tests/test_properties.py
    Case("apl_nan_text", tuple(SCORE), (str(APL), "'apl_mg'", "not numbers", "'nan'"),
         lambda data, tmp: edit_csv(data / APL, ",", "code_commune", "31001", "apl_mg", "nan")),
    Case("apl_zero_weight", tuple(SCORE),
         (str(APL), "'pop_standardisee_mg'", "zero weight", "'31001'"),
         lambda data, tmp: edit_csv(data / APL, ",", "code_commune", "31001",
                                    "pop_standardisee_mg", "0")),
    Case("apl_negative_weight", tuple(SCORE), (str(APL), "'pop_standardisee_mg'", ">= 0"),
         lambda data, tmp: edit_csv(data / APL, ",", "code_commune", "31002",
                                    "pop_standardisee_mg", "-50")),
    Case("income_negative", tuple(SCORE), (str(FILOSOFI), "'MED21'", "> 0", "'31001'"),
         lambda data, tmp: edit_csv(data / FILOSOFI, ";", "CODGEO", "31001", "MED21",
                                    "-25000")),
    Case("population_negative", tuple(SCORE), (str(COMMUNES), "'population'", ">= 0",
                                               "'31002'"),
         lambda data, tmp: edit_csv(data / COMMUNES, ",", "code_insee", "31002", "population",
                                    "-50")),
    Case("attendances_negative", ("sources",), (str(SAE), "'passages_su_gen'", ">= 0"),
         lambda data, tmp: edit_csv(data / SAE, ",", "finess_et", "310000001",
                                    "passages_su_gen", "-1")),
    # files cut short that still parse
    Case("apl_cut_short", tuple(SCORE), (str(APL), "2 inhabited commune(s)", "no APL row",
                                         "31002 Quatre", "cut short", "download"),
         lambda data, tmp: drop_rows(data / APL, ",", "code_commune", ["31002", "46001"])),
    Case("apl_age_cut_short", tuple(SCORE), (str(APL_AGE), "no APL ≤ 60 ans row", "46001"),
         lambda data, tmp: drop_rows(data / APL_AGE, ",", "code_commune", ["46001"])),
    Case("filosofi_cut_short", tuple(SCORE), (str(FILOSOFI), "no Filosofi row", "31001 Trois"),
         lambda data, tmp: drop_rows(data / FILOSOFI, ";", "CODGEO", ["31001"])),
    # hostile paths, an output in the way
    Case("output_not_utf8", (*SCORE, "-o", "{tmp}/" + NOT_UTF8),
         ("--output", "not valid UTF-8", "\\udce9")),
    Case("data_dir_not_utf8", ("score", "--no-travel", "--data-dir", "{tmp}/" + NOT_UTF8),
         ("--data-dir", "not valid UTF-8")),
    Case("output_is_a_file", (*SCORE, "-o", "{tmp}/a_file/maps"),
         ("a_file", "output folder not writable", "--output"),
         lambda data, tmp: (tmp / "a_file").write_text("x", encoding="utf-8") and None),
    Case("missing_data_file", tuple(SCORE), (str(FILOSOFI), "not found"),
         lambda data, tmp: (data / FILOSOFI).unlink()),
]


def _fill(arg: str, data: Path, out: Path, tmp: Path) -> str:
    return arg.replace("{data}", str(data)).replace("{out}", str(out)).replace("{tmp}", str(tmp))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_touches_nothing(case: Case, tiny_data_dir: Path,
                                                   previous: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data)
    out = tmp_path / "maps"
    shutil.copytree(previous, out)
    if case.damage is not None:
        case.damage(data, tmp_path)
    before = snapshot(out)
    args = [_fill(a, data, out, tmp_path) for a in case.args]
    if args[0] in ("score", "travel-times", "sources") and "--data-dir" not in args:
        args += ["--data-dir", str(data)]
    if args[0] in ("score", "travel-times", "map") and "-o" not in args:
        args += ["-o", str(out)]
    res = CliRunner().invoke(main, ["-q", *args])
    stderr = res.stderr
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    others = [line for line in stderr.splitlines()
              if line.strip() and not line.startswith(("Error: ", "WARNING "))]
    assert len(errors) == 1 and not others, stderr
    for needle in case.needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    assert res.stdout == "" or args[0] in ("score", "sources"), res.stdout
    assert snapshot(out) == before  # byte-identical; no staging folder, no temporary file
    assert not [p for p in tmp_path.rglob("*") if ".part" in p.name or
                p.name.startswith((".zoning-stage", ".zoning-old"))]


def test_zoning_sources_reports_damaged_files_as_invalid(tiny_data_dir: Path,
                                                         tmp_path: Path) -> None:
    """``zoning sources`` marks impossible values and files cut short INVALIDE, in its table
    and in the one error line."""
    data = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data)
    edit_csv(data / FILOSOFI, ";", "CODGEO", "31001", "MED21", "-25000")
    drop_rows(data / APL, ",", "code_commune", ["31002"])
    res = CliRunner().invoke(main, ["-q", "sources", "--data-dir", str(data)])
    assert res.exit_code == 2, res.output
    table = {line.split()[0]: line for line in res.stdout.splitlines() if line.strip()}
    assert "INVALIDE" in table["filosofi"] and "INVALIDE" in table["apl"]
    assert "INVALIDE" not in table["apl_age"] and "INVALIDE" not in table["communes"]
    (error,) = [line for line in res.stderr.splitlines() if line.startswith("Error: ")]
    assert "'MED21'" in error and "31002 Quatre" in error and "no APL row" in error


def test_the_issue_reproduction_folder_in_place_of_the_geopackage(
        tiny_data_dir: Path, previous: Path, tmp_path: Path) -> None:
    """Issue 12: a folder replaces ``zoning_76.gpkg``, then ``score --top 1``: before, the
    XLSX had 1 zone beside CSV/HTML with 2; now nothing is replaced and the message says so."""
    out = tmp_path / "maps"
    shutil.copytree(previous, out)
    (out / "zoning_76.gpkg").unlink()
    (out / "zoning_76.gpkg").mkdir()
    (out / "zoning_76.gpkg" / "keep.txt").write_text("user file", encoding="utf-8")
    before = snapshot(out)
    res = CliRunner().invoke(main, ["-q", "score", "--no-travel", "--draws", "0", "--top", "1",
                                    "--data-dir", str(tiny_data_dir), "-o", str(out)])
    assert res.exit_code == 2
    assert "is a folder" in res.stderr and "no output was replaced" in res.stderr
    assert snapshot(out) == before
    selected = pd.read_csv(out / "zoning_76_epci.csv", dtype={"epci_siren": str})["selected"]
    assert int(selected.astype(str).str.lower().eq("true").sum()) == 2
