"""The road-graph cache repairs itself: checksum verified, damaged files rebuilt, no cache
when the folder is not writable (one note each, never a traceback or a crash)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from _files import write_lines

from zoning.routing import graph as graph_mod
from zoning.routing.graph import graph_from_line_layer, save_graph

SPEEDS = {"motorway": 108.0, "national": 72.0, "departmental": 36.0}
CLASSES = ["motorway", "national", "national", "departmental", "departmental"]


@pytest.fixture
def roads(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "roads.gpkg", CLASSES)


def build(roads: Path, cache: Path) -> graph_mod.RoadGraph:
    return graph_from_line_layer(roads, "road_class", SPEEDS, 1.25, layer="edges",
                                 cache_dir=cache)


def cached_file(cache: Path) -> Path:
    (npz,) = cache.glob("graph-lines-*.npz")
    return npz


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_checksum_written_beside_the_graph(roads: Path, tmp_path: Path) -> None:
    build(roads, tmp_path / "cache")
    npz = cached_file(tmp_path / "cache")
    digest = npz.with_name(npz.name + ".sha256").read_text(encoding="utf-8").split()[0]
    assert digest == graph_mod.file_sha256(npz)


def _truncate(npz: Path) -> None:
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])


def _flip_one_byte(npz: Path) -> None:
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))


def _inconsistent(npz: Path) -> None:
    """A well-formed file, with its checksum, whose edges point past the node list."""
    g = graph_mod.load_graph(npz)
    g.v[0] = 10**6
    save_graph(g, npz)


def _checksum_removed(npz: Path) -> None:
    npz.with_name(npz.name + ".sha256").unlink()


@pytest.mark.parametrize("damage", [_truncate, _flip_one_byte, _inconsistent,
                                    _checksum_removed],
                         ids=["truncated", "altered", "inconsistent", "no-checksum"])
def test_damaged_cache_is_rebuilt_with_one_note(damage: object, roads: Path, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    first = build(roads, cache)
    npz = cached_file(cache)
    damage(npz)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="zoning"):
        again = build(roads, cache)
    notes = warnings_of(caplog)
    assert len(notes) == 1 and "damaged road-graph cache, rebuilt" in notes[0], notes
    np.testing.assert_array_equal(first.time_s, again.time_s)
    # repaired: the next run reads the cache silently
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zoning"):
        build(roads, cache)
    assert warnings_of(caplog) == []
    graph_mod.verify_graph_file(cached_file(cache))


def test_cache_path_that_is_a_file_means_no_cache(roads: Path, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """An unwritable cache (a file where the folder should be; works as root too)."""
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="zoning"):
        g = build(roads, blocker / "sub")
    assert g.n_nodes == 4
    notes = warnings_of(caplog)
    assert len(notes) == 1 and "ZONING_CACHE_DIR" in notes[0]
    assert blocker.read_text(encoding="utf-8") == "not a folder"
