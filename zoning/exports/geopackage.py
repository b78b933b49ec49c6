"""GeoPackage for QGIS: scored EPCI, communes, emergency sites, styles and run parameters.

Layers (EPSG:2154): ``epci_scores``, ``communes``, ``urgences``; attribute table
``run_parameters`` (``parametre``, ``valeur``: region, version, computed_at, config,
vintages, criteria metadata, notes, note sections). QGIS styles are stored in the standard
``layer_styles`` table: communes and sites from the QML of ``zoning/exports/styles/``; the EPCI
layer has a default "Priorité" style and one style per criterion (Layer Properties > Style),
each a rule-based renderer (QML and SLD) built from the run by :mod:`zoning.exports.qgis`
(quintiles of the web map, priority outlines as legend entries, EPCI names as labels). French
field labels and descriptions in ``gpkg_data_columns`` (read by GDAL as alternative names
and comments, by QGIS as aliases); layer descriptions in ``gpkg_contents`` and
``gpkg_metadata`` (+ ``gpkg_metadata_reference``): a Dublin Core description and the QGIS
metadata of each layer (title, abstract, sources with links, vintages, rights and licences).
The travel-time GeoTIFF is written beside the GeoPackage by the routing code and
referenced in ``run_parameters`` (``raster_path``).
"""

from __future__ import annotations

import json
import sqlite3
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from zoning.atomic import atomic_path
from zoning.errors import ExportError
from zoning.exports._common import (
    COMMUNE_LABELS,
    FACILITY_LABELS,
    check_result,
    computed_at,
    epci_column_labels,
    missing_criteria_notes,
    params_json,
    site_categories,
    sources_lines,
    version,
)
from zoning.exports.qgis import METADATA_URI, LayerMetadata, epci_styles, metadata_xml
from zoning.fmt import fr_number
from zoning.results import CriterionMeta, NoteSection, RunResult
from zoning.sources.catalogue import CATALOGUE, Source

LAYERS = ("epci_scores", "communes", "urgences")
PARAMS_TABLE = "run_parameters"

LAYER_DESCRIPTIONS = {
    "epci_scores": ("EPCI de la région : valeurs brutes des cinq critères, scores normalisés "
                    "(0 à 1, 1 = plus vulnérable), score composite, rang, sélection en zone "
                    "prioritaire, probabilité de sélection et robustesse (sensibilité)."),
    "communes": ("Communes des EPCI : population, données d'entrée des critères et temps de "
                 "trajet routier au service d'urgences (SU) et au SMUR les plus proches."),
    "urgences": ("Sites d'urgences (SU) et SMUR utilisés pour les temps de trajet (SAE, FINESS), "
                 "y compris ceux des régions voisines."),
}

STYLE_NAMES = {
    "communes": "Temps d'accès au SU ou SMUR le plus proche",
    "urgences": "Sites SU et SMUR par type",
}
"""Styles packaged as QML files (``zoning/exports/styles/``); the EPCI styles are built from
the run (:func:`zoning.exports.qgis.epci_styles`)."""

LAYER_SOURCES: dict[str, tuple[str, ...]] = {
    "epci_scores": ("epci", "communes_epci", "communes", "apl", "apl_age", "ald_bv",
                    "bv_communes", "filosofi", "urgences", "smursamu", "roads_france",
                    "roads_france_nodes", "population_grid_france"),
    "communes": ("communes", "mairies", "communes_epci", "apl", "ald_bv", "bv_communes",
                 "filosofi", "urgences", "smursamu", "roads_france", "roads_france_nodes",
                 "population_grid_france", "departements", "arrondissements"),
    "urgences": ("urgences", "smursamu"),
}
"""Catalogue sources each layer is computed from (credited in the layer metadata)."""

LAYER_TITLES = {
    "epci_scores": "EPCI : critères, score et zones prioritaires",
    "communes": "Communes : population, données d'entrée et temps d'accès aux urgences",
    "urgences": "Sites d'urgences (SU) et SMUR",
}

_QML_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"


def style_qml(name: str) -> str:
    """The packaged QML style of a layer (``zoning/exports/styles/<name>.qml``)."""
    return resources.files("zoning.exports").joinpath("styles", f"{name}.qml").read_text("utf-8")


def _set_aliases(root: ET.Element, labels: dict[str, str], fields: list[str]) -> None:
    aliases = root.find("aliases")
    if aliases is None:
        aliases = ET.SubElement(root, "aliases")
    for child in list(aliases):
        aliases.remove(child)
    for i, f in enumerate(fields):
        if f in labels:
            ET.SubElement(aliases, "alias", {"field": f, "index": str(i), "name": labels[f]})


def _style_with_aliases(name: str, labels: dict[str, str], fields: list[str]) -> str:
    root = ET.fromstring(style_qml(name))
    _set_aliases(root, labels, fields)
    return _QML_DOCTYPE + ET.tostring(root, encoding="unicode")


# --------------------------------------------------------------------------- frames


def _layer_frames(result: RunResult) -> dict[str, gpd.GeoDataFrame]:
    epci = result.epci.reset_index()
    if "epci_siren" not in epci.columns:
        epci = epci.rename(columns={epci.columns[0]: "epci_siren"})
    com = result.communes.reset_index()
    if "code_insee" not in com.columns:
        com = com.rename(columns={com.columns[0]: "code_insee"})
    fac = result.facilities.copy()
    fac["categorie"] = site_categories(fac)
    fac = fac.reset_index()
    if "finess" not in fac.columns:
        fac = fac.rename(columns={fac.columns[0]: "finess"})
    return {"epci_scores": epci, "communes": com, "urgences": fac}


def _field_docs(result: RunResult) -> dict[str, dict[str, tuple[str, str]]]:
    """(French label, description) of every documented field, per layer."""
    labels = epci_column_labels(result)
    epci: dict[str, tuple[str, str]] = {k: (v, v) for k, v in labels.items()}
    for c in result.criteria:
        status = "" if c.available else " Donnée indisponible pour ce calcul."
        src = f" Source : {c.source}" + (f", millésime {c.vintage}." if c.vintage else ".")
        sens = ("plus la valeur est élevée, plus l'EPCI est vulnérable"
                if c.direction == "higher_is_worse"
                else "plus la valeur est basse, plus l'EPCI est vulnérable")
        note = f" {c.note}" if c.note else ""
        epci[c.id] = (labels[c.id], f"{c.label}, en {c.unit} ({sens}).{src}{note}{status}")
        epci[f"{c.id}_score"] = (labels[f"{c.id}_score"],
                                 f"Score normalisé du critère « {c.label} », poids "
                                 f"{fr_number(c.weight, 3)} dans le score composite.{status}")
    epci["probability"] = (labels["probability"],
                           "Part des tirages de l'analyse de sensibilité (poids et normalisation "
                           "tirés au hasard) où l'EPCI est sélectionné.")
    com = {k: (v, v) for k, v in COMMUNE_LABELS.items()}
    fac = {k: (v, v) for k, v in FACILITY_LABELS.items()}
    return {"epci_scores": epci, "communes": com, "urgences": fac}


def _raster_ref(result: RunResult, gpkg: Path) -> str:
    """The GeoTIFF path, relative (file name) when it lies beside the GeoPackage."""
    if not result.raster_path:
        return ""
    raster = Path(result.raster_path)
    if raster.resolve().parent == gpkg.resolve().parent:
        return raster.name
    return str(raster)


def _params_rows(result: RunResult, gpkg: Path) -> pd.DataFrame:
    cfg = result.params.get("config", "")
    rows = [
        ("region", str(result.region)),
        ("region_name", result.region_name),
        ("version", version(result)),
        ("computed_at", computed_at(result)),
        ("config", cfg if isinstance(cfg, str) else json.dumps(cfg, ensure_ascii=False,
                                                                default=str)),
        ("vintages", json.dumps(result.params.get("vintages", {}), ensure_ascii=False,
                                default=str)),
        ("criteria", json.dumps([asdict(c) for c in result.criteria], ensure_ascii=False)),
        ("notes", json.dumps(missing_criteria_notes(result), ensure_ascii=False)),
        ("sources", json.dumps(sources_lines(result), ensure_ascii=False)),
        ("sections", json.dumps([asdict(sec) for sec in result.sections],
                                ensure_ascii=False)),
        ("raster_path", _raster_ref(result, gpkg)),
        ("params", params_json(result)),
    ]
    return pd.DataFrame(rows, columns=["parametre", "valeur"])


def layer_sources(result: RunResult, layer: str) -> list[Source]:
    """The catalogue sources a layer was computed from (the run's variants included)."""
    ids = list(LAYER_SOURCES[layer])
    cfg = result.params.get("config") or {}
    age = (cfg.get("age") or {}).get("indicator") if isinstance(cfg, dict) else None
    if layer == "epci_scores":
        if age == "effectifs_2019":  # criterion 2 from the 2019 head counts, not the APL
            ids[ids.index("apl_age")] = "mg_2019"
        files = result.params.get("input_files") or {}
        ids += [k for k in ("filosofi_epci", "ald") if k in files]
    return [CATALOGUE[i] for i in ids if i in CATALOGUE]


def _layer_metadata(result: RunResult, layer: str, frame: gpd.GeoDataFrame) -> LayerMetadata:
    created = computed_at(result)
    history = [f"Calculé par zoning {version(result)}" + (f" le {created}" if created else "")
               + f" pour la région {result.region_name} ({result.region})."]
    history += sources_lines(result) if layer == "epci_scores" else []
    history += missing_criteria_notes(result)
    for sec in result.sections:
        history += [f"{sec.title} : {line}" for line in sec.lines]
    bounds = (tuple(float(b) for b in frame.total_bounds) if len(frame)
              else (0.0, 0.0, 0.0, 0.0))
    return LayerMetadata(
        identifier=f"zoning_{result.region}_{layer}",
        title=f"{LAYER_TITLES[layer]} — {result.region_name}",
        abstract=LAYER_DESCRIPTIONS[layer],
        keywords=("déserts médicaux", "zones prioritaires", "accès aux soins", "EPCI",
                  "urgences", "médecins généralistes"),
        sources=tuple(layer_sources(result, layer)),
        history=tuple(history),
        created=created,
        crs_wkt=frame.crs.to_wkt() if frame.crs is not None else "",
        bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
    )


# --------------------------------------------------------------------------- SQL parts

_METADATA_DDL = """
CREATE TABLE IF NOT EXISTS gpkg_metadata (
  id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
  md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL,
  mime_type TEXT NOT NULL DEFAULT 'text/xml',
  metadata TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
  reference_scope TEXT NOT NULL,
  table_name TEXT,
  column_name TEXT,
  row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  md_file_id INTEGER NOT NULL,
  md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));
CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  name TEXT,
  title TEXT,
  description TEXT,
  mime_type TEXT,
  constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name));
CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL,
  constraint_type TEXT NOT NULL,
  value TEXT,
  min NUMERIC,
  min_is_inclusive BOOLEAN,
  max NUMERIC,
  max_is_inclusive BOOLEAN,
  description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value));
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256),
  f_table_schema TEXT(256),
  f_table_name TEXT(256),
  f_geometry_column TEXT(256),
  styleName TEXT(30),
  styleQML TEXT,
  styleSLD TEXT,
  useAsDefault BOOLEAN,
  description TEXT,
  owner TEXT(30),
  ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
"""

_EXTENSIONS = [
    ("gpkg_metadata", None, "gpkg_metadata",
     "http://www.geopackage.org/spec120/#extension_metadata", "read-write"),
    ("gpkg_metadata_reference", None, "gpkg_metadata",
     "http://www.geopackage.org/spec120/#extension_metadata", "read-write"),
    ("gpkg_data_columns", None, "gpkg_schema",
     "http://www.geopackage.org/spec120/#extension_schema", "read-write"),
    ("gpkg_data_column_constraints", None, "gpkg_schema",
     "http://www.geopackage.org/spec120/#extension_schema", "read-write"),
]


def _finish_sqlite(path: Path, result: RunResult, frames: dict[str, gpd.GeoDataFrame]) -> None:
    docs = _field_docs(result)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    con = sqlite3.connect(path)
    try:
        con.executescript(_METADATA_DDL)
        con.executemany("INSERT OR IGNORE INTO gpkg_extensions VALUES (?, ?, ?, ?, ?)", _EXTENSIONS)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            "'Styles QGIS par défaut des couches', ?)", (now,))
        geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        # field labels and descriptions
        rows = []
        for layer, frame in frames.items():
            seen: set[str] = set()
            for col in frame.columns:
                if col == frame.geometry.name or col not in docs[layer]:
                    continue
                label, desc = docs[layer][col]
                if label in seen:
                    label = f"{label} [{col}]"
                seen.add(label)
                rows.append((layer, col, label, label, desc))
        con.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, "
                        "title, description) VALUES (?, ?, ?, ?, ?)", rows)
        con.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, "
                        "title, description) VALUES (?, ?, ?, ?, ?)",
                        [(PARAMS_TABLE, "parametre", "Paramètre", "Paramètre", "Nom du paramètre"),
                         (PARAMS_TABLE, "valeur", "Valeur", "Valeur",
                          "Valeur (texte ou JSON)")])
        # default QGIS styles
        labels = {layer: {c: v[0] for c, v in d.items()} for layer, d in docs.items()}
        fields = {layer: [c for c in f.columns if c != f.geometry.name]
                  for layer, f in frames.items()}
        rows_styles = [
            (layer, STYLE_NAMES[layer], _style_with_aliases(layer, labels[layer], fields[layer]),
             "", 1, f"Style par défaut écrit par zoning {version(result)}")
            for layer in ("communes", "urgences")]
        rows_styles += [
            ("epci_scores", st.name, st.qml, st.sld, int(st.default),
             f"{st.description} (zoning {version(result)})")
            for st in epci_styles(result, labels["epci_scores"], fields["epci_scores"])]
        con.execute("DELETE FROM layer_styles WHERE f_table_name IN (?, ?, ?)", LAYERS)
        con.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
            "ui, update_time) VALUES ('', '', ?, ?, ?, ?, ?, ?, ?, 'zoning', NULL, ?)",
            [(layer, geom_cols.get(layer, "geom"), name, qml, sld, default, desc, now)
             for layer, name, qml, sld, default, desc in rows_styles])
        # metadata: run parameters for the whole GeoPackage, one description per layer
        run_md = json.dumps({"title": f"zoning — {result.region_name}",
                             "version": version(result), "computed_at": computed_at(result),
                             "sources": sources_lines(result),
                             "notes": missing_criteria_notes(result),
                             "params": json.loads(params_json(result))},
                            ensure_ascii=False, indent=2)
        cur = con.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, "
                          "metadata) VALUES ('dataset', 'https://www.json.org', "
                          "'application/json', ?)", (run_md,))
        con.execute("INSERT INTO gpkg_metadata_reference (reference_scope, table_name, "
                    "column_name, row_id_value, timestamp, md_file_id) VALUES ('geopackage', "
                    "NULL, NULL, NULL, ?, ?)", (now, cur.lastrowid))
        for layer in LAYERS:
            for uri, mime, doc in (
                    ("http://purl.org/dc/elements/1.1/", "text/plain", LAYER_DESCRIPTIONS[layer]),
                    (METADATA_URI, "text/xml", metadata_xml(_layer_metadata(result, layer,
                                                                             frames[layer])))):
                cur = con.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, "
                                  "mime_type, metadata) VALUES ('dataset', ?, ?, ?)",
                                  (uri, mime, doc))
                con.execute("INSERT INTO gpkg_metadata_reference (reference_scope, table_name, "
                            "column_name, row_id_value, timestamp, md_file_id) VALUES ('table', "
                            "?, NULL, NULL, ?, ?)", (layer, now, cur.lastrowid))
        con.commit()
    finally:
        con.close()


def _write_gpkg(result: RunResult, tmp: Path, path: Path) -> None:
    frames = _layer_frames(result)
    try:
        for i, (layer, frame) in enumerate(frames.items()):
            pyogrio.write_dataframe(
                frame, tmp, layer=layer, driver="GPKG",
                layer_metadata={"DESCRIPTION": LAYER_DESCRIPTIONS[layer], "IDENTIFIER": layer},
                layer_options={"SPATIAL_INDEX": "YES"},
                # GeoPackage 1.2: read without warnings by the GDAL of older QGIS releases
                dataset_options={"VERSION": "1.2"} if i == 0 else None,
                # columns handed to GDAL as Arrow arrays, not feature by feature: same layers
                # (fields, types, values), half the time on the 35,000 national communes
                use_arrow=True)
        pyogrio.write_dataframe(
            _params_rows(result, path), tmp, layer=PARAMS_TABLE, driver="GPKG",
            layer_metadata={"DESCRIPTION": "Paramètres du calcul : configuration, millésimes "
                            "des données, version de zoning, date de calcul",
                            "IDENTIFIER": PARAMS_TABLE})
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
        raise ExportError(f"{path}: GDAL could not write the GeoPackage: {exc}") from exc
    _finish_sqlite(tmp, result, frames)


def geopackage_job(result: RunResult, path: str | Path) -> tuple[Path, Callable[[Path], None]]:
    """The GeoPackage target and a function writing it to a given (temporary) path."""
    check_result(result)
    path = Path(path)
    return path, lambda tmp: _write_gpkg(result, tmp, path)


def write_geopackage(result: RunResult, path: str | Path) -> Path:
    """Write the run's GeoPackage (EPSG:2154) with default QGIS styles, atomically.

    Parameters
    ----------
    result
        The run to write.
    path
        Target ``.gpkg`` file; replaced only when the whole GeoPackage is written.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        When the run lacks a column the layers need, or GDAL cannot write the file.
    """
    target, write = geopackage_job(result, path)
    with atomic_path(target) as tmp:
        write(tmp)
    return target


# --------------------------------------------------------------------------- reading back


def read_geopackage(path: str | Path) -> RunResult:
    """Rebuild a :class:`RunResult` from a GeoPackage written by :func:`write_geopackage`.

    Used by ``zoning map --from`` to redraw the map without recomputing.

    Raises
    ------
    ExportError
        When the file is missing or is not a zoning GeoPackage (names the missing layer).
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: GeoPackage not found (run zoning score first, or give the "
                          "right file to --from)")
    try:
        with warnings.catch_warnings():  # GDAL warns about foreign SQLite files: we explain
            warnings.simplefilter("ignore", RuntimeWarning)
            names = {row[0] for row in pyogrio.list_layers(path)}
    except pyogrio.errors.DataSourceError as exc:
        raise ExportError(f"{path}: not a readable GeoPackage ({exc}); give the .gpkg written "
                          "by zoning score") from exc
    missing = [n for n in (*LAYERS, PARAMS_TABLE) if n not in names]
    if missing:
        raise ExportError(f"{path}: not a zoning GeoPackage, layer(s) {', '.join(missing)} "
                          "missing (write it with zoning score)")
    params_df = pyogrio.read_dataframe(path, layer=PARAMS_TABLE, read_geometry=False)
    p = dict(zip(params_df["parametre"], params_df["valeur"], strict=True))
    try:
        criteria = [CriterionMeta(**c) for c in json.loads(p["criteria"])]
        params: dict[str, Any] = json.loads(p.get("params") or "{}")
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"{path}: table run_parameters: unreadable 'criteria' or 'params' "
                          f"({exc}); rewrite the GeoPackage with zoning score") from exc
    try:
        sections = [NoteSection(str(sec["title"]), [str(line) for line in sec["lines"]])
                    for sec in json.loads(p.get("sections") or "[]")]
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"{path}: table run_parameters: unreadable 'sections' ({exc}); "
                          "rewrite the GeoPackage with zoning score") from exc
    run_notes = [str(n) for n in params.get("notes", [])] if isinstance(params, dict) else []
    stored_notes = json.loads(p.get("notes") or "[]")

    def layer(name: str, key: str) -> gpd.GeoDataFrame:
        df = pyogrio.read_dataframe(path, layer=name)
        df[key] = df[key].astype(str)
        return df.set_index(key)

    epci = layer("epci_scores", "epci_siren")
    facilities = layer("urgences", "finess").drop(columns=["categorie"], errors="ignore")
    return RunResult(
        region=p.get("region", ""), region_name=p.get("region_name", ""),
        epci=epci, communes=layer("communes", "code_insee"), facilities=facilities,
        criteria=criteria, notes=run_notes or list(stored_notes), params=params,
        raster_path=(path.parent / p["raster_path"]) if p.get("raster_path") else None,
        sections=sections,
    )
