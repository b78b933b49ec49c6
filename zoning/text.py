"""Hostile text from data files: made harmless for spreadsheets and terminals.

Names come from public files anyone can edit upstream (an EPCI or facility name, a
reference list given by a user). Two places run text: a spreadsheet runs a cell that
starts with ``=``, ``+``, ``-`` or ``@`` as a formula (CSV opened in Excel or LibreOffice),
and a terminal runs escape sequences (``ESC [``, ``ESC ]``) and control characters.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from zoning.errors import PathEncodingError

if TYPE_CHECKING:
    import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), other two-character ESC sequences,
# then every remaining C0/C1 control character except newline and tab
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def formula_safe(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose text cells (and index) cannot run as spreadsheet formulas.

    Only text columns change (numbers such as ``-3.5`` stay numbers). A cell starting with
    ``=``, ``+``, ``-``, ``@``, tab or a line break gets a leading apostrophe, which Excel
    and LibreOffice show as text.
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = _formula_safe_series(s)
    if out.index.dtype == object or pd.api.types.is_string_dtype(out.index):
        safe = _formula_safe_series(out.index.to_series())
        out.index = pd.Index(safe.to_numpy(), name=out.index.name, dtype=out.index.dtype)
    return out


def _formula_safe_series(s: pd.Series) -> pd.Series:
    """:func:`formula_safe` of every value of a text column, vectorised (whole-column
    string tests) when the column holds only text and missing values."""
    import pandas as pd

    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        return s.map(formula_safe)  # text mixed with numbers or other objects: rare
    risky = s.str.startswith(FORMULA_START).fillna(False).to_numpy(dtype=bool)
    if not risky.any():
        return s
    out = s.copy()
    out[risky] = "'" + s[risky]
    return out


def terminal_safe(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (newline and tab
    kept), undecodable bytes of a file name shown as ``\\udcxx``."""
    clean = _ESCAPES.sub("", text)
    return clean.encode("utf-8", "backslashreplace").decode("utf-8")


def check_utf8_path(path: str | os.PathLike[str], what: str) -> None:
    """Refuse a path that is not valid UTF-8 (GDAL, browsers and the tables need UTF-8).

    Parameters
    ----------
    path
        The path as given (undecodable bytes arrive as surrogate escapes).
    what
        The option or variable it came from, e.g. ``--output``.

    Raises
    ------
    PathEncodingError
        When the path holds bytes that are not UTF-8.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "backslashreplace").decode("utf-8")
        raise PathEncodingError(
            f"{what} {shown}: the path is not valid UTF-8; rename the folder or choose "
            "a path written in UTF-8") from None
