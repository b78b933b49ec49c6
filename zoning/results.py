"""The bundle a run hands to the exports: scored EPCI, communes, facilities, metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd


@dataclass(frozen=True)
class CriterionMeta:
    """What an output must say about one criterion.

    Attributes
    ----------
    id
        Criterion id (``apl``, ``age_mg``, ``ald``, ``urgences``, ``niveau_vie``).
    label
        French label shown to users.
    unit
        French unit of the raw value.
    direction
        ``higher_is_worse`` or ``higher_is_better``.
    weight
        Weight used in the composite (after renormalisation when a criterion is missing).
    available
        False when the data is missing: shown as "donnée indisponible".
    source
        Publisher and dataset.
    vintage
        Data vintage (millésime).
    note
        French note (coverage, approximation, why missing).
    """

    id: str
    label: str
    unit: str
    direction: str
    weight: float
    available: bool
    source: str
    vintage: str
    note: str = ""


@dataclass(frozen=True)
class NoteSection:
    """A titled block of French lines shown in the map's notes and the XLSX method sheet.

    Attributes
    ----------
    title
        Section title (e.g. "Comparaison avec la liste de référence").
    lines
        French lines, one bullet each.
    """

    title: str
    lines: list[str]


@dataclass(frozen=True)
class AnnexTable:
    """An extra table of a run (e.g. the calibration report): CSV files and one XLSX sheet.

    Attributes
    ----------
    key
        File suffix: written as ``<stem>_<key>.csv`` (and ``<stem>_<key>_fr.csv``).
    sheet
        XLSX sheet title (at most 31 characters).
    frame
        The table, machine column names, index named.
    labels
        French header per column (and for the index name).
    """

    key: str
    sheet: str
    frame: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class RunResult:
    """Everything the exports need, all geometries in EPSG:2154.

    Attributes
    ----------
    region
        Region code ("76", "FR").
    region_name
        French region name.
    epci
        Index ``epci_siren``; territory columns + score table columns (see docs/ARCHITECTURE.md).
    communes
        Index ``code_insee``; ``nom, epci_siren, population`` + criteria inputs and travel times.
    facilities
        Index ``finess``; SU/SMUR sites.
    criteria
        Metadata of the five criteria, in config order.
    notes
        French notes every output must show (missing criteria, road network used...).
    params
        Run parameters: config path and content, data vintages, version, computed_at.
    raster_path
        Travel-time GeoTIFF, when one was written.
    sections
        Extra titled note blocks (reference comparison, calibration report).
    annexes
        Extra tables written beside the ranked tables (CSV + an XLSX sheet each).
    prepared
        The territory's web-map geometry computed in the background while the run was
        computed (:class:`zoning.exports.geometry.PreparedGeometry`), or None: the writers
        then compute it themselves.
    """

    region: str
    region_name: str
    epci: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    criteria: list[CriterionMeta]
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    raster_path: Path | None = None
    sections: list[NoteSection] = field(default_factory=list)
    annexes: list[AnnexTable] = field(default_factory=list)
    prepared: Any = field(default=None, repr=False, compare=False)
