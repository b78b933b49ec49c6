"""Hostile text in data: names a spreadsheet would run, escapes a terminal would obey."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from _tiny_run import tiny_result
from click.testing import CliRunner
from openpyxl import load_workbook

from zoning.cli import main
from zoning.exports import write_all
from zoning.text import formula_safe, formula_safe_frame, terminal_safe

FORMULAS = ['=HYPERLINK("http://evil.example","clic")', "+33 6 00 00 00 00", "-2+3",
            "@SUM(A1:A9)"]


def test_formula_safe() -> None:
    assert [formula_safe(v) for v in FORMULAS] == ["'" + v for v in FORMULAS]
    assert formula_safe("CC du Plateau") == "CC du Plateau"
    assert formula_safe(-3.5) == -3.5  # numbers stay numbers


def test_names_that_would_run_as_formulas_are_text_in_csv_and_xlsx(tmp_path: Path) -> None:
    r = tiny_result()
    epci = r.epci.copy()
    epci["epci_nom"] = FORMULAS
    written = write_all(replace(r, epci=epci), tmp_path)
    for key, sep in (("csv_epci", ","), ("csv_epci_fr", ";")):
        path = written[key]
        enc = "utf-8-sig" if key.endswith("_fr") else "utf-8"
        with open(path, encoding=enc, newline="") as fh:
            cells = [c for row in csv.reader(fh, delimiter=sep) for c in row]
        for name in FORMULAS:
            assert name not in cells and "'" + name in cells, (key, name)
        assert not [c for c in cells if c[:1] in ("=", "+", "@")], key
    wb = load_workbook(written["xlsx"])
    ws = wb["Classement des EPCI"]
    found = {c.value: c for row in ws.iter_rows() for c in row if c.value in FORMULAS}
    assert set(found) == set(FORMULAS)
    assert all(c.data_type == "s" and c.quotePrefix for c in found.values())
    # numbers are untouched: negative values stay numbers in the machine CSV
    table = pd.read_csv(written["csv_epci"], dtype={"epci_siren": str})
    assert pd.api.types.is_float_dtype(table["composite"])


ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b[31mCC Rouge\x1b[0m\rX\x08"


def test_terminal_safe() -> None:
    assert terminal_safe(ESCAPES) == "CC RougeX"
    assert terminal_safe("Évian\tles Bains\n") == "Évian\tles Bains\n"
    assert terminal_safe("a\udce9b") == "a\\udce9b"  # undecodable file name bytes


def test_escape_sequences_in_names_never_reach_the_terminal(tiny_data_dir: Path,
                                                            tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data)
    gpkg = data / "admin" / "epci_2025_fr.gpkg"
    epci = pyogrio.read_dataframe(gpkg, layer="epci_2025")
    epci["epci_nom"] = [f"\x1b[2J\x1b]0;pwned\x07\x1b[31mCC Rouge\x1b[0m\x08 {i}"
                        for i in range(len(epci))]
    pyogrio.write_dataframe(epci, gpkg, layer="epci_2025")
    res = CliRunner().invoke(main, ["-q", "score", "--no-travel", "--draws", "0", "--top", "2",
                                    "--no-export", "--data-dir", str(data)])
    assert res.exit_code == 0, res.output
    assert "CC Rouge 0" in res.stdout
    assert not any(ch in res.stdout for ch in "\x1b\x07\x08\r"), repr(res.stdout[:300])


@pytest.mark.parametrize("command", ["sources", "score"])
def test_escape_sequences_in_error_messages_are_stripped(command: str, tmp_path: Path) -> None:
    data = tmp_path / ("evil\x1b]0;pwned\x07dir")
    res = CliRunner().invoke(main, ["-q", command, "--data-dir", str(data), "--no-travel"]
                             if command == "score" else [command, "--data-dir", str(data)])
    assert res.exit_code == 2
    assert "\x1b" not in res.stderr and "\x07" not in res.stderr and "evil" in res.stderr


def test_formula_safe_frame_is_formula_safe_per_cell() -> None:
    """The whole-column version: the same cells as formula_safe on each, in text, pandas
    string and mixed columns and the index; numbers and missing values untouched."""
    frame = pd.DataFrame({
        "nom": FORMULAS + ["CC du Plateau", None],
        "texte": pd.array(["=1", None, "a", "\tb", "-c", "ok"], dtype="string"),
        "mixte": [-3.5, "=2", None, 4, "x", "+y"],
        "valeur": [-3.5, 1.0, 2.0, float("nan"), -1.0, 0.0],
    }, index=pd.Index(["=A1", "b", "@c", "d", "e", "f"], name="code"))
    safe = formula_safe_frame(frame)
    for col in frame.columns:
        want = [v if pd.isna(v) else formula_safe(v) for v in frame[col]]
        got = list(safe[col])
        assert [g if not pd.isna(g) else None for g in got] == \
            [w if not pd.isna(w) else None for w in want], col
    assert list(safe.index) == ["'=A1", "b", "'@c", "d", "e", "f"]
    assert safe.index.name == "code" and safe["texte"].dtype == frame["texte"].dtype
    assert safe["valeur"].reset_index(drop=True).equals(frame["valeur"].reset_index(drop=True))
    assert frame.at["=A1", "nom"] == FORMULAS[0]  # the input is left as it was


SST_TEXTS = ["CC du Plateau", "  espace devant", "espace derrière ", "\tonglet", "ligne\n",
             "A & B <C> \"D\"", "contrôle \x01\x1f", "_x0041_ littéral", "\ufffe\uffff",
             "Saint-Étienne", "", " ", "\u00a0insécable", "insécable\u00a0", "x" * 40]


def _shared_strings_xml(workbook_class: type, texts: list[str], path: Path) -> bytes:
    import zipfile

    wb = workbook_class(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                    "strings_to_numbers": False})
    ws = wb.add_worksheet("s")
    for i, text in enumerate(texts):
        ws.write_string(i, 0, text)
    wb.close()
    with zipfile.ZipFile(path) as z:
        return z.read("xl/sharedStrings.xml")


def test_shared_strings_written_as_xlsxwriter_writes_them(tmp_path: Path) -> None:
    """The workbook's shared-string table (written in one join, ``_si_element``) is the one
    xlsxwriter writes: escapes, control characters, whitespace kept."""
    import xlsxwriter

    from zoning.exports.tables import _workbook_class

    fast = _shared_strings_xml(_workbook_class(), SST_TEXTS, tmp_path / "fast.xlsx")
    ref = _shared_strings_xml(xlsxwriter.Workbook, SST_TEXTS, tmp_path / "ref.xlsx")
    assert fast == ref
    assert b'xml:space="preserve"' in fast and b"_x0001_" in fast and b"&amp;" in fast


def test_a_name_that_looks_like_rich_text_stays_text_in_xlsx(tmp_path: Path) -> None:
    """xlsxwriter writes a shared string ``<r>...</r>`` as raw markup (rich text); a name
    from a data file is escaped instead, so the workbook opens and shows it as typed."""
    names = ["<r><t>riche</t></r>", "<r><b></r>"]
    r = tiny_result()
    epci = r.epci.copy()
    epci["epci_nom"] = names + list(epci["epci_nom"].iloc[len(names):])
    written = write_all(replace(r, epci=epci), tmp_path)
    ws = load_workbook(written["xlsx"])["Classement des EPCI"]
    values = {c.value for row in ws.iter_rows() for c in row}
    assert set(names) <= values
