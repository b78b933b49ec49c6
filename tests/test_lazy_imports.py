"""``zoning travel-times`` and ``explain --draws 0`` do not import the map, spreadsheet and
machine-learning libraries they never use (folium, xlsxwriter, openpyxl, scikit-learn: ~0.6 s)."""

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
