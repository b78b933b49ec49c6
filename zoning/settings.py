"""Settings read from the environment: the one place where ``zoning`` reads environment variables.

========================  ==================================================================
variable                  meaning
========================  ==================================================================
``ZONING_DATA_DIR``       data directory (``--data-dir`` wins; default ``data/geo``)
``ZONING_CACHE_DIR``      road-graph cache folder (default ``~/.cache/zoning``)
``ZONING_CHROMIUM``       Chromium executable for map screenshots and browser tests
                          (default: the first of ``chromium``, ``chromium-browser``... on PATH)
========================  ==================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from zoning.text import check_utf8_path

DATA_DIR_ENV = "ZONING_DATA_DIR"
CACHE_DIR_ENV = "ZONING_CACHE_DIR"
CHROMIUM_ENV = "ZONING_CHROMIUM"

ENVIRONMENT: dict[str, str] = {
    DATA_DIR_ENV: "data directory (overridden by --data-dir; default data/geo)",
    CACHE_DIR_ENV: "road-graph cache folder (default ~/.cache/zoning)",
    CHROMIUM_ENV: "Chromium executable for screenshots and browser tests (default: PATH)",
}
"""Every environment variable ``zoning`` reads, with its meaning (listed in the README)."""

DEFAULT_DATA_DIR = Path("data") / "geo"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def resolve_data_dir(option: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory to read from: ``--data-dir`` > ``$ZONING_DATA_DIR`` > ``data/geo``.

    Parameters
    ----------
    option
        Value of ``--data-dir`` (wins when given).

    Returns
    -------
    Path
        Not required to exist here: readers report each missing file with where to put it.

    Raises
    ------
    PathEncodingError
        When the path is not valid UTF-8.
    """
    if option:
        check_utf8_path(option, "--data-dir")
        return Path(option).expanduser()
    env = _env(DATA_DIR_ENV)
    if env:
        check_utf8_path(env, DATA_DIR_ENV)
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR


def cache_dir() -> Path:
    """Road-graph cache folder: ``$ZONING_CACHE_DIR``, else ``~/.cache/zoning``."""
    env = _env(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "zoning"


def chromium_override() -> str | None:
    """``$ZONING_CHROMIUM`` when set (a path or a command name), else None."""
    return _env(CHROMIUM_ENV)
