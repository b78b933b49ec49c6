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

import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

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

HEADER_FILL = PatternFill("solid", fgColor="263238")
SELECTED_FILL = PatternFill("solid", fgColor="FDE0DD")
MISSING_FONT = Font(italic=True, color="777777")

COMMUNE_COLUMNS = ("nom", "dep", "epci_siren", "population", "t_urgence_min", "t_su_min",
                   "t_smur_min", "nom_urgence", "finess_urgence", "nom_su", "finess_su",
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


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    # a name starting with = + - @ would run as a formula when the CSV is opened
    formula_safe_frame(df).to_csv(path, encoding="utf-8", index=True, lineterminator="\n")


PERCENT_COLUMNS: tuple[str, ...] = ("probability",)
"""0..1 shares shown in percent in the French CSV, like the XLSX, the map and explain."""


def _write_csv_fr(df: pd.DataFrame, labels: dict[str, str], path: Path) -> None:
    df = df.copy()
    labels = dict(labels)
    for col in PERCENT_COLUMNS:
        if col in df.columns:
            df[col] = df[col].astype("float64") * 100.0
            labels[col] = f"{labels.get(col, col)} (%)"
    formula_safe_frame(_french(df, labels)).to_csv(
        path, sep=";", decimal=",", encoding="utf-8-sig", index=False, na_rep=MISSING,
        lineterminator="\r\n")


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


def _fill_sheet(ws: Worksheet, df: pd.DataFrame, labels: dict[str, str],
                highlight: pd.Series | None = None) -> None:
    flat = df.reset_index()
    cols = list(flat.columns)
    ws.append([labels.get(c, c) for c in cols])
    formats = [_number_format(c, flat[c]) for c in cols]
    rows = flat.astype(object).to_numpy()
    for row in rows:  # openpyxl writes cell by cell
        ws.append([_cell_value(v) for v in row])
    # a text from data starting with = + - @ must stay text, never become a formula: a
    # string cell, with the "quote prefix" that keeps it text when the user edits it
    for j, c in enumerate(cols, start=1):
        if flat[c].dtype == object or pd.api.types.is_string_dtype(flat[c]):
            starts = flat[c].astype("string").str.startswith(FORMULA_START).fillna(False)
            for i in np.flatnonzero(starts.to_numpy()):
                cell = ws.cell(row=int(i) + 2, column=j)
                cell.data_type = "s"
                cell.quotePrefix = True
    for j, c in enumerate(cols, start=1):
        letter = get_column_letter(j)
        head = ws.cell(row=1, column=j)
        head.font = Font(bold=True, color="FFFFFF")
        head.fill = HEADER_FILL
        head.alignment = Alignment(wrap_text=True, vertical="center")
        text_len = flat[c].astype(str).str.len()
        width = max(10.0, min(48.0, float(text_len.quantile(0.95)) + 2 if len(flat) else 10.0))
        if formats[j - 1] is not None:
            width = max(10.0, min(width, 16.0))
        ws.column_dimensions[letter].width = width
        fmt = formats[j - 1]
        for cell in ws.iter_rows(min_row=2, min_col=j, max_col=j):
            cl = cell[0]
            if cl.value == MISSING:
                cl.font = MISSING_FONT
            elif fmt is not None:
                cl.number_format = fmt
    ws.row_dimensions[1].height = 48
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions
    if highlight is not None:
        mask = highlight.reindex(df.index).fillna(False).astype(bool).to_numpy()
        for i in np.flatnonzero(mask):
            for cl in ws[int(i) + 2]:
                cl.fill = SELECTED_FILL


def _method_sheet(ws: Worksheet, result: RunResult) -> None:
    bold = Font(bold=True)
    ws.column_dimensions["A"].width = 34
    for col in "BCDEFGHI":
        ws.column_dimensions[col].width = 22
    ws.column_dimensions["B"].width = 60
    ws.append([f"zoning — zones prioritaires « déserts médicaux » — {result.region_name}"])
    ws["A1"].font = Font(bold=True, size=14)
    n_sel = int(result.epci["selected"].fillna(False).astype(bool).sum())
    ws.append(["Région", f"{result.region_name} ({result.region})"])
    ws.append(["Date du calcul", fr_datetime(computed_at(result))])
    ws.append(["Version de zoning", version(result)])
    ws.append(["Configuration", str(result.params.get("config_path", ""))])
    ws.append(["EPCI classés / zones prioritaires", f"{len(result.epci)} / {n_sel}"])
    ws.append([])
    ws.append(["Méthode"])
    ws.cell(row=ws.max_row, column=1).font = bold
    for line in (
        "Chaque critère est orienté (1 = plus vulnérable) puis normalisé entre 0 et 1.",
        "Le score composite est la moyenne pondérée des scores normalisés des critères "
        "disponibles (poids renormalisés quand un critère manque).",
        ranking_sentence(result),
        "Probabilité de sélection : part des tirages de l'analyse de sensibilité (poids et "
        "normalisation tirés au hasard) où l'EPCI est retenu ; rangs 5e et 95e centiles sur "
        "ces tirages ; robustesse : « robuste », « limite » ou « hors zone ».",
    ):
        ws.append(["", line])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True)
    ws.append([])
    header = ["Critère", "Libellé", "Unité", "Sens", "Poids", "Disponible", "Source",
              "Millésime", "Note"]
    ws.append(header)
    hr = ws.max_row
    for j in range(1, len(header) + 1):
        ws.cell(row=hr, column=j).font = Font(bold=True, color="FFFFFF")
        ws.cell(row=hr, column=j).fill = HEADER_FILL
    for c in result.criteria:
        ws.append([c.id, c.label, c.unit,
                   "plus élevé = plus vulnérable" if c.direction == "higher_is_worse"
                   else "plus bas = plus vulnérable",
                   c.weight, "oui" if c.available else f"non — {MISSING}", c.source,
                   c.vintage or MISSING, c.note])
        ws.cell(row=ws.max_row, column=5).number_format = "0.00"
        for j in (2, 7, 9):
            ws.cell(row=ws.max_row, column=j).alignment = Alignment(wrap_text=True)
    ws.append([])
    ws.append(["Sources et millésimes"])
    ws.cell(row=ws.max_row, column=1).font = bold
    for line in sources_lines(result):
        ws.append(["", line])
    ws.append([])
    ws.append(["Notes"])
    ws.cell(row=ws.max_row, column=1).font = bold
    for line in missing_criteria_notes(result):
        ws.append(["", line])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True)
    for section in result.sections:
        ws.append([])
        ws.append([section.title])
        ws.cell(row=ws.max_row, column=1).font = bold
        for line in section.lines:
            ws.append(["", line])
            ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True)
    if result.raster_path:
        # the file name only (it lies beside the workbook): no path of the machine
        ws.append(["Raster des temps de trajet", Path(result.raster_path).name])


def _write_xlsx(result: RunResult, epci: pd.DataFrame, communes: pd.DataFrame,
                path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Classement des EPCI"
    labels = {"epci_siren": "SIREN de l'EPCI", **epci_column_labels(result)}
    _fill_sheet(ws, epci, labels, highlight=epci["selected"] if "selected" in epci else None)
    _fill_sheet(wb.create_sheet("Communes"), communes, COMMUNE_LABELS)
    _method_sheet(wb.create_sheet("Méthode et sources"), result)
    for annex in result.annexes:
        _fill_sheet(wb.create_sheet(annex.sheet[:31]), annex.frame, annex.labels)
    wb.save(path)


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
    jobs: list[Job] = [
        (out_dir / f"{stem}_epci.csv", lambda p: _write_csv(epci, p)),
        (out_dir / f"{stem}_communes.csv", lambda p: _write_csv(communes, p)),
    ]
    if french_csv:
        jobs += [
            (out_dir / f"{stem}_epci_fr.csv", lambda p: _write_csv_fr(epci_fr, labels, p)),
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
        ``(target, writer)`` pairs; ``writer`` receives the staged path to write.
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
            for target, write in jobs:
                write(staged.path_for(target))
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
