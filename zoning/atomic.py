"""Atomic file writes: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    If the block raises (or the process is killed), ``target`` keeps its previous
    content and the temporary file is removed (on exception), so a failed run
    never leaves a half-written output behind.

    Parameters
    ----------
    target
        Final path of the output file.

    Yields
    ------
    Path
        A path in the same directory (same file system, so the rename is atomic),
        with the same suffix as ``target`` so that drivers choose the right format.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let writers create it (some drivers refuse an existing empty file)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"writer produced no file for {target}")
        os.replace(tmp, target)
    finally:
        sidecars = [tmp.with_name(tmp.name + s) for s in ("-journal", "-wal", "-shm")]
        for leftover in (tmp, *sidecars):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
