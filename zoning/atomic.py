"""Atomic writes: one file, or a run's whole set of files.

Two tools:

- :func:`atomic_path` for one file: the writer gets a temporary path beside the target,
  renamed onto it on success.
- :func:`output_set` for every file of a run (``score``, ``travel-times``, ``map``): the
  writers put their files (and folders, e.g. ``fiches/``) into a hidden staging folder
  beside the targets; when the block ends without error the whole set replaces the
  previous one, or nothing does.

How a set is swapped in (``out`` is the output folder, ``S`` the staging folder
``out/.zoning-stage-<pid>-<id>``, ``O`` the folder of previous files ``out/.zoning-old-<id>``)::

    1. S/.journal.json   lists the members (new entries) and the entries to move out
    2. out/<entry> -> O/  the previous members, their SQLite side files (-wal, -shm,
                          -journal: never pair a new GeoPackage with an old journal) and
                          members of the previous set that this run no longer writes
    3. S/<member> -> out/ every new member (one rename each, same file system)
    4. S/.committed       marks the swap done; then O and S are removed

Steps 2–3 take a few milliseconds; SIGINT and SIGTERM are held back while they run. A
failure in 2–3 (a file locked by another program, a permission) moves everything back,
so the message "no output was replaced" stays true. A process killed outright (SIGKILL,
power loss) leaves S (and maybe O): the next set written to that folder finds them,
sees that their owner is gone, and finishes the job: with ``.committed`` it removes
the old files, otherwise it puts the previous files back. Temporary files of
:func:`atomic_path` killed before their rename are swept the same way. Each set writes a
hidden manifest (``.zoning-set-<name>.json``) listing its members, so that a later run
of the same set also removes the files it no longer writes (e.g. the scenario tables of
a previous ``travel-times --close``): the folder never holds two runs' files.

On Linux and macOS a program that has a previous file open (QGIS on the GeoPackage, a
browser on the map) keeps reading the previous version until it reloads; on Windows
such a file cannot be replaced and the whole swap is undone with a message naming it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from zoning.errors import ExportError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STAGE_PREFIX = ".zoning-stage-"
OLD_PREFIX = ".zoning-old-"
JOURNAL = ".journal.json"
COMMITTED = ".committed"
MANIFEST_PREFIX = ".zoning-set-"
SIDE_FILES = ("-wal", "-shm", "-journal")
_TEMP_RE = re.compile(r"^\..+\.(\d+)-[A-Za-z0-9_]+\.part")
_STAGE_RE = re.compile(r"^\.zoning-stage-(\d+)-([0-9a-f]+)$")

#: Output sets committed by this process (read by the CLI to word an interruption).
COMMITTED_SETS: list[Path] = []


# --------------------------------------------------------------------------- one file


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    If the block raises (or the process is killed), ``target`` keeps its previous
    content and the temporary file is removed (on exception), so a failed run
    never leaves a half-written output behind. Temporary files left by a killed
    process are removed by the next call for the same folder.

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
    sweep_temp_files(target.parent)
    tmp = target.with_name(
        f".{target.stem}.{os.getpid()}-{secrets.token_hex(4)}.part{target.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"writer produced no file for {target}")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, *_side_files(tmp)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def check_output_target(output: str | os.PathLike[str], option: str = "--output") -> None:
    """Fail before a long computation when the folder ``output`` could not be created or
    written; creates nothing (the set is staged beside it later, :func:`output_set`).

    Raises
    ------
    PathEncodingError
        The path is not valid UTF-8.
    ExportError
        Its nearest existing ancestor is not a writable folder.
    """
    from zoning.text import check_utf8_path

    out = Path(output)
    check_utf8_path(out, option)
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ExportError(f"{out}: output folder cannot be created or written ({probe} is "
                          f"not a writable folder); choose another folder with {option}")


def _side_files(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in SIDE_FILES]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (always True where it cannot be told)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) terminates on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def sweep_temp_files(folder: Path) -> list[Path]:
    """Remove temporary files of :func:`atomic_path` whose process is gone; return them."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


# --------------------------------------------------------------------------- output sets


@dataclass(eq=False)
class OutputSet:
    """A run's files being written; see :func:`output_set`.

    Attributes
    ----------
    dir
        The output folder the set is committed to.
    stage
        The staging folder: write every file (or folder) of the run here, under its
        final name. Each top-level entry is one member of the set.
    name
        Name of the set (e.g. ``zoning_76``); its manifest is ``.zoning-set-<name>.json``.
    written
        After the commit: the final paths of the members, in name order.
    removed
        After the commit: members of the previous set that this run did not write
        (removed so the folder never mixes two runs).
    """

    dir: Path
    stage: Path
    name: str
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    _extra: dict[Path, OutputSet] = field(default_factory=dict)
    _locks: list[int] = field(default_factory=list)

    def path(self, name: str | os.PathLike[str]) -> Path:
        """Staged path of ``name`` (relative to the output folder); parents are created."""
        p = self.stage / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def path_for(self, target: str | os.PathLike[str]) -> Path:
        """Staged path of a member that goes to another folder (e.g. ``--screenshot``).

        The file is committed together with the rest of the set.
        """
        target = Path(target)
        folder = target.parent.resolve()
        if folder == self.dir.resolve():
            return self.path(target.name)
        if folder not in self._extra:
            self._extra[folder] = _open_set(folder, self.name)
        return self._extra[folder].path(target.name)

    def members(self) -> list[str]:
        """Names of the entries staged so far (the manifest excluded)."""
        return sorted(e.name for e in os.scandir(self.stage) if not e.name.startswith(
            (JOURNAL, COMMITTED, MANIFEST_PREFIX, ".zoning-")) and not _TEMP_RE.match(e.name))


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "outputs"


def _os_message(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _open_set(folder: Path, name: str) -> OutputSet:
    stage = folder / f"{STAGE_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        recover(folder)
        stage.mkdir()
    except OSError as exc:
        raise ExportError(f"{folder}: cannot write the outputs here ({_os_message(exc)}); "
                          "nothing was replaced (choose a writable folder with --output)") from exc
    out = OutputSet(dir=folder, stage=stage, name=_safe_name(name))
    fd = _lock_fd(stage)
    if fd is not None:
        out._locks.append(fd)
    return out


def _lock_fd(path: Path, blocking: bool = True) -> int | None:
    """Open ``path`` (a folder) and take an exclusive advisory lock; None if unsupported
    or (``blocking=False``) already locked."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialise commits and recoveries in one folder (two runs writing at once)."""
    fd = _lock_fd(folder) if fcntl is not None else None
    try:
        yield
    finally:
        _unlock(fd)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM during a swap; deliver them once it is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        got.append(signum)

    sigs: list[int] = [signal.SIGINT, signal.SIGTERM]
    previous = {s: signal.signal(s, hold) for s in sigs}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        for s in dict.fromkeys(got):
            signal.raise_signal(s)


@contextlib.contextmanager
def output_set(out_dir: str | os.PathLike[str], name: str) -> Iterator[OutputSet]:
    """Stage the files of one run; they replace the previous set together or not at all.

    Parameters
    ----------
    out_dir
        Output folder (created if needed).
    name
        Name of the set, stable from run to run (``zoning_76`` for ``score``,
        ``temps_urgences`` for ``travel-times``...): members of the previous set of that
        name that this run does not write are removed at the commit.

    Yields
    ------
    OutputSet
        Write every file into ``stage`` (``path(name)`` helps); after the block,
        ``written`` lists the final paths.

    Raises
    ------
    ExportError
        When the folder cannot be written, a target is in the way (a folder where the set
        writes a file, or the reverse), or the swap failed; the previous files are then
        all in place.
    """
    oset = _open_set(Path(out_dir), name)
    sets = [oset]
    try:
        yield oset
        sets += list(oset._extra.values())
        for s in sets:
            if not s.members():
                raise FileNotFoundError(f"{s.dir}: the run staged no file")
        _commit(sets)
    finally:
        for s in dict.fromkeys([*sets, *oset._extra.values()]):
            for fd in s._locks:
                _unlock(fd)
            s._locks.clear()
            shutil.rmtree(s.stage, ignore_errors=True)


def _previous_members(folder: Path, name: str) -> list[str]:
    try:
        data = json.loads((folder / f"{MANIFEST_PREFIX}{name}.json").read_text("utf-8"))
        return [str(m) for m in data.get("members", []) if "/" not in str(m)
                and not str(m).startswith(".")]
    except (OSError, ValueError, AttributeError):
        return []


def _check_targets(s: OutputSet, members: list[str]) -> None:
    """A target in the way (folder vs file) is refused before anything moves."""
    for m in members:
        target = s.dir / m
        if not os.path.lexists(target):
            continue
        new_is_dir = (s.stage / m).is_dir()
        old_is_dir = target.is_dir() and not target.is_symlink()
        if new_is_dir != old_is_dir:
            what = "a folder" if old_is_dir else "a file"
            raise ExportError(
                f"{target} is {what}, in the way of the {'folder' if new_is_dir else 'file'} "
                "this run writes; move it away or choose another folder with --output "
                "(no output was replaced)")


def _commit(sets: list[OutputSet]) -> None:
    plans: list[tuple[OutputSet, list[str], list[str], Path]] = []
    for s in sets:
        members = s.members()
        _check_targets(s, members)
        manifest = f"{MANIFEST_PREFIX}{s.name}.json"
        stale = [m for m in _previous_members(s.dir, s.name) if m not in members]
        incoming = [*members, manifest]
        (s.stage / manifest).write_text(json.dumps({
            "set": s.name, "members": members,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }, ensure_ascii=False, indent=1), encoding="utf-8")
        outgoing = [n for m in [*incoming, *stale] for n in (m, *(m + x for x in SIDE_FILES))
                    if os.path.lexists(s.dir / n)]
        old = s.dir / (OLD_PREFIX + s.stage.name.removeprefix(STAGE_PREFIX))
        plans.append((s, incoming, outgoing, old))
        s.removed = [s.dir / m for m in stale if os.path.lexists(s.dir / m)]
    with contextlib.ExitStack() as stack:
        for folder in sorted({p[0].dir.resolve() for p in plans}):
            stack.enter_context(_folder_lock(folder))
        stack.enter_context(_signals_held())
        done: list[tuple[OutputSet, list[str], Path]] = []
        try:
            for s, incoming, outgoing, old in plans:
                _write_journal(s.stage, incoming, outgoing)
                done.append((s, incoming, old))
                old.mkdir()
                for n in outgoing:
                    os.rename(s.dir / n, old / n)
                for n in incoming:
                    os.rename(s.stage / n, s.dir / n)
        except OSError as exc:
            problems = []
            for s, incoming, old in reversed(done):
                problems += _roll_back(s.dir, s.stage, old, incoming)
            where = getattr(exc, "filename", None) or sets[0].dir
            if problems:
                raise ExportError(
                    f"{where}: cannot replace the outputs ({_os_message(exc)}) and could not "
                    f"put every previous file back ({'; '.join(problems)}); the previous "
                    f"files are kept in {done[0][2]}") from exc
            raise ExportError(
                f"{where}: cannot replace the outputs ({_os_message(exc)}; is the file open "
                "in another program?); no output was replaced, the previous files are "
                "unchanged") from exc
        for s, _, _old in done:
            with contextlib.suppress(OSError):
                (s.stage / COMMITTED).touch()
        for s, incoming, old in done:
            shutil.rmtree(old, ignore_errors=True)
            s.written = [s.dir / n for n in incoming if not n.startswith(MANIFEST_PREFIX)]
            COMMITTED_SETS.append(s.dir)


def _write_journal(stage: Path, incoming: list[str], outgoing: list[str]) -> None:
    with open(stage / JOURNAL, "w", encoding="utf-8") as fh:
        json.dump({"in": incoming, "out": outgoing}, fh)
        fh.flush()
        os.fsync(fh.fileno())


def _roll_back(folder: Path, stage: Path, old: Path, incoming: list[str]) -> list[str]:
    """Undo a partial swap: new members back to the stage, previous files back in place."""
    problems: list[str] = []
    for n in incoming:
        if os.path.lexists(folder / n) and not os.path.lexists(stage / n):
            try:
                os.rename(folder / n, stage / n)
            except OSError as exc:
                problems.append(f"{folder / n}: {_os_message(exc)}")
    if old.is_dir():
        for entry in os.scandir(old):
            try:
                os.rename(entry.path, folder / entry.name)
            except OSError as exc:
                problems.append(f"{folder / entry.name}: {_os_message(exc)}")
        if not problems:
            shutil.rmtree(old, ignore_errors=True)
    return problems


def recover(folder: str | os.PathLike[str]) -> list[str]:
    """Finish or undo the swaps of killed runs in ``folder``; sweep their temporary files.

    A staging folder whose process is gone is removed; if it was in the middle of a swap,
    the swap is finished (``.committed`` present) or undone (previous files put back).

    Returns
    -------
    list of str
        One short English line per repaired folder (for logs and tests).
    """
    folder = Path(folder)
    notes: list[str] = []
    sweep_temp_files(folder)
    try:
        stages = [e for e in os.scandir(folder) if _STAGE_RE.match(e.name) and e.is_dir()]
    except OSError:
        return notes
    if not stages:
        return notes
    with _folder_lock(folder):
        for entry in stages:
            stage = Path(entry.path)
            m = _STAGE_RE.match(entry.name)
            assert m is not None
            if fcntl is not None:
                fd = _lock_fd(stage, blocking=False)
                if fd is None:
                    continue  # a live run holds it
                _unlock(fd)
            elif _alive(int(m.group(1))):  # pragma: no cover - Windows
                continue
            old = folder / (OLD_PREFIX + entry.name.removeprefix(STAGE_PREFIX))
            if (stage / COMMITTED).exists():
                notes.append(f"{stage.name}: swap finished")
            elif old.is_dir():
                incoming: list[str] = []
                with contextlib.suppress(OSError, ValueError):
                    journal: dict[str, Any] = json.loads((stage / JOURNAL).read_text("utf-8"))
                    incoming = [str(n) for n in journal.get("in", [])]
                problems = _roll_back(folder, stage, old, incoming)
                if problems:
                    notes.append(f"{stage.name}: previous files left in {old.name}")
                    continue
                notes.append(f"{stage.name}: interrupted swap undone")
            else:
                notes.append(f"{stage.name}: staging folder of an interrupted run removed")
            shutil.rmtree(old, ignore_errors=True)
            shutil.rmtree(stage, ignore_errors=True)
    return notes


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's full content (graph cache, recorded input files, downloads).

    The whole file is hashed (about 1 GB/s: 20 ms for the Travel Mapping
    GeoPackage, well under a second for a regional Geofabrik extract), so a file
    edited in place with an unchanged size and date still invalidates the cache.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()
