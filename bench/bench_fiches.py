"""Time of the fiches' PDFs: one combined print split per EPCI vs one print per fiche.

Runs the real pipeline for a region (``zoning.pipeline.run``, real data in
``$ZONING_DATA_DIR``), then writes ``--n`` fiches (the first EPCI by rank) twice in the same
run, in one Chromium each:

- ``write_fiches`` (the product): all fiches in one document, printed once, split into one
  PDF per EPCI with pypdf;
- one print per fiche (the named alternative, what ``write_fiches`` did before): for each
  fiche ``page.goto`` + ``FIT_ONE_PAGE`` + ``page.pdf``.

It prints both times and their ratio, and checks that the files are the same in content:
every HTML identical, every PDF one A4 page with the same extracted text.

Usage: ``ZONING_DATA_DIR=../shared/data python bench/bench_fiches.py [--region 76] [--n 151]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pypdf

from zoning.exports import browser
from zoning.exports.fiche import FIT_ONE_PAGE, fiche_html, fiche_name, write_fiches
from zoning.results import RunResult
from zoning.settings import resolve_data_dir


def one_print_per_fiche(result: RunResult, folder: Path, sirens: Sequence[str]) -> list[Path]:
    """The alternative: each fiche loaded and printed on its own (the former writer)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for siren in sirens:
        h = folder / f"{fiche_name(result, siren)}.html"
        h.write_text(fiche_html(result, siren), encoding="utf-8")
        pages.append((h, h.with_suffix(".pdf")))
    with browser.session() as b:
        page = browser.offline_page(b, 794, 1123)
        page.emulate_media(media="print")
        for h, p in pages:
            page.goto(h.resolve().as_uri())
            page.evaluate(FIT_ONE_PAGE)
            browser.print_pdf(page, p, landscape=False)
    return [h for h, _ in pages] + [p for _, p in pages]


def _text(pdf: Path) -> str:
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 1, f"{pdf.name}: {len(reader.pages)} pages"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842), pdf.name
    return " ".join(reader.pages[0].extract_text().split())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default="76")
    ap.add_argument("--n", type=int, default=151, help="fiches written (151: the national run)")
    args = ap.parse_args()
    from zoning import pipeline
    from zoning.config import load_config

    result = pipeline.run(load_config(), resolve_data_dir(None), region=args.region).result
    sirens = [str(s) for s in result.epci.sort_values("rank").index[: args.n]]
    print(f"{len(sirens)} fiches of the real run (region {args.region})")
    with tempfile.TemporaryDirectory() as tmp:
        new_dir, old_dir = Path(tmp) / "new", Path(tmp) / "old"
        t = time.perf_counter()
        new = write_fiches(result, new_dir, sirens)
        t_new = time.perf_counter() - t
        t = time.perf_counter()
        old = one_print_per_fiche(result, old_dir, sirens)
        t_old = time.perf_counter() - t
        assert sorted(p.name for p in new) == sorted(p.name for p in old)
        differ = []
        for p in old:
            q = new_dir / p.name
            if p.suffix == ".html":
                assert p.read_bytes() == q.read_bytes(), p.name
            elif _text(p) != _text(q):
                differ.append(p.name)
        kb_old = sum(p.stat().st_size for p in old if p.suffix == ".pdf") / 1024
        kb_new = sum(p.stat().st_size for p in new if p.suffix == ".pdf") / 1024
    print(f"one print per fiche (alternative): {t_old:7.1f} s  ({t_old / len(sirens):.3f} s "
          f"per fiche, PDFs {kb_old:,.0f} KiB)")
    print(f"one combined print, split (zoning): {t_new:7.1f} s  ({t_new / len(sirens):.3f} s "
          f"per fiche, PDFs {kb_new:,.0f} KiB)")
    print(f"ratio: {t_old / t_new:.1f}x faster")
    print(f"same content: HTML identical, every PDF one A4 page, text differs in "
          f"{len(differ)} of {len(sirens)} PDFs {differ[:5] if differ else ''}")


if __name__ == "__main__":
    main()
