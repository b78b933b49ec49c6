"""Pictures of the web map with headless Chromium, and a small PNG reader to check them."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

from zoning import settings
from zoning.atomic import atomic_path
from zoning.errors import ExportError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
            "chrome-headless-shell")
"""Executables tried in order; ``ZONING_CHROMIUM`` overrides them."""


def find_chromium() -> str:
    """Path of a Chromium executable (``$ZONING_CHROMIUM`` first).

    Raises
    ------
    ExportError
        When no browser is found (install the Debian package ``chromium``).
    """
    env = settings.chromium_override()
    if env:
        if shutil.which(env):
            return str(shutil.which(env))
        raise ExportError(f"ZONING_CHROMIUM={env!r} is not an executable (fix or unset it)")
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise ExportError("no headless browser found for the screenshot: install Chromium "
                      "(Debian: apt-get install chromium) or set ZONING_CHROMIUM")


def _run(args: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise ExportError(f"Chromium did not finish within {timeout_s:.0f} s "
                          "(try --offline-tiles or a longer timeout)") from None


def _base_args(browser: str, profile: str, width: int, height: int, budget_ms: int,
               offline: bool) -> list[str]:
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}"]
    if offline:
        # block every host: the map must draw without tiles
        args.append("--host-resolver-rules=MAP * ~NOTFOUND")
    return args


def screenshot(html_path: str | os.PathLike[str], png_path: str | os.PathLike[str],
               width: int = 1400, height: int = 900, budget_ms: int = 8000,
               offline: bool = False, timeout_s: float = 120.0) -> Path:
    """Open the map in headless Chromium and save a PNG picture of it (atomically).

    Parameters
    ----------
    html_path
        The map HTML file.
    png_path
        Target PNG file.
    width, height
        Window size in pixels.
    budget_ms
        Virtual time given to the page to draw.
    offline
        Block all network access (no basemap tiles; the map itself needs none).
    timeout_s
        Wall-clock limit for the browser.

    Returns
    -------
    Path
        ``png_path``.

    Raises
    ------
    ExportError
        When Chromium is missing, fails, or writes no picture.
    """
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise ExportError(f"{html_path}: map file not found (write it first with zoning map)")
    browser = find_chromium()
    png_path = Path(png_path)
    with tempfile.TemporaryDirectory(prefix="zoning-chromium-") as profile, \
            atomic_path(png_path) as tmp:
        args = _base_args(browser, profile, width, height, budget_ms, offline)
        args += [f"--screenshot={tmp}", html_path.as_uri()]
        proc = _run(args, timeout_s)
        if not tmp.exists() or tmp.stat().st_size == 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ExportError(f"Chromium wrote no screenshot of {html_path} "
                              f"(exit {proc.returncode}): {' | '.join(err)}")
    return png_path


def dump_dom(html_path: str | os.PathLike[str], width: int = 1400, height: int = 900,
             budget_ms: int = 8000, offline: bool = True, timeout_s: float = 120.0) -> str:
    """The page's DOM after its scripts ran (``chromium --dump-dom``)."""
    html_path = Path(html_path).resolve()
    browser = find_chromium()
    with tempfile.TemporaryDirectory(prefix="zoning-chromium-") as profile:
        args = _base_args(browser, profile, width, height, budget_ms, offline)
        args += ["--dump-dom", html_path.as_uri()]
        proc = _run(args, timeout_s)
    if proc.returncode != 0 or not proc.stdout:
        raise ExportError(f"Chromium could not load {html_path} (exit {proc.returncode})")
    return proc.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------- PNG reading


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> np.ndarray:
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    pos = 0
    for y in range(height):  # rows depend on the previous row: sequential by nature
        ftype = raw[pos]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=pos + 1).astype(np.int64)
        pos += stride + 1
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype == 1:
            cur = (np.cumsum(line.reshape(width, bpp), axis=0) & 0xFF).ravel()
        else:
            cur_l = [0] * stride
            lv, pv = line.tolist(), prev.tolist()
            for i in range(stride):
                a = cur_l[i - bpp] if i >= bpp else 0
                b = pv[i]
                if ftype == 3:
                    val = lv[i] + ((a + b) >> 1)
                else:
                    c = pv[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
                    val = lv[i] + pred
                cur_l[i] = val & 0xFF
            cur = np.asarray(cur_l, dtype=np.int64)
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an 8-bit, non-interlaced RGB/RGBA/grey PNG into an ``(h, w, channels)`` array.

    Enough for Chromium screenshots; avoids a dependency on Pillow.
    """
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ExportError(f"{path}: not a PNG file")
    pos, idat = 8, []
    width = height = bit_depth = color_type = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            width, height, bit_depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
        elif ctype == b"IDAT":
            idat.append(chunk)
        elif ctype == b"IEND":
            break
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color_type)
    if bit_depth != 8 or channels is None or interlace:
        raise ExportError(f"{path}: unsupported PNG (bit depth {bit_depth}, colour type "
                          f"{color_type}, interlace {interlace})")
    raw = zlib.decompress(b"".join(idat))
    return _unfilter(raw, width, height, channels)
