"""Where the data files are: ``--data-dir`` > ``ZONING_DATA_DIR`` > ``data/geo/``."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "ZONING_DATA_DIR"
DEFAULT_DATA_DIR = Path("data") / "geo"


def resolve_data_dir(option: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory to read from.

    Parameters
    ----------
    option
        Value of ``--data-dir`` (wins when given).

    Returns
    -------
    Path
        ``option``, else ``$ZONING_DATA_DIR``, else ``data/geo`` (relative to the
        current directory). The directory is not required to exist here: readers
        report each missing file with where to put it.
    """
    if option:
        return Path(option).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return DEFAULT_DATA_DIR
