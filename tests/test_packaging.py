"""A normal (non-editable) install works outside the checkout: the wheel ships the default
criteria file, the QGIS styles and the map assets, and ``zoning score`` runs from it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout (pip's isolated build, offline indexes allowed)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    (built,) = out.glob("zoning-*.whl")
    return built


def test_wheel_ships_the_default_config_and_assets(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        packaged = zf.read("zoning/criteria.toml").decode("utf-8")
    # the packaged default IS the user-facing config/criteria.toml (one file, linked)
    assert packaged == (ROOT / "config" / "criteria.toml").read_text(encoding="utf-8")
    for name in ("zoning/py.typed", "zoning/exports/styles/communes.qml",
                 "zoning/exports/assets/map.js"):
        assert name in names, name
    assert not any(n.startswith(("tests/", "config/")) for n in names)


@pytest.mark.integration
def test_wheel_install_runs_score_outside_the_checkout(wheel: Path, data_dir: Path,
                                                       tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # dependencies: those of this test environment (no network, no second install of them);
    # zoning itself comes from the wheel only
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], check=True, capture_output=True,
                               text=True).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, text=True)
    work = tmp_path / "elsewhere"  # no config/ folder here: the packaged default is used
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    probe = subprocess.run([str(py), "-c", "import zoning.config as c; print(c.__file__); "
                            "print(c.DEFAULT_CONFIG)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr[-2000:]
    where = probe.stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    res = subprocess.run([str(venv / "bin" / "zoning"), "--quiet", "score", "--data-dir",
                          str(data_dir), "--draws", "20", "-o", str(work / "maps")],
                         cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "161 EPCI classés, 28 sélectionnés" in res.stdout
    written = sorted(p.name for p in (work / "maps").iterdir())
    for name in ("zoning_76.gpkg", "zoning_76.html", "zoning_76.xlsx", "temps_urgences_76.tif"):
        assert name in written, written
