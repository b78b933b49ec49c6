"""Environment variables: read in zoning.settings only, listed in the README, honoured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoning import settings
from zoning.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_data_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(settings.DATA_DIR_ENV, raising=False)
    assert settings.resolve_data_dir() == Path("data") / "geo"
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "env"))
    assert settings.resolve_data_dir() == tmp_path / "env"
    assert settings.resolve_data_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.setenv(settings.DATA_DIR_ENV, "  ")  # blank = unset
    assert settings.resolve_data_dir() == Path("data") / "geo"


def test_cache_dir_and_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(settings.CACHE_DIR_ENV, str(tmp_path))
    assert settings.cache_dir() == tmp_path
    monkeypatch.delenv(settings.CACHE_DIR_ENV)
    assert settings.cache_dir() == Path.home() / ".cache" / "zoning"
    monkeypatch.setenv(settings.CHROMIUM_ENV, "/opt/chrome")
    assert settings.chromium_override() == "/opt/chrome"


def test_cli_reads_zoning_data_dir(tiny_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``zoning sources`` without --data-dir reads the folder named by ZONING_DATA_DIR."""
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tiny_data_dir))
    res = CliRunner().invoke(main, ["sources"])
    assert f"Dossier de données : {tiny_data_dir}" in res.output
    assert "présent" in res.output


def test_environment_variables_read_in_settings_only() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "zoning").rglob("*.py")
                 if p.name != "settings.py"
                 and re.search(r"os\.environ|os\.getenv", p.read_text(encoding="utf-8"))]
    assert not offenders, f"environment read outside zoning/settings.py: {offenders}"


def test_readme_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in settings.ENVIRONMENT:
        assert f"`{name}`" in readme, name
