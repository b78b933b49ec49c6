"""``zoning fiche``: one A4 page per EPCI, HTML and PDF, on the tiny run built in code."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from _tiny_run import EVIL, tiny_result
from click.testing import CliRunner

from zoning.cli import main
from zoning.errors import ExportError
from zoning.exports import write_geopackage
from zoning.exports._common import MISSING
from zoning.exports.fiche import _split_pdf, fiche_html, strip_svg, write_fiches


def _text(pdf: Path) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(pdf).pages)


def test_fiche_html_content_and_escaping() -> None:
    r = tiny_result()
    page = fiche_html(r, "200000003")  # the EPCI whose name is a script tag
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Rang <b>1 / 4</b>" in page and "<b>zone prioritaire</b>" in page
    assert "1,40 consultations/an/hab. standardisé" in page
    assert f'class="missing" colspan="3">{MISSING}<' in page  # ALD: said, never filled
    assert page.count("<svg") == 5  # four criterion strips + the travel-time map
    assert "Saint-Évil &lt;b&gt;gras&lt;/b&gt;" in page


def test_strip_puts_the_unfavourable_side_right() -> None:
    import pandas as pd

    vals = pd.Series([1.0, 2.0, 3.0])
    worse = strip_svg(vals, 1.0, "higher_is_better")  # lowest APL: most unfavourable
    better = strip_svg(vals, 3.0, "higher_is_better")

    def red_x(svg: str) -> float:
        return float(svg.split('stroke="#c62828"')[0].rsplit('x1="', 1)[1].split('"')[0])

    assert red_x(worse) > red_x(better)


def test_fiche_pdf_is_one_a4_page(tmp_path: Path) -> None:
    r = tiny_result(evil_name=False)
    files = write_fiches(r, tmp_path, ["200000001", "200000003"])
    pdfs = [f for f in files if f.suffix == ".pdf"]
    assert len(pdfs) == 2
    for pdf in pdfs:
        reader = pypdf.PdfReader(pdf)
        assert len(reader.pages) == 1
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    text = _text(next(p for p in pdfs if "200000003" in p.name))
    for needle in ("CC des Monts", "Rang 1 / 4", "Les cinq critères", MISSING,
                   "Sources et précautions", "Saint-Évil <b>gras</b>"):
        assert needle in text, needle
    assert "CC du Plateau" not in text  # its own page only, not its neighbour's
    assert not list(tmp_path.glob(".*"))  # the combined document is not left behind
    # a combined print whose page count is not the fiche count is refused, not split
    with pytest.raises(ExportError, match="1 pages for 2 fiches"):
        _split_pdf(pdfs[0], [tmp_path / "a.pdf", tmp_path / "b.pdf"])


def test_fiche_command_by_name(tmp_path: Path) -> None:
    gpkg = write_geopackage(tiny_result(evil_name=False), tmp_path / "zoning_76.gpkg")
    res = CliRunner().invoke(main, ["fiche", "Vallée", "--from", str(gpkg), "-o",
                                    str(tmp_path)])
    assert res.exit_code == 0, res.output
    pdf = next((tmp_path / "fiches").glob("fiche_200000002_*.pdf"))
    assert "CA de la Vallée" in _text(pdf)
    assert not list((tmp_path / "fiches").glob(".*"))  # no temporary left behind
