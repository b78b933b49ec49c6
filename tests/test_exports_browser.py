"""The web map in headless Chromium (network blocked): polygons drawn, layer control complete.

Marked ``browser``; never skipped: CI installs Debian ``chromium``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from _map_checks import class_pixels, expected_layers, overlay_labels, priority_pixels
from _tiny_run import EVIL, tiny_result

from zoning.exports import _common as common
from zoning.exports import screenshot, write_map
from zoning.exports.screenshot import dump_dom, read_png

pytestmark = pytest.mark.browser

def test_screenshot_shows_polygons(tmp_path: Path) -> None:
    html = write_map(tiny_result(), tmp_path / "carte.html")
    png = screenshot(html, tmp_path / "carte.png", width=1000, height=700, offline=True)
    img = read_png(png)
    assert img.shape[:2] == (700, 1000)
    # the four EPCI squares (a 4:1 strip) are drawn in four different class colours
    counts = class_pixels(img)
    assert priority_pixels(img) > 0.025 * 700 * 1000
    assert (counts > 2_000).sum() == 4


def test_blank_page_is_detected(tmp_path: Path) -> None:
    """The pixel check fails on a page without the map (so the test above can fail)."""
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body style='background:#f2f1ee'></body></html>", encoding="utf-8")
    img = read_png(screenshot(blank, tmp_path / "blank.png", width=400, height=300, offline=True))
    assert priority_pixels(img) == 0


def test_layer_control_lists_every_layer(tmp_path: Path) -> None:
    r = tiny_result()
    html = write_map(r, tmp_path / "carte.html")
    dom = dump_dom(html, offline=True)
    assert 'data-zoning-ready="1"' in dom  # the page script ran to its end
    assert overlay_labels(dom) == expected_layers(r)
    assert EVIL not in dom
    assert "leaflet-interactive" in dom or "<canvas" in dom


def test_html_in_labels_is_not_executed(tmp_path: Path) -> None:
    evil_label = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
    r = tiny_result()
    crit = [replace(c, label=evil_label) if c.id == "apl" else c for c in r.criteria]
    r = replace(r, criteria=crit)
    html = write_map(r, tmp_path / "carte.html")
    assert evil_label not in html.read_text(encoding="utf-8")
    dom = dump_dom(html, offline=True)
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None and "data-zoning-ready" in body.group(0)
    assert "data-pwned" not in body.group(0)  # the onerror handler never ran
    labels = overlay_labels(dom)
    assert f"{evil_label} (consultations/an/hab. standardisé)" in labels  # shown as text


def test_tooltips_and_search_show_data_as_text(tmp_path: Path) -> None:
    """Open every EPCI tooltip and type a search: French rows, names inserted as text only."""
    html = write_map(tiny_result(), tmp_path / "carte.html")
    driver = """<script>
    var api = window.zoningMapApi;
    api.priorityLayers.forEach(function (l) { l.openTooltip(l.getBounds().getCenter()); });
    var input = document.querySelector(".zoning-search input");
    input.value = "evil";
    input.dispatchEvent(new Event("input"));
    </script>"""
    page = html.read_text(encoding="utf-8").replace("</html>", driver + "</html>")
    probe = tmp_path / "probe.html"
    probe.write_text(page, encoding="utf-8")
    dom = dump_dom(probe, offline=True)
    assert dom.count('class="zoning-tt"') == 4
    assert "1 / 4" in dom and "4 / 4" in dom  # rank "n / N"
    assert "95\u00a0%" in dom or "95&nbsp;%" in dom  # selection probability
    assert "1,40 consultations/an/hab. standardisé" in dom
    assert f'class="zoning-missing">{common.MISSING}<' in dom  # ALD shown as missing
    assert "200000003" in dom and "Département" in dom
    assert EVIL not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    # search finds the commune whose name holds HTML, shown as text
    results = dom.split('class="zoning-search-results"', 1)[1].split("</ul>", 1)[0]
    assert "Saint-Évil &lt;b&gt;gras&lt;/b&gt;" in results and "<b>" not in results


def test_map_pdf_is_one_a4_landscape_page(tmp_path: Path) -> None:
    """``zoning map --pdf``: one A4 landscape page with title, legend, scale, north, sources."""
    import pypdf
    from click.testing import CliRunner

    from zoning.cli import main
    from zoning.exports import write_geopackage

    gpkg = write_geopackage(tiny_result(evil_name=False), tmp_path / "zoning_76.gpkg")
    pdf = tmp_path / "carte.pdf"
    res = CliRunner().invoke(main, ["map", "--from", str(gpkg), "-o", str(tmp_path),
                                    "--pdf", str(pdf)])
    assert res.exit_code == 0, res.output
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # A4 landscape
    text = reader.pages[0].extract_text()
    for needle in ("Zones prioritaires", "Score composite", "Zone prioritaire robuste",
                   "Sources :", "km", "N"):
        assert needle in text, needle
    for hidden in ("Rechercher", "Méthode, sources et notes"):  # controls are not printed
        assert hidden not in text, hidden
