"""Size and time of the Occitanie exports (web map, GeoPackage, tables).

Runs the real pipeline for region 76 (``zoning.pipeline.run``, real data in
``$ZONING_DATA_DIR``), then writes each output and reports its size and time (best of
``--repeat``). The web map is compared, in the same run, with two alternatives:

- the default folium export: one ``folium.GeoJson`` layer per map layer (priority, five
  criteria, communes) with unsimplified full-precision geometries and a tooltip, and
  folium's CDN resources (what ``GeoDataFrame.explore(m=...)`` per layer produces;
  ``explore`` itself needs matplotlib, not a dependency);
- the zoning page without simplification (tolerance 0), to isolate the simplification.

The XLSX workbook is written three times in the same run with the same cells (values,
number formats, highlighted rows, wrapped headers, column widths, quote prefixes, print
setup): by the product's writer (xlsxwriter, table rows built as whole columns), by
xlsxwriter one ``write_string`` / ``write_number`` call per cell (the product's writer until
issue 15) and by openpyxl, cell by cell (the writer before that); the script prints the
times and ratios. ``--region FR`` times the national run (35,000 communes).

If the pipeline cannot run, REAL geometries with PLACEHOLDER scores are used (from
``tests/test_exports_fixtures.py``) and the script says so.

Usage: ``ZONING_DATA_DIR=../shared/data python bench/bench_exports.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import folium

from zoning.exports import tables as tables_mod
from zoning.exports import write_geopackage, write_map, write_tables
from zoning.exports._common import COMMUNE_LABELS, epci_column_labels
from zoning.results import RunResult
from zoning.settings import resolve_data_dir


def load_result(data_dir: Path, region: str = "76") -> tuple[RunResult, str]:
    from zoning import pipeline
    from zoning.config import load_config

    run = pipeline.run(load_config(), data_dir, region=region)
    return run.result, f"real pipeline run (region {region})"


def best_of(repeat: int, fn: Callable[[], Path | list[Path]]) -> tuple[float, Path | list[Path]]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    assert out is not None
    return best, out


def xlsx_only(result: RunResult, path: Path) -> Path:
    """The product's workbook alone (xlsxwriter), as ``write_tables`` writes it."""
    epci = tables_mod._french_missing(tables_mod.epci_table(result), result)
    tables_mod._write_xlsx(result, epci, tables_mod.commune_table(result), path)
    return path


def xlsxwriter_per_cell(result: RunResult, path: Path) -> Path:
    """The same workbook with one xlsxwriter call per cell (the named alternative)."""
    import xlsxwriter

    epci = tables_mod._french_missing(tables_mod.epci_table(result), result)
    communes = tables_mod.commune_table(result)
    labels = {"epci_siren": "SIREN de l'EPCI", **epci_column_labels(result)}
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    fmts = tables_mod._Formats(wb)
    title = "zoning"
    for name, data in (
            ("Classement des EPCI", tables_mod.sheet_data(epci, labels, epci["selected"])),
            ("Communes", tables_mod.sheet_data(communes, COMMUNE_LABELS,
                                               communes["epci_prioritaire"]))):
        ws = wb.add_worksheet(name)
        head = wb.add_format({"bold": True, "font_color": "#FFFFFF", "text_wrap": True,
                              "bg_color": "#" + tables_mod.HEADER_FILL, "valign": "vcenter"})
        lines = 1
        for j, (label, width) in enumerate(zip(data.headers, data.widths, strict=True)):
            ws.set_column(j, j, width)
            ws.write_string(0, j, str(label), head)
            lines = max(lines, tables_mod.header_lines(str(label), width))
        ws.set_row(0, 15 * min(lines, 8))
        for j, values in enumerate(data.columns):
            num, quoted = data.formats[j], data.formula_like[j]
            for i, v in enumerate(values):
                fill = bool(data.highlight[i])
                if isinstance(v, str):
                    missing = v == tables_mod.MISSING
                    ws.write_string(i + 1, j, v, fmts.get(fill=fill, missing=missing,
                                                          quote=bool(quoted[i]) and not missing))
                else:
                    ws.write_number(i + 1, j, v, fmts.get(num, fill))
        ws.freeze_panes(1, 2)
        ws.autofilter(0, 0, data.n_rows, len(data.columns) - 1)
        tables_mod._page_setup(ws, title, repeat_header=True)
    tables_mod._write_method(wb, result, title)
    wb.close()
    return path


def folium_default(result: RunResult, path: Path) -> Path:
    """Default folium export of the same layers, unsimplified (the named alternative)."""
    epci = result.epci.to_crs(4326)
    com = result.communes.to_crs(4326)
    m = folium.Map(location=[43.7, 2.2], zoom_start=8)
    cols = ["epci_nom", "dep", "population", "rank", "probability", "composite"]
    cols += [c.id for c in result.criteria]
    epci = epci[cols + ["geometry"]].reset_index()
    for name in ["composite"] + [c.id for c in result.criteria]:
        folium.GeoJson(
            epci, name=name,
            style_function=lambda f, n=name: {"fillColor": "#fd8d3c" if f["properties"][n]
                                              else "#bdbdbd", "weight": 1},
            tooltip=folium.GeoJsonTooltip(fields=["epci_siren", *cols]),
        ).add_to(m)
    ccols = [c for c in ("nom", "population", "t_urgence_min") if c in com.columns]
    folium.GeoJson(com[ccols + ["geometry"]].reset_index(), name="communes",
                   tooltip=folium.GeoJsonTooltip(fields=["code_insee", *ccols])).add_to(m)
    folium.LayerControl().add_to(m)
    m.save(str(path))
    return path


def openpyxl_workbook(result: RunResult, path: Path) -> Path:
    """The same workbook written with openpyxl, cell by cell (the named alternative)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    epci = tables_mod._french_missing(tables_mod.epci_table(result), result)
    communes = tables_mod.commune_table(result)
    labels = {"epci_siren": "SIREN de l'EPCI", **epci_column_labels(result)}
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor=tables_mod.HEADER_FILL)
    sel_fill = PatternFill("solid", fgColor=tables_mod.SELECTED_FILL)
    missing_font = Font(italic=True, color=tables_mod.MISSING_COLOR)
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    sheets = [("Classement des EPCI", tables_mod.sheet_data(epci, labels, epci["selected"])),
              ("Communes", tables_mod.sheet_data(communes, COMMUNE_LABELS,
                                                 communes["epci_prioritaire"]))]
    for name, data in sheets:
        ws = wb.create_sheet(name)
        ws.append(data.headers)
        for i in range(data.n_rows):
            ws.append([col[i] for col in data.columns])
        lines = 1
        for j, (label, width) in enumerate(zip(data.headers, data.widths, strict=True), 1):
            ws.column_dimensions[get_column_letter(j)].width = width
            cell = ws.cell(row=1, column=j)
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            lines = max(lines, tables_mod.header_lines(label, width))
            fmt, quoted = data.formats[j - 1], data.formula_like[j - 1]
            for i, (row,) in enumerate(ws.iter_rows(min_row=2, min_col=j, max_col=j)):
                if row.value == tables_mod.MISSING:
                    row.font = missing_font
                elif fmt is not None:
                    row.number_format = fmt
                if quoted[i]:
                    row.data_type, row.quotePrefix = "s", True
                if data.highlight[i]:
                    row.fill = sel_fill
        ws.row_dimensions[1].height = 15 * min(lines, 8)
        ws.freeze_panes = "C2"
        ws.auto_filter.ref = ws.dimensions
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = 9
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
    ws = wb.create_sheet("Méthode et sources")
    for cells, _style in tables_mod.method_rows(result):
        ws.append(cells)
    wb.save(path)
    return path


def mb(n: int) -> str:
    return f"{n / 1e6:6.2f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--region", default="76", help="INSEE region code or FR (default 76)")
    args = ap.parse_args()
    data_dir = resolve_data_dir()
    t = time.perf_counter()
    result, origin = load_result(data_dir, args.region)
    print(f"input: {origin}; {len(result.epci)} EPCI, {len(result.communes)} communes, "
          f"{len(result.facilities)} sites (loaded in {time.perf_counter() - t:.1f} s)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows = []
        t_map, p = best_of(args.repeat, lambda: write_map(result, tmp / "zoning_76.html"))
        size_map = Path(str(p)).stat().st_size
        rows.append(("web map (zoning)", size_map, t_map))
        t_raw, p = best_of(1, lambda: write_map(result, tmp / "raw.html", 0.0, 0.0))
        size_raw = Path(str(p)).stat().st_size
        rows.append(("web map, no simplification", size_raw, t_raw))
        t_fol, p = best_of(1, lambda: folium_default(result, tmp / "folium.html"))
        size_fol = Path(str(p)).stat().st_size
        rows.append(("folium default export (unsimplified)", size_fol, t_fol))
        t_gpkg, p = best_of(args.repeat, lambda: write_geopackage(result, tmp / "zoning_76.gpkg"))
        rows.append(("GeoPackage", Path(str(p)).stat().st_size, t_gpkg))
        t_tab, ps = best_of(args.repeat, lambda: write_tables(result, tmp / "tables"))
        assert isinstance(ps, list)
        rows.append((f"tables ({len(ps)} files)", sum(q.stat().st_size for q in ps), t_tab))
        t_xw, p = best_of(args.repeat, lambda: xlsx_only(result, tmp / "xlsxwriter.xlsx"))
        rows.append(("XLSX, xlsxwriter (zoning)", Path(str(p)).stat().st_size, t_xw))
        t_pc, p = best_of(args.repeat,
                          lambda: xlsxwriter_per_cell(result, tmp / "per_cell.xlsx"))
        rows.append(("XLSX, xlsxwriter per cell (same cells)", Path(str(p)).stat().st_size, t_pc))
        t_op, p = best_of(args.repeat, lambda: openpyxl_workbook(result, tmp / "openpyxl.xlsx"))
        rows.append(("XLSX, openpyxl (same cells)", Path(str(p)).stat().st_size, t_op))
        print(f"{'output':40s} {'size':>10s} {'time':>8s}")
        for name, size, secs in rows:
            print(f"{name:40s} {mb(size):>10s} {secs:7.2f}s")
        print(f"map size vs folium default export: {size_map / size_fol:.3f} "
              f"({size_fol / size_map:.1f}x smaller); vs no simplification: "
              f"{size_map / size_raw:.3f}")
        print(f"XLSX writer: zoning {t_xw:.2f} s vs xlsxwriter per cell {t_pc:.2f} s "
              f"({t_pc / t_xw:.1f}x faster) vs openpyxl {t_op:.2f} s ({t_op / t_xw:.1f}x faster) "
              "for the same cells")
        print(f"map under 8 MB: {'yes' if size_map < 8 * 1024 * 1024 else 'NO'}")


if __name__ == "__main__":
    main()
