"""Errors raised by zoning.

Every error the user can cause derives from :class:`ZoningError` and from the
matching built-in (``ValueError``, ``FileNotFoundError``...), so that library
users can catch either. The CLI turns any ``ZoningError`` into one line on
stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable


class ZoningError(Exception):
    """Base class of every error zoning raises on bad input."""


class ConfigError(ZoningError, ValueError):
    """The criteria configuration file is invalid.

    Parameters
    ----------
    path
        The configuration file.
    problems
        Every problem found, each as ``"key.path: message"``.
    """

    def __init__(self, path: object, problems: Iterable[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        lines = "; ".join(self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} problem(s): {lines}")


class DataFileNotFoundError(ZoningError, FileNotFoundError):
    """A data file the run needs is not in the data directory."""


class DataFormatError(ZoningError, ValueError):
    """A data file exists but its content is not what the source catalogue expects."""


class TerritoryError(ZoningError, ValueError):
    """A region, EPCI or commune code is unknown or inconsistent."""


class RoutingError(ZoningError, ValueError):
    """The road network or the facilities cannot be routed on."""


class ScoringError(ZoningError, ValueError):
    """Scoring cannot proceed (missing criterion in strict mode, bad top N...)."""


class AmbiguousNameError(ZoningError, LookupError):
    """A name matches several EPCI; ``candidates`` lists them."""

    def __init__(self, message: str, candidates: Iterable[str]) -> None:
        self.candidates = list(candidates)
        super().__init__(message)


class DownloadError(ZoningError, OSError):
    """An official file could not be downloaded (offline machine, bad checksum...)."""


class ExportError(ZoningError, OSError):
    """An output file could not be written."""


class PathEncodingError(ZoningError, ValueError):
    """A path given on the command line or in the environment is not valid UTF-8."""
