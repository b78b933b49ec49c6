"""``zoning score`` and ``zoning explain``."""

from __future__ import annotations

import click

from zoning.errors import ZoningError


@click.command()
def score() -> None:
    """Score, rank and select the priority EPCI of a region (not yet implemented)."""
    raise ZoningError("zoning score is not yet implemented (issue: scoring)")


COMMANDS: list[click.Command] = [score]
