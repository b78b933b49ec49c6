"""Benchmark ``zoning score --region FR``: wall time and peak memory (target < 5 min, < 4 GB).

Measured in the same run, for comparison:

* ``zoning score`` on Occitanie (the default region), same options;
* the Monte-Carlo sensitivity analysis of :mod:`zoning.scoring` (vectorised over draws) against
  a naive alternative that re-normalises with pandas and sorts with ``sort_values`` once per
  draw, on the France criteria (ratio printed).

Each CLI run is a separate process; its peak resident memory comes from ``os.wait4``.

Usage::

    ZONING_DATA_DIR=../shared/data python bench/bench_score_fr.py [--draws 1000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from zoning.settings import resolve_data_dir

TARGET_S = 300.0
TARGET_MB = 4096.0


def run_cli(args: list[str]) -> tuple[float, float, str]:
    """Run the zoning CLI in a child process: (wall seconds, peak RSS MB, stdout)."""
    cmd = [sys.executable, "-c", "from zoning.cli import run; run()", *args]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err = proc.stderr.read().decode() if proc.stderr else ""
        out.seek(0)
        text = out.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"zoning {' '.join(args)} failed (exit {code}): {err.strip()}")
    return wall, usage.ru_maxrss / 1024.0, text


def naive_sensitivity(oriented: pd.DataFrame, weights: dict[str, float], population: pd.Series,
                      draws: int, seed: int, top: int, concentration: float) -> pd.Series:
    """Alternative: one pandas normalisation + sort per draw (selection probability only)."""
    from scipy.special import ndtr

    rng = np.random.default_rng(seed)
    cols = list(oriented.columns)
    w0 = np.array([weights[c] for c in cols])
    wd = rng.dirichlet(concentration * w0, size=draws)
    md = rng.integers(0, 3, size=draws)
    count = pd.Series(0, index=oriented.index)
    base = pd.DataFrame({"pop": population, "siren": oriented.index})
    for d in range(draws):
        if md[d] == 0:
            s = (oriented.rank() - 1) / (oriented.notna().sum() - 1)
        elif md[d] == 1:
            s = (oriented - oriented.min()) / (oriented.max() - oriented.min())
        else:
            s = pd.DataFrame(ndtr((oriented - oriented.mean()) / oriented.std(ddof=0)),
                             index=oriented.index, columns=cols)
        w = pd.Series(wd[d], index=cols)
        comp = (s.fillna(0) * w).sum(axis=1) / (s.notna() * w).sum(axis=1)
        frame = base.assign(comp=comp)
        order = frame.sort_values(["comp", "pop", "siren"], ascending=[False, False, True])
        count[order.index[:top]] += 1
    return count / draws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    common = ["--data-dir", str(data_dir), "--draws", str(args.draws)]
    print(f"data: {data_dir}; sensitivity draws: {args.draws}")

    with tempfile.TemporaryDirectory() as tmp:
        t_fr, m_fr, out_fr = run_cli(["-q", "score", "--region", "FR", *common, "-o", tmp])
        t_oc, m_oc, out_oc = run_cli(["-q", "score", *common, "-o", tmp])
    summary_fr = next(line for line in out_fr.splitlines() if "EPCI classés" in line)
    summary_oc = next(line for line in out_oc.splitlines() if "EPCI classés" in line)
    print(f"zoning score --region FR : {t_fr:7.1f} s, peak RSS {m_fr:7.0f} MB "
          f"(target {TARGET_S:.0f} s, {TARGET_MB:.0f} MB: "
          f"{'OK' if t_fr < TARGET_S and m_fr < TARGET_MB else 'MISSED'})")
    print(f"  {summary_fr}")
    print(f"zoning score (Occitanie): {t_oc:7.1f} s, peak RSS {m_oc:7.0f} MB")
    print(f"  {summary_oc}")
    print(f"  ratio FR / Occitanie: time x{t_fr / t_oc:.1f}, memory x{m_fr / m_oc:.1f}")

    # sensitivity: vectorised vs naive, on the France criteria (no travel times: not needed)
    from zoning.config import load_config
    from zoning.criteria import compute_criteria
    from zoning.scoring import effective_weights, orient, sensitivity
    from zoning.territory import load_territory

    cfg = load_config()
    terr = load_territory(data_dir, "FR")
    crits = compute_criteria(terr, cfg, data_dir, travel=None)
    w = effective_weights(cfg.weights, {k: r.available for k, r in crits.items()})
    oriented = pd.DataFrame({k: orient(crits[k].values, cfg.criterion(k).direction)
                             for k in w.used})
    pop = terr.epci["population"].astype("float64")
    n_naive = min(args.draws, 200)
    t0 = time.perf_counter()
    vec = sensitivity(oriented, w.used, pop, cfg, draws=n_naive, seed=1, top=28)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = naive_sensitivity(oriented, w.used, pop, n_naive, 1, 28,
                              cfg.sensitivity.concentration)
    t_naive = time.perf_counter() - t0
    agree = np.corrcoef(vec["probability"], naive)[0, 1]
    print(f"sensitivity, {len(oriented)} EPCI x {n_naive} draws: vectorised {t_vec:.2f} s, "
          f"naive per-draw pandas loop {t_naive:.2f} s (x{t_naive / t_vec:.1f}); "
          f"correlation of the selection probabilities {agree:.3f}")


if __name__ == "__main__":
    main()
