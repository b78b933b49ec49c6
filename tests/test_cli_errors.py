"""Bad input through the CLI: one clear line naming the file/field, exit code 2, no traceback.

Data problems are exercised with ``zoning sources --data-dir DIR`` (reads and validates every
file), configuration problems with ``zoning check-config FILE``, regions with
``zoning territory --region``. Broken files are tiny copies built in code (tests/_tiny_data.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from _tiny_data import (
    apl_frames,
    commune_frame,
    write_communes_gpkg,
    write_epci_gpkg,
)
from click.testing import CliRunner

from zoning.cli import main
from zoning.config import DEFAULT_CONFIG

APL = Path("health") / "drees_apl_mg_2022_2023_communes.csv"


@pytest.fixture
def data(tiny_data_copy: Path) -> Path:
    """A fresh copy of the tiny data directory that a test may break."""
    return tiny_data_copy


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def assert_clean_error(code: int, output: str, *needles: str) -> str:
    assert code == 2, output
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    return errors[0]


def test_tiny_data_dir_is_valid(data: Path) -> None:
    """Control: the unbroken fixture passes, so each failure below is due to its one defect."""
    code, out = run("sources", "--data-dir", str(data))
    assert code == 0, out
    assert re.search(r"communes\s.*présent\s+9$", out, re.M)


# --- configuration -------------------------------------------------------------------------

def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "criteria.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _default_text() -> str:
    return DEFAULT_CONFIG.read_text(encoding="utf-8")


def test_malformed_toml(tmp_path: Path) -> None:
    path = _config(tmp_path, _default_text().replace('region = "76"', 'region = "76'))
    assert_clean_error(*run("check-config", str(path)), str(path), "malformed TOML")


def test_unknown_key(tmp_path: Path) -> None:
    path = _config(tmp_path, _default_text().replace("[run]\n", "[run]\nregoin = \"76\"\n"))
    assert_clean_error(*run("check-config", str(path)), str(path), "run.regoin", "unknown key")


def test_weights_not_summing_to_one(tmp_path: Path) -> None:
    text = re.sub(r"weight = 0\.2", "weight = 0.3", _default_text(), count=1)
    path = _config(tmp_path, text)
    assert_clean_error(*run("check-config", str(path)), str(path), "criteria[*].weight",
                       "sum to 1.1")


def test_negative_weight(tmp_path: Path) -> None:
    text = re.sub(r"weight = 0\.2", "weight = -0.2", _default_text(), count=1)
    path = _config(tmp_path, text)
    assert_clean_error(*run("check-config", str(path)), str(path), "criteria[0].weight")


def test_unknown_criterion(tmp_path: Path) -> None:
    path = _config(tmp_path, _default_text().replace('id = "ald"', 'id = "pauvrete"'))
    assert_clean_error(*run("check-config", str(path)), str(path), "criteria[2].id",
                       "pauvrete")


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    assert_clean_error(*run("check-config", str(path)), str(path), "not found")


# --- data files ----------------------------------------------------------------------------

def test_missing_data_file(data: Path) -> None:
    (data / APL).unlink()
    line = assert_clean_error(*run("sources", "--data-dir", str(data)), str(data / APL),
                              "'apl'", "data.drees", "ZONING_DATA_DIR")
    assert "put it at" in line


def test_csv_missing_column(data: Path) -> None:
    main_frame, _ = apl_frames()
    main_frame.drop(columns="pop_totale").to_csv(data / APL, index=False)
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(data / APL),
                       "missing column(s) 'pop_totale'")


def test_wrong_separator(data: Path) -> None:
    main_frame, _ = apl_frames()
    main_frame.to_csv(data / APL, index=False, sep=";")
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(data / APL),
                       "wrong separator", "';'")


def test_codes_read_as_integers(data: Path) -> None:
    """A spreadsheet turned '09001' into 9001: the leading zero is lost."""
    main_frame, _ = apl_frames()
    main_frame["code_commune"] = main_frame["code_commune"].str.lstrip("0")
    main_frame.to_csv(data / APL, index=False)
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(data / APL),
                       "column 'code_commune'", "'9001'", "leading zero lost")


def test_commune_table_codes_as_integers(data: Path) -> None:
    path = data / "admin" / "communes_epci_cog2025.csv"
    frame = commune_frame()
    frame["dep"] = pd.to_numeric(frame["dep"], errors="coerce").astype("Int64").astype(str)
    frame.to_csv(path, index=False)
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(path), "column 'dep'")


def test_duplicate_siren(data: Path) -> None:
    path = data / "admin" / "epci_2025_fr.gpkg"
    path.unlink()
    write_epci_gpkg(path, duplicate=True)
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(path),
                       "column 'epci_siren'", "duplicated", "200000001")


def test_geometry_without_crs(data: Path) -> None:
    path = data / "admin" / "communes_cog2025_fr.gpkg"
    path.unlink()
    with pytest.warns(UserWarning, match="crs"):
        write_communes_gpkg(path, crs=None)
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(path), "communes_cog2025",
                       "no CRS")


def test_unknown_region_code(data: Path) -> None:
    line = assert_clean_error(*run("territory", "--data-dir", str(data), "--region", "99"),
                              "'99'", "--region", "76 (Occitanie)")
    assert "FR (France métropolitaine)" in line


def test_several_problems_reported_at_once(data: Path) -> None:
    """Two broken files: both named in the one error line."""
    main_frame, _ = apl_frames()
    main_frame.to_csv(data / APL, index=False, sep=";")
    filo = data / "health" / "insee_filosofi_2021_cc_COM.csv"
    filo.write_text(filo.read_text(encoding="utf-8").replace("MED21", "MEDIANE"),
                    encoding="utf-8")
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(data / APL), str(filo),
                       "'MED21'")


def test_fetch_unknown_source_id(data: Path) -> None:
    assert_clean_error(*run("fetch", "--data-dir", str(data), "--only", "apll"),
                       "unknown source 'apll'", "apl")


def test_fetch_offline_names_each_missing_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline: every missing file is named with where to put it; derived files say so."""
    import pooch

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    empty = tmp_path / "empty"
    line = assert_clean_error(*run("fetch", "--data-dir", str(empty)))
    for rel in ("admin/communes_cog2025_fr.gpkg", "health/insee_filosofi_2021_cc_COM.csv",
                "health/sae2022_urgences_smur_sites_geoloc.csv",
                "population/eurostat_census2021_grid1km_occitanie_buf50km.gpkg"):
        assert str(empty / rel) in line
    assert "network is unreachable" in line
    assert "derivation of official products" in line
    assert not (empty / "health" / "insee_filosofi_2021_cc_COM.csv").exists()


def test_invalid_ald_file(data: Path) -> None:
    """An ALD file (optional) that exists but has integer-looking département codes."""
    path = data / "health" / "ald_departement.csv"
    path.write_text("dep,part_ald\n9,21.5\n31,18.0\n", encoding="utf-8")
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(path), "column 'dep'",
                       "'9'", "leading zero lost")


def test_corrupt_geopackage(data: Path) -> None:
    """A truncated GeoPackage: one line naming the file, no pyogrio traceback."""
    path = data / "admin" / "epci_2025_fr.gpkg"
    path.write_bytes(path.read_bytes()[:4096])
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(path),
                       "not a readable GeoPackage")


def test_folder_in_place_of_a_file(data: Path) -> None:
    path = data / "health" / "insee_filosofi_2021_cc_COM.csv"
    path.unlink()
    path.mkdir()
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(path), "is a folder",
                       "'filosofi'")


def test_ald_file_not_utf8(data: Path) -> None:
    path = data / "health" / "ald_departement.csv"
    path.write_bytes("dep;part_ald;commentaire\n09;21,5;Ariège\n".encode("latin-1"))
    assert_clean_error(*run("sources", "--data-dir", str(data)), str(path), "UTF-8")


def test_sources_data_dir_absent(tmp_path: Path) -> None:
    line = assert_clean_error(*run("sources", "--data-dir", str(tmp_path / "nowhere")),
                              str(tmp_path / "nowhere"), "data directory not found",
                              "zoning fetch")
    assert len(line) < 300  # one short line, not every missing file


def test_console_script_exits_at_once_with_the_command_status(tmp_path: Path,
                                                              tiny_data_dir: Path) -> None:
    """``zoning`` (``zoning.cli.run``: main, then ``os._exit``) keeps the command's exit code and
    every line it printed, on stdout and stderr, and the outputs it wrote."""
    import subprocess
    import sys

    def zoning(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from zoning.cli import run; run()",
                               *args], capture_output=True, text=True, timeout=300)

    ok = zoning("--version")
    assert ok.returncode == 0 and ok.stdout.strip().startswith("zoning, version")
    bad = zoning("territory", "--data-dir", str(tiny_data_dir), "--region", "99")
    assert bad.returncode == 2 and bad.stderr.startswith("Error:"), bad.stderr
    assert "Traceback" not in bad.stderr and bad.stderr.endswith("\n")
    usage = zoning("score", "--no-such-option")
    assert usage.returncode == 2 and "No such option" in usage.stderr
    out = tmp_path / "out"
    done = zoning("-q", "score", "--data-dir", str(tiny_data_dir), "--no-travel", "--draws",
                  "0", "--top", "2", "-o", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Rang" in done.stdout and done.stdout.endswith("\n")
    assert (out / "zoning_76_epci.csv").is_file()
