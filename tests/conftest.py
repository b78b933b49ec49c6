"""Shared fixtures.

Integration tests (marker ``integration``) read the real files of the data
directory (``ZONING_DATA_DIR``, else ``../shared/data`` beside the checkout,
else ``data/geo``). Outside CI they are skipped when the data is absent; in CI
(``CI`` set) a missing data directory is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find_data_dir() -> Path | None:
    env = os.environ.get("ZONING_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT / "data" / "geo"]
    for c in candidates:
        if (c / "admin").is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data directory; fails in CI and skips elsewhere when absent."""
    found = _find_data_dir()
    if found is None:
        msg = (
            "real data directory not found: set ZONING_DATA_DIR to the folder holding "
            "admin/, health/, population/ and roads/ (here: ../shared/data)"
        )
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return found


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny hand-made data directory of ``tests/_tiny_data.py`` (read-only: never modify)."""
    from _tiny_data import make_data_dir

    return make_data_dir(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def tiny_data_copy(tiny_data_dir: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny data directory that a test may break."""
    import shutil

    target = tmp_path / "data"
    shutil.copytree(tiny_data_dir, target)
    return target


@pytest.fixture(scope="session")
def occitanie_run(data_dir: Path):  # type: ignore[no-untyped-def]
    """The real Occitanie run (161 EPCI, travel times, 100 sensitivity draws), once per session:
    the whole :class:`zoning.pipeline.Run` (``extra["travel"]``: its travel times and graph)."""
    from zoning import pipeline
    from zoning.config import load_config

    return pipeline.run(load_config(), data_dir, region="76", draws=100)


@pytest.fixture(scope="session")
def occitanie(occitanie_run):  # type: ignore[no-untyped-def]
    """The :class:`zoning.results.RunResult` of the session's Occitanie run."""
    return occitanie_run.result


@pytest.fixture(scope="session")
def outputs(occitanie, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Every file ``write_all`` writes for the Occitanie run, once per session."""
    from zoning.exports import write_all

    return write_all(occitanie, tmp_path_factory.mktemp("maps"))


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    """One headless Chromium (Playwright on the system browser) shared by a module's tests.

    Module scope, not session: Playwright's sync API runs an event loop in this thread, and
    while it is open no other code in the process (the fiches that ``score`` prints) can
    start its own Playwright."""
    from zoning.exports import browser

    with browser.session() as b:
        yield b


def _locate_or_install_chromium() -> tuple[str | None, str]:
    """The Chromium of the browser tests: ``$ZONING_CHROMIUM`` or PATH, else Debian's
    ``chromium`` installed with apt-get when this process may (root); (path or None, why)."""
    import shutil
    import subprocess
    import tempfile

    from zoning.errors import ExportError
    from zoning.exports.screenshot import find_chromium

    try:
        return find_chromium(), ""
    except ExportError as exc:
        why = str(exc)
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        return None, why + " (the tests install it themselves only as root with apt-get)"
    log = Path(tempfile.gettempdir()) / "zoning-tests-chromium-apt.log"
    with open(log, "w", encoding="utf-8") as fh:
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            if subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
                              ).returncode:
                return None, f"{why}; apt-get install chromium failed (see {log})"
    try:
        return find_chromium(), ""
    except ExportError as exc:
        return None, f"{exc} (after apt-get install chromium, see {log})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests need Chromium: located, or installed (root + apt-get) before they run.

    In CI a browser that cannot be found or installed stops the run (never a silent skip);
    elsewhere the browser tests are skipped with the reason.
    """
    browser_items = [i for i in items if i.get_closest_marker("browser")]
    if not browser_items:
        return
    path, why = _locate_or_install_chromium()
    if path is not None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"browser tests: no Chromium: {why}")
    skip = pytest.mark.skip(reason=f"no Chromium: {why}")
    for item in browser_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One graph cache for the session's France tests (CI starts with an empty cache)."""
    return tmp_path_factory.mktemp("graph-cache-france")


@pytest.fixture(scope="session")
def france_graph(data_dir: Path, graph_cache: Path):
    """The Travel Mapping graph of metropolitan France + 50 km, built once per session."""
    from zoning.config import load_config
    from zoning.traveltimes import load_network

    return load_network(data_dir, load_config(), cache_dir=graph_cache)


@pytest.fixture(scope="session")
def france_all(data_dir: Path):  # type: ignore[no-untyped-def]
    """``score --region all`` on the real files, once per session (no sensitivity draws).

    ``runs``: the national run (that of ``--region FR``) then the 13 regions
    (:func:`zoning.pipeline.run_all`); ``calls``: how many times it read the territory,
    loaded the road graph, computed travel times and ran a multi-source Dijkstra.
    """
    from collections import Counter
    from types import SimpleNamespace
    from typing import Any

    from zoning import pipeline, territory, traveltimes
    from zoning.config import load_config

    calls: Counter[str] = Counter()

    def counting(name: str, f: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return f(*args, **kwargs)
        return counted

    with pytest.MonkeyPatch.context() as mp:
        for module, name in ((territory, "load_territory"), (traveltimes, "load_network"),
                             (traveltimes, "compute_travel_times"),
                             (traveltimes, "nearest_facility")):
            mp.setattr(module, name, counting(name, getattr(module, name)))
        runs = pipeline.run_all(load_config(), data_dir, draws=0, prepare=True)
    return SimpleNamespace(runs=runs, calls=dict(calls))
