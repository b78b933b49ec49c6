"""The real Occitanie map under a REAL mouse and a REAL finger (Playwright input events).

Nothing here opens a tooltip from JavaScript: the pointer moves (or taps) at a point inside
each EPCI, and the test reads what the page then shows. JavaScript is only used to turn a
latitude/longitude into screen pixels and to read what covers the screen.
On a map whose polygons do not receive the pointer (a canvas of another pane on top, as the
SU/SMUR sites once were) every check below fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from zoning.exports import browser
from zoning.results import RunResult

pytestmark = [pytest.mark.integration, pytest.mark.browser]

DESKTOP = (1400, 900)
PHONE = (390, 844)
N_EPCI = 12

_TO_SCREEN = """(lls) => {
  var m = window.zoningMapApi.map, r = m.getContainer().getBoundingClientRect();
  return lls.map(function (ll) {
    var p = m.latLngToContainerPoint(ll), x = p.x + r.left, y = p.y + r.top;
    var e = document.elementFromPoint(x, y);
    var free = !!e && !e.closest(".leaflet-control, .zoning-header, .leaflet-marker-icon");
    return [x, y, free];
  });
}"""

_COVERED = """() => {
  /* share of the viewport whose topmost element is a control or the header */
  var w = window.innerWidth, h = window.innerHeight, step = 6, n = 0, hit = 0;
  for (var y = step / 2; y < h; y += step) {
    for (var x = step / 2; x < w; x += step) {
      n++;
      var e = document.elementFromPoint(x, y);
      if (e && e.closest(".leaflet-control, .zoning-header")) { hit++; }
    }
  }
  return hit / n;
}"""

_TOOLTIP = """(name) => {
  var tips = Array.prototype.slice.call(document.querySelectorAll(".leaflet-tooltip"));
  for (var i = 0; i < tips.length; i++) {
    var t = tips[i].querySelector(".zoning-tt-title");
    if (t && t.textContent === name) {
      var r = tips[i].getBoundingClientRect(), s = getComputedStyle(tips[i]);
      var tr = t.getBoundingClientRect(), hidden = false;
      document.querySelectorAll(".leaflet-control").forEach(function (c) {
        var q = c.getBoundingClientRect();  /* controls are drawn above the tooltips */
        if (q.width && tr.left < q.right && tr.right > q.left && tr.top < q.bottom
            && tr.bottom > q.top) { hidden = true; }
      });
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, title_hidden: hidden,
               visible: s.display !== "none" && s.visibility !== "hidden" && +s.opacity > 0,
               text: tips[i].textContent };
    }
  }
  return null;
}"""


def _inner_points(result: RunResult) -> gpd.GeoDataFrame:
    """A point well inside each EPCI (2 km from its border when possible), EPSG:4326."""
    geoms = result.epci.geometry
    inner = shapely.buffer(geoms.values, -2000.0)
    inner = np.where(shapely.is_empty(inner), geoms.values, inner)
    pts = shapely.point_on_surface(inner)
    out = gpd.GeoDataFrame({"nom": result.epci["epci_nom"].astype(str),
                            "area": geoms.area}, geometry=list(pts), crs=geoms.crs)
    return out.to_crs(4326)


def _open(chromium: Any, html: Path, size: tuple[int, int], mobile: bool) -> Any:
    page = browser.offline_page(chromium, *size, mobile=mobile)
    page.goto(html.resolve().as_uri())
    page.wait_for_selector("body[data-zoning-ready='1']", timeout=30_000)
    page.wait_for_timeout(300)
    return page


def _targets(page: Any, result: RunResult, n: int) -> list[tuple[str, float, float]]:
    """The ``n`` largest EPCI whose inner point is on screen and not under a control."""
    pts = _inner_points(result).sort_values("area", ascending=False)
    lls = [[float(g.y), float(g.x)] for g in pts.geometry]
    screen = page.evaluate(_TO_SCREEN, lls)
    w, h = page.viewport_size["width"], page.viewport_size["height"]
    out = []
    for name, (x, y, free) in zip(pts["nom"], screen, strict=True):
        if free and 5 < x < w - 5 and 5 < y < h - 5:
            out.append((name, x, y))
    assert len(out) >= n, f"only {len(out)} EPCI reachable on screen"
    return out[:n]


def _check_tooltip(page: Any, name: str) -> None:
    w, h = page.viewport_size["width"], page.viewport_size["height"]
    tip = page.evaluate(_TOOLTIP, name)
    assert tip is not None, f"no tooltip naming {name!r} after the pointer event"
    assert tip["visible"], name
    assert not tip["title_hidden"], f"{name!r}: the tooltip's title is under a control"
    assert tip["left"] >= 0 and tip["top"] >= 0, (name, tip)
    assert tip["right"] <= w and tip["bottom"] <= h, (name, tip)
    assert "Rang" in tip["text"] and "Pourquoi" in tip["text"]


def test_mouse_hover_names_each_epci(chromium: Any, outputs: dict[str, Path],
                                     occitanie: RunResult) -> None:
    page = _open(chromium, outputs["map"], DESKTOP, mobile=False)
    try:
        targets = _targets(page, occitanie, N_EPCI)
        for name, x, y in targets:
            page.mouse.move(x, y, steps=3)
            page.wait_for_timeout(60)
            _check_tooltip(page, name)
        # a commune answers too, once its layer is switched on by a real click; the layer is
        # built then, not at load (35,000 hidden polygons in the national map)
        layer = "Temps d'accès au SU ou SMUR le plus proche (communes)"
        count = "(n) => window.zoningMapApi.overlays[n].getLayers().length"
        assert page.evaluate(count, layer) == 0
        page.get_by_text(layer).click()
        assert page.evaluate(count, layer) == 1
        page.mouse.move(targets[0][1] + 3, targets[0][2] + 3, steps=2)
        page.wait_for_timeout(250)  # closed tooltips fade out in 200 ms
        shown = page.locator(".leaflet-tooltip").all_inner_texts()
        assert len(shown) == 1 and "Code INSEE" in shown[0], shown
    finally:
        page.context.close()


def test_finger_tap_names_each_epci_on_a_phone(chromium: Any, outputs: dict[str, Path],
                                               occitanie: RunResult) -> None:
    page = _open(chromium, outputs["map"], PHONE, mobile=True)
    try:
        covered = page.evaluate(_COVERED)
        assert covered < 0.40, f"controls cover {covered:.0%} of the phone's first view"
        for name, x, y in _targets(page, occitanie, N_EPCI):
            page.touchscreen.tap(x, y)
            page.wait_for_timeout(80)
            _check_tooltip(page, name)
            page.wait_for_timeout(400)  # two taps closer in time are a double tap (zoom)
    finally:
        page.context.close()
