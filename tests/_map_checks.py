"""What a rendered map shows: priority-class pixels of a screenshot, overlay labels of the layer
control, the layers a run should list (shared by the browser tests)."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np

from zoning.exports import _common as common
from zoning.exports import webmap

BACKGROUND = (0xF2, 0xF1, 0xEE)
FILL_OPACITY = 0.78


def class_pixels(img: np.ndarray) -> np.ndarray:
    """Pixels showing each priority-class colour blended over the map background."""
    rgb = img[..., :3].astype(float).reshape(-1, 3)
    counts = []
    for hexcol in common.YLORRD5:
        c = np.array([int(hexcol[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
        blended = FILL_OPACITY * c + (1 - FILL_OPACITY) * np.array(BACKGROUND)
        counts.append(int((np.abs(rgb - blended).max(axis=1) <= 8).sum()))
    return np.asarray(counts)


def priority_pixels(img: np.ndarray) -> int:
    """Pixels showing any priority-class colour."""
    return int(class_pixels(img).sum())


class _OverlayLabels(HTMLParser):
    """Text of each label in Leaflet's overlay list (``.leaflet-control-layers-overlays``)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.in_label = False
        self.labels: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if self.depth:
            if tag == "div":
                self.depth += 1
            if tag == "label":
                self.in_label = True
                self.labels.append("")
        elif tag == "div" and "leaflet-control-layers-overlays" in cls:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "div":
            self.depth -= 1
        if tag == "label":
            self.in_label = False

    def handle_data(self, data: str) -> None:
        if self.in_label:
            self.labels[-1] += data


def overlay_labels(dom: str) -> list[str]:
    p = _OverlayLabels()
    p.feed(dom)
    return [x.strip() for x in p.labels]


def expected_layers(result: object) -> list[str]:
    names = [webmap.PRIORITY_LAYER]
    for c in result.criteria:  # type: ignore[attr-defined]
        unit = common.display_scale(c)[1]
        names.append(f"{c.label} ({unit})" if c.available else f"{c.label} — {common.MISSING}")
    return names + [webmap.COMMUNE_LAYER, webmap.SU_LAYER, webmap.SMUR_LAYER,
                    webmap.ORIENTATION_LAYER]
