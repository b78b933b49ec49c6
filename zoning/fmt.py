"""French formatting of every user-facing number, share, probability and date (terminal
tables, maps, spreadsheets, GeoPackage labels): the one formatter of the project."""

from __future__ import annotations

import math
from datetime import datetime
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


def floor_percent(p: float) -> int:
    """A probability (0..1) as whole percent rounded *down*.

    The label ``robuste`` needs a probability of at least the threshold (90 %): 0.896 must read
    89 %, not 90 %, and 0.999 must not read 100 % (not selected in every draw).
    """
    return int(math.floor(100.0 * float(p) + 1e-9))


def fr_probability(p: Any, *, missing: str = "–", symbol: str = "\u00a0%") -> str:
    """A selection probability as a whole percentage rounded down (:func:`floor_percent`)."""
    if _missing(p):
        return missing
    return f"{floor_percent(float(p))}{symbol}"


def fr_value(x: Any, unit: str, decimals: int, *, missing: str = "–") -> str:
    """A value with its unit (``"2,35 consultations"``), or ``missing``."""
    if _missing(x):
        return missing
    s = fr_number(x, decimals)
    return f"{s} {unit}" if unit else s


def fr_datetime(text: str) -> str:
    """An ISO date-time as ``25/11/2026 à 21:55`` (Paris time when the text has a time zone)."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return text
    if dt.tzinfo is not None:
        try:
            from zoneinfo import ZoneInfo

            dt = dt.astimezone(ZoneInfo("Europe/Paris"))
        except (ImportError, KeyError, OSError):
            return dt.strftime("%d/%m/%Y à %H:%M %Z")
        return dt.strftime("%d/%m/%Y à %H:%M (heure de Paris)")
    return dt.strftime("%d/%m/%Y à %H:%M")
