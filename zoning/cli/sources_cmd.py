"""``zoning sources`` and ``zoning fetch`` (placeholder until the foundation lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
