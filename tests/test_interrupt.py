"""Ctrl-C (SIGINT) and SIGTERM during the export step: previous outputs intact, one line.

Each case runs the real command in a subprocess whose export step is slowed down (one
writer waits), sends the signal while the files are being staged, and checks the exit
code, the message, the previous outputs (byte-identical) and that no temporary file or
staging folder is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _files import snapshot
from click.testing import CliRunner

from zoning.cli import main

ROOT = Path(__file__).resolve().parent.parent

SLOW = """
import sys, time
from pathlib import Path
import zoning.exports.tables as tables
flag = Path(sys.argv[1])
real = tables._write_xlsx
def slow(*args, **kwargs):
    real(*args, **kwargs)  # half the set is staged, the workbook too...
    flag.write_text("staging", encoding="utf-8")
    time.sleep(60)         # ...and the signal arrives here
tables._write_xlsx = slow
from zoning.cli import main
main(sys.argv[2:], prog_name="zoning")
"""


@pytest.fixture(scope="module")
def scored_once(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("maps")
    res = CliRunner().invoke(main, ["-q", "score", "--data-dir", str(tiny_data_dir),
                                    "--no-travel", "--draws", "0", "--top", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_export_keeps_previous_outputs(
        sig: signal.Signals, tiny_data_dir: Path, scored_once: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps"
    out.mkdir()
    for p in scored_once.iterdir():  # files, and the fiches/ folder
        if p.is_dir():
            shutil.copytree(p, out / p.name)
        else:
            (out / p.name).write_bytes(p.read_bytes())
    before = snapshot(out)
    flag = tmp_path / "flag"
    script = tmp_path / "slow.py"
    script.write_text(SLOW, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(flag), "-q", "score", "--data-dir",
         str(tiny_data_dir), "--no-travel", "--draws", "0", "--top", "1", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the export step was never reached"
        time.sleep(0.05)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("Interrupted (" + ("Ctrl-C" if sig == signal.SIGINT
                                                  else "SIGTERM"))
    assert "no output was replaced; the previous files are unchanged" in lines[0]
    assert snapshot(out) == before  # byte-identical, no staging folder, no temp file
