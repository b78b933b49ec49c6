"""A 1 km lattice road graph and four facilities around it (travel-time unit tests)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely.geometry import Point

from zoning.routing import assemble_graph

X0, Y0 = 600_000.0, 6_300_000.0
KM = 1000.0
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)


def _grid_graph(n: int = 11):
    """n x n lattice, 1 km spacing, two-way edges driven at 60 km/h (60 s per edge)."""
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    idx = (ii * n + jj).ravel()
    x = X0 + ii.ravel() * KM
    y = Y0 + jj.ravel() * KM
    right = (ii[:-1, :] * n + jj[:-1, :]).ravel(), (ii[1:, :] * n + jj[1:, :]).ravel()
    up = (ii[:, :-1] * n + jj[:, :-1]).ravel(), (ii[:, 1:] * n + jj[:, 1:]).ravel()
    a = np.concatenate([right[0], up[0]])
    b = np.concatenate([right[1], up[1]])
    u, v = np.concatenate([a, b]), np.concatenate([b, a])
    m = u.shape[0]
    assert idx.shape[0] == n * n
    return assemble_graph(x, y, u, v, np.full(m, KM), np.full(m, 60.0),
                          np.zeros(m, dtype=np.int16), ["d"], "lattice", "réseau test")


def _pt(i: float, j: float) -> Point:
    return Point(X0 + i * KM, Y0 + j * KM)


def _facilities(d_region: str = "84") -> gpd.GeoDataFrame:
    rows = {
        "A0000000A": ("Hôpital A", _pt(0, 0), True, False, True, "76"),
        "B0000000B": ("Antenne B", _pt(10, 10), False, False, True, "76"),
        "C0000000C": ("Enfants C", _pt(3, 0), False, True, False, "76"),
        "D0000000D": ("Lointain D", _pt(500, 0), True, False, True, d_region),
    }
    frame = pd.DataFrame(
        [(k, n, s, p, m, r) for k, (n, _, s, p, m, r) in rows.items()],
        columns=["finess", "nom", "su", "su_pediatrique_seul", "smur", "reg"],
    ).set_index("finess")
    return gpd.GeoDataFrame(frame, geometry=[g for _, g, *_ in rows.values()], crs=2154)
