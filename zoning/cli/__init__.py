"""Command-line interface: thin wiring over the library.

Every :class:`~zoning.errors.ZoningError` becomes one line on stderr and exit
code 2; usage errors from click also exit with 2. No traceback reaches the user
unless ``-v -v`` is given.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from zoning import __version__, progress
from zoning.errors import ZoningError

log = logging.getLogger("zoning")


class ZoningGroup(click.Group):
    """Click group turning ZoningError (and a few built-ins from bad input) into exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZoningError as exc:
            if ctx.obj and ctx.obj.get("verbose", 0) >= 2:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("Interrupted: no output was left half-written.", err=True)
            sys.exit(130)


@click.group(cls=ZoningGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoning")
@click.option("-v", "--verbose", count=True, help="More messages (-v -v: show tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress display.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """zoning: find and explain medical deserts ("zones rouges") per EPCI from open data.

    Scores every EPCI of a region on the five criteria of the 2025 Pacte de lutte
    contre les déserts médicaux (GP accessibility APL, young doctors, ALD, travel
    time to emergencies, living standard), ranks them and selects priority zones.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    progress.set_quiet(quiet)
    level = logging.WARNING if quiet else (logging.INFO if verbose == 1 else
                                            logging.DEBUG if verbose >= 2 else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from zoning.cli import map_cmd, score_cmd, sources_cmd, travel_cmd

    for module in (sources_cmd, travel_cmd, score_cmd, map_cmd):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
