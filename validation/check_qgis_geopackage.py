"""Open a GeoPackage written by ``zoning score`` in QGIS itself and check what an analyst sees.

Needs QGIS's Python bindings (Debian: ``apt-get install python3-qgis``), so it runs with the
system Python, not the project's virtual environment, and is not part of the test suite (CI
checks the same rows and XML with sqlite3 and ElementTree, ``tests/test_exports.py``)::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 validation/check_qgis_geopackage.py \
        maps/zoning_76.gpkg [--png OUT_DIR]

Checks: the EPCI layer opens with its default rule-based style (legend entries for the robust
and limit priority outlines, the classes, the EPCI without data), its styles are listed in the
database (default + one per criterion) and each loads, labels are on (EPCI names), field
aliases are French, and the layer metadata has a title, rights and licences. With ``--png``,
renders the default and every criterion style to PNG files. Exits 1 on the first failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gpkg", type=Path)
    ap.add_argument("--png", type=Path, default=None, help="folder for rendered styles")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import (  # type: ignore[import-not-found]
        Qgis,
        QgsApplication,
        QgsMapRendererParallelJob,
        QgsMapSettings,
        QgsVectorLayer,
    )
    from qgis.PyQt.QtCore import QSize  # type: ignore[import-not-found]
    from qgis.PyQt.QtGui import QColor  # type: ignore[import-not-found]
    from qgis.PyQt.QtXml import QDomDocument  # type: ignore[import-not-found]

    app = QgsApplication([], False)
    app.initQgis()
    problems: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            problems.append(what)

    def render(layer: QgsVectorLayer, path: Path) -> None:
        ms = QgsMapSettings()
        ms.setLayers([layer])
        ms.setExtent(layer.extent())
        ms.setOutputSize(QSize(900, 700))
        ms.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererParallelJob(ms)
        job.start()
        job.waitForFinished()
        job.renderedImage().save(str(path))

    uri = f"{args.gpkg}|layername=epci_scores"
    layer = QgsVectorLayer(uri, "epci_scores", "ogr")
    check(layer.isValid(), f"QGIS {Qgis.QGIS_VERSION} opens "
                           f"{args.gpkg.name} (epci_scores: {layer.featureCount()} EPCI)")
    check(layer.renderer().type() == "RuleRenderer", "default style: rule-based renderer")
    legend = [item.label() for item in layer.renderer().legendSymbolItems()]
    print("      legend:", " | ".join(legend))
    check(any(x.startswith("Zone prioritaire robuste") for x in legend), "legend: robust outline")
    check(any(x.startswith("Zone prioritaire limite") for x in legend), "legend: limit outline")
    check(any(x.startswith("Donnée indisponible") for x in legend), "legend: missing data")
    check(layer.labelsEnabled() and layer.labeling().settings().fieldName == "epci_nom",
          "labels: EPCI names")
    alias = layer.attributeAlias(layer.fields().indexOf("composite"))
    check(alias.startswith("Score composite"), f"French alias of composite: {alias!r}")
    n, ids, names, _descs, _err = layer.listStylesInDatabase()
    own = list(zip(ids[:n], names[:n], strict=True))
    print("      styles:", " | ".join(name for _, name in own))
    check(n >= 2 and any(name.startswith("Critère 1") for _, name in own),
          f"{n} styles of the layer in the database (default + one per criterion)")
    if args.png:
        args.png.mkdir(parents=True, exist_ok=True)
        render(layer, args.png / "qgis_default.png")
    for i, (sid, name) in enumerate(own):
        qml, _ = layer.getStyleFromDatabase(sid)
        doc = QDomDocument()
        doc.setContent(qml)
        styled = QgsVectorLayer(uri, "epci_scores", "ogr")
        ok = styled.importNamedStyle(doc)[0] and styled.renderer().type() == "RuleRenderer"
        check(ok, f"style {name!r} loads ({len(styled.renderer().legendSymbolItems())} "
                  "legend entries)")
        if args.png:
            render(styled, args.png / f"qgis_style_{i}.png")
    md = layer.metadata()
    check(bool(md.title()), f"metadata title: {md.title()!r}")
    check(bool(md.rights()), f"metadata rights: {len(md.rights())} lines")
    check(bool(md.licenses()), f"metadata licences: {md.licenses()}")
    check(bool(md.links()), f"metadata links to the sources: {len(md.links())}")
    app.exitQgis()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
