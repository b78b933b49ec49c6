"""``zoning travel-times`` (placeholder until the routing issue lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
