"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def data_dir_option(f: F) -> F:
    """``--data-dir``: overrides ``ZONING_DATA_DIR`` and the default ``data/geo``."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default: $ZONING_DATA_DIR, else data/geo).",
    )(f)


def config_option(f: F) -> F:
    """``--config``: the criteria TOML file."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Criteria configuration (default: config/criteria.toml).",
    )(f)


def region_option(f: F) -> F:
    """``--region``: an INSEE region code, or FR for metropolitan France."""
    return click.option(
        "--region",
        default=None,
        help="INSEE region code (76 = Occitanie) or FR for metropolitan France "
        "(default: run.region of the config).",
    )(f)


def output_option(f: F) -> F:
    """``--output``: the output folder."""
    return click.option(
        "--output",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("maps"),
        show_default=True,
        help="Output folder.",
    )(f)
