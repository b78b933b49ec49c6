"""Regenerate the README pictures from a run's own outputs (headless Chromium, offline).

    python docs/screenshots.py [maps/]

Reads ``zoning_76.html`` and the first fiche of ``fiches/`` written by ``zoning score`` in the
given folder (default ``maps/``) and writes ``docs/img/carte_bureau.png`` (1024 x 700, a mouse
over an EPCI), ``docs/img/carte_telephone.png`` (390 x 844, a finger tap) and
``docs/img/fiche.png`` (the A4 fiche as printed). The pictures are renderings of the tool's
output, never of input data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import shapely

from zoning.exports import browser, read_geopackage

IMG = Path(__file__).resolve().parent / "img"


def _point_in(result, i: int) -> list[float]:  # type: ignore[no-untyped-def]
    geom = result.epci.geometry.iloc[i]
    pt = gpd.GeoSeries([shapely.point_on_surface(geom.buffer(-2000) or geom)],
                       crs=result.epci.crs).to_crs(4326).iloc[0]
    return [pt.y, pt.x]


def _to_screen(page, ll: list[float]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    x, y = page.evaluate("""(ll) => { var m = window.zoningMapApi.map,
        r = m.getContainer().getBoundingClientRect(), p = m.latLngToContainerPoint(ll);
        return [p.x + r.left, p.y + r.top]; }""", ll)
    return float(x), float(y)


def main(folder: Path) -> None:
    html = next(folder.glob("zoning_*.html"))
    result = read_geopackage(next(folder.glob("zoning_*.gpkg")))
    fiche = sorted((folder / "fiches").glob("*.html"))[0]
    IMG.mkdir(exist_ok=True)
    with browser.session() as b:
        for name, size, mobile in (("carte_bureau", (1024, 700), False),
                                   ("carte_telephone", (390, 844), True)):
            page = browser.offline_page(b, *size, mobile=mobile)
            page.goto(html.resolve().as_uri())
            page.wait_for_selector("body[data-zoning-ready='1']")
            x, y = _to_screen(page, _point_in(result, 0))  # the worst-ranked EPCI
            if mobile:
                page.touchscreen.tap(x, y)
            else:
                page.mouse.move(x, y, steps=3)
            page.wait_for_timeout(400)
            page.screenshot(path=str(IMG / f"{name}.png"))
            page.context.close()
        page = browser.offline_page(b, 794, 1123)
        page.emulate_media(media="print")
        page.goto(fiche.resolve().as_uri())
        page.screenshot(path=str(IMG / "fiche.png"), full_page=True)
    for p in sorted(IMG.glob("*.png")):
        print(f"{p}: {p.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("maps"))
