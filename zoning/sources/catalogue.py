"""The source catalogue: one entry per file the tool reads.

Every entry names the publisher, vintage, licence, the official address, the
expected file (a path relative to the data directory, as laid out in
``../shared/data`` so that ``--data-dir ../shared/data`` works with no
renaming), the layer for GeoPackages and the expected columns with their kind.

Column kinds
------------
``commune``  INSEE commune code, 5 characters (``"09001"``, ``"2A004"``), string
``siren``    EPCI SIREN, 9 digits, string
``finess``   FINESS number, 9 characters, string
``dep``      département code (``"09"``, ``"2A"``, ``"974"``), string
``reg``      région code, 2 digits, string
``str``      free text
``float``    number (NaN allowed)
``int``      integer
``bool``     boolean (``0/1`` or ``true/false``)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zoning.errors import ZoningError

CODE_PATTERNS: dict[str, str] = {
    "commune": r"^(?:\d{5}|2[AB]\d{3})$",
    "siren": r"^\d{9}$",
    "finess": r"^[0-9][0-9AB]\d{7}$",
    "dep": r"^(?:\d{2}|2[AB]|97\d)$",
    "reg": r"^\d{2}$",
}
"""Regular expressions of the code kinds (codes are strings, leading zeros kept)."""

CODE_LENGTHS: dict[str, str] = {
    "commune": "5 characters, e.g. '01001' or '2A004'",
    "siren": "9 digits, e.g. '200067940'",
    "finess": "9 characters, e.g. '010000024'",
    "dep": "2 or 3 characters, e.g. '09', '2A' or '974'",
    "reg": "2 digits, e.g. '76' or '01'",
}


@dataclass(frozen=True)
class Bound:
    """Range of the values a numeric column may hold (NaN = missing is checked elsewhere).

    Attributes
    ----------
    low, high
        Smallest and largest allowed values (None: unbounded).
    low_open
        ``low`` itself is not allowed (``> low`` instead of ``>= low``).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def describe(self) -> str:
        """The rule in words, e.g. ``>= 0`` or ``between 0 and 100``."""
        if self.low is not None and self.high is not None and not self.low_open:
            return f"between {self.low:g} and {self.high:g}"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"<= {self.high:g}")
        return " and ".join(parts) or "any number"


@dataclass(frozen=True)
class Source:
    """One input file of the tool.

    Attributes
    ----------
    id
        Short identifier (``zoning fetch --only ID``).
    title_fr, title_en
        Titles (French for users, English for developers).
    publisher
        Original publisher(s).
    vintage
        Millésime / reference date.
    licence
        Licence of the data.
    url
        Official page of the product.
    file
        Expected path, relative to the data directory.
    columns
        Expected columns (name -> kind, see module docstring).
    layer
        GeoPackage layer(s) (first one is the main layer).
    sep, encoding
        CSV separator and encoding.
    skip_lines
        Title lines above the CSV header (CartoSanté exports have two).
    download_url
        Direct official download address, when the expected file is (or is in)
        that download unchanged; ``None`` when the file is a derivation.
    archive_member
        Name of the file inside the downloaded zip archive, if any.
    sha256
        Checksum of the expected file, verified after download when known.
    derived
        The expected file is a documented derivation (conversion, dissolve, join,
        clip) of official products: ``how_to`` says how to rebuild it.
    how_to
        How to obtain the expected file (French or English, shown by ``fetch``).
    required
        Whether a scoring run needs the file (ALD and the OSM fixture are optional).
    key
        The natural key column (must be unique).
    """

    id: str
    title_fr: str
    title_en: str
    publisher: str
    vintage: str
    licence: str
    url: str
    file: str
    columns: dict[str, str]
    layer: tuple[str, ...] = ()
    sep: str = ","
    encoding: str = "utf-8"
    skip_lines: int = 0
    download_url: str | None = None
    archive_member: str | None = None
    sha256: str | None = None
    derived: bool = False
    how_to: str = ""
    required: bool = True
    key: str | None = None
    extra_columns: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def bounds(self) -> dict[str, Bound]:
        """Allowed range of each numeric column (:data:`VALUE_BOUNDS`)."""
        return VALUE_BOUNDS.get(self.id, {})

    @property
    def coverage(self) -> str:
        """What the file must cover for a region (:data:`COVERAGE`): ``"communes"`` = a row
        for every inhabited commune of the territory; ``""`` = no rule."""
        return COVERAGE.get(self.id, "")

    @property
    def kind(self) -> str:
        """``csv``, ``gpkg``, ``json`` (gzip-compressed JSON list), ``parquet`` (GeoParquet) or
        ``pbf`` (from the file name)."""
        name = self.file.lower()
        if name.endswith(".json.gz"):
            return "json"
        if name.endswith(".gpkg"):
            return "gpkg"
        if name.endswith(".parquet"):
            return "parquet"
        if name.endswith(".osm.pbf"):
            return "pbf"
        return "csv"

    def path(self, data_dir: str | Path) -> Path:
        """Expected location of the file inside ``data_dir``."""
        return Path(data_dir) / self.file

    def fix_hint(self, data_dir: str | Path) -> str:
        """One sentence telling the user how to get the file in place."""
        target = self.path(data_dir)
        if self.download_url and not self.derived:
            get = f"download it from {self.download_url} (page: {self.url})"
            if self.archive_member:
                get += f", extract {self.archive_member} from the zip"
            get += f", or run `zoning fetch --only {self.id}`"
        else:
            get = f"build it from the official product at {self.url}"
            if self.how_to:
                get += f" ({self.how_to})"
        return (
            f"{get}, and put it at {target}; or point --data-dir / ZONING_DATA_DIR "
            "at the folder that holds it"
        )


_LO = "Licence Ouverte / Etalab 2.0"

ALD_BV_COLUMN = "Part des bénéf. en ALD dans la pop 2024"
"""CartoSanté column of the ALD share (percent of the population)."""

MG_2019_COLUMN = "Nbre de généralistes lib. au 31/12 2019"
"""CartoSanté label of both GP count columns (60 and over, then all ages)."""

_COMMUNE_COLUMNS = {
    "code_insee": "commune",
    "nom": "str",
    "dep": "dep",
    "reg": "reg",
    "epci_siren": "siren",
    "epci_nom": "str",
    "epci_type": "str",
    "population": "int",
    "codes_cog2024": "str",
}

SOURCES: tuple[Source, ...] = (
    Source(
        id="communes",
        title_fr="Communes COG 2025 (contours, EPCI, population municipale 2023)",
        title_en="Communes COG 2025 (polygons, EPCI membership, 2023 population)",
        publisher="IGN (ADMIN EXPRESS COG), INSEE (COG, populations légales), DGCL (EPCI)",
        vintage="COG 2025 (= 2026), population municipale 2023",
        licence=_LO,
        url="https://geoservices.ign.fr/adminexpress",
        file="admin/communes_cog2025_fr.gpkg",
        layer=("communes_cog2025",),
        columns=_COMMUNE_COLUMNS,
        key="code_insee",
        derived=True,
        how_to=(
            "ADMIN EXPRESS COG communes joined to the INSEE COG 2025, the DGCL EPCI "
            "composition and the populations légales (insee.fr/fr/statistiques/8680726); "
            "layer communes_cog2025, codes_cog2024 = ';'-separated COG 2024 codes merged into "
            "each commune (insee.fr/fr/information/8377162)"
        ),
    ),
    Source(
        id="mairies",
        title_fr="Mairies (points géolocalisés)",
        title_en="Town halls (geocoded points)",
        publisher="DILA (Annuaire de l'administration, service-public.fr)",
        vintage="2025",
        licence=_LO,
        url="https://www.data.gouv.fr/fr/datasets/service-public-fr-annuaire-de-l-administration-base-de-donnees-locales/",
        file="admin/communes_cog2025_fr.gpkg",
        layer=("mairies_cog2025",),
        columns={"code_insee": "commune", "nom": "str", "in_commune_polygon": "bool"},
        key="code_insee",
        derived=True,
        how_to=(
            "town-hall coordinates of the Annuaire de l'administration, one point per commune, "
            "with in_commune_polygon = point inside its commune polygon; layer mairies_cog2025"
        ),
    ),
    Source(
        id="communes_epci",
        title_fr="Appartenance des communes aux EPCI 2025 (table)",
        title_en="Commune to EPCI membership 2025 (table)",
        publisher="INSEE (COG), DGCL (composition des EPCI à fiscalité propre)",
        vintage="COG 2025, EPCI 2025/2026, population municipale 2023",
        licence=_LO,
        url="https://www.collectivites-locales.gouv.fr/institutions/liste-et-composition-des-epci-fiscalite-propre",
        file="admin/communes_epci_cog2025.csv",
        columns=_COMMUNE_COLUMNS,
        key="code_insee",
        derived=True,
        how_to=("attribute table of the communes_cog2025 layer (same columns, no geometry), "
                "UTF-8, ','"),
    ),
    Source(
        id="epci",
        title_fr="EPCI à fiscalité propre 2025 (contours)",
        title_en="EPCI 2025 (polygons)",
        publisher="DGCL (composition), IGN (contours), INSEE (population)",
        vintage="EPCI 2025/2026",
        licence=_LO,
        url="https://www.collectivites-locales.gouv.fr/institutions/liste-et-composition-des-epci-fiscalite-propre",
        file="admin/epci_2025_fr.gpkg",
        layer=("epci_2025",),
        columns={
            "epci_siren": "siren",
            "epci_nom": "str",
            "epci_type": "str",
            "population": "int",
            "n_communes": "int",
            "deps": "str",
            "regs": "str",
            "reg_majoritaire_pop": "reg",
        },
        key="epci_siren",
        derived=True,
        how_to=(
            "dissolve of the communes_cog2025 layer by epci_siren, with population, n_communes, "
            "deps, regs and reg_majoritaire_pop (region holding most of the population); "
            "layer epci_2025"
        ),
    ),
    Source(
        id="apl",
        title_fr="Accessibilité potentielle localisée (APL) aux médecins généralistes",
        title_en="DREES local potential accessibility (APL) to general practitioners",
        publisher="DREES",
        vintage="APL 2022 et 2023 (COG 2024)",
        licence=_LO,
        url="https://data.drees.solidarites-sante.gouv.fr/explore/dataset/530_l-accessibilite-potentielle-localisee-apl/information/",
        file="health/drees_apl_mg_2022_2023_communes.csv",
        columns={
            "code_commune": "commune",
            "commune": "str",
            "millesime": "int",
            "annee_population": "int",
            "apl_mg": "float",
            "apl_mg_moins_65ans": "float",
            "pop_standardisee_mg": "float",
            "pop_totale": "float",
        },
        derived=True,
        how_to=(
            "DREES APL médecins généralistes workbook, sheets 'APL 2022' and 'APL 2023' "
            "(header row 9, units row dropped) stacked in long format with a millesime "
            "column, UTF-8 CSV ','"
        ),
    ),
    Source(
        id="apl_age",
        title_fr="APL aux médecins généralistes de 62 ans et moins / 60 ans et moins",
        title_en="DREES APL restricted to GPs aged 62 or under / 60 or under",
        publisher="DREES",
        vintage="APL 2022 et 2023 (COG 2024)",
        licence=_LO,
        url="https://data.drees.solidarites-sante.gouv.fr/explore/dataset/530_l-accessibilite-potentielle-localisee-apl/information/",
        file="health/drees_apl_mg_62_60ans_2022_2023_communes.csv",
        columns={
            "code_commune": "commune",
            "millesime": "int",
            "apl_mg_62ans_et_moins": "float",
            "apl_mg_60ans_et_moins": "float",
        },
        derived=True,
        how_to=(
            "same DREES workbook, columns 'APL aux médecins généralistes de 62 ans et moins' and "
            "'... de 60 ans et moins', long format keyed by code_commune + millesime, UTF-8 CSV ','"
        ),
    ),
    Source(
        id="filosofi",
        title_fr="Filosofi 2021 : revenus, pauvreté et niveau de vie (communes)",
        title_en="INSEE Filosofi 2021 key figures by commune",
        publisher="INSEE",
        vintage="revenus 2021 (géographie COG 2024)",
        licence=_LO,
        url="https://www.insee.fr/fr/statistiques/7756729",
        file="health/insee_filosofi_2021_cc_COM.csv",
        sep=";",
        columns={
            "CODGEO": "commune",
            "NBMENFISC21": "str",
            "NBPERSMENFISC21": "str",
            "MED21": "str",
            "TP6021": "str",
        },
        key="CODGEO",
        download_url="https://www.insee.fr/fr/statistiques/fichier/7756729/base-cc-filosofi-2021-geo2024_csv.zip",
        archive_member="cc_filosofi_2021_COM.csv",
        sha256="145d3b90d0720e5e011fccdc05f72be500e4cca4dc077add14d28cfa77b86eef",
        how_to="file cc_filosofi_2021_COM.csv of the zip, unchanged (';', 's' = secret)",
    ),
    Source(
        id="urgences",
        title_fr="Sites d'urgences (SU) et SMUR géolocalisés, SAE 2022",
        title_en="Emergency departments (SU) and mobile units (SMUR), SAE 2022, geocoded",
        publisher="DREES (SAE 2022), Eurostat GISCO (coordonnées FINESS 2020)",
        vintage="SAE 2022, coordonnées 03/2020",
        licence=f"{_LO} (SAE); © Union européenne, réutilisation autorisée (GISCO)",
        url="https://data.drees.solidarites-sante.gouv.fr/explore/dataset/708_bases-statistiques-sae/information/",
        file="health/sae2022_urgences_smur_sites_geoloc.csv",
        columns={
            "finess_et": "finess",
            "passages_su_gen": "float",
            "passages_su_ped": "float",
            "su_generale": "bool",
            "su_pediatrique": "bool",
            "autorisation_su": "bool",
            "autorisation_su_saisonniere": "bool",
            "smur": "bool",
            "smur_antenne": "bool",
            "smur_saisonnier": "bool",
            "smur_pediatrique": "bool",
            "samu": "bool",
            "raison_sociale": "str",
            "dep": "dep",
            "reg": "reg",
            "code_commune": "commune",
            "commune": "str",
            "lat": "float",
            "lon": "float",
            "coord_source": "str",
        },
        key="finess_et",
        derived=True,
        how_to=(
            "SAE 2022 'bases statistiques' tables URGENCES2, URGENCES, SMURSAMU and ID joined "
            "on the FINESS site, with coordinates from the Eurostat GISCO healthcare services "
            "file for France "
            "(https://gisco-services.ec.europa.eu/pub/healthcare/) joined on the 9-digit FINESS"
        ),
    ),
    Source(
        id="smursamu",
        title_fr="SMUR et SAMU par site, SAE 2022 (table brute SMURSAMU)",
        title_en="SMUR and SAMU per site, SAE 2022 (raw SMURSAMU table)",
        publisher="DREES",
        vintage="SAE 2022 (bases statistiques)",
        licence=_LO,
        url="https://data.drees.solidarites-sante.gouv.fr/explore/dataset/708_bases-statistiques-sae/information/",
        file="health/drees_sae_2022/SMURSAMU_2022r.csv",
        sep=";",
        encoding="latin-1",
        columns={
            "FI": "finess",
            "SMUR": "bool",
            "GEN": "bool",
            "PED": "bool",
            "ANT": "bool",
        },
        key="FI",
        required=False,
        how_to=(
            "table SMURSAMU of the SAE 2022 'bases statistiques' (file SMURSAMU_2022r.csv), "
            "unchanged (latin-1, ';'); it tells general (GEN), paediatric (PED) and antenna (ANT) "
            "SMUR apart. Without it, paediatric-only SMUR cannot be identified and every SMUR "
            "counts as a general one (the travel-time note says so)"
        ),
    ),
    Source(
        id="population_grid",
        title_fr="Grille de population 1 km, recensement 2021 (Occitanie + 50 km)",
        title_en="Eurostat Census 2021 1 km population grid (Occitanie + 50 km)",
        publisher="Eurostat (GISCO), données INSEE",
        vintage="recensement 2021 (1er janvier 2021)",
        licence=("Eurostat: réutilisation libre avec mention « Source : Eurostat » "
                 "(décision 2011/833/UE)"),
        url="https://ec.europa.eu/eurostat/web/gisco/geodata/population-distribution/population-grids",
        file="population/eurostat_census2021_grid1km_occitanie_buf50km.gpkg",
        layer=("census2021_grid1km",),
        columns={"GRD_ID": "str", "T": "float", "frac_in_occitanie": "float"},
        key="GRD_ID",
        derived=True,
        how_to=(
            "Census 2021 1 km grid (ESTAT_Census_2021_V2, EPSG:3035 cells) clipped to the cells "
            "intersecting Occitanie + 50 km, with frac_in_occitanie = share of the cell area "
            "inside Occitanie; layer census2021_grid1km"
        ),
    ),
    Source(
        id="roads",
        title_fr="Réseau routier numéroté (A, N, D, M), Occitanie + 50 km",
        title_en="Numbered road graph (A, N, D, M), Occitanie + 50 km",
        publisher="Travel Mapping project (HighwayData)",
        vintage="HighwayData 2026-08-22",
        licence="aucune licence déclarée (usage interne, attribution « Travel Mapping project »)",
        url="https://github.com/TravelMapping/HighwayData",
        file="roads/travelmapping_roads_occitanie_buf50km.gpkg",
        layer=("edges", "nodes"),
        columns={"u": "int", "v": "int", "length_km": "float", "road_class": "str"},
        extra_columns={"nodes": {"node_id": "int"}},
        sha256="d3f85c4b9c9b835d499f0d9374538b8661045048ae9d1214f7649db751d212cb",
        derived=True,
        how_to=(
            "waypoint files hwy_data/*/*.wpt turned into a graph (nodes = identical coordinates, "
            "edges = consecutive waypoints), clipped to Occitanie + 50 km; layers edges and nodes. "
            "Alternative: an OSM PBF extract from Geofabrik (https://download.geofabrik.de/europe/france.html)"
        ),
    ),
    Source(
        id="roads_france",
        title_fr="Réseau routier numéroté (A, N, D, M, T), France métropolitaine + 50 km",
        title_en="Numbered road graph (A, N, D, M, T), metropolitan France + 50 km (edges)",
        publisher="Travel Mapping project (HighwayData)",
        vintage="HighwayData 2026-08-22",
        licence="aucune licence déclarée (usage interne, attribution « Travel Mapping project »)",
        url="https://github.com/TravelMapping/HighwayData",
        file="roads/travelmapping_roads_france_buf50km.parquet",
        columns={"u": "int", "v": "int", "length_km": "float", "road_class": "str",
                 "in_france": "bool", "in_occitanie_buf50km": "bool"},
        sha256="85beadfc5868eca50b7d9922123a83623c11683846745d9e52b0184210980a60",
        derived=True,
        required=False,  # used by default when present; else the Occitanie graph (roads)
        how_to=(
            "waypoint files hwy_data/*/*.wpt of the metropolitan FRA-* regions and the "
            "neighbouring countries turned into a graph (nodes = identical coordinates, edges = "
            "consecutive waypoints), clipped to metropolitan France + 50 km, written as "
            "GeoParquet (EPSG:4326); its Occitanie subset (in_occitanie_buf50km) is the "
            "Occitanie GeoPackage. Known holes: Bordeaux Métropole, Paris inside the Périphérique, "
            "central Nantes (no street-level network there)"
        ),
    ),
    Source(
        id="roads_france_nodes",
        title_fr="Nœuds du réseau routier numéroté, France métropolitaine + 50 km",
        title_en="Numbered road graph nodes, metropolitan France + 50 km",
        publisher="Travel Mapping project (HighwayData)",
        vintage="HighwayData 2026-08-22",
        licence="aucune licence déclarée (usage interne, attribution « Travel Mapping project »)",
        url="https://github.com/TravelMapping/HighwayData",
        file="roads/travelmapping_nodes_france_buf50km.parquet",
        columns={"node_id": "int", "lat": "float", "lon": "float", "component": "int",
                 "in_france": "bool"},
        sha256="1ea3c81b160926916199ecd6b8378b0b51c23b70c0e2f7b89d72429913161f7e",
        derived=True,
        required=False,
        key="node_id",
        how_to=("the nodes (unique waypoint coordinates rounded to 1e-6°) of the same build as "
                "roads/travelmapping_roads_france_buf50km.parquet, GeoParquet (EPSG:4326)"),
    ),
    Source(
        id="population_grid_france",
        title_fr="Grille de population 1 km, recensement 2021 (France métropolitaine + 50 km)",
        title_en="Eurostat Census 2021 1 km population grid (metropolitan France + 50 km)",
        publisher="Eurostat (GISCO), données INSEE",
        vintage="recensement 2021 (1er janvier 2021)",
        licence=("Eurostat: réutilisation libre avec mention « Source : Eurostat » "
                 "(décision 2011/833/UE)"),
        url="https://ec.europa.eu/eurostat/web/gisco/geodata/population-distribution/population-grids",
        file="population/eurostat_census2021_grid1km_france_buf50km.parquet",
        columns={"GRD_ID": "str", "T": "float", "frac_in_occitanie": "float",
                 "frac_in_france": "float"},
        sha256="80cefbaa6e897fb40171273ec0f946948caa82526c0432e14ed84be404904347",
        key="GRD_ID",
        derived=True,
        required=False,  # used by default when present; else the Occitanie grid
        how_to=(
            "Census 2021 1 km grid (ESTAT_Census_2021_V2, EPSG:3035 cells) clipped to the cells "
            "intersecting metropolitan France + 50 km, with frac_in_france and frac_in_occitanie "
            "(share of the cell area inside each), written as GeoParquet"
        ),
    ),
    Source(
        id="osm_andorra",
        title_fr="Extrait OpenStreetMap Andorre (jeu d'essai PBF)",
        title_en="OpenStreetMap Andorra extract (PBF test fixture)",
        publisher="OpenStreetMap contributors, Geofabrik",
        vintage="2021-06-22",
        licence="ODbL 1.0, © les contributeurs d'OpenStreetMap",
        url="https://download.geofabrik.de/europe/andorra.html",
        file="roads/osm_andorra_geofabrik_2021-06-22.osm.pbf",
        columns={},
        download_url="https://download.geofabrik.de/europe/andorra-210622.osm.pbf",
        sha256="1b9cc1dd3f2440a092fb0ca9a6f07934aa5a9d94f13afb2a05cf8f0c5b48d81c",
        required=False,
        how_to=("Geofabrik dated extract andorra-210622.osm.pbf (Geofabrik keeps dated "
                "extracts for a limited time)"),
    ),
    Source(
        id="ald_bv",
        title_fr="Part des bénéficiaires d'ALD par bassin de vie 2022 (CartoSanté 2024)",
        title_en="Share of ALD beneficiaries by bassin de vie (CartoSanté 2024)",
        publisher="CartoSanté (Atlasanté, ARS), indicateurs issus des données de la Cnam",
        vintage="2024 (bassins de vie 2022)",
        licence=_LO,
        url="https://cartosante.atlasante.fr/",
        file="health/cartosante_indicateurs_bassins_de_vie_2024.csv",
        sep=";",
        encoding="utf-8-sig",
        skip_lines=2,
        columns={
            "Code": "str",
            "Libellé": "str",
            ALD_BV_COLUMN: "str",
        },
        key="Code",
        sha256="bcb29c42fa3a29636676cb7349cc36a40a73f40a9f5f5f673ba2a9ff731cd292",
        required=False,
        how_to=(
            "CartoSanté export 'France par bassin de vie' with the indicator 'Part des bénéf. en "
            "ALD dans la pop 2024', unchanged (UTF-8 with BOM, ';', two title lines above the "
            "header, 'N/A - secret statistique' where withheld)"
        ),
    ),
    Source(
        id="bv_communes",
        title_fr="Appartenance géographique des communes 2024 (bassin de vie 2022, EPCI)",
        title_en="INSEE commune geography table 2024 (bassin de vie 2022, EPCI), sheet COM",
        publisher="INSEE",
        vintage="géographie au 01/01/2024 (mise en ligne 18/03/2024)",
        licence=_LO,
        url="https://www.insee.fr/fr/information/2028028",
        file="admin/insee_appartenance_geo_communes_2024_COM.csv",
        columns={
            "CODGEO": "commune",
            "LIBGEO": "str",
            "DEP": "dep",
            "REG": "reg",
            "EPCI": "str",
            "BV2022": "str",
        },
        key="CODGEO",
        sha256="531ebfcfb10c3884d5020b3c09f04770a2008a2c99daeda044bf0cfe257516dc",
        required=False,
        derived=True,
        how_to=(
            "sheet COM of the INSEE 'table d'appartenance géographique des communes' 2024 "
            "(table-appartenance-geo-communes-2024.xlsx, 5 title rows above the header) saved "
            "as CSV unchanged (UTF-8, ',', every column as text)"
        ),
    ),
    Source(
        id="mg_2019",
        title_fr="Médecins généralistes libéraux au 31/12/2019 par commune (60 ans et plus, total)",
        title_en="Self-employed GPs at 31/12/2019 by commune, aged 60+ and total (CartoSanté)",
        publisher="CartoSanté (Atlasanté, ARS)",
        vintage="31/12/2019 (communes COG 2019)",
        licence=_LO,
        url="https://cartosante.atlasante.fr/",
        file="health/cartosante_generalistes_liberaux_2019_communes.csv",
        sep=";",
        skip_lines=2,
        columns={"Code": "str", "Libellé": "str", MG_2019_COLUMN: "str"},
        key="Code",
        sha256="de5a93129fba6cecd72c80c886b03c0b8601fd43f71aa3c0b15d667529dc12f3",
        required=False,
        how_to=(
            "CartoSanté export 'France par commune et arrondissement mun. 2019', indicator "
            "'Nbre de généralistes lib. au 31/12 2019' for the age class '60 ans et plus' then "
            "for all ages (two columns with the same label, in that order), unchanged "
            "(UTF-8, ';', two title lines)"
        ),
    ),
    Source(
        id="filosofi_epci",
        title_fr="Filosofi 2019 : revenu disponible par EPCI (médiane par UC)",
        title_en="INSEE Filosofi 2019 disposable income by EPCI (FILO2019_DISP_EPCI)",
        publisher="INSEE",
        vintage="revenus 2019 (EPCI de la publication, ≈ 2021)",
        licence=_LO,
        url="https://www.insee.fr/fr/metadonnees/source/serie/s1172",
        file="health/insee_filosofi_2019_disp_epci.csv",
        sep=";",
        encoding="utf-8-sig",
        columns={"CODGEO": "siren", "LIBGEO": "str", "NBPERS19": "str", "Q219": "str"},
        key="CODGEO",
        sha256="0af9e3385c150be5b37b92aa54609390e30cb7dc88e7751d57f24fb510001470",
        required=False,
        how_to=(
            "file FILO2019_DISP_EPCI.csv of the INSEE publication 'Revenus, pauvreté et niveau "
            "de vie en 2019 (Filosofi)', EPCI level, unchanged (UTF-8 with BOM, ';', decimal "
            "comma; Q219 = median disposable income per consumption unit). Used by "
            "`--filosofi-epci` and to measure the commune-median approximation"
        ),
    ),
    Source(
        id="ald",
        title_fr="Bénéficiaires d'une affection de longue durée (ALD) par département",
        title_en="Long-term condition (ALD) beneficiaries by département",
        publisher="Caisse nationale de l'Assurance Maladie (Cnam)",
        vintage="ALD 2024 (selon le fichier fourni)",
        licence=_LO,
        url="https://www.assurance-maladie.ameli.fr/etudes-et-donnees/prevalence-beneficiaires-ald-departement",
        file="health/ald_departement.csv",
        columns={"dep": "dep", "part_ald": "float"},
        required=False,
        derived=True,
        how_to=(
            "a CSV with one key column (dep, epci_siren or code_insee) and either part_ald "
            "(% of the population in ALD) or beneficiaires_ald + population, built from the "
            "Assurance Maladie table of ALD beneficiaries by département"
        ),
    ),
    Source(
        id="departements",
        title_fr="Départements (noms, chefs-lieux) — découpage administratif etalab",
        title_en="Départements (names, prefectures) — etalab decoupage-administratif",
        publisher="INSEE (COG), via etalab/decoupage-administratif 6.0.0",
        vintage="COG 2025 (= 2026)",
        licence=_LO,
        url="https://www.npmjs.com/package/@etalab/decoupage-administratif",
        file="admin/decoupage-administratif-6.0.0/departements.json.gz",
        columns={"code": "dep", "nom": "str", "region": "reg", "chefLieu": "commune",
                 "zone": "str"},
        key="code",
        required=False,
        how_to=("data/departements.json of the npm package @etalab/decoupage-administratif "
                "6.0.0, gzip-compressed; used only to draw the map's orientation layers"),
    ),
    Source(
        id="arrondissements",
        title_fr="Communes et arrondissements — découpage administratif etalab",
        title_en="Communes and their arrondissement — etalab decoupage-administratif",
        publisher="INSEE (COG), via etalab/decoupage-administratif 6.0.0",
        vintage="COG 2025 (= 2026)",
        licence=_LO,
        url="https://www.npmjs.com/package/@etalab/decoupage-administratif",
        file="admin/decoupage-administratif-6.0.0/communes.json.gz",
        columns={"code": "commune", "type": "str", "arrondissement": "str"},
        required=False,
        how_to=("data/communes.json of the npm package @etalab/decoupage-administratif 6.0.0, "
                "gzip-compressed; used only to name the main town of each arrondissement "
                "on the map"),
    ),
)

CATALOGUE: dict[str, Source] = {s.id: s for s in SOURCES}
"""Sources by id."""


def get_source(source_id: str) -> Source:
    """Return the catalogue entry ``source_id``.

    Raises
    ------
    ZoningError
        (a ``KeyError`` too) when the id is unknown, listing the valid ids.
    """
    try:
        return CATALOGUE[source_id]
    except KeyError:
        raise UnknownSourceError(
            f"unknown source {source_id!r}; valid ids: {', '.join(CATALOGUE)}"
        ) from None


class UnknownSourceError(ZoningError, KeyError):
    """A source id given on the command line is not in the catalogue."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown source"


_POSITIVE = Bound(0.0)
_PERCENT = Bound(0.0, 100.0)

VALUE_BOUNDS: dict[str, dict[str, Bound]] = {
    "communes": {"population": _POSITIVE},
    "communes_epci": {"population": _POSITIVE},
    "epci": {"population": _POSITIVE, "n_communes": Bound(1.0)},
    "apl": {"apl_mg": _POSITIVE, "apl_mg_moins_65ans": _POSITIVE,
            "pop_standardisee_mg": _POSITIVE, "pop_totale": _POSITIVE},
    "apl_age": {"apl_mg_62ans_et_moins": _POSITIVE, "apl_mg_60ans_et_moins": _POSITIVE},
    "filosofi": {"NBMENFISC21": _POSITIVE, "NBPERSMENFISC21": _POSITIVE,
                 "MED21": Bound(0.0, low_open=True), "TP6021": _PERCENT},
    "urgences": {"passages_su_gen": _POSITIVE, "passages_su_ped": _POSITIVE},
    "population_grid": {"T": _POSITIVE, "frac_in_occitanie": Bound(0.0, 1.0)},
    # part_ald: 0-100, checked by the reader (also when computed from the counts)
    "ald": {"beneficiaires_ald": _POSITIVE, "population": Bound(0.0, low_open=True)},
    "ald_bv": {ALD_BV_COLUMN: _PERCENT},
    # the two count columns share one label in the export: bounds by the reader's names
    "mg_2019": {"mg_60_et_plus": _POSITIVE, "mg_total": _POSITIVE},
    # the median column, whatever its published name (Q219, MED21, med_niveau_vie): an income
    # per consumption unit outside 1,000-200,000 EUR is not one
    "filosofi_epci": {"med_niveau_vie": Bound(1000.0, 200000.0)},
}
"""Impossible values per source and column: a negative APL, income or population, a
percentage above 100... are data errors (:func:`zoning.sources._io.check_values`)."""

COVERAGE: dict[str, str] = {"apl": "communes", "apl_age": "communes", "filosofi": "communes"}
"""Sources that must hold a row for every inhabited commune of the territory (a file cut
short that still parses is refused, not scored with holes)."""
