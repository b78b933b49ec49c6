"""``zoning fiche``: one A4 page per EPCI, HTML and PDF, on the tiny run built in code."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pypdf
import pytest
from _tiny_run import EVIL, tiny_result
from click.testing import CliRunner

from zoning.cli import main
from zoning.errors import ExportError
from zoning.exports import write_geopackage
from zoning.exports._common import MISSING
from zoning.exports.fiche import (
    FIT_EACH_FICHE,
    TICK_STEP_PX,
    Strip,
    _split_pdf,
    combined_html,
    fiche_html,
    fiche_parts,
    strip_svg,
    write_fiches,
)


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


def _ticks(svg: str) -> list[float]:
    d = svg.split('<path d="', 1)[1].split('"', 1)[0]
    moves = re.findall(r"M([0-9.]+),4v8", d)
    assert "".join(f"M{x},4v8" for x in moves) == d  # nothing else in the path
    return [float(x) for x in moves]


def _red(svg: str) -> float:
    red = re.search(r'<line x1="([0-9.]+)" y1="0" x2="([0-9.]+)" y2="16" stroke="#c62828"', svg)
    assert red and red.group(1) == red.group(2) and svg.endswith("</svg>")
    assert svg.index("<path") < red.start()  # the red tick is drawn last: on top
    return float(red.group(1))


def test_strip_ticks_one_path_of_distinct_positions() -> None:
    import pandas as pd

    # 1.0 and 1.0001 are 0.006 px apart on the 114 px scale: one tick; NaN is no tick
    vals = pd.Series([1.0, 1.0, 1.0001, 2.0, 3.0, float("nan")])
    svg = strip_svg(vals, 2.0, "higher_is_worse")
    assert _ticks(svg) == [3.0, 60.0, 117.0]
    assert _red(svg) == 60.0
    assert svg.count("<line") == 1 and svg.count("<path") == 1
    flipped = strip_svg(vals, 1.0001, "higher_is_better")
    assert _ticks(flipped) == [3.0, 60.0, 117.0] and _red(flipped) == 117.0
    assert strip_svg(vals, float("nan"), "higher_is_worse") == ""
    assert strip_svg(pd.Series([float("nan")]), 1.0, "higher_is_worse") == ""


def test_strip_national_scale_is_compact_and_faithful() -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(15)
    vals = pd.Series(rng.lognormal(3.0, 0.4, 1232))  # one value per EPCI of France
    strip = Strip(vals, "higher_is_worse")
    ticks = np.array(_ticks(strip.svg(float(vals.iloc[7]))))
    assert len(ticks) == len(np.unique(ticks)) <= 114 / TICK_STEP_PX + 1
    assert len(ticks) < 0.5 * len(vals) and len(strip.svg(1.0)) < 6000
    assert np.all(np.diff(ticks) > 0)
    # every EPCI is within half a grid step of a tick, and every tick is some EPCI's
    x = strip.x(vals.to_numpy())
    gap = np.abs(x[:, None] - ticks[None, :])
    assert gap.min(axis=1).max() <= TICK_STEP_PX / 2 + 1e-9
    assert gap.min(axis=0).max() <= TICK_STEP_PX / 2 + 1e-9
    assert _red(strip.svg(float(vals.iloc[7]))) == pytest.approx(x[7], abs=0.05)


def test_fiche_parts_give_the_same_page() -> None:
    r = tiny_result()
    parts = fiche_parts(r)
    assert set(parts.commune_rows) == set(r.communes["epci_siren"].astype(str))
    for siren in r.epci.index.astype(str):
        assert fiche_html(r, siren, parts=parts) == fiche_html(r, siren)


def test_map_paths_draw_every_ring_of_every_polygon_part() -> None:
    """The map's path data, built for all shapes in one pass, is each polygon part's rings
    (exterior, then holes) as ``M x,y L ... Z``, one string per shape; non-polygon parts and
    empty shapes draw nothing."""
    import numpy as np
    import shapely

    from zoning.exports.fiche import _paths

    holed = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)],
                            [[(2, 2), (4, 2), (4, 4), (2, 4)]])
    multi = shapely.MultiPolygon([shapely.box(20, 0, 21, 1), shapely.box(30, 0, 31.25, 1)])
    mixed = shapely.GeometryCollection([shapely.LineString([(0, 0), (1, 1)]),
                                        shapely.box(40, 0, 41, 1)])
    shapes = np.array([holed, shapely.Polygon(), multi, mixed], dtype=object)

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([xy[:, 0] * 2, 100 - xy[:, 1]])

    def one_ring(ring: shapely.LinearRing) -> str:  # the plain per-ring reference
        pts = tx(np.asarray(ring.coords))
        return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts.tolist()) + "Z"

    def reference(geom: shapely.Geometry) -> str:
        polys = [g for g in getattr(geom, "geoms", [geom])
                 if g.geom_type == "Polygon" and not g.is_empty]
        return "".join(one_ring(r) for p in polys for r in [p.exterior, *p.interiors])

    got = _paths(shapes, tx)
    assert got == [reference(g) for g in shapes]
    assert got[0].count("M") == 2 and got[1] == "" and got[2].count("Z") == 2
    assert "62.5,99.0" in got[2] and got[3].startswith("M82.0,100.0")
    assert _paths(np.array([shapely.Polygon()], dtype=object), tx) == [""]


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
    # a print that is not a PDF: one clear error, no traceback from the PDF library
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 cut short")
    with pytest.raises(ExportError, match="not a readable PDF"):
        _split_pdf(broken, [tmp_path / "c.pdf"])
    assert not (tmp_path / "c.pdf").exists()



@pytest.mark.browser
def test_each_fiche_of_the_combined_document_zoomed_from_its_own_height(
        tmp_path: Path) -> None:
    """``FIT_EACH_FICHE`` reads every section's height, then writes every zoom: each fiche gets
    the zoom of its own height before any zoom (a long fiche more shrunk than the others)."""
    from zoning.exports import browser

    r = tiny_result(evil_name=False)
    pages = [fiche_html(r, s) for s in r.epci.index.astype(str)]
    pages[1] = pages[1].replace("</body>", '<div style="height:700px"></div></body>')
    doc = tmp_path / "fiches.html"
    doc.write_text(combined_html(pages), encoding="utf-8")
    each = "() => Array.prototype.map.call(document.querySelectorAll('section.fiche'), {})"
    with browser.session() as b:
        page = browser.offline_page(b, 794, 1123)
        page.emulate_media(media="print")
        page.goto(doc.resolve().as_uri())
        heights = page.evaluate(each.format("function (s) { return s.getBoundingClientRect()"
                                            ".height; }"))
        vh = page.evaluate("() => window.innerHeight")
        assert page.evaluate(FIT_EACH_FICHE) == len(pages) == len(heights) == 4
        zooms = page.evaluate(each.format("function (s) { return s.style.zoom; }"))
    want = [round(1045 / max(math.floor(h + 0.5), vh), 3) for h in heights]  # Math.round
    assert [float(z) for z in zooms] == want
    assert heights[1] > max(heights[0], heights[2]) + 600 and want[1] < min(want) + 1e-9


def test_fiche_command_by_name(tmp_path: Path) -> None:
    gpkg = write_geopackage(tiny_result(evil_name=False), tmp_path / "zoning_76.gpkg")
    res = CliRunner().invoke(main, ["fiche", "Vallée", "--from", str(gpkg), "-o",
                                    str(tmp_path)])
    assert res.exit_code == 0, res.output
    pdf = next((tmp_path / "fiches").glob("fiche_200000002_*.pdf"))
    assert "CA de la Vallée" in _text(pdf)
    assert not list((tmp_path / "fiches").glob(".*"))  # no temporary left behind


def test_fiches_printed_in_a_worker_thread_all_or_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fiches job runs in a worker thread (Playwright started there) beside the other
    writers; a fiche that fails leaves every previous output in place."""
    from _files import snapshot

    from zoning.exports import fiche as fiche_mod
    from zoning.exports import write_all
    from zoning.exports.tables import Background

    r = tiny_result(evil_name=False)
    job = fiche_mod.fiches_job(r, tmp_path)
    assert isinstance(job[1], Background)
    write_all(r, tmp_path, extra_jobs=[job])
    pdfs = sorted((tmp_path / "fiches").glob("*.pdf"))
    assert pdfs and len(pdfs) == len(list((tmp_path / "fiches").glob("*.html")))
    assert all(len(pypdf.PdfReader(p).pages) == 1 for p in pdfs)
    before = snapshot(tmp_path)

    def split_fails(combined: Path, targets: list[Path]) -> None:
        targets[0].write_bytes(b"%PDF half")
        raise ExportError(f"{combined}: the combined fiches printed on 3 pages (simulated)")

    monkeypatch.setattr(fiche_mod, "_split_pdf", split_fails)
    with pytest.raises(ExportError, match="simulated"):
        write_all(tiny_result(), tmp_path, extra_jobs=[fiche_mod.fiches_job(r, tmp_path)])
    assert snapshot(tmp_path) == before


def test_fiche_map_outline_is_the_epci_polygon() -> None:
    """The black outline of the fiche's map is the EPCI's own polygon (simplified like the
    communes), not a union of the simplified communes; without an EPCI polygon the map
    falls back to that union."""
    import shapely

    from zoning.exports.fiche import epci_outline, map_svg

    r = tiny_result(evil_name=False)
    siren = "200000003"
    page = fiche_html(r, siren)
    drawn = re.findall(r'<path d="([^"]+)" fill="none" stroke="#111"', page)
    assert len(drawn) == 1
    com = r.communes[r.communes["epci_siren"].astype(str) == siren]
    sites = r.facilities.iloc[:0]
    geom = epci_outline(r.epci, siren)
    assert geom is not None and shapely.equals(geom, r.epci.geometry.loc[siren])
    rings = shapely.get_rings(shapely.get_parts(shapely.simplify(geom, 60.0)))
    assert drawn[0].count("M") == len(rings)
    assert drawn[0].count("L") == int(shapely.get_num_coordinates(rings).sum()) - len(rings)
    # a square outline unlike the communes' union shows that the given polygon is drawn
    box = shapely.box(*shapely.total_bounds(com.geometry.values))
    square = map_svg(com, sites, outline=box)
    outline = re.findall(r'<path d="([^"]+)" fill="none" stroke="#111"', square)[0]
    assert outline.count("L") == 4  # 5 points of a closed square
    assert epci_outline(r.epci.drop(columns="geometry").copy(), siren) is None
    fallback = map_svg(com, sites)
    assert 'stroke="#111"' in fallback


def test_a_prelaunched_chromium_prints_every_output_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``zoning score`` starts Chromium before the run (:class:`browser.Prelaunched`): that
    one browser, driven from its own thread, prints the fiches of every output set
    (``--region all``: 14), and no other Chromium is started."""
    import threading

    from zoning.exports import browser, write_all
    from zoning.exports import fiche as fiche_mod

    started: list[str] = []
    real = browser.session

    def counted(*args: object, **kwargs: object) -> object:
        started.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(browser, "session", counted)
    r = tiny_result(evil_name=False)
    with browser.prelaunched() as chromium:
        assert chromium is not None
        for name in ("a", "b"):
            out = tmp_path / name
            write_all(r, out, extra_jobs=[fiche_mod.fiches_job(r, out, chromium)])
        # an error of a print is raised in the caller's thread; the browser goes on serving
        with pytest.raises(ZeroDivisionError):
            chromium.call(lambda b: 1 / 0)
        assert chromium.call(lambda b: threading.current_thread().name) == "zoning-chromium"
    assert started == ["zoning-chromium"]
    for name in ("a", "b"):
        pdfs = sorted((tmp_path / name / "fiches").glob("*.pdf"))
        assert len(pdfs) == 2 and all(len(pypdf.PdfReader(p).pages) == 1 for p in pdfs)
    with pytest.raises(ExportError, match="closed before printing"):
        chromium.call(lambda b: None)
    with browser.prelaunched(False) as none:
        assert none is None


def test_a_prelaunched_chromium_that_cannot_start_says_so_at_the_print(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Chromium: the run is not stopped at start; the fiches' print fails with the one
    message naming the variable to fix, as without prelaunching."""
    from zoning.exports import browser

    monkeypatch.setenv("ZONING_CHROMIUM", str(tmp_path / "no-chromium"))
    with browser.prelaunched() as chromium:
        assert chromium is not None
        with pytest.raises(ExportError, match="ZONING_CHROMIUM=.*is not an executable"):
            chromium.call(lambda b: None)


def test_fiches_printed_in_batches_while_the_next_are_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fiches go to Chromium :data:`FICHES_PER_PRINT` at a time (a document printed while
    the next is built): every fiche on its own page; a print that fails stops the others and
    leaves no temporary document."""
    from zoning.exports import browser
    from zoning.exports import fiche as fiche_mod

    monkeypatch.setattr(fiche_mod, "FICHES_PER_PRINT", 1)
    r = tiny_result(evil_name=False)
    prints: list[str] = []
    real = browser.print_pdf

    def counted(page: object, pdf_path: Path, **kwargs: object) -> None:
        prints.append(pdf_path.name)
        real(page, pdf_path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(browser, "print_pdf", counted)
    files = write_fiches(r, tmp_path / "ok", ["200000001", "200000003"])
    assert prints == ["fiches-0.pdf", "fiches-1.pdf"]
    pdfs = [f for f in files if f.suffix == ".pdf"]
    assert [p.name[:15] for p in pdfs] == ["fiche_200000001", "fiche_200000003"]
    assert "CC des Monts" in _text(pdfs[1]) and "CC des Monts" not in _text(pdfs[0])
    assert not list((tmp_path / "ok").glob(".*"))

    prints.clear()

    def first_fails(page: object, pdf_path: Path, **kwargs: object) -> None:
        prints.append(pdf_path.name)
        raise ExportError("Chromium crashed (simulated)")

    monkeypatch.setattr(browser, "print_pdf", first_fails)
    with pytest.raises(ExportError, match="simulated"):
        write_fiches(r, tmp_path / "ko", ["200000001", "200000003"])
    assert prints == ["fiches-0.pdf"]  # the second print, queued, was skipped
    assert not list((tmp_path / "ko").glob(".*"))

    # Chromium itself failing (a Playwright error): one ExportError line, no traceback
    from playwright.sync_api import Error as PlaywrightError

    def crashes(page: object, pdf_path: Path, **kwargs: object) -> None:
        raise PlaywrightError("Target crashed\nCall log: ...")

    monkeypatch.setattr(browser, "print_pdf", crashes)
    with pytest.raises(ExportError, match=r"Chromium could not print the fiches \(Target "
                                          r"crashed\); no output was replaced") as err:
        write_fiches(r, tmp_path / "crash", ["200000001", "200000003"])
    assert "Call log" not in str(err.value)
    assert not list((tmp_path / "crash").glob(".*"))


def test_fiches_printed_on_one_reused_page_a_new_one_after_a_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every document of a run's fiches is loaded into the same page of the shared Chromium
    (a new page opens a window, with its own omnibox renderers); a failed print closes that
    page, and the next print, in the same Chromium, starts on a fresh one."""
    from zoning.exports import browser
    from zoning.exports import fiche as fiche_mod

    monkeypatch.setattr(fiche_mod, "FICHES_PER_PRINT", 1)
    r = tiny_result(evil_name=False)
    pages: list[object] = []
    real = browser.print_pdf
    fail = {"now": False}

    def recorded(page: object, pdf_path: Path, **kwargs: object) -> None:
        pages.append(page)
        if fail["now"]:
            raise ExportError("Chromium crashed (simulated)")
        real(page, pdf_path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(browser, "print_pdf", recorded)
    with browser.prelaunched() as chromium:
        assert chromium is not None
        sirens = ["200000001", "200000002", "200000003"]
        write_fiches(r, tmp_path / "a", sirens, chromium=chromium)
        write_fiches(r, tmp_path / "b", sirens[:1], chromium=chromium)
        assert len(pages) == 4 and all(p is pages[0] for p in pages)  # one page, 2 runs
        fail["now"] = True
        with pytest.raises(ExportError, match="simulated"):
            write_fiches(r, tmp_path / "c", sirens[:1], chromium=chromium)
        assert chromium.call(lambda b: pages[-1].is_closed())  # type: ignore[attr-defined]
        fail["now"] = False
        files = write_fiches(r, tmp_path / "d", sirens[:1], chromium=chromium)
        assert pages[-1] is not pages[0]
        assert not chromium.call(lambda b: pages[-1].is_closed())  # type: ignore[attr-defined]
    assert _text(next(f for f in files if f.suffix == ".pdf")).count("CC") >= 1


def test_a_chromium_failing_to_print_is_one_line_naming_the_pdf(tmp_path: Path) -> None:
    """Every print (fiches, ``zoning map --pdf``) goes through ``browser.print_pdf``: a
    Playwright error there (Chromium crashed, timed out) is one ExportError line naming the
    PDF, without Playwright's call log."""
    from playwright.sync_api import Error as PlaywrightError

    from zoning.exports import browser

    class CrashingPage:
        def emulate_media(self, media: str) -> None:
            assert media == "print"

        def pdf(self, **kwargs: object) -> None:
            raise PlaywrightError("Target page, context or browser has been closed\n"
                                  "Call log:\n  - waiting for ...")

    with pytest.raises(ExportError, match=r"carte\.pdf: Chromium could not print the page "
                                          r"\(Target page, context or browser has been "
                                          r"closed\); run again$") as err:
        browser.print_pdf(CrashingPage(), tmp_path / "carte.pdf", landscape=True)
    assert "Call log" not in str(err.value)
    assert not (tmp_path / "carte.pdf").exists()
