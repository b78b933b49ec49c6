"""Configuration loader: the shipped file is valid; every problem is reported at once."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

import pytest

from zoning.config import CRITERION_IDS, DEFAULT_CONFIG, Config, load_config, parse_config
from zoning.errors import ConfigError


def _raw() -> dict:
    return tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def _problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="test.toml")
    assert str(info.value).startswith("test.toml: ")
    return info.value.problems


def test_default_config_is_valid_and_complete() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    assert isinstance(cfg, Config)
    assert [c.id for c in cfg.criteria] == list(CRITERION_IDS)
    assert math.isclose(sum(cfg.weights.values()), 1.0)
    assert cfg.run.region == "76"
    assert cfg.run.priority_zones == 28
    assert cfg.travel.threshold_min == 30.0
    directions = {c.id: c.direction for c in cfg.criteria}
    assert directions["apl"] == "higher_is_better"
    assert directions["niveau_vie"] == "higher_is_better"
    assert directions["urgences"] == "higher_is_worse"
    assert all(c.label and c.unit and c.source for c in cfg.criteria)
    assert cfg.source_path == str(DEFAULT_CONFIG)


def test_default_path_used_when_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no config/criteria.toml here: the packaged default is used
    assert load_config(None).source_path == str(DEFAULT_CONFIG)


def test_every_problem_reported_at_once() -> None:
    raw = _raw()
    raw["run"]["regoin"] = "76"
    raw["criteria"][0]["weight"] = -0.1
    raw["criteria"][1]["normalisation"] = "rank"
    raw["criteria"][2]["id"] = "pauvrete"
    raw["run"]["priority_zones"] = "vingt-huit"
    problems = _problems(raw)
    joined = " | ".join(problems)
    assert "run.regoin: unknown key" in joined
    assert "criteria[0].weight" in joined
    assert "criteria[1].normalisation" in joined and "'rank'" in joined
    assert "criteria[2].id" in joined and "'pauvrete'" in joined
    assert "run.priority_zones" in joined
    assert len(problems) >= 5


def test_weights_must_sum_to_one() -> None:
    raw = _raw()
    for c in raw["criteria"]:
        c["weight"] = 0.25
    problems = _problems(raw)
    assert any(p.startswith("criteria[*].weight") and "1.25" in p for p in problems)


def test_weights_sum_tolerates_float_rounding() -> None:
    raw = _raw()
    weights = [0.6, 0.1, 0.1, 0.1, 0.1]
    assert sum(weights) != 1.0  # 0.9999999999999999 in floating point
    for c, w in zip(raw["criteria"], weights, strict=True):
        c["weight"] = w
    cfg = parse_config(raw)
    assert cfg.weights["apl"] == 0.6


def test_duplicate_criterion() -> None:
    raw = _raw()
    raw["criteria"][1]["id"] = "apl"
    problems = _problems(raw)
    assert any("criteria[1].id" in p and "twice" in p for p in problems)


def test_unknown_direction_and_bad_type() -> None:
    raw = _raw()
    raw["criteria"][3]["direction"] = "lower_is_better"
    raw["travel"]["threshold_min"] = "trente"
    problems = _problems(raw)
    assert any(p.startswith("criteria[3].direction") for p in problems)
    assert any(p.startswith("travel.threshold_min") for p in problems)


def test_apl_variant_restricted() -> None:
    raw = _raw()
    raw["apl"]["millesime"] = 2024
    raw["apl"]["age_limit"] = 55
    problems = _problems(raw)
    assert any(p.startswith("apl.millesime") for p in problems)
    assert any(p.startswith("apl.age_limit") for p in problems)


def test_source_path_key_is_rejected() -> None:
    raw = _raw()
    raw["source_path"] = "x"
    assert any(p.startswith("source_path") for p in _problems(raw))


def test_malformed_file_names_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[run\nregion = 76\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert re.search(r"malformed TOML", str(info.value))
    assert isinstance(info.value, ValueError)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes("[run]\nregion = \"76\" # é\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_config_is_frozen() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    with pytest.raises(ValueError):
        cfg.run.priority_zones = 3  # type: ignore[misc]


def test_check_config_command_lists_criteria_in_french() -> None:
    from click.testing import CliRunner

    from zoning.cli import main

    cfg = load_config()
    result = CliRunner().invoke(main, ["check-config", str(DEFAULT_CONFIG)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"{DEFAULT_CONFIG} : valide ({len(cfg.criteria)} critères, région "
                        f"{cfg.run.region}, {cfg.run.priority_zones} zones prioritaires)")
    assert len(lines) == 1 + len(cfg.criteria)
    for line, c in zip(lines[1:], cfg.criteria, strict=True):
        assert line.split()[:3] == [c.id, "poids", f"{c.weight:.2f}".replace(".", ",")]
        assert ("plus haut = mieux" if c.direction == "higher_is_better"
                else "plus haut = pire") in line and line.endswith(c.label)


def test_priority_zones_by_region() -> None:
    cfg = parse_config(_raw())
    assert cfg.run.zones_for("76") == 28 and cfg.run.zones_for("FR") == 151
    assert cfg.run.zones_for("11") == cfg.run.priority_zones
    raw = _raw()
    raw["run"]["priority_zones_by_region"] = {"76": 0, "FR": "many"}
    problems = _problems(raw)
    assert any(p.startswith("run.priority_zones_by_region.76") for p in problems)
    assert any(p.startswith("run.priority_zones_by_region.FR") for p in problems)


def test_line_model_fitted_values_and_bad_terms() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    model = cfg.routing.line_model_terms()
    # fitted on Andorra (validation/calibrate_line_model.py); motorways faithful, no penalty
    assert model["motorway"]["circuity"] == 1.0 and model["motorway"]["spacing"] == 0.0
    assert model["departmental_or_regional"]["circuity"] > model["national"]["circuity"] > 1.0
    raw = _raw()
    raw["routing"] = {"line_model": {"national": {"circuity": 0.9, "bend": 1.0},
                                     "motorway": {"winding": float("nan")}}}
    problems = _problems(raw)
    assert any(p.startswith("routing.line_model.national.circuity") for p in problems)
    assert any(p.startswith("routing.line_model.national.bend: unknown key") for p in problems)
    assert any(p.startswith("routing.line_model.motorway.winding") for p in problems)
