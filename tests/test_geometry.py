"""The territory's web-map geometry prepared in the background (``zoning.exports.geometry``).

Tiny fixtures in code for each rule (what is served prepared, what is refused and computed on
the spot, errors), then the real runs: the Occitanie map payload is the same with and without
prepared geometry, and the regions of ``--region all`` reuse the national département unions.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from zoning.exports import geometry, webmap
from zoning.exports.geometry import PreparedGeometry

X0, Y0 = 600_000.0, 6_200_000.0


def _squares() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Six 1 km communes in a 3 x 2 grid, two départements (the left column and the rest),
    three EPCI (one per column)."""
    cells = [(i, j) for j in range(2) for i in range(3)]
    codes = [f"0{1 + (i > 0)}{i}{j}0" for i, j in cells]
    communes = gpd.GeoDataFrame(
        {"dep": ["01" if i == 0 else "02" for i, _ in cells],
         "epci_siren": [f"20000000{i}" for i, _ in cells],
         "in_region": True},
        geometry=[box(X0 + 1000 * i, Y0 + 1000 * j, X0 + 1000 * (i + 1), Y0 + 1000 * (j + 1))
                  for i, j in cells], index=pd.Index(codes, name="code_insee"), crs=2154)
    epci = communes.dissolve("epci_siren")[["geometry"]]
    epci.index = epci.index.astype(str)
    return epci, communes


@pytest.mark.parametrize("start", [True, False])
def test_prepared_parts_equal_the_writer_functions(start: bool) -> None:
    epci, communes = _squares()
    prepared = PreparedGeometry(epci, communes, start=start)
    deps = prepared.departement_polygons(communes.index, communes["dep"].to_numpy(),
                                         communes.geometry.values)
    assert list(deps.index) == ["01", "02"]
    expected = geometry.dissolve_polygons(communes.geometry.values, communes["dep"].to_numpy())
    assert shapely.equals_exact(deps.to_numpy(), expected.to_numpy(), 0).all()
    assert deps.iloc[0].area == pytest.approx(2e6) and deps.iloc[1].area == pytest.approx(4e6)

    order = communes.index[::-1]  # any order asked for is served, indexed like the request
    web = prepared.communes_web(order, geometry.COMMUNE_TOLERANCE_M)
    assert web is not None and web.crs.to_epsg() == 4326 and list(web.index) == list(order)
    direct = geometry.simplify_for_web(communes.geometry, 0.0).loc[order]
    assert shapely.equals_exact(web.values, direct.values, 0).all()

    ranked = epci.index[[2, 0, 1]]
    ew = prepared.epci_web(ranked, geometry.EPCI_TOLERANCE_M)
    assert ew is not None and list(ew.index) == list(ranked)
    same = geometry.simplify_in_code_order(epci.geometry.loc[ranked], geometry.EPCI_TOLERANCE_M)
    assert shapely.equals_exact(ew.values, same.values, 0).all()


def test_requests_not_prepared_are_refused_or_recomputed(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Commune and EPCI geometry not prepared: None (the writer computes it); a département
    whose communes differ from the prepared ones: dissolved on the spot, the others served."""
    epci, communes = _squares()
    prepared = PreparedGeometry(epci, communes, start=False)
    keys, geoms = communes["dep"].to_numpy(), communes.geometry.values
    dissolved: list[list[str]] = []
    real = geometry.dissolve_polygons

    def spy(g: Any, k: Any) -> pd.Series:
        dissolved.append(sorted(set(np.asarray(k).tolist())))
        return real(g, k)

    monkeypatch.setattr(geometry, "dissolve_polygons", spy)

    def check(rows: np.ndarray, k: np.ndarray, recomputed: list[str]) -> None:
        dissolved.clear()
        got = prepared.departement_polygons(communes.index[rows], k, geoms[rows])
        want = real(geoms[rows], k)
        assert list(got.index) == list(want.index)
        assert shapely.equals_exact(got.to_numpy(), want.to_numpy(), 0).all()
        assert dissolved[-1:] == ([recomputed] if recomputed else [])

    everything = np.ones(len(keys), dtype=bool)
    prepared.departement_polygons(communes.index, keys, geoms)
    assert dissolved == [["01", "02"]]  # start=False: the prepared unions, on first request
    check(everything, keys, [])  # then served
    check(np.arange(len(keys)) != 0, keys[1:], ["01"])  # 01 lost a commune: recomputed
    moved = keys.copy()
    moved[0] = "02"  # the first commune, of 01, moved to 02: both recomputed
    check(everything, moved, ["01", "02"])
    check(keys == "01", keys[keys == "01"], [])  # a whole département alone: served
    assert prepared.communes_web(pd.Index(["99999"]), 0.0) is None
    assert prepared.communes_web(communes.index, 150.0) is None
    assert prepared.epci_web(epci.index[:2], geometry.EPCI_TOLERANCE_M) is None  # a subset
    assert prepared.epci_web(epci.index, 100.0) is None
    with pytest.raises(ValueError, match="EPSG:2154"):
        PreparedGeometry(epci.to_crs(4326), communes)


def test_an_error_of_the_thread_is_raised_by_the_getter(monkeypatch: pytest.MonkeyPatch) -> None:
    epci, communes = _squares()
    gate = threading.Event()

    def broken(*args: Any) -> pd.Series:
        gate.wait(5)
        raise RuntimeError("GEOS failed")

    monkeypatch.setattr(geometry, "dissolve_polygons", broken)
    prepared = PreparedGeometry(epci, communes)
    gate.set()
    with pytest.raises(RuntimeError, match="GEOS failed"):
        prepared.departement_polygons(communes.index, communes["dep"].to_numpy(),
                                      communes.geometry.values)
    # the other parts were still computed
    assert prepared.communes_web(communes.index, 0.0) is not None


def test_occitanie_map_is_the_same_with_prepared_geometry(occitanie_run: Any) -> None:
    """The web map's payload with the geometry prepared during the run equals the one the
    writer computes itself, byte for byte (EPCI simplified in SIREN order in both)."""
    terr = occitanie_run.extra["territory"]
    result = occitanie_run.result
    prepared = PreparedGeometry(terr.epci, terr.communes)
    with_prep = webmap.build_payload(dataclasses.replace(result, prepared=prepared))
    without = webmap.build_payload(dataclasses.replace(result, prepared=None))
    assert json.dumps(with_prep, sort_keys=True) == json.dumps(without, sort_keys=True)
    # and each part was served prepared, not recomputed
    assert prepared.epci_web(result.epci.index, webmap.EPCI_TOLERANCE_M) is not None
    # 13 départements; the Occitanie territory's neighbouring communes are not outlined
    assert len(with_prep["orientation"]["deps"]["names"]) == 13
    assert not result.communes["in_region"].all()


def test_region_all_shares_the_national_prepared_geometry(
        france_all: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--region all``: each region's map takes the national département unions (only those
    of départements with communes in an EPCI of another region are dissolved again) and
    commune geometry; its EPCI coverage is simplified on its own (a subset simplifies
    differently)."""
    national, regions = france_all.runs[0], france_all.runs[1:]
    prepared = national.result.prepared
    assert isinstance(prepared, PreparedGeometry)
    occ = next(r for r in regions if r.result.region == "76")
    assert occ.result.prepared is prepared
    inside = geometry.region_communes(occ.result.communes)
    keys = inside["dep"].astype(str).to_numpy()
    geoms = np.asarray(inside.geometry.values)
    real = geometry.dissolve_polygons
    again: list[str] = []
    monkeypatch.setattr(geometry, "dissolve_polygons",
                        lambda g, k: again.extend(sorted(set(k))) or real(g, k))
    served = prepared.departement_polygons(inside.index, keys, geoms)
    own = real(geoms, keys)
    assert list(served.index) == list(own.index) and len(served) == 13
    assert shapely.equals_exact(served.to_numpy(), own.to_numpy(), 0).all()
    # Gard, Gers, Hautes-Pyrénées have communes in EPCI of neighbouring regions
    assert again == ["30", "32", "65"]
    assert prepared.epci_web(occ.result.epci.index, webmap.EPCI_TOLERANCE_M) is None
    assert prepared.epci_web(national.result.epci.index, webmap.EPCI_TOLERANCE_M) is not None
    assert prepared.communes_web(occ.result.communes.index, 0.0) is not None
    a = webmap._orientation_part(occ.result)
    b = webmap._orientation_part(dataclasses.replace(occ.result, prepared=None))
    assert a == b


def test_the_geotiff_bands_prepared_are_those_the_writer_computes(occitanie_run: Any) -> None:
    """The travel-time GeoTIFF's bands queued once the run has its travel times equal
    ``time_raster`` computed by the writer; other inputs (other objects) are not served."""
    from zoning.exports.travel import time_raster

    terr, tin, config = (occitanie_run.extra[k] for k in ("territory", "travel", "config"))
    prepared = PreparedGeometry(terr.epci, terr.communes)
    prepared.prepare_raster(tin, config, terr.epci, 1000.0)
    got = prepared.time_raster(tin, config, terr.epci, 1000.0)
    want = time_raster(tin, config, 1000.0, terr.epci)
    assert (got.width, got.height, got.transform, got.crs) == (
        want.width, want.height, want.transform, want.crs)
    for a, b in zip(got.bands, want.bands, strict=True):
        assert np.array_equal(a, b)
    valid = want.bands[2][want.bands[2] >= 0]
    assert valid.size > 50_000 and 0 < np.median(valid) < 60  # minutes, Occitanie at 1 km
    assert prepared.time_raster(tin, config, terr.epci.copy(), 1000.0) is None
    assert prepared.time_raster(tin, config, terr.epci, 250.0) is None
    assert PreparedGeometry(terr.epci, terr.communes, start=False).time_raster(
        tin, config, terr.epci) is None


def test_a_run_that_prepares_queues_its_geotiff(france_all: Any) -> None:
    """``pipeline.run(prepare=True)`` (the national run of ``--region all``) queued the bands
    of its own GeoTIFF, with the very inputs ``raster_job`` writes from; the regional runs cut
    from it have other travel times: their writers compute their own."""
    national = france_all.runs[0]
    occ = next(r for r in france_all.runs[1:] if r.result.region == "76")
    prepared = national.result.prepared
    ex = national.extra
    bands = prepared.time_raster(ex["travel"], ex["config"], ex["territory"].epci)
    assert bands is not None and len(bands.bands) == 3
    oex = occ.extra
    assert prepared.time_raster(oex["travel"], oex["config"], oex["territory"].epci) is None
