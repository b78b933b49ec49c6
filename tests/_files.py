"""Folder snapshots for the output-set tests."""

from __future__ import annotations

from pathlib import Path


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` (hidden ones too): file bytes, or "<dir>"."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = "<dir>" if p.is_dir() else p.read_bytes()
    return out
