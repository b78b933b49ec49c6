"""Progress display for long steps: shown on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Turn progress bars off (``--quiet``) or back on."""
    global _quiet
    _quiet = quiet


def enabled() -> bool:
    """Whether progress is displayed: not quiet and stderr is a terminal."""
    return not _quiet and sys.stderr.isatty()


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar when :func:`enabled`."""
    if not enabled():
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr)


class step:
    """Context manager announcing one long step on stderr (terminal only).

    Examples
    --------
    >>> with step("Construction du graphe routier"):
    ...     pass
    """

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> step:
        if enabled():
            print(f"… {self.label}", file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if enabled() and exc[0] is None:
            print(f"✓ {self.label}", file=sys.stderr, flush=True)
