"""Benchmark metropolitan France on the France road graph: ``zoning score --region FR``, cold
and warm graph cache, and ``--region all``; wall time and peak resident memory.

Goals (issue 15): warm < 30 s, cold < 60 s, peak RSS < 2 GB; ``--region all`` < 3 min.

Measured in the same run, for comparison:

* the France graph build (GeoParquet, 230,221 lines) against the Occitanie one (GeoPackage,
  44,979 lines), same builder: time per thousand lines (ratio printed);
* ``zoning score`` on Occitanie (default region), warm cache, same options.

Each CLI run is a separate process (its peak RSS from ``os.wait4``); "cold" runs with an empty
graph cache (``ZONING_CACHE_DIR`` pointing to a new folder), as CI does.

Usage::

    ZONING_DATA_DIR=../shared/data python bench/bench_france.py [--draws 1000] [--no-all]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zoning.settings import resolve_data_dir

GOALS = {"cold": 60.0, "warm": 30.0, "all": 180.0}
GOAL_MB = 2048.0


def run_cli(args: list[str], cache: Path) -> tuple[float, float, str]:
    """Run the zoning CLI in a child process: (wall seconds, peak RSS MB, stdout)."""
    env = {**os.environ, "ZONING_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-c", "from zoning.cli import main; main()", *args]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text, etext = out.read().decode(), err.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"zoning {' '.join(args)} failed (exit {code}): {etext.strip()[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0, text


def _browser_load(html: Path) -> str:
    """Time headless Chromium takes to load the map and run its scripts (``--dump-dom``)."""
    import shutil

    exe = os.environ.get("ZONING_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if exe is None:
        return "no Chromium found: browser load not measured"
    t0 = time.perf_counter()
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                           html.as_uri()], capture_output=True, timeout=300)
    wall = time.perf_counter() - t0
    ok = proc.returncode == 0 and b"leaflet" in proc.stdout.lower()
    return (f"headless Chromium loads it and runs its scripts in {wall:.1f} s (goal < 5 s: "
            f"{'OK' if ok and wall < 5 else 'MISSED' if ok else 'FAILED'})")


def _verdict(seconds: float, mb: float, goal_s: float) -> str:
    ok = seconds < goal_s and mb < GOAL_MB
    return f"goal < {goal_s:.0f} s and < {GOAL_MB:.0f} MB: {'OK' if ok else 'MISSED'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--no-all", action="store_true", help="skip --region all")
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    common = ["--data-dir", str(data_dir), "--draws", str(args.draws)]
    print(f"data: {data_dir}; sensitivity draws: {args.draws}")

    # the graph builds, same builder, in this process (no cache)
    from zoning.config import load_config
    from zoning.routing import graph_from_line_layer
    from zoning.sources import CATALOGUE

    r = load_config().routing
    builds = {}
    for sid, layer in (("roads_france", None), ("roads", "edges")):
        path = CATALOGUE[sid].path(data_dir)
        t0 = time.perf_counter()
        g = graph_from_line_layer(path, "road_class", r.class_speeds_kmh, r.circuity,
                                  layer=layer, use_cache=False, line_model=r.line_model_terms(),
                                  min_component_nodes=r.min_component_nodes)
        builds[sid] = (time.perf_counter() - t0, g.n_edges // 2)
    (t_fr, n_fr), (t_oc, n_oc) = builds["roads_france"], builds["roads"]
    print(f"graph build, France GeoParquet: {t_fr:.2f} s for {n_fr:,} lines "
          f"({1000 * t_fr / n_fr:.3f} ms per line); Occitanie GeoPackage: {t_oc:.2f} s "
          f"for {n_oc:,} lines ({1000 * t_oc / n_oc:.3f} ms per line); per-line ratio "
          f"France / Occitanie x{(t_fr / n_fr) / (t_oc / n_oc):.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        t_cold, m_cold, out = run_cli(["-q", "score", "--region", "FR", *common,
                                       "-o", str(root / "cold")], cache)
        print(f"zoning score --region FR, cold graph cache: {t_cold:6.1f} s, peak RSS "
              f"{m_cold:6.0f} MB ({_verdict(t_cold, m_cold, GOALS['cold'])})")
        t_warm, m_warm, out = run_cli(["-q", "score", "--region", "FR", *common,
                                       "-o", str(root / "warm")], cache)
        print(f"zoning score --region FR, warm graph cache: {t_warm:6.1f} s, peak RSS "
              f"{m_warm:6.0f} MB ({_verdict(t_warm, m_warm, GOALS['warm'])})")
        for line in out.splitlines():
            if "EPCI classés" in line or line.startswith(("Critère 4", "Zones prioritaires")):
                print(f"  {line}")
        html = root / "warm" / "zoning_FR.html"
        if html.is_file():
            print(f"national map: {html.stat().st_size / 1e6:.1f} MB (goal < 20 MB); "
                  f"{_browser_load(html)}")
        t_occ, m_occ, _ = run_cli(["-q", "score", *common, "-o", str(root / "occ")], cache)
        print(f"zoning score (Occitanie), warm: {t_occ:6.1f} s, peak RSS {m_occ:6.0f} MB; "
              f"ratio FR / Occitanie: time x{t_warm / t_occ:.1f}, memory x{m_warm / m_occ:.1f}")
        if not args.no_all:
            t_all, m_all, out = run_cli(["-q", "score", "--region", "all", *common,
                                         "-o", str(root / "all")], cache)
            sets = sorted(p.name for p in (root / "all").iterdir() if p.is_dir())
            print(f"zoning score --region all, warm: {t_all:6.1f} s, peak RSS {m_all:6.0f} MB "
                  f"({_verdict(t_all, m_all, GOALS['all'])}); {len(sets)} output sets: "
                  f"{', '.join(sets)}")


if __name__ == "__main__":
    main()
