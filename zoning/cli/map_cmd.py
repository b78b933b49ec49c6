"""``zoning map`` (placeholder until the exports issue lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
