"""Options shared by several commands."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from zoning.config import DRAWS_WHY, MAX_DRAWS, MAX_SEED

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


class FiniteFloatRange(click.FloatRange):
    """A float range that also refuses ``nan`` and ``inf`` (``nan`` passes every comparison)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give a number in the range "
                      f"{self._describe_range()}", param, ctx)
        return super().convert(number, param, ctx)


class DrawsRange(click.IntRange):
    """``--draws``: 0..MAX_DRAWS, saying why there is a bound."""

    def __init__(self) -> None:
        super().__init__(min=0, max=MAX_DRAWS)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        number = click.INT.convert(value, param, ctx)
        if number > MAX_DRAWS:
            self.fail(f"{number}: at most {MAX_DRAWS} draws, because {DRAWS_WHY}", param, ctx)
        return super().convert(number, param, ctx)


def draws_option(f: F) -> F:
    """``--draws``: Monte-Carlo draws of the sensitivity analysis, bounded."""
    return click.option("--draws", type=DrawsRange(), default=None,
                        help=f"Monte-Carlo draws of the sensitivity analysis, 0 to {MAX_DRAWS} "
                        "(default: config).")(f)


def seed_option(f: F) -> F:
    """``--seed``: a non-negative random seed."""
    return click.option("--seed", type=click.IntRange(0, MAX_SEED), default=None,
                        help="Random seed, a non-negative integer (default: config run.seed)."
                        )(f)
