"""Low-level checked reading shared by the readers (CSV, GeoPackage and GeoParquet).

Every check collects its problems and raises one :class:`DataFormatError`
naming the file and the columns.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from zoning.errors import DataFileNotFoundError, DataFormatError
from zoning.sources.catalogue import CODE_LENGTHS, CODE_PATTERNS, Bound, Source

log = logging.getLogger(__name__)

_SEPARATORS = (",", ";", "\t", "|")
_MIN_LEN = {"commune": 5, "siren": 9, "finess": 9, "dep": 2, "reg": 2}


def split_codes(codes: pd.Series, sep: str = ";") -> pd.Series:
    """The codes of a ``sep``-separated text column (``codes_cog2024``), one row per code.

    Like ``codes.fillna("").astype(str).str.split(sep).explode().str.strip()`` without the
    empty codes: each row's index label repeated once per code, in order, blanks stripped.
    Split with Arrow's string kernels: pandas 3 splits ``str`` columns one Python call per
    row (35,000 communes, read by several steps of a national run).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(codes.fillna("").astype(str).to_numpy(dtype=object), type=pa.large_string())
    lists = pc.split_pattern(text, sep)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    parent = np.asarray(pc.list_parent_indices(lists).to_numpy())
    keep = np.asarray(pc.not_equal(flat, "").to_numpy(zero_copy_only=False), dtype=bool)
    return pd.Series(pd.array(flat.filter(pa.array(keep)), dtype="str"),
                     index=codes.index[parent[keep]], name=codes.name)


def in_codes(values: pd.Series | pd.Index | np.ndarray | list[Any],
             lookup: Iterable[object]) -> np.ndarray:
    """Boolean mask: which ``values`` are among ``lookup`` (like ``Series.isin``).

    pandas 3's ``str`` columns implement ``isin`` by building one pyarrow scalar per
    lookup value (0.1 s for the 35,000 French communes, by hand; the package tests
    membership dozens of times per national run): Arrow text on both sides is looked up
    with Arrow's ``is_in``, anything else in an Index's hash table, same answers.

    Parameters
    ----------
    values
        The codes to test (a Series, Index or array).
    lookup
        The codes to look for.

    Returns
    -------
    numpy.ndarray
        One bool per value, aligned with ``values``.
    """
    if not isinstance(lookup, pd.Index | pd.Series | np.ndarray | list):
        lookup = list(lookup)  # a set, a generator
    index = pd.Index(lookup)
    codes = pd.Index(values)
    if (isinstance(codes.array, pd.arrays.ArrowStringArray)
            and isinstance(index.array, pd.arrays.ArrowStringArray)):
        # both Arrow text (the readers' columns): one Arrow hash lookup, no conversion to
        # Python objects (a missing value matches a missing one, as below)
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.is_in(pa.array(codes.array), value_set=pa.array(index.array).unique(),
                         skip_nulls=False)
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    if not index.is_unique:
        index = index.unique()
    return np.asarray(index.get_indexer(codes) >= 0)


def require_file(source: Source, data_dir: str | Path) -> Path:
    """Return the expected path of ``source``, or raise a helpful error when absent."""
    path = source.path(data_dir)
    if path.is_dir():
        raise DataFormatError(
            f"{path}: is a folder, not a file, for source '{source.id}' ({source.title_en}); "
            f"put the file itself there: {source.fix_hint(data_dir)}"
        )
    if not path.is_file():
        raise DataFileNotFoundError(
            f"{path}: file not found for source '{source.id}' ({source.title_en}); "
            f"{source.fix_hint(data_dir)}"
        )
    return path


def read_header(path: Path, sep: str, encoding: str, skip_lines: int = 0) -> list[str]:
    """Read the header line of a CSV file (after ``skip_lines`` title lines), checking the
    separator."""
    try:
        with open(path, encoding=encoding, newline="") as fh:
            for _ in range(skip_lines):
                fh.readline()
            first = fh.readline()
    except UnicodeDecodeError:
        raise DataFormatError(
            f"{path}: not readable as {encoding} text (save it as {encoding})"
        ) from None
    first = first.lstrip("\ufeff").rstrip("\r\n")
    header = next(csv.reader([first], delimiter=sep)) if first else []
    if len(header) <= 1:
        found = [s for s in _SEPARATORS if s != sep and s in first]
        if found:
            raise DataFormatError(
                f"{path}: the header was read as one column {first[:60]!r}: wrong separator, "
                f"the file uses {found[0]!r} but {sep!r} is expected (re-export it with {sep!r})"
            )
    return [h.strip() for h in header]


def check_columns(path: Path, present: Iterable[str], expected: Iterable[str],
                  layer: str | None = None) -> None:
    """Raise when expected columns are absent."""
    have = set(present)
    missing = [c for c in expected if c not in have]
    if missing:
        where = f" layer '{layer}'" if layer else ""
        raise DataFormatError(
            f"{path}{where}: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(found: {', '.join(sorted(have)) or 'none'}); fix the header or use the official file"
        )


def check_codes(path: Path, frame: pd.DataFrame, kinds: dict[str, str],
                nullable: Iterable[str] = ()) -> list[str]:
    """Check code columns against their pattern; return the problems found."""
    problems: list[str] = []
    can_be_null = set(nullable)
    for col, kind in kinds.items():
        if kind not in CODE_PATTERNS or col not in frame.columns:
            continue
        values = frame[col]
        null = values.isna() | (values.astype("string").str.strip() == "")
        if null.any() and col not in can_be_null:
            problems.append(f"column '{col}': {int(null.sum())} empty code(s)")
        s = values[~null].astype(str)
        bad = ~s.str.fullmatch(CODE_PATTERNS[kind])
        if bad.any():
            examples = ", ".join(repr(v) for v in s[bad].unique()[:3])
            short = s[bad].str.replace(r"\.0$", "", regex=True)
            lost = bool(short.str.fullmatch(r"\d+").all()) and bool(
                (short.str.len() < _MIN_LEN[kind]).all())
            hint = (
                "the codes look read as numbers (leading zero lost); keep the column as text"
                if lost else "fix these values"
            )
            problems.append(
                f"column '{col}': {int(bad.sum())} value(s) are not {kind} codes of "
                f"{CODE_LENGTHS[kind]} (e.g. {examples}): {hint}"
            )
    return problems


def check_unique(path: Path, frame: pd.DataFrame, column: str) -> list[str]:
    """Return a problem when ``column`` holds duplicates."""
    if frame[column].nunique(dropna=False) == len(frame):  # one hash pass, no duplicated()
        return []
    dup = frame[column].duplicated(keep=False)
    if dup.any():
        examples = ", ".join("an empty key" if pd.isna(v) else repr(v)
                             for v in frame.loc[dup, column].unique()[:3])
        return [f"column '{column}': {int(frame[column][dup].nunique(dropna=False))} "
                f"duplicated key(s) "
                f"(e.g. {examples}); each {column} must appear once"]
    return []


def to_float(path: Path, frame: pd.DataFrame, columns: Iterable[str],
             decimal_comma: bool = False, secret: Iterable[str] = ()) -> list[str]:
    """Convert columns to float64 in place; text that is not a number, and ``inf`` (which no
    count, rate or amount can be), are problems. Empty cells become NaN (missing)."""
    problems: list[str] = []
    secret_values = set(secret)
    for col in columns:
        if col not in frame.columns:
            continue
        s = frame[col]
        if s.dtype.kind in "fiub":
            frame[col] = s.astype("float64")
            problems += _infinite(frame, col)
            continue
        txt = s.astype("string").str.strip()
        if decimal_comma:
            txt = txt.str.replace(",", ".", regex=False)
        empty = txt.isna() | (txt == "") | txt.isin(secret_values)
        num = _parse_floats(txt.where(~empty))
        bad = num.isna() & ~empty
        if bad.any():
            examples = ", ".join(repr(v) for v in txt[bad].unique()[:3])
            problems.append(
                f"column '{col}': {int(bad.sum())} value(s) are not numbers (e.g. {examples})")
        frame[col] = num.astype("float64")
        problems += _infinite(frame, col)
    return problems


def _parse_floats(text: pd.Series) -> pd.Series:
    """Numbers of a text column, NaN where missing or not a number (``pd.to_numeric`` with
    ``errors="coerce"``).

    Arrow's cast parses a column of valid numbers in one call (the 15 text columns of a
    national run: 0.04 s instead of 0.41 s, by hand; the same float64 values on every column
    of the shared data); a column with any text Arrow refuses goes to ``pd.to_numeric``,
    which marks each bad value.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pc.cast(pa.array(text.astype("str").array), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return pd.to_numeric(text, errors="coerce").astype("float64")
    return pd.Series(values.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


def _infinite(frame: pd.DataFrame, col: str) -> list[str]:
    inf = np.isinf(frame[col].to_numpy(dtype="float64"))
    if inf.any():
        return [f"column '{col}': {int(inf.sum())} infinite value(s) (e.g. "
                f"{frame[col].to_numpy()[inf][0]!r}): give finite numbers"]
    return []


def check_values(path: Path, frame: pd.DataFrame, bounds: dict[str, Bound],
                 key: str | None = None) -> list[str]:
    """Values outside their allowed range (negative APL, income, population...).

    Run after :func:`to_float` / :func:`as_int64`; NaN (missing) values are not checked here.
    Readers of every source call it with ``source.bounds``.

    Parameters
    ----------
    path
        The file (for messages).
    frame
        The rows, numeric columns already converted.
    bounds
        Column -> :class:`~zoning.sources.catalogue.Bound` (columns absent are skipped).
    key
        Column (or None: the index) naming the rows in the example.

    Returns
    -------
    list of str
        One problem per column: the rule, how many rows break it and an example row.
    """
    problems: list[str] = []
    keys = frame.index.to_series() if key is None or key not in frame.columns else frame[key]
    for col, b in bounds.items():
        if col not in frame.columns:
            continue
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype="float64")
        bad = np.zeros(len(v), dtype=bool)
        with np.errstate(invalid="ignore"):
            if b.low is not None:
                bad |= (v <= b.low) if b.low_open else (v < b.low)
            if b.high is not None:
                bad |= v > b.high
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            name = keys.name or "row"
            problems.append(
                f"column '{col}': {int(bad.sum())} row(s) with an impossible value (expected "
                f"{b.describe()}), e.g. {v[i]:g} for {name} {keys.iloc[i]!r}; fix these rows "
                "or download the official file again")
    return problems


def to_bool(path: Path, frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """Convert 0/1 / true/false columns to bool in place (empty = False)."""
    problems: list[str] = []
    truthy = {"1", "1.0", "true", "vrai", "oui", "t", "y", "yes"}
    falsy = {"0", "0.0", "false", "faux", "non", "f", "n", "no", ""}
    for col in columns:
        if col not in frame.columns:
            continue
        s = frame[col]
        if s.dtype == bool:
            continue
        txt = s.astype("string").str.strip().str.lower().fillna("")
        bad = ~txt.isin(truthy | falsy)
        if bad.any():
            examples = ", ".join(repr(v) for v in txt[bad].unique()[:3])
            problems.append(
                f"column '{col}': {int(bad.sum())} value(s) are not 0/1 (e.g. {examples})")
        frame[col] = txt.isin(truthy).to_numpy(dtype=bool)
    return problems


def read_csv_checked(source: Source, data_dir: str | Path, path: Path | None = None,
                     usecols: Sequence[str] | None = None) -> tuple[Path, pd.DataFrame]:
    """Read a catalogued CSV as strings after checking file, separator and columns."""
    path = path if path is not None else require_file(source, data_dir)
    header = read_header(path, source.sep, source.encoding, source.skip_lines)
    check_columns(path, header, source.columns)
    cols = list(usecols) if usecols is not None else list(source.columns)
    try:
        frame = pd.read_csv(path, sep=source.sep, encoding=source.encoding, dtype=str,
                            usecols=cols, keep_default_na=False, na_values=[""],
                            skiprows=source.skip_lines)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{path}: cannot be parsed as CSV ({source.sep!r}): {exc}") from None
    return path, frame


def _layer_info(path: Path, layer: str, source: Source) -> dict[str, Any]:
    """Layer names and ``pyogrio.read_info`` of ``layer``; unreadable files raise one line."""
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise DataFormatError(
            f"{path}: not a readable GeoPackage ({exc}); download or rebuild the file"
        ) from None
    if layer not in layers:
        raise DataFormatError(
            f"{path}: layer '{layer}' not found (layers: {', '.join(layers)}); "
            f"source '{source.id}' expects it"
        )
    try:
        info: dict[str, Any] = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise DataFormatError(f"{path} layer '{layer}': cannot be read ({exc})") from None
    return info


def _expected_columns(source: Source, layer: str) -> list[str]:
    if layer == source.layer[0]:
        return list(source.columns)
    return list(source.extra_columns.get(layer, {}))


def read_layer_checked(source: Source, data_dir: str | Path, layer: str | None = None,
                       columns: Sequence[str] | None = None, where: str | None = None,
                       read_geometry: bool = True,
                       to_crs: int | None = 2154) -> tuple[Path, gpd.GeoDataFrame]:
    """Read a GeoPackage layer after checking layer, columns and CRS.

    The frame is returned in ``to_crs`` (EPSG:2154 by default; ``None`` keeps the file's CRS).
    """
    path = require_file(source, data_dir)
    layer = layer or source.layer[0]
    info = _layer_info(path, layer, source)
    fields = [str(f) for f in info["fields"]]
    expected = _expected_columns(source, layer)
    check_columns(path, fields, expected, layer=layer)
    if read_geometry and not info.get("crs"):
        raise DataFormatError(
            f"{path} layer '{layer}': geometry has no CRS (coordinate reference system); "
            "set it (e.g. ogr2ogr -a_srs EPSG:4326) or use the official file"
        )
    cols = list(columns) if columns is not None else expected
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, columns=cols, where=where,
                                       read_geometry=read_geometry)
    except Exception as exc:
        raise DataFormatError(f"{path} layer '{layer}': cannot be read ({exc})") from None
    if read_geometry:
        if frame.crs is None:
            raise DataFormatError(f"{path} layer '{layer}': geometry has no CRS; set it")
        if to_crs is not None:
            frame = frame.to_crs(to_crs)
    return path, frame


def count_layer(source: Source, data_dir: str | Path, layer: str | None = None) -> int:
    """Feature count of a layer (after the same checks as reading, without reading rows)."""
    path = require_file(source, data_dir)
    layer = layer or source.layer[0]
    info = _layer_info(path, layer, source)
    fields = [str(f) for f in info["fields"]]
    check_columns(path, fields, _expected_columns(source, layer), layer=layer)
    if info.get("geometry_type") and not info.get("crs"):
        raise DataFormatError(f"{path} layer '{layer}': geometry has no CRS; set it")
    return int(info["features"])


def _parquet_schema(path: Path) -> tuple[list[str], dict[str, Any]]:
    """Column names and GeoParquet ``geo`` metadata of a file; unreadable files raise one line."""
    import json

    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
        raise DataFormatError(
            f"{path}: not a readable GeoParquet file ({exc}); download or rebuild the file"
        ) from None
    meta = schema.metadata or {}
    try:
        geo: dict[str, Any] = json.loads(meta[b"geo"]) if b"geo" in meta else {}
    except ValueError:
        geo = {}
    return [str(n) for n in schema.names], geo


def parquet_columns(source: Source, data_dir: str | Path) -> tuple[Path, list[str]]:
    """Path and column names of a catalogued GeoParquet file, after the column check."""
    path = require_file(source, data_dir)
    names, geo = _parquet_schema(path)
    check_columns(path, names, source.columns)
    if not geo:
        raise DataFormatError(
            f"{path}: Parquet file without GeoParquet 'geo' metadata (no geometry column "
            "declared); write it with geopandas.to_parquet or use the official file"
        )
    return path, names


def read_parquet_checked(source: Source, data_dir: str | Path,
                         columns: Sequence[str] | None = None,
                         to_crs: int | None = 2154, geometry: bool = True) -> tuple[Path, Any]:
    """Read a GeoParquet file after checking its columns, geometry metadata and CRS.

    The frame is returned in ``to_crs`` (EPSG:2154 by default; ``None`` keeps the file's CRS);
    with ``geometry=False`` a plain DataFrame of ``columns`` (no geometry decoded).
    """
    path, names = parquet_columns(source, data_dir)
    cols = list(columns) if columns is not None else list(source.columns)
    check_columns(path, names, cols)
    if not geometry:
        import pyarrow.parquet as pq

        try:
            return path, pq.read_table(path, columns=cols).to_pandas()
        except Exception as exc:  # pyarrow errors on damaged files
            raise DataFormatError(f"{path}: cannot be read as Parquet ({exc})") from None
    try:
        frame = gpd.read_parquet(path, columns=[*cols, "geometry"])
    except Exception as exc:  # pyarrow / geopandas errors on damaged files
        raise DataFormatError(f"{path}: cannot be read as GeoParquet ({exc})") from None
    if frame.crs is None:
        raise DataFormatError(f"{path}: geometry has no CRS; set it (e.g. EPSG:4326)")
    if to_crs is not None:
        frame = frame.to_crs(to_crs)
    return path, frame


def count_parquet(source: Source, data_dir: str | Path) -> int:
    """Row count of a GeoParquet file (after the column checks, without reading rows)."""
    import pyarrow.parquet as pq

    path, _ = parquet_columns(source, data_dir)
    return int(pq.ParquetFile(path).metadata.num_rows)


def fail(path: Path, problems: Sequence[str]) -> None:
    """Raise one DataFormatError listing ``problems`` (no-op when empty)."""
    if problems:
        raise DataFormatError(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))


def as_int64(frame: pd.DataFrame, column: str, path: Path) -> list[str]:
    """Convert a column to int64 in place (problems returned when not integers)."""
    s = frame[column]
    if s.dtype.kind in "iu":
        frame[column] = s.astype("int64")
        return []
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() | ~np.isfinite(num) | (num != np.floor(num))
    if bad.any():
        ex = ", ".join(repr(v) for v in s[bad].astype(str).unique()[:3])
        return [f"column '{column}': {int(bad.sum())} value(s) are not integers (e.g. {ex})"]
    frame[column] = num.astype("int64")
    return []


def read_user_csv(path: str | Path, what: str, hint: str,
                  header: bool = True) -> tuple[pd.DataFrame, str]:
    """Read a CSV the user gives on the command line (``--ald``, ``--filosofi-epci``,
    ``--reference``) as text columns, with one clear error per failure.

    The separator is the most frequent of ``;``, tab and ``,`` in the first line; the file must
    be UTF-8 (a BOM is accepted); cells are kept as strings (codes keep their leading zeros),
    empty cells are NaN.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, in English (used in messages), e.g. "ALD file".
    hint
        What the file should be (columns, publisher), appended to "not found".
    header
        False: the first line is data (columns numbered 0, 1...).

    Returns
    -------
    (DataFrame, str)
        The cells (column names stripped) and the separator found.

    Raises
    ------
    DataFileNotFoundError
        When the file does not exist.
    DataFormatError
        When it is a folder, is not UTF-8 text, is empty or cannot be parsed.
    """
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder, not a file; give the {what} itself")
    if not path.is_file():
        raise DataFileNotFoundError(f"{path}: {what} not found; {hint}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the {what} as UTF-8 CSV "
            "(e.g. in LibreOffice: Save As, CSV, character set Unicode UTF-8)"
        ) from None
    if not text.strip():
        raise DataFormatError(f"{path}: the {what} is empty; {hint}")
    first = text.splitlines()[0]
    sep = max((";", "\t", ","), key=first.count) if any(c in first for c in ";\t,") else ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            na_values=[""], header=0 if header else None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: cannot read the {what} as CSV ({exc})") from None
    if header:
        frame.columns = [str(c).strip() for c in frame.columns]
    return frame, sep
