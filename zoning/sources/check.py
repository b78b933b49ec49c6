"""Checking and fetching the data directory: every catalogued file validated by its reader
(``zoning sources``), official files downloaded with checksum verification (``zoning fetch``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from zoning import progress
from zoning.atomic import atomic_path, file_sha256
from zoning.errors import DataFileNotFoundError, DataFormatError, DownloadError
from zoning.sources.catalogue import SOURCES, Source
from zoning.sources.readers import source_rows

DEFAULT_TIMEOUT_S = 15.0
"""Network timeout of a download (seconds)."""

STATUS_FOUND = "présent"
STATUS_MISSING = "absent"
STATUS_OPTIONAL = "absent (facultatif)"
STATUS_INVALID = "INVALIDE"


def check_sources(data_dir: Path) -> list[tuple[Source, str, int | None, str]]:
    """Check every catalogued file of ``data_dir``.

    Returns
    -------
    list of (source, status, rows, problem)
        ``status`` is ``présent``, ``absent``, ``absent (facultatif)`` or ``INVALIDE``
        (French: shown in the table);
        ``problem`` is the error message (empty when found).
    """
    out: list[tuple[Source, str, int | None, str]] = []
    for src in progress.progress(SOURCES, desc="Vérification des sources", total=len(SOURCES)):
        try:
            rows = source_rows(src.id, data_dir)
        except DataFileNotFoundError as exc:
            status = STATUS_MISSING if src.required else STATUS_OPTIONAL
            out.append((src, status, None, str(exc)))
            continue
        except DataFormatError as exc:
            out.append((src, STATUS_INVALID, None, str(exc)))
            continue
        out.append((src, STATUS_FOUND, rows, ""))
    return out


def download_source(src: Source, data_dir: Path, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """Download the official file of ``src`` into ``data_dir`` (checksum-verified).

    Parameters
    ----------
    src
        The catalogue entry.
    data_dir
        The data directory (the file goes to ``src.path(data_dir)``, written atomically).
    timeout
        Network timeout in seconds.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    DownloadError
        When the source has no direct download (a derived file), the network fails,
        or the checksum does not match.
    """
    import pooch

    if src.derived or not src.download_url:
        raise DownloadError(
            f"{src.path(data_dir)}: source '{src.id}' is a derivation of official products and "
            f"cannot be downloaded as is: {src.fix_hint(data_dir)}"
        )
    target = src.path(data_dir)
    with tempfile.TemporaryDirectory(prefix="zoning-fetch-") as tmp:
        processor = pooch.Unzip(members=[src.archive_member]) if src.archive_member else None
        known = f"sha256:{src.sha256}" if (src.sha256 and not src.archive_member) else None
        try:
            fetched = pooch.retrieve(
                src.download_url,
                known_hash=known,
                path=tmp,
                processor=processor,
                downloader=pooch.HTTPDownloader(timeout=timeout,
                                                progressbar=progress.enabled()),
            )
        except Exception as exc:  # network errors, HTTP errors, checksum mismatch
            raise DownloadError(
                f"{target}: download of source '{src.id}' from {src.download_url} failed "
                f"({type(exc).__name__}: {str(exc)[:200]}); {src.fix_hint(data_dir)}"
            ) from None
        path = Path(fetched[0] if isinstance(fetched, list) else fetched)
        if src.sha256 and file_sha256(path) != src.sha256:
            raise DownloadError(
                f"{target}: checksum mismatch for source '{src.id}' (expected sha256 "
                f"{src.sha256}); the publisher may have released a new version: check "
                f"{src.url}"
            )
        with atomic_path(target) as part:
            shutil.copyfile(path, part)
    return target
