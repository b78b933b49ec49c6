"""Command-line interface: thin wiring over the library.

Every :class:`~zoning.errors.ZoningError` becomes one line on stderr and exit
code 2; usage errors from click also exit with 2. No traceback reaches the user
unless ``-v -v`` is given.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, TextIO

import click

from zoning import __version__, atomic, progress
from zoning.errors import ZoningError
from zoning.text import terminal_safe

log = logging.getLogger("zoning")


class Terminated(KeyboardInterrupt):
    """SIGTERM (sent by ``timeout``, systemd, CI) handled like Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


class SafeStdout:
    """Standard output that drops terminal escape sequences and control characters.

    Names printed by the commands come from data files; a name holding ``ESC [2J`` or an
    OSC sequence must not clear or retitle the user's terminal.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("text stream")  # click probes binary streams with write(b"")
        self._stream.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _interrupted_message(exc: KeyboardInterrupt) -> str:
    what = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
    if atomic.COMMITTED_SETS:
        places = ", ".join(dict.fromkeys(str(p) for p in atomic.COMMITTED_SETS))
        return (f"Interrupted ({what}) after the outputs were written in full to {places}; "
                "nothing is half-written.")
    return (f"Interrupted ({what}): no output was replaced; the previous files are "
            "unchanged and no temporary file is left.")


class ZoningGroup(click.Group):
    """Click group turning ZoningError (and a few built-ins from bad input) into exit code 2.

    SIGTERM is handled like Ctrl-C (exit 143 and 130); standard output is cleaned of
    terminal escape sequences coming from data.
    """

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        """Like click's, but a usage error is one line: ``Error: ... (see 'zoning X -h')``."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} -h')" if exc.ctx is not None else ""
            click.echo(terminal_safe(f"Error: {exc.format_message()}{hint}").replace("\n", " "),
                       err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(terminal_safe(f"Error: {exc.format_message()}").replace("\n", " "),
                       err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        atomic.COMMITTED_SETS.clear()
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
        stdout = sys.stdout
        sys.stdout = SafeStdout(stdout)
        try:
            return super().invoke(ctx)
        except ZoningError as exc:
            if ctx.obj and ctx.obj.get("verbose", 0) >= 2:
                raise
            click.echo(terminal_safe(f"Error: {exc}").replace("\n", " "), err=True)
            sys.exit(2)
        except KeyboardInterrupt as exc:
            click.echo(_interrupted_message(exc), err=True)
            sys.exit(143 if isinstance(exc, Terminated) else 130)
        finally:
            sys.stdout = stdout
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


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


def run() -> None:
    """The ``zoning`` command (console script): :func:`main`, then an immediate exit.

    Once a command has returned, its outputs are committed and only the interpreter's
    teardown is left: freeing one by one the objects a national run leaves in modules and
    threads, about half a second. The streams are flushed and the process exits at once with
    the command's exit code (mypy does the same). In-process callers (tests, ``CliRunner``)
    use :func:`main`.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # sys.exit("message"): printed, exit code 1
        print(code, file=sys.stderr)
    status = code if isinstance(code, int) else 0 if code is None else 1
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(status)


def _register() -> None:
    from zoning.cli import calibrate_cmd, fiche_cmd, map_cmd, score_cmd, sources_cmd, travel_cmd

    for module in (sources_cmd, travel_cmd, score_cmd, calibrate_cmd, map_cmd, fiche_cmd):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
