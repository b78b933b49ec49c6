"""French number formatting shared by the CLI, maps and spreadsheets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zoning.fmt import THIN_NBSP, fr_number, fr_percent


@pytest.mark.parametrize(("value", "decimals", "expected"), [
    (12345.678, 1, f"12{THIN_NBSP}345,7"),
    (1234567, 0, f"1{THIN_NBSP}234{THIN_NBSP}567"),
    (0.5, 3, "0,500"),
    (-2.25, 2, "-2,25"),
])
def test_fr_number(value: float, decimals: int, expected: str) -> None:
    assert fr_number(value, decimals) == expected


def test_missing_values_and_options() -> None:
    for missing in (None, float("nan"), np.nan, pd.NA):
        assert fr_number(missing) == "–"
        assert fr_percent(missing, missing="donnée indisponible") == "donnée indisponible"
    assert fr_number(5463, sep=" ") == "5 463"
    assert fr_number(1.54, 1, signed=True) == "+1,5" and fr_number(-1.54, 1, signed=True) == "-1,5"
    assert fr_percent(0.053) == "5,3\u00a0%" and fr_percent(1, 0, symbol=" %") == "100 %"


def test_probabilities_values_dates() -> None:
    from zoning.fmt import floor_percent, fr_datetime, fr_probability, fr_value

    # probabilities round down: 0.896 is below the 90 % of "robuste", 0.999 is not "always"
    assert [floor_percent(p) for p in (0.896, 0.9, 0.29, 0.999, 1.0)] == [89, 90, 29, 99, 100]
    assert fr_probability(0.896) == "89\u00a0%" and fr_probability(None, missing="?") == "?"
    assert fr_value(2.345, "min", 1) == "2,3 min" and fr_value(2.0, "", 0) == "2"
    assert fr_value(float("nan"), "min", 1, missing="n.d.") == "n.d."
    assert fr_datetime("2026-11-25T20:55:00+00:00") == "25/11/2026 à 21:55 (heure de Paris)"
    assert fr_datetime("pas une date") == "pas une date"


def test_no_other_french_number_formatter() -> None:
    """French decimal commas are written by zoning.fmt only."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "zoning"
    pattern = re.compile(r"""\.replace\(\s*["']\.["']\s*,\s*["'],["']\s*\)""")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "fmt.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, offenders
