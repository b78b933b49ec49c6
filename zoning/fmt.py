"""French number formatting for user-facing text (terminal tables, maps, spreadsheets)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

THIN_NBSP = "\u202f"
"""Narrow no-break space: the French thousands separator in documents and maps."""


def _missing(x: Any) -> bool:
    if x is None:
        return True
    na = pd.isna(x)
    return bool(na) if isinstance(na, (bool, np.bool_)) else False


def fr_number(x: Any, decimals: int = 0, *, missing: str = "–", sep: str = THIN_NBSP,
              signed: bool = False) -> str:
    """Format ``x`` the French way: grouped thousands, decimal comma.

    Parameters
    ----------
    x
        A number (``None`` and NaN give ``missing``).
    decimals
        Digits after the decimal comma.
    missing
        Text for a missing value.
    sep
        Thousands separator (a plain space in terminal tables, where alignment matters).
    signed
        Always show the sign (differences: ``+1,5``).

    Returns
    -------
    str
        ``fr_number(12345.678, 1) == "12 345,7"`` (narrow no-break space).
    """
    if _missing(x):
        return missing
    s = f"{float(x):{'+' if signed else ''},.{decimals}f}"
    return s.replace(",", "\x00").replace(".", ",").replace("\x00", sep)


def fr_percent(share: Any, decimals: int = 1, *, missing: str = "–", sep: str = THIN_NBSP,
               symbol: str = "\u00a0%") -> str:
    """A 0..1 share as a French percentage (``0.053`` -> ``"5,3 %"``), or ``missing``."""
    if _missing(share):
        return missing
    return fr_number(100.0 * float(share), decimals, sep=sep) + symbol
