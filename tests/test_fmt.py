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
