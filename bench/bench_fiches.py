"""Time of the fiches' PDFs: combined prints split per EPCI vs one print per fiche.

Runs the real pipeline for a region (``zoning.pipeline.run``, real data in
``$ZONING_DATA_DIR``), then writes ``--n`` fiches (the first EPCI by rank) twice in the same
run, in one Chromium each:

- ``write_fiches`` (the product): the fiches in documents of ``FICHES_PER_PRINT``, each
  printed once (the next built meanwhile) and split into one PDF per EPCI with pikepdf;
- one print per fiche (the named alternative, what ``write_fiches`` did before): for each
  fiche ``page.goto`` + ``FIT_ONE_PAGE`` + ``page.pdf``.

It prints both times and their ratio, and checks that the files are the same in content:
every HTML identical, every PDF one A4 page with the same extracted text.

``--parts`` measures instead what a fiche costs to build and to print at national scale
(``--region FR``: 151 fiches, strips of 1,232 EPCI), each against what the product did before,
in the same run:

- the "Répartition régionale" strips drawn as one path of distinct tick positions
  (:class:`zoning.exports.fiche.Strip`) against one ``<line>`` per EPCI (the former drawing,
  reproduced here): HTML bytes per fiche and seconds of the one combined Chromium print
  (load, fit, print), the rest of every page identical;
- ``fiche_html`` with the shared parts computed once (:func:`fiche_parts`, as
  ``write_fiches`` does) against ``fiche_html`` recomputing them for each fiche;
- the split of the combined PDF into one PDF per EPCI with pikepdf (qpdf, the product)
  against pypdf (the former writer), same text on every page.

``--overlap`` times the whole writing of the run's outputs (``pipeline.write_outputs``: the
GeoPackage, web map, tables, GeoTIFF and fiches, one output set) with the fiches job in a worker
thread beside the other writers (:class:`zoning.exports.tables.Background`, the product)
against the same job run in turn with the others (the alternative), ``--repeat`` times each,
alternating.

``--fit`` times the script fitting each fiche of the combined document to its page
(:data:`zoning.exports.fiche.FIT_EACH_FICHE`: every height read, then every zoom written, the
product) against the former script reading a height and writing a zoom section after section
(each read after a write lays the whole document out again), ``--repeat`` times each, alternating,
on the same document in one Chromium; both must set the same zoom on every fiche.

``--pages`` times ``write_fiches`` of the selected zones (151 with ``--region FR``) in one
Chromium, every document loaded into one reused page (:func:`zoning.exports.browser.reused_page`,
the product) against a new page per document (the alternative, what the product did before:
in the new headless Chromium each page opens a window with its own omnibox WebUI renderers),
``--repeat`` times each, alternating: wall seconds and busy core-seconds of the whole machine
(``/proc/stat``: this machine has 2 cores, so CPU spent beside the print slows the run's
other writers too).

Usage: ``ZONING_DATA_DIR=../shared/data python bench/bench_fiches.py [--region 76] [--n 151]``,
``ZONING_DATA_DIR=../shared/data python bench/bench_fiches.py --fit --region FR``,
``ZONING_DATA_DIR=../shared/data python bench/bench_fiches.py --parts --region FR`` and
``ZONING_DATA_DIR=../shared/data python bench/bench_fiches.py --overlap --region FR`` and
``ZONING_DATA_DIR=../shared/data python bench/bench_fiches.py --pages --region FR``
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pypdf

from zoning.exports import browser
from zoning.exports import fiche as fiche_mod
from zoning.exports.fiche import (
    FIT_EACH_FICHE,
    FIT_ONE_PAGE,
    TICK_STEP_PX,
    FicheParts,
    Strip,
    _split_pdf,
    combined_html,
    fiche_html,
    fiche_name,
    fiche_parts,
    write_fiches,
)
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


_STRIP = re.compile(r'<svg width="120"[^>]*aria-label="répartition régionale">.*?</svg>', re.S)


def one_line_per_epci(strip: Strip, values: np.ndarray, value: float) -> str:
    """The alternative strip: one ``<line>`` per EPCI (what ``strip_svg`` drew before)."""
    ticks = "".join(f'<line x1="{xi:.1f}" y1="4" x2="{xi:.1f}" y2="12" />'
                    for xi in np.atleast_1d(strip.x(values)))
    xv = float(strip.x(value))
    return ('<svg width="120" height="16" viewBox="0 0 120 16" role="img" '
            'aria-label="répartition régionale"><rect x="0" y="7.0" width="120" height="2" '
            f'fill="#eceff1"/><g stroke="#90a4ae" stroke-width="1">{ticks}</g>'
            f'<line x1="{xv:.1f}" y1="0" x2="{xv:.1f}" y2="16" stroke="#c62828" '
            'stroke-width="3"/></svg>')


def with_line_strips(page: str, siren: str, parts: FicheParts) -> str:
    """``page`` with each strip replaced by the one-line-per-EPCI drawing of the same values."""
    drawn = []
    for k in parts.criteria:
        v = k.values[parts.epci_pos[siren]]
        if k.meta.available and not np.isnan(v):
            vals = k.values[~np.isnan(k.values)]
            drawn.append(one_line_per_epci(k.strip, vals, float(v)))
    strips = _STRIP.findall(page)
    assert len(strips) == len(drawn), (siren, len(strips), len(drawn))
    # same meaning: every EPCI within half a grid step of a grey tick, same red tick
    for new, old in zip(strips, drawn, strict=True):
        ticks = np.array([float(x) for x in re.findall(r"M([0-9.]+),4v8", new)])
        xs = np.array([float(x) for x in re.findall(r'<line x1="([0-9.]+)" y1="4"', old)])
        assert np.abs(xs[:, None] - ticks[None, :]).min(axis=1).max() <= TICK_STEP_PX / 2 + 0.05
        red = re.compile(r'x1="([0-9.]+)" y1="0"')
        assert red.findall(new) == red.findall(old)
    it = iter(drawn)
    return _STRIP.sub(lambda _: next(it), page)


def print_combined(pages: Sequence[str], folder: Path) -> tuple[float, float, float, int]:
    """Seconds to load, fit and print the combined document (as ``write_fiches``); pages."""
    folder.mkdir(parents=True, exist_ok=True)
    doc, pdf = folder / "fiches.html", folder / "fiches.pdf"
    doc.write_text(combined_html(pages), encoding="utf-8")
    with browser.session() as b:
        page = browser.offline_page(b, 794, 1123)
        page.emulate_media(media="print")
        t0 = time.perf_counter()
        page.goto(doc.resolve().as_uri())
        t1 = time.perf_counter()
        page.evaluate(FIT_EACH_FICHE)
        t2 = time.perf_counter()
        browser.print_pdf(page, pdf, landscape=False)
        t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, len(pypdf.PdfReader(pdf).pages)


def bench_parts(result: RunResult, sirens: Sequence[str]) -> None:
    """Strips and shared parts at the scale of ``result`` against the former way."""
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    t = time.perf_counter()
    per_call = [fiche_html(result, s) for s in sirens]
    t_per_call = time.perf_counter() - t
    t = time.perf_counter()
    parts = fiche_parts(result)
    pages = [fiche_html(result, s, parts=parts) for s in sirens]
    t_shared = time.perf_counter() - t
    assert pages == per_call
    lines = [with_line_strips(p, s, parts) for p, s in zip(pages, sirens, strict=True)]
    assert [_STRIP.sub("", p) for p in pages] == [_STRIP.sub("", p) for p in lines]
    kb_new = sum(len(p.encode()) for p in pages) / len(pages) / 1024
    kb_old = sum(len(p.encode()) for p in lines) / len(lines) / 1024
    with tempfile.TemporaryDirectory() as tmp:
        old = print_combined(lines, Path(tmp) / "old")
        new = print_combined(pages, Path(tmp) / "new")
        split = bench_split(Path(tmp) / "new" / "fiches.pdf", len(sirens), Path(tmp))
    assert old[3] == new[3] == len(sirens), (old[3], new[3])
    n = len(sirens)
    print(f"{n} fiches, region {result.region_name}, strips of {len(result.epci)} EPCI")
    print(f"fiche HTML, one <line> per EPCI (alternative): {kb_old:6.0f} KiB per fiche")
    print(f"fiche HTML, one path of distinct ticks (zoning): {kb_new:6.0f} KiB per fiche "
          f"({kb_old / kb_new:.1f}x smaller)")
    for label, (load, fit, prt, _) in (("one <line> per EPCI (alternative)", old),
                                      ("one path of distinct ticks (zoning)", new)):
        print(f"combined print, {label}: {load + fit + prt:6.1f} s (load {load:.1f}, "
              f"fit {fit:.1f}, print {prt:.1f})")
    print(f"print ratio: {sum(old[:3]) / sum(new[:3]):.1f}x faster")
    print(f"fiche_html, parts recomputed per fiche (alternative): {t_per_call:6.2f} s")
    print(f"fiche_html, parts computed once (zoning): {t_shared:6.2f} s "
          f"({t_per_call / t_shared:.1f}x faster, same HTML)")
    t_pypdf, t_pike, kb_pypdf, kb_pike = split
    print(f"split into {n} PDFs, pypdf (alternative, the former writer): {t_pypdf:6.2f} s "
          f"({kb_pypdf:,.0f} KiB)")
    print(f"split into {n} PDFs, pikepdf (zoning): {t_pike:6.2f} s ({kb_pike:,.0f} KiB; "
          f"{t_pypdf / t_pike:.1f}x faster, same text on every page)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def bench_split(combined: Path, n: int, tmp: Path) -> tuple[float, float, float, float]:
    """Seconds and KiB of splitting ``combined`` per page with pypdf and with pikepdf."""
    old_dir, new_dir = tmp / "split-pypdf", tmp / "split-pikepdf"
    old_dir.mkdir()
    new_dir.mkdir()
    old = [old_dir / f"{i}.pdf" for i in range(n)]
    new = [new_dir / f"{i}.pdf" for i in range(n)]
    t = time.perf_counter()
    reader = pypdf.PdfReader(combined)
    for page, target in zip(reader.pages, old, strict=True):
        writer = pypdf.PdfWriter()
        writer.add_page(page)
        with target.open("wb") as f:
            writer.write(f)
    t_old = time.perf_counter() - t
    t = time.perf_counter()
    _split_pdf(combined, new)
    t_new = time.perf_counter() - t
    for a, b in zip(old, new, strict=True):
        assert _text(a) == _text(b), a.name
    return (t_old, t_new, sum(p.stat().st_size for p in old) / 1024,
            sum(p.stat().st_size for p in new) / 1024)


FIT_IN_TURN = """() => {
  var max = 1045, vh = window.innerHeight;
  document.querySelectorAll('section.fiche').forEach(function (s) {
    var h = Math.max(Math.round(s.getBoundingClientRect().height), vh);
    if (h > max) { s.style.zoom = (max / h).toFixed(3); }
  });
  return document.querySelectorAll('section.fiche').length;
}"""
"""The alternative: the former fit script, one height read and one zoom written in turn."""

_ZOOMS = """() => Array.prototype.map.call(document.querySelectorAll('section.fiche'),
  function (s) { return s.style.zoom; })"""


def bench_fit(pages: Sequence[str], repeat: int) -> None:
    """``FIT_EACH_FICHE`` against the former script on the same combined document."""
    scripts = {"height then zoom, section after section (alternative)": FIT_IN_TURN,
               "all heights, then all zooms (zoning)": FIT_EACH_FICHE}
    times: dict[str, list[float]] = {k: [] for k in scripts}
    zooms: dict[str, list[str]] = {}
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "fiches.html"
        doc.write_text(combined_html(pages), encoding="utf-8")
        with browser.session() as b:
            page = browser.offline_page(b, 794, 1123)
            page.emulate_media(media="print")
            for i in range(repeat):
                for label in list(scripts)[:: 1 if i % 2 == 0 else -1]:
                    page.goto(doc.resolve().as_uri())
                    t = time.perf_counter()
                    n = page.evaluate(scripts[label])
                    times[label].append(time.perf_counter() - t)
                    got = page.evaluate(_ZOOMS)
                    assert n == len(pages) == len(got), (n, len(pages), len(got))
                    assert zooms.setdefault(label, got) == got, label
    old, new = zooms.values()
    assert old == new, [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b][:5]
    best = {k: min(v) for k, v in times.items()}
    print(f"{len(pages)} fiches in one document, zoom set on {sum(z != '' for z in new)} "
          f"({len(set(new))} distinct values), the same with both scripts")
    for label, t in best.items():
        print(f"fit script, {label}: {t:6.2f} s (best of {repeat})")
    a, b = best.values()
    print(f"ratio: {a / b:.1f}x faster")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def bench_overlap(run_: object, repeat: int) -> None:
    """``write_outputs`` with the fiches in a worker thread against the fiches in turn."""
    from zoning import pipeline
    from zoning.exports.tables import Background

    real = fiche_mod.fiches_job

    def in_turn(result: RunResult, out_dir: str | Path) -> tuple[Path, object]:
        target, job = real(result, out_dir)
        assert isinstance(job, Background)
        return target, lambda p: job.write(p, threading.Event())

    times: dict[str, list[float]] = {"in turn (alternative)": [],
                                     "worker thread (zoning)": []}
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for label in list(times)[:: 1 if i % 2 == 0 else -1]:
                fiche_mod.fiches_job = in_turn if label.startswith("in turn") else real
                try:
                    t = time.perf_counter()
                    pipeline.write_outputs(run_, Path(tmp) / "out")  # type: ignore[arg-type]
                    times[label].append(time.perf_counter() - t)
                finally:
                    fiche_mod.fiches_job = real
                print(f"  {label}: {times[label][-1]:.1f} s", flush=True)
    best = {k: min(v) for k, v in times.items()}
    for label, t in best.items():
        print(f"write_outputs, fiches {label}: {t:6.1f} s (best of {repeat})")
    a, b = best.values()
    print(f"ratio: {a / b:.2f}x faster ({a - b:.1f} s less)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def _busy_core_s() -> float:
    """Busy core-seconds of the whole machine since boot (``/proc/stat``, all but idle and
    iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def bench_pages(result: RunResult, sirens: Sequence[str], repeat: int) -> None:
    """``write_fiches`` on one reused page against a new page per document."""
    real = browser.reused_page

    def new_page(b: object, width: int, height: int) -> object:
        return browser.offline_page(b, width, height)

    labels = {"a new page per document (alternative)": new_page,
              "one reused page (zoning)": real}
    wall: dict[str, list[float]] = {k: [] for k in labels}
    cpu: dict[str, list[float]] = {k: [] for k in labels}
    print(f"{len(sirens)} fiches, {-(-len(sirens) // fiche_mod.FICHES_PER_PRINT)} documents; "
          f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    texts: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp, browser.prelaunched() as chromium:
        chromium.call(lambda b: None)  # started before the first measure
        for i in range(repeat):
            for label in list(labels)[:: 1 if i % 2 == 0 else -1]:
                browser.reused_page = labels[label]  # type: ignore[assignment]
                try:
                    t, c = time.perf_counter(), _busy_core_s()
                    files = write_fiches(result, Path(tmp) / f"{i}-{len(texts)}", sirens,
                                         chromium=chromium)
                    wall[label].append(time.perf_counter() - t)
                    cpu[label].append(_busy_core_s() - c)
                finally:
                    browser.reused_page = real  # type: ignore[assignment]
                got = [_text(f) for f in files if f.suffix == ".pdf"]
                assert texts.setdefault(label, got) == got, label
                print(f"  {label}: {wall[label][-1]:.1f} s, {cpu[label][-1]:.1f} core-s",
                      flush=True)
    old, new = texts.values()
    assert old == new, "the PDFs' text differs"
    for label in labels:
        print(f"write_fiches, {label}: {min(wall[label]):6.1f} s, "
              f"{min(cpu[label]):5.1f} core-s (best of {repeat})")
    a, b = (min(wall[k]) for k in labels)
    ca, cb = (min(cpu[k]) for k in labels)
    print(f"ratio: {a / b:.2f}x faster, {ca / cb:.2f}x fewer core-seconds "
          f"({ca - cb:.1f} core-s less); the same text on every page")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default="76")
    ap.add_argument("--n", type=int, default=151, help="fiches written (151: the national run)")
    ap.add_argument("--parts", action="store_true",
                    help="strips and shared parts vs the former way (use with --region FR)")
    ap.add_argument("--overlap", action="store_true",
                    help="write_outputs, fiches in a worker thread vs in turn")
    ap.add_argument("--fit", action="store_true",
                    help="fit script: heights then zooms vs in turn (use with --region FR)")
    ap.add_argument("--pages", action="store_true",
                    help="fiche prints on one reused page vs a new page per document")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs of each (--overlap, --fit, --pages)")
    args = ap.parse_args()
    from zoning import pipeline
    from zoning.config import load_config

    run_ = pipeline.run(load_config(), resolve_data_dir(None), region=args.region)
    if args.overlap:
        bench_overlap(run_, args.repeat)
        return
    result = run_.result
    sel = result.epci["selected"].fillna(False).astype(bool)
    if args.parts:
        bench_parts(result, [str(s) for s in result.epci.index[sel]][: args.n])
        return
    if args.pages:
        bench_pages(result, [str(s) for s in result.epci.index[sel]][: args.n], args.repeat)
        return
    if args.fit:
        parts = fiche_parts(result)
        bench_fit([fiche_html(result, str(s), parts=parts)
                   for s in result.epci.index[sel][: args.n]], args.repeat)
        return
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
