"""One headless Chromium (Debian ``chromium``, driven by Playwright) for PDFs and pictures.

Playwright's own browser download is not used: the browser is the system Chromium found by
:func:`zoning.exports.screenshot.find_chromium` (``$ZONING_CHROMIUM`` first). Pages open with
the network blocked (file URLs only): the maps and fiches carry everything they need.
A caller that renders many pages (every fiche of a run) opens ONE session and reuses it;
``zoning score`` starts it ahead (:class:`Prelaunched`), while the run is computed.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from zoning.errors import ExportError
from zoning.exports.screenshot import find_chromium

T = TypeVar("T")

LAUNCH_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-dev-shm-usage")
"""Chromium flags: headless, no sandbox (containers, CI as root), nothing phoning home."""

A4_LANDSCAPE_PX = (1123, 794)
"""A4 landscape at the CSS 96 dpi (297 x 210 mm)."""


@contextmanager
def session(timeout_s: float = 60.0) -> Iterator[Any]:
    """A Playwright ``Browser`` on the system Chromium, closed on exit.

    Raises
    ------
    ExportError
        When Playwright is not installed, or Chromium is missing or does not start.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ExportError("PDF output needs the Python package playwright "
                          "(pip install playwright); the browser itself is the system "
                          "Chromium (Debian: apt-get install chromium)") from None
    exe = find_chromium()
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=exe, args=list(LAUNCH_ARGS),
                                         timeout=timeout_s * 1000)
        except PlaywrightError as exc:
            raise ExportError(f"Chromium ({exe}) did not start: {str(exc).splitlines()[0]}"
                              ) from None
        try:
            yield browser
        finally:
            browser.close()


class Prelaunched:
    """One Chromium started ahead, in its own thread, for prints asked later from any thread.

    Playwright's sync API must be driven from the thread that started it. This thread starts
    Playwright and Chromium at once (about a second of Chromium's own start-up, while the
    caller computes the run), then runs each :meth:`submit` / :meth:`call` in turn until
    :meth:`close`. ``zoning score`` starts one before the pipeline and prints the fiches of
    every output set with it (``--region all``: 14 sets, one Chromium).

    Parameters
    ----------
    timeout_s
        Start-up timeout of Chromium.
    """

    def __init__(self, timeout_s: float = 60.0) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[Any], Any], Future[Any]] | None] = (
            queue.SimpleQueue())
        self._started: Future[None] = Future()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, args=(timeout_s,), daemon=True,
                                        name="zoning-chromium")
        self._thread.start()

    def _serve(self, timeout_s: float) -> None:
        try:
            with session(timeout_s) as b:
                self._started.set_result(None)
                while (job := self._jobs.get()) is not None:
                    fn, fut = job
                    if fut.set_running_or_notify_cancel():
                        try:
                            fut.set_result(fn(b))
                        except BaseException as exc:  # raised again in the caller's thread
                            fut.set_exception(exc)
        except BaseException as exc:  # Playwright or Chromium missing, Chromium did not start
            if not self._started.done():
                self._started.set_exception(exc)
        finally:
            with self._lock:  # a call asked while it was closing: told so, never left waiting
                self._closed = True
                while not self._jobs.empty():
                    job = self._jobs.get()
                    if job is not None and job[1].set_running_or_notify_cancel():
                        job[1].set_exception(ExportError("Chromium was closed before printing"))

    def submit(self, fn: Callable[[Any], T]) -> Future[T]:
        """Queue ``fn(browser)`` to run in the browser's thread, after the calls queued before;
        its future gives the result or raises its error. Raises at once the error of
        Chromium's start-up (e.g. an :class:`ExportError`)."""
        self._started.result()
        fut: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise ExportError("Chromium was closed before printing")
            self._jobs.put((fn, fut))
        return fut

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(browser)`` in the browser's thread and return its result (or raise its
        error, or that of Chromium's start-up)."""
        return self.submit(fn).result()

    def close(self, timeout_s: float = 30.0) -> None:
        """Close Chromium once the calls asked before are done."""
        self._jobs.put(None)
        self._thread.join(timeout_s)


@contextmanager
def prelaunched(enabled: bool = True) -> Iterator[Prelaunched | None]:
    """A :class:`Prelaunched` Chromium for the block (None when not ``enabled``), closed at
    its end, also on error or interruption."""
    if not enabled:
        yield None
        return
    chromium = Prelaunched()
    try:
        yield chromium
    finally:
        chromium.close()


def offline_page(browser: Any, width: int, height: int, *, mobile: bool = False,
                 scale: float = 1.0) -> Any:
    """A new page (own context) with every non-file request aborted."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile,
                              has_touch=mobile, device_scale_factor=scale, locale="fr-FR")

    def route(r: Any) -> None:
        if r.request.url.startswith(("file:", "data:", "about:")):
            r.continue_()
        else:
            r.abort()

    ctx.route("**/*", route)
    return ctx.new_page()


_REUSED: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], Any]] = (
    weakref.WeakKeyDictionary())


def reused_page(browser: Any, width: int, height: int) -> Any:
    """The :func:`offline_page` of ``browser`` at this viewport, opened once and reused.

    Successive documents (the fiches' prints) are loaded into the same page: each new page
    opens a window, and the new headless Chromium starts two omnibox WebUI renderers with
    every window (``bench/bench_fiches.py --pages`` measures what reusing the page saves).
    Navigating to the next document replaces the whole DOM; the viewport, the blocked
    network and the emulated media stay. Call from the browser's thread only; after a
    failed print, :func:`discard_page` so that the next print starts afresh.
    """
    pages = _REUSED.setdefault(browser, {})
    page = pages.get((width, height))
    if page is None or page.is_closed():
        page = pages[(width, height)] = offline_page(browser, width, height)
    return page


def discard_page(browser: Any, page: Any) -> None:
    """Close a :func:`reused_page` (after an error) so that the next call opens a new one."""
    from playwright.sync_api import Error as PlaywrightError

    pages = _REUSED.get(browser, {})
    for key in [k for k, v in pages.items() if v is page]:
        del pages[key]
    try:
        page.context.close()
    except PlaywrightError:  # Chromium already gone: nothing left to close
        pass


def print_pdf(page: Any, pdf_path: Path, *, landscape: bool) -> None:
    """Print the loaded page to an A4 PDF (print CSS, backgrounds kept).

    Raises
    ------
    ExportError
        One line naming the PDF when Chromium fails to print (crash, timeout: a Playwright
        error, whose call log is left out).
    """
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.emulate_media(media="print")
        page.pdf(path=str(pdf_path), format="A4", landscape=landscape, print_background=True,
                 prefer_css_page_size=True)
    except PlaywrightError as exc:
        raise ExportError(f"{pdf_path}: Chromium could not print the page "
                          f"({str(exc).splitlines()[0]}); run again") from None


def map_pdf(html_path: str | Path, pdf_path: str | Path, timeout_s: float = 120.0) -> Path:
    """Print the web map to a static one-page A4 landscape PDF (atomically).

    The page's print style sheet hides the interactive controls and shows the title, the
    legend (unfolded), the scale bar, a north arrow and the sources; the region is refitted
    to the page before printing.

    Raises
    ------
    ExportError
        When the map file is missing, Chromium fails, or the page never becomes ready.
    """
    from zoning.atomic import atomic_path

    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise ExportError(f"{html_path}: map file not found (write it first with zoning map)")
    pdf_path = Path(pdf_path)
    with session() as b:
        page = offline_page(b, *A4_LANDSCAPE_PX, scale=2.0)
        try:
            page.goto(html_path.as_uri(), timeout=timeout_s * 1000)
            page.wait_for_selector("body[data-zoning-ready='1']", timeout=timeout_s * 1000)
        except Exception as exc:  # playwright's TimeoutError / Error
            raise ExportError(f"{html_path}: the map did not load in Chromium ({exc})") from None
        try:
            page.emulate_media(media="print")
            page.evaluate("() => window.zoningMapApi.beforePrint()")
            page.wait_for_timeout(300)
        except Exception as exc:  # playwright's Error: Chromium crashed after the load
            raise ExportError(f"{html_path}: Chromium could not prepare the map for print "
                              f"({str(exc).splitlines()[0]})") from None
        with atomic_path(pdf_path) as tmp:
            print_pdf(page, tmp, landscape=True)
    return pdf_path
