"""Ranked tables: CSV (UTF-8, plus a French-locale ``;`` variant) and a formatted XLSX workbook.

Files (``<stem>`` = ``zoning_<region>``):

- ``<stem>_epci.csv`` and ``<stem>_communes.csv``: UTF-8, ``,`` separator, ``.`` decimal,
  machine column names (``epci_siren``, ``apl``, ``apl_score``...), missing values empty;
- ``<stem>_epci_fr.csv`` and ``<stem>_communes_fr.csv``: UTF-8 with BOM, ``;`` separator,
  decimal comma, French headers, missing values written ``donnée indisponible`` (opens
  directly in a French spreadsheet);
- ``<stem>.xlsx``: sheets "Classement des EPCI", "Communes" and "Méthode et sources";
- each annex of the run (:class:`~zoning.results.AnnexTable`, e.g. the calibration report of
  ``zoning calibrate``): ``<stem>_<key>.csv``, ``<stem>_<key>_fr.csv`` and one more XLSX sheet.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoning.atomic import output_set
from zoning.errors import ExportError, ZoningError
from zoning.exports._common import (
    COMMUNE_LABELS,
    MISSING,
    check_result,
    computed_at,
    epci_column_labels,
    epci_output_columns,
    missing_criteria_notes,
    ranking_sentence,
    short_label,
    slug,
    sources_lines,
    value_decimals,
    version,
)
from zoning.fmt import fr_datetime
from zoning.results import AnnexTable, RunResult
from zoning.text import FORMULA_START, check_utf8_path, formula_safe_frame

Job = tuple[Path, Callable[[Path], None]]


class Background:
    """A job writer that :func:`run_jobs` runs in a worker thread while the other jobs write.

    For a writer that mostly waits for another process: the fiches wait for Chromium to
    print them, and that waiting releases the GIL, so the other writers go on meanwhile on
    the machine's other core. ``write(path, cancelled)`` must do all its work in the thread
    that calls it (Playwright's sync API) and stop at its next step once ``cancelled`` is
    set (another job failed, or the run was interrupted). Called directly, it runs at once.

    With ``ahead=True`` the writer is ``write(path, cancelled, release)``: the other jobs
    start only once it calls ``release()`` (or ends). The fiches build their pages first,
    alone, with the GIL to themselves, and release the others once Chromium has every page
    to print: the other writers' Python then runs while Chromium prints, instead of the two
    sharing the GIL while Chromium waits for pages.
    """

    def __init__(self, write: Callable[..., Any], ahead: bool = False) -> None:
        self.write = write
        self.ahead = ahead

    def __call__(self, path: Path) -> None:
        if self.ahead:
            self.write(path, threading.Event(), lambda: None)
        else:
            self.write(path, threading.Event())


JOIN_AFTER_INTERRUPT_S = 30.0
"""How long an interrupted :func:`run_jobs` still waits for a cancelled worker (a fiche print
in progress ends first); a worker still running after that is left to the process's exit,
and a staging folder it left is swept by the next run (:func:`zoning.atomic.recover`)."""


class _Worker(threading.Thread):
    def __init__(self, write: Background, path: Path, cancelled: threading.Event) -> None:
        super().__init__(name=f"zoning-{path.name}", daemon=True)
        self.job, self.path, self.cancelled = write, path, cancelled
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.released = threading.Event()  # the other jobs may start (set at the end too)
        if not write.ahead:
            self.released.set()

    def run(self) -> None:
        try:
            if self.job.ahead:
                self.job.write(self.path, self.cancelled, self.released.set)
            else:
                self.job.write(self.path, self.cancelled)
        except BaseException as exc:  # re-raised in the thread of run_jobs
            self.error = exc
        finally:
            self.released.set()
            self.done.set()

HEADER_FILL = "263238"
SELECTED_FILL = "FDE0DD"
MISSING_COLOR = "777777"

COMMUNE_COLUMNS = ("nom", "dep", "epci_siren", "epci_nom", "epci_prioritaire", "population",
                   "t_urgence_min", "t_su_min", "t_smur_min", "nom_urgence", "finess_urgence",
                   "nom_su", "finess_su",
                   "nom_smur", "finess_smur", "access_km", "far_from_network", "loin_reseau",
                   "modele_acces", "hors_couverture")


def epci_table(result: RunResult) -> pd.DataFrame:
    """EPCI rows sorted by rank, index ``epci_siren``, output columns, no geometry."""
    cols = epci_output_columns(result)
    df = pd.DataFrame(result.epci[cols])
    df.index = df.index.astype(str)
    df.index.name = "epci_siren"
    # every row says which criteria had no data for it (e.g. "ald" offline): a reader of the
    # machine CSV, where missing values are empty cells, is told so explicitly
    ids = [c.id for c in result.criteria]
    present = [i for i in ids if i in df.columns]
    missing = pd.DataFrame(True, index=df.index, columns=ids)
    missing[present] = df[present].isna()
    labels = np.array([f"{i};" for i in ids], dtype=object)
    joined = missing.to_numpy(dtype=bool) @ labels if ids else np.full(len(df), "", object)
    df["criteres_indisponibles"] = pd.Series(joined, index=df.index).astype(str).str.rstrip(";")
    return df.sort_values(["rank", "composite"], ascending=[True, False], na_position="last")


def _french_missing(epci: pd.DataFrame, result: RunResult) -> pd.DataFrame:
    """``criteres_indisponibles`` with French criterion labels (for the French CSV and XLSX)."""
    if "criteres_indisponibles" not in epci.columns:
        return epci
    text = epci["criteres_indisponibles"].astype(str)
    for c in result.criteria:  # a handful of criteria, each replacement vectorised
        text = text.str.replace(rf"(?<![\w]){re.escape(c.id)}(?![\w])", short_label(c.label),
                                regex=True)
    return epci.assign(criteres_indisponibles=text.str.replace(";", " ; ", regex=False))


def commune_table(result: RunResult) -> pd.DataFrame:
    """Commune rows (criteria inputs and travel times), index ``code_insee``, no geometry."""
    com = result.communes
    # each commune says its EPCI's name and whether that EPCI is a priority zone
    siren = com["epci_siren"].astype(str)
    epci = result.epci.set_axis(result.epci.index.astype(str))
    com = com.assign(
        epci_nom=siren.map(epci["epci_nom"]),
        epci_prioritaire=siren.map(epci["selected"].fillna(False).astype(bool)).fillna(False)
        .astype(bool))
    cols = [c for c in COMMUNE_COLUMNS if c in com.columns]
    extra = [c for c in com.columns if c not in cols and c != com.geometry.name]
    df = pd.DataFrame(com[cols + extra])
    df.index = df.index.astype(str)
    df.index.name = "code_insee"
    return df.sort_index()


def _french(df: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "oui", False: "non"})
    out = out.reset_index()
    return out.rename(columns={c: labels.get(c, c) for c in out.columns})


CSV_DECIMALS: dict[str, int] = {
    # 0..1 index and normalised scores: 4 decimals (the rank column orders the EPCI)
    "composite": 4,
    # 0..1 shares: 3 decimals = a tenth of a percentage point
    "probability": 3, "part_loin_reseau": 3, "part_modele_urbain": 3, "part_hors_couverture": 3,
    "share_beyond": 3, "coverage": 3,
    # shares already in percent: 1 decimal
    "part_ald": 1,
    # APL (consultations per year per standardised inhabitant): 2 decimals
    "apl_mg": 2,
    # euros per year and consumption unit, inhabitants: whole numbers
    "med_niveau_vie": 0, "pop_beyond": 0, "population_ponderee": 0, "population_totale": 0,
    # distance to the road network: 2 decimals of a km (10 m)
    "access_km": 2,
}
"""Decimals of each numeric CSV column (the XLSX keeps full values under number formats)."""

INTEGER_COLUMNS = ("population", "rank", "rank_p05", "rank_p95", "n_criteres", "n_fragilites")


def unit_decimals(unit: str) -> int | None:
    """Decimals of a criterion by its unit: percent and minutes 1, APL 2, euros 0."""
    u = unit.strip()
    if u.startswith("%") or u == "min":
        return 1
    if u.startswith("€"):
        return 0
    if u.startswith("consultations"):
        return 2
    return None


def csv_decimals(columns: Sequence[str], units: dict[str, str] | None = None
                 ) -> dict[str, int]:
    """The rounding of each column written to a CSV (``CSV_DECIMALS``, ``*_score`` 4,
    ``*_min`` 1, criteria by unit); columns not listed keep their values."""
    units = units or {}
    out: dict[str, int] = {}
    for col in columns:
        d: int | None = CSV_DECIMALS.get(col)
        if d is None and col in units:
            d = unit_decimals(units[col])
        if d is None and col.endswith("_score"):
            d = 4
        if d is None and col.endswith("_min"):
            d = 1
        if d is not None:
            out[col] = d
    return out


def _rounded(df: pd.DataFrame, decimals: dict[str, int]) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        if col in INTEGER_COLUMNS or decimals.get(col) == 0:  # "18900", not "18900.0"
            out[col] = out[col].round().astype("Int64")
        elif col in decimals:
            out[col] = out[col].round(decimals[col])
    return out


def _write_csv(df: pd.DataFrame, path: Path, units: dict[str, str] | None = None) -> None:
    df = _rounded(df, csv_decimals(list(df.columns), units))
    # a name starting with = + - @ would run as a formula when the CSV is opened
    formula_safe_frame(df).to_csv(path, encoding="utf-8", index=True, lineterminator="\n")


PERCENT_COLUMNS: tuple[str, ...] = ("probability", "part_loin_reseau", "part_modele_urbain",
                                    "part_hors_couverture")
"""0..1 shares shown in percent (1 decimal) in the French CSV, like the XLSX, the map and
explain."""


def _write_csv_fr(df: pd.DataFrame, labels: dict[str, str], path: Path,
                  units: dict[str, str] | None = None) -> None:
    decimals = csv_decimals(list(df.columns), units)
    df = df.copy()
    labels = dict(labels)
    for col in PERCENT_COLUMNS:
        if col in df.columns:
            df[col] = df[col].astype("float64") * 100.0
            decimals[col] = 1
            labels[col] = f"{labels.get(col, col)} (%)"
    decimal_commas(formula_safe_frame(_french(_rounded(df, decimals), labels))).to_csv(
        path, sep=";", decimal=",", encoding="utf-8-sig", index=False, na_rep=MISSING,
        lineterminator="\r\n")


def decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its float64 columns as the text ``to_csv(decimal=",")`` writes for them.

    pandas formats each value of a column with a decimal comma in Python; numpy converts a
    whole column to the same text
    (the shortest round-trip digits, missing values left missing for ``na_rep``).
    Other columns are unchanged.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != np.float64:
            continue
        values = out[col].to_numpy()
        text = np.char.replace(values.astype(str), ".", ",", count=1).astype(object)
        text[np.isnan(values)] = None
        out[col] = pd.Series(text, index=out.index, dtype=object)
    return out


# --------------------------------------------------------------------------- XLSX


def _number_format(col: str, values: pd.Series) -> str | None:
    if col in ("population",):
        return "#,##0"
    if col in ("rank", "rank_p05", "rank_p95"):
        return "0"
    if col == "probability":
        return "0.0%"  # whole percent would show 0.896 as 90 % beside "limite"
    if col == "composite" or col.endswith("_score"):
        return "0.00"
    if col.endswith("_min") or col == "access_km":
        return "0.0"
    if pd.api.types.is_float_dtype(values):
        dec = value_decimals(values)
        return "#,##0" if dec == 0 else "#,##0." + "0" * dec
    return None


def _cell_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "oui" if v else "non"
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def header_width(label: str, values: pd.Series, numeric: bool) -> float:
    """Column width (characters) fitting the data and a header wrapped on a few lines.

    The width is at least the header's longest word and a quarter of the header (so that it
    wraps on at most about four lines), at least the 95th percentile of the data's text
    length (numbers: 12), at most 48.
    """
    words = max((len(w) for w in label.split()), default=0)
    data = 12.0 if numeric else (float(values.astype(str).str.len().quantile(0.95)) + 2
                                 if len(values) else 10.0)
    return float(min(48.0, max(10.0, words + 2.0, len(label) / 4.0 + 2.0, data)))


def header_lines(label: str, width: float) -> int:
    """Lines a wrapped header takes in a column of ``width`` characters (word wrap)."""
    lines, used = 1, 0
    room = max(1, int(width) - 1)
    for word in label.split():
        need = len(word) if used == 0 else used + 1 + len(word)
        if need > room and used:
            lines, used = lines + 1, len(word)
        else:
            used = need
    return lines


@dataclass
class SheetData:
    """One table sheet as cells: headers, column widths and formats, values per column."""

    headers: list[str]
    widths: list[float]
    formats: list[str | None]
    columns: list[list[Any]]
    formula_like: list[np.ndarray]  # rows of each text column starting with = + - @
    highlight: np.ndarray  # rows to fill (selected zones)
    text: list[np.ndarray]  # cells of each column that are text

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def _cell_values(values: pd.Series) -> tuple[list[Any], np.ndarray]:
    """:func:`_cell_value` of every value of a column, vectorised by dtype, and which cells
    are text (missing values, ``oui``/``non``, strings).

    Missing and non-finite numbers are written ``donnée indisponible``.
    """
    n = len(values)
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return np.where(values.to_numpy(dtype=bool), "oui", "non").tolist(), np.ones(n, bool)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        miss = values.isna().to_numpy(dtype=bool, copy=True)
        if pd.api.types.is_float_dtype(values):
            miss |= ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
        # astype(object) gives Python int and float objects
        return values.astype(object).where(~miss, MISSING).tolist(), miss
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values.astype(object).where(values.notna(), MISSING).tolist(), np.ones(n, bool)
    cells = [_cell_value(v) for v in values.astype(object).to_numpy()]  # mixed objects: rare
    cells = [v if isinstance(v, (str, int, float)) else str(v) for v in cells]
    return cells, np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=n)


def sheet_data(df: pd.DataFrame, labels: dict[str, str],
               highlight: pd.Series | None = None) -> SheetData:
    """The cells of a table sheet (index first), the same for any XLSX writer."""
    flat = df.reset_index()
    cols = list(flat.columns)
    headers = [labels.get(c, c) for c in cols]
    formats = [_number_format(c, flat[c]) for c in cols]
    widths, columns, formula_like, text = [], [], [], []
    for c, head, fmt in zip(cols, headers, formats, strict=True):
        widths.append(header_width(head, flat[c], fmt is not None))
        cells, is_text = _cell_values(flat[c])
        columns.append(cells)
        text.append(is_text)
        if flat[c].dtype == object or pd.api.types.is_string_dtype(flat[c]):
            starts = flat[c].astype("string").str.startswith(FORMULA_START).fillna(False)
            formula_like.append(starts.to_numpy(dtype=bool))
        else:
            formula_like.append(np.zeros(len(flat), dtype=bool))
    mask = (highlight.reindex(df.index).fillna(False).astype(bool).to_numpy()
            if highlight is not None else np.zeros(len(flat), dtype=bool))
    return SheetData(headers, widths, formats, columns, formula_like, mask, text)


def method_rows(result: RunResult) -> list[tuple[list[Any], str]]:
    """The "Méthode et sources" sheet: rows of cells with a style name
    (``title``, ``bold``, ``header``, ``criterion``, ``wrap``, ``""``)."""
    rows: list[tuple[list[Any], str]] = []
    n_sel = int(result.epci["selected"].fillna(False).astype(bool).sum())
    rows.append(([f"zoning — zones prioritaires « déserts médicaux » — {result.region_name}"],
                 "title"))
    rows += [
        (["Région", f"{result.region_name} ({result.region})"], ""),
        (["Date du calcul", fr_datetime(computed_at(result))], ""),
        (["Version de zoning", version(result)], ""),
        (["Configuration", str(result.params.get("config_path", ""))], ""),
        (["EPCI classés / zones prioritaires", f"{len(result.epci)} / {n_sel}"], ""),
        ([], ""), (["Méthode"], "bold"),
    ]
    for line in (
        "Chaque critère est orienté (1 = plus vulnérable) puis normalisé entre 0 et 1.",
        "Le score composite est la moyenne pondérée des scores normalisés des critères "
        "disponibles (poids renormalisés quand un critère manque).",
        ranking_sentence(result),
        "Probabilité de sélection : part des tirages de l'analyse de sensibilité (poids et "
        "normalisation tirés au hasard) où l'EPCI est retenu ; rangs 5e et 95e centiles sur "
        "ces tirages ; robustesse : « robuste », « limite » ou « hors zone ».",
    ):
        rows.append((["", line], "wrap"))
    rows.append(([], ""))
    rows.append((["Critère", "Libellé", "Unité", "Sens", "Poids", "Disponible", "Source",
                  "Millésime", "Note"], "header"))
    for c in result.criteria:
        rows.append(([c.id, c.label, c.unit,
                      "plus élevé = plus vulnérable" if c.direction == "higher_is_worse"
                      else "plus bas = plus vulnérable",
                      float(c.weight), "oui" if c.available else f"non — {MISSING}", c.source,
                      c.vintage or MISSING, c.note], "criterion"))
    rows += [([], ""), (["Sources et millésimes"], "bold")]
    rows += [(["", line], "") for line in sources_lines(result)]
    rows += [([], ""), (["Notes"], "bold")]
    rows += [(["", line], "wrap") for line in missing_criteria_notes(result)]
    for section in result.sections:
        rows += [([], ""), ([section.title], "bold")]
        rows += [(["", line], "wrap") for line in section.lines]
    if result.raster_path:
        # the file name only (it lies beside the workbook): no path of the machine
        rows.append((["Raster des temps de trajet", Path(result.raster_path).name], ""))
    return rows


METHOD_WIDTHS = (34, 60, 22, 22, 22, 22, 22, 22, 22)


class _Formats:
    """xlsxwriter formats, created once per combination (number format, fill, missing...)."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.cache: dict[tuple[Any, ...], Any] = {}

    def get(self, num: str | None = None, fill: bool = False, missing: bool = False,
            quote: bool = False) -> Any:
        key = (num, fill, missing, quote)
        if key not in self.cache:
            props: dict[str, Any] = {}
            if num:
                props["num_format"] = num
            if fill:
                props["bg_color"] = "#" + SELECTED_FILL
            if missing:
                props.update(italic=True, font_color="#" + MISSING_COLOR)
            if quote:
                props["quote_prefix"] = True
            self.cache[key] = self.wb.add_format(props) if props else None
        return self.cache[key]


def _page_setup(ws: Any, title: str, repeat_header: bool) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many pages long as needed
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    if repeat_header:
        ws.repeat_rows(0)
    safe = title.replace("&", "&&")
    ws.set_header(f"&L&8{safe}")
    ws.set_footer("&L&8zoning&R&8Page &P / &N")


def column_letters(j: int) -> str:
    """Excel column name of the 0-based column ``j`` (0 -> ``A``, 26 -> ``AA``)."""
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


XLS_STRMAX = 32767
"""Longest text of an Excel cell (longer texts are cut, as xlsxwriter does)."""


def _style_attr(fmt: Any) -> str:
    # the workbook's index of the format (assigned on first use, as when xlsxwriter writes a
    # cell; xlsxwriter has no public call for it), none for the default format
    return "" if fmt is None else f' s="{fmt._get_xf_index()}"'


def _shared_strings(table: Any, texts: np.ndarray, references: int) -> np.ndarray:
    """Indices of distinct ``texts`` in xlsxwriter's shared-string table, adding new ones.

    What ``write_string`` does for each cell (``SharedStringTable._get_shared_string_index``),
    done with dictionary operations on whole arrays: ``references`` cells use these texts
    (the table's ``count``).
    """
    found = np.fromiter(map(table.string_table.get, texts, itertools.repeat(-1)),
                        dtype=np.int64, count=len(texts))
    new = found < 0
    found[new] = table.unique_count + np.arange(int(new.sum()))
    table.string_table.update(zip(texts[new].tolist(), found[new].tolist(), strict=True))
    table.unique_count += int(new.sum())
    table.count += references
    return found


def sheet_rows_xml(ws: Any, data: SheetData, fmts: _Formats) -> str:
    """The ``<row>`` elements of a table sheet's data (rows 2 and below), built per column.

    The cells xlsxwriter's ``write_string`` / ``write_number`` would write, with the same
    formats (number format, selected-zone fill, greyed missing values, quote prefix of a
    text starting with ``= + - @``) and texts in the workbook's shared-string table (each
    distinct text added once, escaped by xlsxwriter when it writes the table), but built
    with whole-column operations and joined once, instead of one Python call per cell.
    """
    n, m = data.n_rows, len(data.columns)
    if n == 0:
        return ""
    fill = data.highlight.astype(bool).astype(np.int64)
    rows = np.arange(2, n + 2).astype(str).astype(object)
    table = ws.str_table
    # the pieces of every row, in order; joined once at the end
    parts = np.empty((n, 3 + 5 * m + 1), dtype=object)
    parts[:, 0], parts[:, 1], parts[:, 2] = '<row r="', rows, f'" spans="1:{m}">'
    parts[:, -1] = "</row>"
    for j, values in enumerate(data.columns):
        text = data.text[j]
        vals = pd.Series(values, dtype=object)
        missing = text & (vals == MISSING).to_numpy(dtype=bool)
        quoted = text & ~missing & data.formula_like[j].astype(bool)
        kinds = np.select([~text, missing, quoted], [0, 1, 2], default=3) * 2 + fill
        opening = np.empty(8, dtype=object)
        for kind in np.unique(kinds):  # number, missing, quoted text, text; x (no) fill
            f = bool(kind % 2)
            fmt = (fmts.get(data.formats[j], f) if kind < 2 else
                   fmts.get(fill=f, missing=kind // 2 == 1, quote=kind // 2 == 2))
            shared = "" if kind < 2 else ' t="s"'  # a shared string
            opening[kind] = f'"{_style_attr(fmt)}{shared}><v>'
        content = np.empty(n, dtype=object)
        if text.any():
            codes, uniques = pd.factorize(vals[text].astype(str).str.slice(0, XLS_STRMAX))
            index = _shared_strings(table, np.asarray(uniques, dtype=object), int(text.sum()))
            content[text] = index.astype(str).astype(object)[codes]
        if (~text).any():
            content[~text] = vals[~text].map("{:.16G}".format).to_numpy(dtype=object)
        k = 3 + 5 * j
        parts[:, k], parts[:, k + 1] = f'<c r="{column_letters(j)}', rows
        parts[:, k + 2] = opening[kinds]
        parts[:, k + 3], parts[:, k + 4] = content, "</v></c>"
    return "".join(parts.ravel().tolist())


def _write_sheet(wb: Any, fmts: _Formats, name: str, data: SheetData, title: str) -> str:
    """Write a table sheet's header and layout; returns the XML of its data rows (spliced
    into the sheet by :func:`_splice_rows`: the cells of 35,000 communes are built as whole
    columns instead of one call per cell)."""
    ws = wb.add_worksheet(name)
    head = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#" + HEADER_FILL,
                          "text_wrap": True, "valign": "vcenter"})
    lines = 1
    for j, (label, width) in enumerate(zip(data.headers, data.widths, strict=True)):
        ws.set_column(j, j, width)
        ws.write_string(0, j, str(label), head)
        lines = max(lines, header_lines(str(label), width))
    ws.set_row(0, 15 * min(lines, 8))
    ws.freeze_panes(1, 2)
    if data.columns:
        ws.autofilter(0, 0, data.n_rows, len(data.columns) - 1)
    _page_setup(ws, title, repeat_header=True)
    return sheet_rows_xml(ws, data, fmts)


XLSX_COMPRESSLEVEL = 1
"""Deflate level of the XLSX package: compressing the national workbook takes 0.45 s instead
of 1.26 s at zlib's default level 6, for 7.75 MB instead of 5.92 MB
(``bench/bench_exports.py --region FR`` prints the sizes)."""


def _splice_rows(package: bytes, rows: dict[int, tuple[str, SheetData]], path: Path) -> None:
    """Write the workbook to ``path`` with the data rows of the table sheets added.

    ``rows`` maps a worksheet's position (1-based, ``xl/worksheets/sheet<k>.xml``) to its
    rows' XML and cells; the sheet's ``<dimension>`` is set to the whole table. Deflate level
    :data:`XLSX_COMPRESSLEVEL`.
    """
    with zipfile.ZipFile(io.BytesIO(package)) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                            compresslevel=XLSX_COMPRESSLEVEL) as dst:
        for info in src.infolist():
            data = src.read(info)
            k = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if k is not None and int(k.group(1)) in rows:
                xml, sheet = rows[int(k.group(1))]
                last = f"{column_letters(max(len(sheet.columns), 1) - 1)}{sheet.n_rows + 1}"
                head, sep, tail = data.decode("utf-8").partition("</sheetData>")
                if not sep:
                    raise ExportError(f"{path}: unexpected worksheet layout of {info.filename}")
                head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>',
                              head, count=1)
                data = (head + xml + sep + tail).encode("utf-8")
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED,
                         compresslevel=XLSX_COMPRESSLEVEL)


def _write_method(wb: Any, result: RunResult, title: str) -> None:
    ws = wb.add_worksheet("Méthode et sources")
    for j, w in enumerate(METHOD_WIDTHS):
        ws.set_column(j, j, w)
    styles = {
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "bold": wb.add_format({"bold": True}),
        "header": wb.add_format({"bold": True, "font_color": "#FFFFFF",
                                 "bg_color": "#" + HEADER_FILL}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "weight": wb.add_format({"num_format": "0.00", "valign": "top"}),
    }
    for i, (cells, style) in enumerate(method_rows(result)):
        for j, v in enumerate(cells):
            fmt = styles.get(style)
            if style == "criterion":
                fmt = styles["weight"] if j == 4 else styles["wrap"] if j in (1, 6, 8) else None
            elif style == "wrap" and j == 0:
                fmt = None
            if isinstance(v, (int, float)):
                ws.write_number(i, j, v, fmt)
            else:  # every text cell of the method sheet is text, never a formula
                ws.write_string(i, j, str(v), fmt)
    _page_setup(ws, title, repeat_header=False)


_SST_CONTROL = re.compile(r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
"""Texts that xlsxwriter's ``_escape_control_characters`` changes (the others it returns as
they are)."""


def _si_element(text: str) -> str:
    """The ``<si>`` element of one shared string, as xlsxwriter writes it.

    Control characters as ``_xHHHH_`` (xlsxwriter's own escape, for the rare texts that have
    one), ``xml:space="preserve"`` for leading or trailing whitespace, ``& < >`` escaped.
    Unlike xlsxwriter, a text that looks like a rich string (``<r>...</r>``) is escaped
    too: no text of the tables is a rich string, and raw markup from a data file would make
    the workbook unreadable.
    """
    if _SST_CONTROL.search(text):
        from xlsxwriter.sharedstrings import SharedStrings

        text = SharedStrings._escape_control_characters(text)
    attr = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<si><t{attr}>{text}</t></si>"


@functools.cache
def _workbook_class() -> Any:
    """``xlsxwriter.Workbook`` writing its shared-string table in one join.

    xlsxwriter writes each of the national workbook's 71,000 distinct texts with about ten
    Python calls (escapes, whitespace checks, a file write); :func:`_si_element` makes the
    same elements in a few. The hook is xlsxwriter's own: ``Workbook._get_packager``
    ("allows the default packager to be over-ridden"). xlsxwriter is imported on first use
    (``zoning travel-times`` never loads it).
    """
    import xlsxwriter
    from xlsxwriter.packager import Packager
    from xlsxwriter.sharedstrings import SharedStrings

    class _SharedStrings(SharedStrings):
        def _write_sst_strings(self) -> None:
            self.fh.write("".join(map(_si_element, self.string_table.string_array)))

    class _Packager(Packager):
        def _write_shared_strings_file(self) -> None:
            if not self.workbook.str_table.count:
                return
            sst = _SharedStrings()
            sst.string_table = self.workbook.str_table
            sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
            sst._assemble_xml_file()

    class _Workbook(xlsxwriter.Workbook):
        def _get_packager(self) -> Any:
            return _Packager()

    return _Workbook


def _write_xlsx(result: RunResult, epci: pd.DataFrame, communes: pd.DataFrame,
                path: Path) -> None:
    title = f"zoning — {result.region_name} — {fr_datetime(computed_at(result))}"
    # options: no text is ever turned into a formula, a link or a number
    buffer = io.BytesIO()
    wb = _workbook_class()(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False, "in_memory": True})
    fmts = _Formats(wb)
    labels = {"epci_siren": "SIREN de l'EPCI", **epci_column_labels(result)}
    rows: dict[int, tuple[str, SheetData]] = {}
    sheet = sheet_data(epci, labels, epci["selected"] if "selected" in epci else None)
    rows[1] = (_write_sheet(wb, fmts, "Classement des EPCI", sheet, title), sheet)
    com_sel = communes["epci_prioritaire"] if "epci_prioritaire" in communes else None
    sheet = sheet_data(communes, COMMUNE_LABELS, com_sel)
    rows[2] = (_write_sheet(wb, fmts, "Communes", sheet, title), sheet)
    _write_method(wb, result, title)
    for k, annex in enumerate(result.annexes, start=4):
        sheet = sheet_data(annex.frame, annex.labels)
        rows[k] = (_write_sheet(wb, fmts, annex.sheet[:31], sheet, title), sheet)
    wb.close()
    _splice_rows(buffer.getvalue(), rows, path)


# --------------------------------------------------------------------------- public


def table_jobs(result: RunResult, out_dir: str | Path, french_csv: bool = True) -> list[Job]:
    """The table files of a run and, for each, a function writing it to a given path."""
    check_result(result)
    out_dir = Path(out_dir)
    stem = slug(result)
    epci = epci_table(result)
    epci_fr = _french_missing(epci, result)
    communes = commune_table(result)
    labels = {"epci_siren": "SIREN de l'EPCI", **epci_column_labels(result)}
    units = {c.id: c.unit for c in result.criteria}
    jobs: list[Job] = [
        (out_dir / f"{stem}_epci.csv", lambda p: _write_csv(epci, p, units)),
        (out_dir / f"{stem}_communes.csv", lambda p: _write_csv(communes, p)),
    ]
    if french_csv:
        jobs += [
            (out_dir / f"{stem}_epci_fr.csv",
             lambda p: _write_csv_fr(epci_fr, labels, p, units)),
            (out_dir / f"{stem}_communes_fr.csv",
             lambda p: _write_csv_fr(communes, COMMUNE_LABELS, p)),
        ]
    for annex in result.annexes:
        jobs += _annex_jobs(annex, out_dir / f"{stem}_{annex.key}", french_csv)
    jobs.append((out_dir / f"{stem}.xlsx", lambda p: _write_xlsx(result, epci_fr, communes, p)))
    return jobs


SCENARIO_COLUMNS = ("epci_nom", "rang_avant", "rang_apres", "selection_avant", "selection_apres",
                    "mouvement", "part_au_dela_avant", "part_au_dela_apres",
                    "ecart_part_au_dela", "pop_au_dela_avant", "pop_au_dela_apres")


def scenario_job(result: RunResult, changes: pd.DataFrame, label: str,
                 out_dir: str | Path) -> Job:
    """``<stem>_scenario_epci.csv``: per EPCI, rank, selection and share beyond the threshold
    before and after a scenario (:func:`zoning.pipeline.run_scenario`), UTF-8, ``,``.

    The first line is a comment (``# scénario : ...``) naming the scenario.
    """
    frame = changes.reindex(columns=list(SCENARIO_COLUMNS))
    target = Path(out_dir) / f"{slug(result)}_scenario_epci.csv"

    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(f"# scénario : {label}\n")
            frame.to_csv(f, index_label="epci_siren", lineterminator="\n")

    return target, write


def _annex_jobs(annex: AnnexTable, base: Path, french_csv: bool) -> list[Job]:
    frame, labels = annex.frame, annex.labels
    jobs: list[Job] = [(base.with_name(base.name + ".csv"), lambda p: _write_csv(frame, p))]
    if french_csv:
        jobs.append((base.with_name(base.name + "_fr.csv"),
                     lambda p: _write_csv_fr(frame, labels, p)))
    return jobs


def run_jobs(jobs: Sequence[Job], name: str | None = None) -> list[Path]:
    """Write every file into a staging folder, then swap them all in together.

    All targets must share one folder (that of the first job) or go to the folder of a
    later job (committed in the same step, see :func:`zoning.atomic.output_set`). If any
    writer fails, no target is replaced and nothing is left behind.

    Parameters
    ----------
    jobs
        ``(target, writer)`` pairs; ``writer`` receives the staged path to write. A
        :class:`Background` writer runs in a worker thread started before the other jobs,
        and is waited for before anything is committed; its error is raised as theirs.
    name
        Name of the output set (default: the stem of the first target); members of the
        previous set of that name that these jobs no longer write are removed.

    Returns
    -------
    list of Path
        The targets, in the order of ``jobs``.

    Raises
    ------
    ExportError
        When a file cannot be written (folder not creatable or not writable, disk full, a
        folder in the way of a file).
    """
    if not jobs:
        return []
    out_dir = jobs[0][0].parent
    target = out_dir
    try:
        with output_set(out_dir, name or jobs[0][0].stem) as staged:
            cancelled = threading.Event()
            workers = [(t, _Worker(w, staged.path_for(t), cancelled)) for t, w in jobs
                       if isinstance(w, Background)]
            for _, worker in workers:  # started first: they wait for other processes
                worker.start()
            try:
                for t, worker in workers:  # an "ahead" writer's first part runs alone
                    worker.released.wait()
                    if worker.error is not None:
                        target = t
                        raise worker.error
                for target, write in jobs:
                    if not isinstance(write, Background):
                        write(staged.path_for(target))
            except BaseException:
                cancelled.set()
                raise
            finally:  # the set is committed (or removed) only once every worker is done
                for _, worker in workers:
                    try:  # an Event, not Thread.join: an interrupted join (CPython < 3.13)
                        worker.done.wait()  # may mark a running thread as stopped
                    except KeyboardInterrupt:  # Ctrl-C/SIGTERM while waiting: stop it first
                        cancelled.set()
                        worker.done.wait(JOIN_AFTER_INTERRUPT_S)
                        raise
            for t, worker in workers:
                if worker.error is not None:
                    target = t  # named in the message of an OSError
                    raise worker.error
    except ZoningError:
        raise
    except OSError as exc:
        raise ExportError(
            f"{target}: cannot write ({exc.strerror or exc}); no output was replaced "
            "(choose a writable output folder with --output)"
        ) from exc
    return [target for target, _ in jobs]


def ensure_output_dir(out_dir: str | Path, option: str = "--output") -> Path:
    """Create ``out_dir`` if needed and check that files can be created in it.

    Called before a long computation so that a bad ``--output`` fails at once.

    Parameters
    ----------
    out_dir
        The folder.
    option
        The option it came from, named in the message.

    Raises
    ------
    ExportError
        When the folder cannot be created or is not writable.
    PathEncodingError
        When its path is not valid UTF-8.
    """
    out = Path(out_dir)
    check_utf8_path(out, option)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ExportError(
            f"{out}: output folder not writable ({exc.strerror or exc}); choose another "
            f"folder with {option}"
        ) from exc
    return out


def write_tables(result: RunResult, out_dir: str | Path, french_csv: bool = True) -> list[Path]:
    """Write the ranked EPCI and commune tables (CSV, French CSV, XLSX) atomically.

    Parameters
    ----------
    result
        The run to write.
    out_dir
        Output folder (created if needed).
    french_csv
        Also write the ``;``-separated, decimal-comma variants (``*_fr.csv``).

    Returns
    -------
    list of Path
        The files written.
    """
    return run_jobs(table_jobs(result, out_dir, french_csv), name=f"{slug(result)}_tableaux")
