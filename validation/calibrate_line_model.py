"""Calibrate the numbered-road (line layer) model on real OpenStreetMap geometry.

Run::

    ZONING_DATA_DIR=../shared/data .venv/bin/python validation/calibrate_line_model.py [--no-region]

Where the OpenStreetMap Andorra extract and the Travel Mapping graph cover the
same roads (the Andorran CG / CS roads and the French N22 at Pas de la Casa),
this script

1. matches every Travel Mapping edge to the OpenStreetMap ways carrying the same
   road number (``ref``: ``CG4`` = ``CG-4``), snaps both waypoints to those ways
   (at most ``SNAP_M`` away) and takes the shortest OpenStreetMap distance between
   them along those ways: the *real* length of the road the edge stands for;
2. fits, by weighted least squares on ``ln(real / drawn length)`` (weights = drawn
   length, edges whose ratio exceeds ``MAX_RATIO`` dropped as mismatches), a
   circuity per road class and the winding terms of
   :func:`zoning.routing.graph.line_circuity` (mean deflection at the waypoints and
   waypoint spacing, see :func:`zoning.routing.graph.line_shape`), with bootstrap
   intervals;
3. compares, between the same places (waypoints lying on both networks), the
   shortest path lengths and the fastest path times of the Travel Mapping graph
   under the previous model (flat circuity) and the configured model
   (``[routing.line_model]``) with those of the OpenStreetMap graph (``maxspeed``,
   else the highway-type default): median and 90th percentile of the relative
   error;
4. computes the share of Occitanie's population beyond the travel-time threshold
   under each model (``--no-region`` skips it).

What the sample can and cannot show is printed at the end. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoning.config import Config, load_config
from zoning.routing import RoadGraph, graph_from_line_layer, graph_from_osm_pbf
from zoning.routing.graph import line_shape
from zoning.settings import resolve_data_dir

ANDORRA = "roads/osm_andorra_geofabrik_2021-06-22.osm.pbf"
ROADS = "roads/travelmapping_roads_occitanie_buf50km.gpkg"
SNAP_M = 30.0
"""A waypoint matches OpenStreetMap when an OSM node of the same road lies this close."""
MAX_RATIO = 3.0
"""Edges whose OSM length is more than 3 x the drawn one are treated as mismatches."""
MIN_PATH_M = 2000.0
"""Place pairs closer than this on OpenStreetMap are left out of the path comparison."""
FAITHFUL = ("motorway", "named_freeway")
"""Classes whose geometry is taken as faithful (circuity 1): absent from Andorra, not fitted."""


def _norm_ref(text: object) -> list[str]:
    if not isinstance(text, str):
        return []
    return [re.sub(r"[^A-Z0-9]", "", part.upper()) for part in text.split(";") if part.strip()]


@dataclass
class Matched:
    """Travel Mapping edges matched to OpenStreetMap, with their shape features."""

    edges: pd.DataFrame  # road_class, routes, drawn_m, osm_m, ratio, deflection, spacing_m


def read_tm_edges(path: Path, bbox: tuple[float, float, float, float]) -> Any:
    """Travel Mapping edges (EPSG:2154) with shape features computed on the whole layer."""
    import geopandas as gpd

    if path.suffix.lower() == ".parquet":
        tm = gpd.read_parquet(path)
    else:
        tm = gpd.read_file(path, layer="edges", engine="pyogrio")
    tm = tm.to_crs("EPSG:2154")
    defl, spacing = line_shape(tm.geometry.to_numpy())
    tm["deflection"] = defl
    tm["spacing_m"] = spacing
    lon0, lat0, lon1, lat1 = bbox
    return tm.loc[tm.to_crs("EPSG:4326").intersects(
        gpd.GeoSeries.from_xy([lon0, lon1], [lat0, lat1], crs="EPSG:4326").union_all().envelope
    )].copy()


def read_osm_ways(path: Path) -> tuple[Any, Any]:
    """pyrosm nodes and drivable edges of the extract (with ``ref``)."""
    import pyrosm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nodes, edges = pyrosm.OSM(str(path)).get_network(network_type="driving", nodes=True)
    return nodes, edges


def match_edges(tm: Any, osm_nodes: Any, osm_edges: Any) -> Matched:
    """Real length of each Travel Mapping edge along the OSM ways of the same road number."""
    import shapely
    from pyproj import Transformer
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    ids = np.sort(osm_nodes["id"].to_numpy(np.int64))
    lonlat = osm_nodes.set_index("id").loc[ids, ["lon", "lat"]].to_numpy(np.float64)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(
        lonlat[:, 0], lonlat[:, 1])
    refs = (osm_edges["ref"] if "ref" in osm_edges.columns
            else pd.Series(None, index=osm_edges.index, dtype=object)).map(_norm_ref)
    tm_routes = tm["routes"].map(lambda s: [r.upper() for r in str(s).split(";")])
    numbers = {r for rs in tm_routes for r in rs}
    on_number = refs.map(lambda rs: any(r in numbers for r in rs)).to_numpy(bool)
    e = osm_edges.loc[on_number]
    ui = np.searchsorted(ids, e["u"].to_numpy(np.int64))
    vi = np.searchsorted(ids, e["v"].to_numpy(np.int64))
    length = e["length"].to_numpy(np.float64)
    n = ids.shape[0]
    adj = csr_matrix((np.r_[length, length], (np.r_[ui, vi], np.r_[vi, ui])), shape=(n, n))
    # waypoints snap to the numbered-road nodes of an OSM way sharing one of the edge's numbers
    node_refs = pd.DataFrame({"node": np.r_[ui, vi],
                              "ref": np.r_[refs[on_number].to_numpy(), refs[on_number].to_numpy()]})
    node_refs = node_refs.explode("ref").dropna().drop_duplicates()
    g = tm.geometry.to_numpy()
    ends = {"a": shapely.get_coordinates(shapely.get_point(g, 0)),
            "b": shapely.get_coordinates(shapely.get_point(g, -1))}
    edge_routes = tm_routes.explode().rename("ref").reset_index()
    edge_routes["pos"] = edge_routes["index"].map({k: i for i, k in enumerate(tm.index)})
    snapped: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for side, xy in ends.items():
        best_d = np.full(len(tm), np.inf)
        best_n = np.full(len(tm), -1, dtype=np.int64)
        # one KD-tree per road number present on both sides (a few dozen numbers)
        for ref, group in edge_routes.groupby("ref"):
            cand = node_refs.loc[node_refs["ref"] == ref, "node"].to_numpy(np.int64)
            if cand.size == 0:
                continue
            pos = group["pos"].to_numpy()
            d, k = cKDTree(np.c_[x[cand], y[cand]]).query(xy[pos])
            better = d < best_d[pos]
            best_d[pos[better]] = d[better]
            best_n[pos[better]] = cand[k[better]]
        snapped[side] = (best_d, best_n)
    ok = (snapped["a"][0] <= SNAP_M) & (snapped["b"][0] <= SNAP_M)
    src = snapped["a"][1][ok]
    dst = snapped["b"][1][ok]
    uniq, inv = np.unique(src, return_inverse=True)
    dist = dijkstra(adj, directed=False, indices=uniq)
    osm_m = np.full(len(tm), np.nan)
    osm_m[ok] = dist[inv, dst]
    out = pd.DataFrame({
        "road_class": tm["road_class"].to_numpy(), "routes": tm["routes"].to_numpy(),
        "system": tm["system"].to_numpy(),
        "drawn_m": shapely.length(g), "osm_m": osm_m,
        "deflection": tm["deflection"].to_numpy(), "spacing_m": tm["spacing_m"].to_numpy(),
    }, index=tm.index)
    out["ratio"] = out["osm_m"] / out["drawn_m"]
    return Matched(out[np.isfinite(out["ratio"])])


# --------------------------------------------------------------------------- fit


def _design(frame: pd.DataFrame, classes: list[str]) -> np.ndarray:
    cols = [(frame["road_class"] == c).to_numpy(float) for c in classes]
    cols.append(frame["deflection"].to_numpy(float))
    cols.append(np.log(np.maximum(frame["spacing_m"].to_numpy(float), 1.0) / 1000.0))
    return np.column_stack(cols)


def fit_model(frame: pd.DataFrame, n_boot: int = 500, seed: int = 11) -> pd.DataFrame:
    """WLS fit of ln(ratio) on class intercepts, deflection and ln(spacing); bootstrap 90 % CI."""
    classes = sorted(frame["road_class"].unique())
    X = _design(frame, classes)
    yv = np.log(frame["ratio"].to_numpy(float))
    w = np.sqrt(frame["drawn_m"].to_numpy(float))

    def solve(idx: np.ndarray) -> np.ndarray:
        beta, *_ = np.linalg.lstsq(X[idx] * w[idx, None], yv[idx] * w[idx], rcond=None)
        return beta

    beta = solve(np.arange(len(frame)))
    rng = np.random.default_rng(seed)
    boots = np.array([solve(rng.integers(0, len(frame), len(frame))) for _ in range(n_boot)])
    names = [f"circuity[{c}]" for c in classes] + ["winding", "spacing"]
    est = np.r_[np.exp(beta[: len(classes)]), beta[len(classes):]]
    lo = np.quantile(boots, 0.05, axis=0)
    hi = np.quantile(boots, 0.95, axis=0)
    lo[: len(classes)] = np.exp(lo[: len(classes)])
    hi[: len(classes)] = np.exp(hi[: len(classes)])
    return pd.DataFrame({"estimate": est, "ci05": lo, "ci95": hi}, index=names)


# --------------------------------------------------------------------------- paths


def _modelled_length(graph: RoadGraph, speeds: dict[str, float]) -> np.ndarray:
    speed = np.array([speeds[c] for c in graph.classes])[graph.road_class]
    return graph.time_s * speed / 3.6


def path_errors(
    osm: RoadGraph, models: dict[str, RoadGraph], speeds: dict[str, float], tm: Any,
) -> tuple[pd.DataFrame, int, int]:
    """Relative errors of Travel Mapping shortest lengths / fastest times against OSM."""
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    from zoning.routing import build_csr

    first = next(iter(models.values()))
    tm_xy = np.unique(np.round(np.c_[first.x, first.y], 3), axis=0)
    # places: Travel Mapping nodes of the compared area lying on an OSM node
    xmin, ymin, xmax, ymax = tm.total_bounds
    inside = ((tm_xy[:, 0] >= xmin) & (tm_xy[:, 0] <= xmax)
              & (tm_xy[:, 1] >= ymin) & (tm_xy[:, 1] <= ymax))
    d_osm, k_osm = cKDTree(np.c_[osm.x, osm.y]).query(tm_xy[inside])
    on_both = d_osm <= SNAP_M
    places = tm_xy[inside][on_both]
    osm_nodes = k_osm[on_both]
    _, k_tm = cKDTree(np.c_[first.x, first.y]).query(places)
    res: dict[str, np.ndarray] = {}
    osm_len = dijkstra(build_csr(osm.n_nodes, osm.u, osm.v, osm.length_m), indices=osm_nodes)
    osm_time = dijkstra(build_csr(osm.n_nodes, osm.u, osm.v, osm.time_s), indices=osm_nodes)
    res["osm_m"] = osm_len[:, osm_nodes]
    res["osm_s"] = osm_time[:, osm_nodes]
    for name, g in models.items():
        mlen = _modelled_length(g, speeds)
        res[f"{name}_m"] = dijkstra(build_csr(g.n_nodes, g.u, g.v, mlen), indices=k_tm)[:, k_tm]
        res[f"{name}_s"] = dijkstra(build_csr(g.n_nodes, g.u, g.v, g.time_s),
                                    indices=k_tm)[:, k_tm]
    keep = np.isfinite(res["osm_m"]) & (res["osm_m"] >= MIN_PATH_M)
    frame = pd.DataFrame({k: v[keep] for k, v in res.items()})
    return frame, int(places.shape[0]), int(keep.sum())


def error_table(frame: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    rows = []
    for name in models:
        for what, unit in (("longueur", "m"), ("temps", "s")):
            err = frame[f"{name}_{unit}"] / frame[f"osm_{unit}"] - 1.0
            rows.append({"modèle": name, "mesure": what,
                         "biais médian": err.median(),
                         "|erreur| médiane": err.abs().median(),
                         "|erreur| P90": err.abs().quantile(0.9)})
    return pd.DataFrame(rows)


def edge_errors(frame: pd.DataFrame, circuity: np.ndarray) -> tuple[float, float]:
    err = np.abs(circuity * frame["drawn_m"].to_numpy() / frame["osm_m"].to_numpy() - 1.0)
    return float(np.median(err)), float(np.quantile(err, 0.9))


EXAMPLES = (
    ("Le Vigan (mairie) -> SU de Ganges", ("mairie", "30350"), ("site", "340780717")),
    ("Hôpital Purpan (Toulouse) -> CHU Lapeyronie (Montpellier)", ("site", "310783048"),
     ("site", "340785161")),
)
"""Trips named in issue 11, printed under each model (node nearest each end, no access leg)."""


def example_trips(data_dir: Path, models: dict[str, RoadGraph],
                  speeds: dict[str, float]) -> pd.DataFrame:
    """Graph length (modelled) and time of the :data:`EXAMPLES` trips under each model."""
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    from zoning.routing import build_csr
    from zoning.sources import read_facilities, read_mairies

    points = {"mairie": read_mairies(data_dir).geometry, "site": read_facilities(data_dir).geometry}
    rows = []
    for label, start, end in EXAMPLES:
        a, b = points[start[0]].loc[start[1]], points[end[0]].loc[end[1]]
        for name, g in models.items():
            tree = cKDTree(np.c_[g.x, g.y])
            ia, ib = (int(tree.query([p.x, p.y])[1]) for p in (a, b))
            mlen = _modelled_length(g, speeds)
            t = dijkstra(build_csr(g.n_nodes, g.u, g.v, g.time_s), indices=[ia])[0, ib]
            d = dijkstra(build_csr(g.n_nodes, g.u, g.v, mlen), indices=[ia])[0, ib]
            rows.append({"trajet": label, "modèle": name, "km": d / 1000, "min": t / 60})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- region


def region_share(config: Config, data_dir: Path, cache_dir: Path, region: str = "76") -> float:
    from zoning.sources import read_facilities, read_population_grid
    from zoning.territory import load_territory
    from zoning.traveltimes import compute_travel_times, load_network

    territory = load_territory(data_dir, region)
    facilities = read_facilities(data_dir)
    grid = read_population_grid(data_dir)
    graph = load_network(data_dir, config, cache_dir=cache_dir)
    travel = compute_travel_times(territory, facilities, graph, config, grid=grid)
    return float(travel.regional["share_beyond"])


def previous_model(config: Config) -> Config:
    """The same configuration with the flat circuity of the previous model (no line_model)."""
    routing = config.routing.model_copy(update={"line_model": {}, "circuity": 1.15})
    return config.model_copy(update={"routing": routing})


@dataclass
class Calibration:
    """Everything the script prints (the README figures are recomputed from it by a test)."""

    n_tm_edges: int
    edges: pd.DataFrame
    """Matched edges kept for the fit (ratio <= ``MAX_RATIO``)."""
    n_matched: int
    fit: pd.DataFrame
    edge_errors: dict[str, tuple[float, float]]
    n_places: int
    n_pairs: int
    paths: pd.DataFrame
    """:func:`error_table`: per model and measure, median bias, median and P90 |error|."""
    shares: dict[str, float]
    """Occitanie share beyond the threshold per model (empty when not computed)."""
    examples: pd.DataFrame
    """:func:`example_trips`."""


def calibrate(data_dir: Path, config: Config, region: bool = True) -> Calibration:
    """Match, fit, compare paths and (``region``) the Occitanie share, before and after."""
    from zoning.routing.graph import line_circuity

    before = previous_model(config)
    r = config.routing
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        osm_nodes, osm_edges = read_osm_ways(data_dir / ANDORRA)
        bbox = (float(osm_nodes["lon"].min()), float(osm_nodes["lat"].min()),
                float(osm_nodes["lon"].max()), float(osm_nodes["lat"].max()))
        tm = read_tm_edges(data_dir / ROADS, bbox)
        matched = match_edges(tm, osm_nodes, osm_edges).edges
        good = matched[matched["ratio"] <= MAX_RATIO]
        fit = fit_model(good)
        cls = sorted(good["road_class"].unique())
        codes = np.searchsorted(cls, good["road_class"].to_numpy())
        after_c = line_circuity(cls, codes, good["deflection"].to_numpy(),
                                good["spacing_m"].to_numpy(), r.line_model_terms(), r.circuity)
        edge_err = {"avant": edge_errors(good, np.full(len(good), before.routing.circuity)),
                    "après": edge_errors(good, after_c)}
        osm = graph_from_osm_pbf(data_dir / ANDORRA, r.osm_speeds_kmh, cache_dir=cache)
        models = {}
        for name, cfg in (("avant", before), ("après", config)):
            models[name] = graph_from_line_layer(
                data_dir / ROADS, "road_class", cfg.routing.class_speeds_kmh,
                cfg.routing.circuity, layer="edges", cache_dir=cache,
                line_model=cfg.routing.line_model_terms())
        frame, n_places, n_pairs = path_errors(osm, models, r.class_speeds_kmh, tm)
        examples = example_trips(data_dir, models, r.class_speeds_kmh)
        shares = {}
        if region:
            for name, cfg in (("avant", before), ("après", config)):
                shares[name] = region_share(cfg, data_dir, cache)
    return Calibration(len(tm), good, len(matched), fit, edge_err, n_places, n_pairs,
                       error_table(frame, list(models)), shares, examples)


def _pct(value: float, signed: bool = False) -> str:
    text = f"{abs(value) * 100:.1f} %"
    return ("+" if value >= 0 else "-") + text if signed else text


def readme_block(cal: Calibration) -> str:
    """The calibration figures as the README states them (a test checks they are there)."""
    p: dict[Any, Any] = cal.paths.set_index(["modèle", "mesure"]).to_dict()
    rows = ["| Andorra (vs OpenStreetMap) | previous model (flat 1.15) | fitted model |",
            "|---|---|---|"]
    (eb_med, eb_p90), (ea_med, ea_p90) = cal.edge_errors["avant"], cal.edge_errors["après"]
    rows.append(f"| edge length along the same road, median absolute error | {_pct(eb_med)} | "
                f"{_pct(ea_med)} |")
    rows.append(f"| edge length along the same road, 90th percentile absolute error | "
                f"{_pct(eb_p90)} | {_pct(ea_p90)} |")
    for what, label in (("longueur", "shortest path length"), ("temps", "fastest path time")):
        for col, name in (("biais médian", "median error"),
                          ("|erreur| P90", "90th percentile absolute error")):
            signed = col == "biais médian"
            rows.append(f"| {label}, {name} | {_pct(p[col][('avant', what)], signed)} | "
                        f"{_pct(p[col][('après', what)], signed)} |")
    ex: dict[Any, Any] = cal.examples.set_index(["trajet", "modèle"]).to_dict()
    for label, _, _ in EXAMPLES:
        km_b, km_a = ex["km"][(label, "avant")], ex["km"][(label, "après")]
        mn_b, mn_a = ex["min"][(label, "avant")], ex["min"][(label, "après")]
        rows.append(f"| {label}: graph length, time | {km_b:.1f} km, {mn_b:.1f} min | "
                    f"{km_a:.1f} km, {mn_a:.1f} min |")
    if cal.shares:
        rows.append(f"| Occitanie population beyond 30 min | {_pct(cal.shares['avant'])} | "
                    f"{_pct(cal.shares['après'])} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--no-region", action="store_true",
                        help="skip the Occitanie population share (two travel-time runs)")
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    config = load_config(args.config)
    t0 = time.perf_counter()
    cal = calibrate(data_dir, config, region=not args.no_region)
    good = cal.edges
    print(f"Travel Mapping edges in the Andorra extract: {cal.n_tm_edges}; matched to the OSM "
          f"ways of the same number (both waypoints within {SNAP_M:.0f} m): {cal.n_matched}; "
          f"kept (ratio <= {MAX_RATIO}): {len(good)}, {good['drawn_m'].sum() / 1000:.1f} km "
          f"drawn, {good['osm_m'].sum() / 1000:.1f} km on OSM")
    print("\nBy class (length-weighted real / drawn length):")
    by = good.groupby("road_class").agg(
        edges=("ratio", "size"), drawn_km=("drawn_m", lambda s: s.sum() / 1000),
        osm_km=("osm_m", lambda s: s.sum() / 1000), median_ratio=("ratio", "median"),
        mean_deflection=("deflection", "mean"), median_spacing_m=("spacing_m", "median"))
    by["ratio"] = by["osm_km"] / by["drawn_km"]
    print(by.round(3).to_string())
    print("\nFit ln(real/drawn) = ln c[class] + winding x deflection + spacing x ln(spacing km)"
          " (WLS, weights = drawn length; bootstrap 5-95 %):")
    print(cal.fit.round(3).to_string())
    print("\nConfigured [routing.line_model]:", config.routing.line_model_terms())
    for name, (med, p90) in cal.edge_errors.items():
        print(f"edge lengths, {name}: median |error| {med:.1%}, P90 {p90:.1%}")
    print(f"\nPaths between {cal.n_places} places on both networks ({cal.n_pairs} ordered pairs "
          f"at >= {MIN_PATH_M / 1000:.0f} km on OSM; OSM: shortest length, fastest time with "
          "maxspeed else highway default):")
    print(cal.paths.to_string(index=False, float_format=lambda v: f"{v:+.1%}"))
    print("\nTrips named in issue 11 (Travel Mapping graph, nearest node at each end):")
    print(cal.examples.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    if cal.shares:
        print(f"\nOccitanie population beyond {config.travel.threshold_min:.0f} min "
              "(SU or SMUR, grid weights):")
        for name, share in cal.shares.items():
            print(f"  {name}: {share:.1%}")
    print("\nREADME table:\n" + readme_block(cal))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    print(LIMITS)
    return 0


LIMITS = """
What this sample can and cannot show:
- it is one small mountain area: 185 edges, 160 km of Andorran CG/CS roads (Travel Mapping classes
  'national' and 'departmental_or_regional'); no motorway, no plain, no city of Occitanie's
  size. Motorways and named freeways keep circuity 1 by principle (interchange-to-interchange
  chords of large-radius roads), not by measurement;
- the Andorran roads were drafted in Travel Mapping by other contributors than the Occitanie D
  roads (denser waypoints, sharper angles): the shape terms carry the fit to Occitanie only
  as far as the drafting is alike;
- the line layer carries no altitude, so no slope or altitude term could be fitted;
- the OSM 'times' are themselves modelled (maxspeed, else a highway-type default, no curve or
  congestion slow-down): they test the length model and the class speeds against speed
  limits, not against driven times;
- path pairs share edges, so they are far from independent: the path errors are a description
  of this area, not a confidence interval. The fit is in-sample (same edges).
"""


if __name__ == "__main__":
    sys.exit(main())
