"""``zoning travel-times`` and ``explain --draws 0`` do not import the map, spreadsheet and
machine-learning libraries they never use (folium, xlsxwriter, openpyxl, scikit-learn: ~0.6 s);
a score run, its sensitivity draws included, does not import scikit-learn."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("folium", "branca", "xlsxwriter", "openpyxl", "sklearn")

CODE = """
import sys
import zoning.cli, zoning.traveltimes, zoning.territory, zoning.exports.travel
import zoning.pipeline, zoning.scoring, zoning.criteria
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_travel_times_and_explain_modules_import_no_heavy_library() -> None:
    out = subprocess.run([sys.executable, "-c", CODE.format(heavy=HEAVY)], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "", f"imported at start-up: {out}"


@pytest.mark.parametrize(("module", "name"), [("zoning.exports", "write_map"),
                                              ("zoning.exports", "write_tables")])
def test_lazy_export_names_resolve(module: str, name: str) -> None:
    import importlib

    assert callable(getattr(importlib.import_module(module), name))


SCORE_RUN = """
import sys
from click.testing import CliRunner
import zoning.cli
res = CliRunner().invoke(zoning.cli.main, ["-q", "score", "--data-dir", {data!r}, "--no-travel",
                                           "--top", "2", "--draws", "60", "--no-export"])
assert res.exit_code == 0, res.output
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_a_score_run_with_minmax_and_zscore_draws_imports_no_sklearn(tiny_data_dir) -> None:
    """The sensitivity draws' min-max and z-score normalisations are numpy (scikit-learn's
    import, ~0.9 s of the national run, is left to ``zoning calibrate``)."""
    from zoning.config import load_config

    assert {"minmax", "zscore"} <= set(load_config().sensitivity.normalisations)
    out = subprocess.run([sys.executable, "-c", SCORE_RUN.format(data=str(tiny_data_dir),
                                                                 heavy=("sklearn",))],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported by a score run: {out}"
