"""Readers of the CartoSanté exports, the INSEE bassin-de-vie table and Filosofi by EPCI.

- :func:`read_ald_bassins`: share of ALD beneficiaries by bassin de vie 2022 (criterion 3);
- :func:`read_bv_communes`: commune (COG 2024) → bassin de vie 2022 (INSEE);
- :func:`read_mg_2019`: self-employed GPs by commune, aged 60 or over and total (criterion 2,
  head-count variant);
- :func:`read_filosofi_epci`: INSEE Filosofi median living standard by EPCI (criterion 5,
  official EPCI medians), as published (BOM, ``;``, decimal comma).

Every reader checks the expected columns, keeps codes as text, turns withheld values
("N/A - secret statistique", ``s``) into NaN (never zero) and raises one
:class:`~zoning.errors.DataFormatError` listing every problem.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from zoning.errors import DataFileNotFoundError, DataFormatError
from zoning.sources import _io
from zoning.sources.catalogue import ALD_BV_COLUMN, CATALOGUE, MG_2019_COLUMN

SECRET_CARTOSANTE = "N/A - secret statistique"
"""CartoSanté's marker of a value withheld by statistical secrecy."""

_BV_RE = r"^(?:\d{5}|2[AB]\d{3}|\d{3}ZZ)$"


def read_ald_bassins(data_dir: str | Path) -> pd.DataFrame:
    """Read the CartoSanté share of ALD beneficiaries by bassin de vie 2022.

    Returns
    -------
    DataFrame
        Index ``code_bv`` (BV2022 code = code of the bassin's pole commune, text);
        ``nom`` (str), ``part_ald`` (float64, percent of the population, NaN when withheld),
        ``secret`` (bool: "N/A - secret statistique"). ``attrs["vintage"] = "2024"``.

    Raises
    ------
    DataFileNotFoundError, DataFormatError
    """
    src = CATALOGUE["ald_bv"]
    path, df = _io.read_csv_checked(src, data_dir)
    df["Code"] = df["Code"].str.strip()
    problems = _io.check_unique(path, df, "Code")
    bad = ~df["Code"].fillna("").str.fullmatch(_BV_RE)
    if bad.any():
        ex = ", ".join(repr(v) for v in df.loc[bad, "Code"].astype(str).unique()[:3])
        problems.append(f"column 'Code': {int(bad.sum())} value(s) are not bassin-de-vie codes "
                        f"(5 characters, e.g. '09122'; found {ex}): keep the column as text")
    raw = df[ALD_BV_COLUMN].astype("string").str.strip()
    secret = (raw == SECRET_CARTOSANTE).fillna(False).to_numpy(dtype=bool)
    problems += _io.to_float(path, df, [ALD_BV_COLUMN], secret=[SECRET_CARTOSANTE])
    if not problems:
        problems += _io.check_values(path, df, src.bounds, "Code")
    if not problems:
        if df[ALD_BV_COLUMN].max(skipna=True) <= 1.0:
            problems.append(f"column {ALD_BV_COLUMN!r}: every value is at most 1: these look "
                            "like fractions, a percentage (0–100) is expected")
    _io.fail(path, problems)
    out = pd.DataFrame(
        {"nom": df["Libellé"].astype(str).str.strip().to_numpy(),
         "part_ald": df[ALD_BV_COLUMN].to_numpy(dtype="float64"),
         "secret": secret},
        index=pd.Index(df["Code"].to_numpy(dtype=object), name="code_bv"),
    )
    out.attrs["vintage"] = "2024"
    return out


def read_bv_communes(data_dir: str | Path) -> pd.DataFrame:
    """Read the INSEE commune → bassin de vie 2022 table (COG 2024, sheet COM).

    Returns
    -------
    DataFrame
        Index ``code_insee`` (COG 2024 codes); ``nom, dep, reg, epci, bv2022`` (text).
    """
    src = CATALOGUE["bv_communes"]
    path, df = _io.read_csv_checked(src, data_dir)
    problems = _io.check_codes(path, df, dict(src.columns))
    problems += _io.check_unique(path, df, "CODGEO")
    bv = df["BV2022"].fillna("").astype(str).str.strip()
    bad = ~bv.str.fullmatch(_BV_RE)
    if bad.any():
        ex = ", ".join(repr(v) for v in bv[bad].unique()[:3])
        problems.append(f"column 'BV2022': {int(bad.sum())} value(s) are not bassin-de-vie codes "
                        f"(e.g. {ex}): keep the column as text")
    _io.fail(path, problems)
    out = pd.DataFrame(
        {"nom": df["LIBGEO"].to_numpy(), "dep": df["DEP"].to_numpy(),
         "reg": df["REG"].to_numpy(), "epci": df["EPCI"].to_numpy(), "bv2022": bv.to_numpy()},
        index=pd.Index(df["CODGEO"].to_numpy(dtype=object), name="code_insee"),
    )
    return out


def read_mg_2019(data_dir: str | Path) -> pd.DataFrame:
    """Read the CartoSanté self-employed GPs at 31/12/2019 by commune.

    The export carries the same label on both count columns: the first is the GPs aged 60 or
    over, the second all ages (provenance; checked: the first never exceeds the second).

    Returns
    -------
    DataFrame
        Index ``code_commune`` (COG 2019 codes, text); ``commune`` (str), ``mg_60_et_plus``,
        ``mg_total`` (float64, NaN when withheld).

    Raises
    ------
    DataFileNotFoundError, DataFormatError
        Among others when the header is not ``Code;Libellé;<label>;<label>`` or when a row
        has more GPs aged 60+ than GPs (columns swapped or not this file).
    """
    src = CATALOGUE["mg_2019"]
    path = _io.require_file(src, data_dir)
    header = _io.read_header(path, src.sep, src.encoding, src.skip_lines)
    expected = ["Code", "Libellé", MG_2019_COLUMN, MG_2019_COLUMN]
    if header != expected:
        raise DataFormatError(
            f"{path}: header {header!r} is not the CartoSanté export expected "
            f"({';'.join(expected)}: GPs aged 60 or over, then all ages); use the file as exported"
        )
    names = ["code_commune", "commune", "mg_60_et_plus", "mg_total"]
    try:
        df = pd.read_csv(path, sep=src.sep, encoding=src.encoding, dtype=str, header=None,
                         names=names, skiprows=src.skip_lines + 1, keep_default_na=False,
                         na_values=[""], quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{path}: cannot be parsed as CSV ({src.sep!r}): {exc}") from None
    df["code_commune"] = df["code_commune"].str.strip()
    problems = _io.check_codes(path, df, {"code_commune": "commune"})
    problems += _io.check_unique(path, df, "code_commune")
    problems += _io.to_float(path, df, ["mg_60_et_plus", "mg_total"],
                             secret=[SECRET_CARTOSANTE])
    if not problems:
        problems += _io.check_values(path, df, src.bounds, "code_commune")
    if not problems:
        over = df["mg_60_et_plus"] > df["mg_total"]
        if over.any():
            ex = ", ".join(df.loc[over, "code_commune"].head(3))
            problems.append(f"{int(over.sum())} row(s) with more GPs aged 60+ (3rd column) than "
                            f"GPs (4th column), e.g. {ex}: the columns are swapped or this is "
                            "not the expected export")
    _io.fail(path, problems)
    out = df.set_index("code_commune")[["commune", "mg_60_et_plus", "mg_total"]]
    out.attrs["vintage"] = "31/12/2019"
    return out


_MEDIAN_RE = re.compile(r"^(?:Q2|MED)(\d{2})$")


def read_filosofi_epci(data_dir: str | Path, path: str | Path | None = None) -> pd.DataFrame:
    """Read an INSEE Filosofi file at EPCI level, as INSEE publishes it.

    Accepted layouts (UTF-8 with or without BOM, ``;`` with decimal comma, or ``,`` with
    decimal point): ``CODGEO`` (EPCI SIREN) and the median disposable income per consumption
    unit ``Q2YY`` (``FILO20YY_DISP_EPCI.csv``, e.g. ``Q219``) or ``MEDYY`` (key-figures file
    ``cc_filosofi_20YY_EPCI.csv``, e.g. ``MED21``); or ``epci_siren`` and ``med_niveau_vie``.
    ``s`` / ``nd`` / empty = secret (NaN).

    Parameters
    ----------
    data_dir
        The data directory (default file: source ``filosofi_epci``).
    path
        A user file (``--filosofi-epci``); must exist.

    Returns
    -------
    DataFrame
        Index ``epci_siren``; ``med_niveau_vie`` (float64, €/year per consumption unit, NaN when
        secret), ``nom`` (when given); ``attrs["vintage"]`` = income year ("2019") when the
        column name tells it, ``attrs["source"]`` = the file.
    """
    src = CATALOGUE["filosofi_epci"]
    if path is None:
        file = _io.require_file(src, data_dir)
    else:
        file = Path(path)
        if not file.is_file():
            raise DataFileNotFoundError(
                f"{file}: EPCI-level Filosofi file not found (INSEE FILO2019_DISP_EPCI.csv or "
                "cc_filosofi_2021_EPCI.csv: columns CODGEO and Q219 / MED21)"
            )
    try:
        with open(file, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DataFormatError(f"{file}: not readable as UTF-8 text (save it as UTF-8)") from None
    sep = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    header = [h.strip() for h in next(csv.reader([first.rstrip("\r\n")], delimiter=sep), [])]
    key = next((c for c in ("CODGEO", "epci_siren") if c in header), None)
    val = next((c for c in header if _MEDIAN_RE.match(c)), None)
    if val is None and "med_niveau_vie" in header:
        val = "med_niveau_vie"
    if key is None or val is None:
        raise DataFormatError(
            f"{file}: expected columns CODGEO and the median Q2YY (FILO20YY_DISP_EPCI) or MEDYY "
            f"(cc_filosofi_20YY_EPCI), or epci_siren and med_niveau_vie; found "
            f"{', '.join(header[:12]) or 'none'}"
        )
    cols = [key, val] + [c for c in ("LIBGEO",) if c in header]
    try:
        df = pd.read_csv(file, sep=sep, dtype=str, encoding="utf-8-sig", usecols=cols,
                         keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFormatError(f"{file}: cannot be parsed as CSV ({sep!r}): {exc}") from None
    df[key] = df[key].astype(str).str.strip()
    problems = _io.check_codes(file, df, {key: "siren"})
    if problems:
        problems = [p + " (give the EPCI-level file, not the commune one)" for p in problems]
    problems += _io.check_unique(file, df, key)
    problems += _io.to_float(file, df, [val], decimal_comma=sep == ";",
                             secret=["s", "S", "nd", "ND"])
    if not problems:  # the catalogue's bounds of the median, under its published name
        problems += _io.check_values(file, df, {val: src.bounds["med_niveau_vie"]}, key)
    _io.fail(file, problems)
    out = pd.DataFrame({"med_niveau_vie": df[val].to_numpy(dtype="float64")},
                       index=pd.Index(df[key].to_numpy(dtype=object), name="epci_siren"))
    if "LIBGEO" in df.columns:
        out["nom"] = df["LIBGEO"].to_numpy()
    m = _MEDIAN_RE.match(val)
    out.attrs["vintage"] = f"20{m.group(1)}" if m else ""
    out.attrs["source"] = str(file)
    out.attrs["column"] = val
    return out
