"""Output sets (zoning.atomic): a run's files replace the previous ones together or not at all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _files import snapshot

from zoning import atomic
from zoning.atomic import atomic_path, output_set, recover
from zoning.errors import ExportError


def write_set(folder: Path, run: str, names: tuple[str, ...] = ("a.csv", "b.html"),
              with_dir: bool = False) -> list[Path]:
    with output_set(folder, "demo") as s:
        for n in names:
            s.path(n).write_text(f"{n} {run}", encoding="utf-8")
        if with_dir:
            s.path("fiches/x.txt").write_text(f"fiche {run}", encoding="utf-8")
    return s.written


def test_set_is_committed_whole(tmp_path: Path) -> None:
    written = write_set(tmp_path, "1", with_dir=True)
    assert sorted(p.name for p in written) == ["a.csv", "b.html", "fiches"]
    assert (tmp_path / "fiches" / "x.txt").read_text(encoding="utf-8") == "fiche 1"
    manifest = json.loads((tmp_path / ".zoning-set-demo.json").read_text(encoding="utf-8"))
    assert manifest["members"] == ["a.csv", "b.html", "fiches"]
    write_set(tmp_path, "2", with_dir=True)
    assert {p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file()
            and not p.name.startswith(".")} == {"a.csv 2", "b.html 2", "fiche 2"}
    # nothing else in the folder: no staging folder, no previous files
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".zoning-set-demo.json", "a.csv", "b.html", "fiches"]


def test_failure_while_writing_replaces_nothing(tmp_path: Path) -> None:
    write_set(tmp_path, "1")
    before = snapshot(tmp_path)
    for exc in (OSError("disk full (simulated)"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), output_set(tmp_path, "demo") as s:
            s.path("a.csv").write_text("half", encoding="utf-8")
            raise exc
        assert snapshot(tmp_path) == before


def test_stale_members_of_the_previous_set_are_removed(tmp_path: Path) -> None:
    write_set(tmp_path, "1", names=("a.csv", "b.html", "scenario.csv"))
    (tmp_path / "mine.txt").write_text("not ours", encoding="utf-8")
    with output_set(tmp_path, "demo") as s:
        s.path("a.csv").write_text("a 2", encoding="utf-8")
    assert s.removed == [tmp_path / "b.html", tmp_path / "scenario.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".zoning-set-demo.json", "a.csv", "mine.txt"]


def test_folder_in_the_way_is_refused_before_anything_moves(tmp_path: Path) -> None:
    write_set(tmp_path, "1")
    (tmp_path / "b.html").unlink()
    (tmp_path / "b.html").mkdir()
    (tmp_path / "b.html" / "keep.txt").write_text("user file", encoding="utf-8")
    before = snapshot(tmp_path)
    with pytest.raises(ExportError, match=r"b\.html is a folder.*no output was replaced"):
        write_set(tmp_path, "2")
    assert snapshot(tmp_path) == before


def test_failed_rename_during_the_swap_is_undone(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A rename refused half-way (a file locked by another program) puts everything back."""
    write_set(tmp_path, "1", names=("a.csv", "b.html", "c.xlsx"))
    (tmp_path / "a.csv-wal").write_text("journal of a", encoding="utf-8")
    before = snapshot(tmp_path)
    real = os.rename
    calls = {"n": 0}

    def flaky(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 7:  # previous files (4 + manifest) moved out, one new file moved in
            raise PermissionError(13, "Permission denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "rename", flaky)
    with pytest.raises(ExportError, match="no output was replaced, the previous files are "
                                          "unchanged"):
        write_set(tmp_path, "2", names=("a.csv", "b.html", "c.xlsx"))
    monkeypatch.undo()
    assert calls["n"] > 7
    assert snapshot(tmp_path) == before


def test_side_files_move_with_their_database(tmp_path: Path) -> None:
    """An old -wal/-shm beside a new GeoPackage would corrupt it: they leave with the old."""
    write_set(tmp_path, "1", names=("z.gpkg",))
    (tmp_path / "z.gpkg-wal").write_bytes(b"old wal")
    write_set(tmp_path, "2", names=("z.gpkg",))
    assert not (tmp_path / "z.gpkg-wal").exists()


def test_atomic_path_sweeps_temp_files_of_dead_processes(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    orphan = tmp_path / f".x.{pid}-deadbeef.part.csv"
    orphan.write_text("half", encoding="utf-8")
    live = tmp_path / f".x.{os.getpid()}-cafe.part.csv"  # ours: kept
    live.write_text("in progress", encoding="utf-8")
    with atomic_path(tmp_path / "y.csv") as tmp:
        tmp.write_text("y", encoding="utf-8")
    assert not orphan.exists() and live.exists()


KILLER = """
import os, sys
from pathlib import Path
from zoning import atomic
folder, run, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
real, n = os.rename, [0]
def rename(a, b):
    n[0] += 1
    if n[0] == kill_at:
        os._exit(9)  # like SIGKILL: no cleanup at all
    real(a, b)
atomic.os.rename = rename
real_touch = Path.touch
def touch(self, *a, **k):
    real_touch(self, *a, **k)
    if self.name == ".committed" and kill_at == 0:
        os._exit(9)
Path.touch = touch
with atomic.output_set(folder, "demo") as s:
    for name in ("a.csv", "b.html", "c.xlsx"):
        s.path(name).write_text(name + " " + run, encoding="utf-8")
"""


@pytest.mark.parametrize("kill_at", [0, 1, 3, 5, 7])
def test_swap_killed_outright_is_repaired_by_the_next_run(tmp_path: Path, kill_at: int) -> None:
    """SIGKILL at any point of the swap: the next run finds either the old set or the new
    one, whole, and no staging folder."""
    out = tmp_path / "out"
    write_set(out, "1", names=("a.csv", "b.html", "c.xlsx"))
    before = snapshot(out)
    script = tmp_path / "killer.py"
    script.write_text(textwrap.dedent(KILLER), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(out), "2", str(kill_at)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 9, proc.stderr
    assert any(p.name.startswith(".zoning-stage-") for p in out.iterdir())
    notes = recover(out)
    assert len(notes) == 1
    contents = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()
                if not p.name.startswith(".")}
    if kill_at == 0:  # killed after the swap was marked done: the new set stays
        assert contents == {"a.csv": "a.csv 2", "b.html": "b.html 2", "c.xlsx": "c.xlsx 2"}
    else:
        assert snapshot(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith((".zoning-stage", ".zoning-old"))]


def test_staging_folder_of_a_live_run_is_left_alone(tmp_path: Path) -> None:
    with output_set(tmp_path, "demo") as s:
        s.path("a.csv").write_text("a", encoding="utf-8")
        assert recover(tmp_path) == []  # our own run holds its staging folder
        assert s.stage.is_dir()


def test_signals_are_held_during_the_swap(tmp_path: Path) -> None:
    """Ctrl-C arriving during the swap is delivered after it: the set is whole."""
    hit: list[int] = []

    def on_int(signum: int, frame: object) -> None:
        hit.append(signum)

    previous = signal.signal(signal.SIGINT, on_int)
    try:
        with atomic._signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            assert hit == []
        assert hit == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)
