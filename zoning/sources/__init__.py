"""Source catalogue and readers: one typed reader per official input file.

See :mod:`zoning.sources.catalogue` for the catalogue (publisher, vintage,
licence, official address, expected file and columns) and
:mod:`zoning.sources.readers` for the readers.
"""

from __future__ import annotations

from zoning.sources.catalogue import CATALOGUE, SOURCES, Source, get_source
from zoning.sources.health import (
    read_ald_bassins,
    read_bv_communes,
    read_filosofi_epci,
    read_mg_2019,
)
from zoning.sources.readers import (
    ALD_KEYS,
    APL_COLUMNS,
    emergency_services,
    population_grid_source,
    read_ald,
    read_apl,
    read_arrondissements,
    read_commune_table,
    read_communes,
    read_departements,
    read_epci,
    read_facilities,
    read_filosofi,
    read_mairies,
    read_population_grid,
    read_reference_list,
    read_road_edges,
    read_road_nodes,
    read_smur_types,
    road_network_source,
    source_rows,
)

__all__ = [
    "ALD_KEYS",
    "APL_COLUMNS",
    "CATALOGUE",
    "SOURCES",
    "Source",
    "emergency_services",
    "get_source",
    "read_ald",
    "read_ald_bassins",
    "read_bv_communes",
    "read_apl",
    "read_arrondissements",
    "read_commune_table",
    "read_communes",
    "read_departements",
    "read_epci",
    "read_facilities",
    "read_filosofi",
    "read_filosofi_epci",
    "read_mairies",
    "read_mg_2019",
    "population_grid_source",
    "read_population_grid",
    "read_reference_list",
    "read_road_edges",
    "read_road_nodes",
    "read_smur_types",
    "road_network_source",
    "source_rows",
]
