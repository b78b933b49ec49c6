"""Property-based tests (hypothesis): the config loader and the CSV readers under random
damage either return valid data or raise one ZoningError, never anything else."""

from __future__ import annotations

import copy
import math
import shutil
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoning.config import DEFAULT_CONFIG, Config, load_config, parse_config
from zoning.errors import ConfigError, ZoningError
from zoning.sources import read_apl, read_filosofi
from zoning.sources.catalogue import CATALOGUE

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
RAW = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list) and node and isinstance(node[0], dict):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path]


LEAVES = _leaves(RAW)
SPECIAL = st.sampled_from([math.inf, -math.inf, math.nan, "0.6", "inf", "nan", "-1", "76", -1,
                           -(2**63), 2**64, True, 0, 1e308, ""])
JUNK = st.one_of(
    SPECIAL, SPECIAL, SPECIAL,
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70),
    st.text(max_size=8), st.booleans(), st.lists(st.integers(-5, 5), max_size=3),
    st.sampled_from(["percentile", "top", "su"]),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=2), st.just(None))


def _all_floats_finite(obj: Any) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_all_floats_finite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_all_floats_finite(v) for v in obj)
    return True


def _check_valid(cfg: Config) -> None:
    assert _all_floats_finite(cfg.model_dump())
    assert math.isclose(sum(cfg.weights.values()), 1.0, abs_tol=1e-6)
    assert cfg.run.seed >= 0 and 0 <= cfg.sensitivity.draws <= 50_000
    assert all(isinstance(c.weight, float) for c in cfg.criteria)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(LEAVES), JUNK), min_size=1, max_size=3))
def test_config_with_random_values(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    raw = copy.deepcopy(RAW)
    for path, value in changes:
        node = raw
        for k in path[:-1]:
            node = node[k]
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    try:
        cfg = parse_config(raw, source="random.toml")
    except ConfigError as exc:
        assert str(exc).startswith("random.toml: ") and "\n" not in str(exc)
        return
    _check_valid(cfg)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("damaged")


DEFAULT_TEXT = DEFAULT_CONFIG.read_text(encoding="utf-8")


@SETTINGS
@given(st.integers(0, len(DEFAULT_TEXT)), st.integers(0, 40),
       st.text(alphabet=st.characters(codec="utf-8"), max_size=6))
def test_config_file_with_random_damage(scratch: Path, at: int, cut: int, insert: str) -> None:
    path = scratch / "criteria.toml"
    path.write_text(DEFAULT_TEXT[:at] + insert + DEFAULT_TEXT[at + cut:], encoding="utf-8")
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    _check_valid(cfg)


CELLS = st.sampled_from(["-1", "-0.5", "inf", "-inf", "nan", "1e999", "", "s", "abc", "0",
                         "1,5", '"', ";", ",", "\x00", "é", "99999999999999999999"])


def _damage(text: str, data: st.DataObject, sep: str) -> str:
    lines = text.splitlines(keepends=True)
    kind = data.draw(st.sampled_from(["truncate", "drop_line", "cell", "cell", "bytes"]))
    if kind == "truncate":
        return text[: data.draw(st.integers(0, len(text)))]
    if kind == "drop_line" and len(lines) > 1:
        i = data.draw(st.integers(0, len(lines) - 1))
        return "".join(lines[:i] + lines[i + 1:])
    if kind == "bytes":
        at = data.draw(st.integers(0, len(text)))
        return text[:at] + data.draw(st.text(max_size=4)) + text[at:]
    i = data.draw(st.integers(1, max(1, len(lines) - 1)))
    if i >= len(lines):
        return text
    cells = lines[i].rstrip("\r\n").split(sep)
    j = data.draw(st.integers(0, len(cells) - 1))
    cells[j] = data.draw(CELLS)
    lines[i] = sep.join(cells) + "\n"
    return "".join(lines)


def _check_frame_is_sane(frame: Any, bounds: dict[str, Any]) -> None:
    for col in frame.columns:
        if frame[col].dtype.kind == "f":
            v = frame[col].to_numpy()
            assert not np.isinf(v).any(), col


@pytest.mark.parametrize("source_id", ["apl", "apl_age", "filosofi"])
def test_csv_readers_with_random_damage(source_id: str, tiny_data_dir: Path,
                                        tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data)
    src = CATALOGUE[source_id]
    target = src.path(data)
    pristine = target.read_text(encoding="utf-8")
    reader = read_filosofi if source_id == "filosofi" else (lambda d: read_apl(d, 2023))

    @SETTINGS
    @given(st.data())
    def damaged(draw: st.DataObject) -> None:
        target.write_bytes(_damage(pristine, draw, src.sep).encode("utf-8", "surrogatepass"))
        try:
            frame = reader(data)
        except ZoningError as exc:
            assert str(target) in str(exc) or src.file in str(exc)
            return
        _check_frame_is_sane(frame, src.bounds)
        # an accepted frame respects the source's bounds (checked the same way as the readers)
        for col, b in src.bounds.items():
            name = {"MED21": "med_niveau_vie", "NBPERSMENFISC21": "nb_personnes",
                    "NBMENFISC21": "nb_menages", "TP6021": "taux_pauvrete"}.get(col, col)
            if name in frame.columns and b.low is not None:
                v = frame[name].dropna().to_numpy()
                assert (v > b.low).all() if b.low_open else (v >= b.low).all(), col

    damaged()
