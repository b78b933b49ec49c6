"""Emergency-site coordinates: the versioned corrections table and an automatic site check.

- :func:`read_facility_corrections` reads ``zoning/sources/corrections/facility_coordinates.csv``
  (FINESS → corrected WGS84 coordinates, place, reason, source, date; documented in the
  folder's README), which :func:`zoning.sources.read_facilities` applies;
- :func:`check_sites` lists the sites whose published position looks wrong: the name names
  another place than the geocoded commune (``"... ANTENNE SMUR CH PUIGCERDA"`` geocoded in
  Perpignan), or the point lies more than ``max_km`` from its commune's polygon. Shown by
  ``zoning sources``; corrected sites are listed with their correction.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.errors import DataFormatError
from zoning.fmt import fr_number
from zoning.sources._io import in_codes, split_codes
from zoning.sources.catalogue import CODE_PATTERNS

CORRECTIONS_FILE = Path(__file__).resolve().parent / "corrections" / "facility_coordinates.csv"
"""The packaged corrections table."""

CORRECTION_COLUMNS = ("finess", "nom", "lat", "lon", "lieu", "pays", "raison", "source", "date")

MAX_KM = 5.0
"""Default distance (km) beyond which a site is flagged as far from its commune."""


def read_facility_corrections(path: str | Path | None = None) -> pd.DataFrame:
    """Read the table of corrected site coordinates.

    Parameters
    ----------
    path
        The CSV; default :data:`CORRECTIONS_FILE` (shipped with the package).

    Returns
    -------
    DataFrame
        Index ``finess``; ``nom, lat, lon (float64, WGS84), lieu, pays, raison, source, date``.

    Raises
    ------
    DataFormatError
        Missing columns, bad FINESS, duplicates, coordinates out of range, empty reason or source.
    """
    file = Path(path) if path is not None else CORRECTIONS_FILE
    df = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in CORRECTION_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(f"{file}: missing column(s) {', '.join(missing)} "
                              f"(expected {', '.join(CORRECTION_COLUMNS)})")
    problems: list[str] = []
    bad = ~df["finess"].str.fullmatch(CODE_PATTERNS["finess"])
    if bad.any():
        problems.append(f"column 'finess': {int(bad.sum())} value(s) are not FINESS numbers")
    if df["finess"].duplicated().any():
        problems.append("column 'finess': a site is corrected twice")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    if (lat.isna() | lon.isna() | (lat.abs() > 90) | (lon.abs() > 180)).any():
        problems.append("columns 'lat'/'lon': WGS84 degrees expected on every row")
    for col in ("raison", "source", "date"):
        if (df[col].str.strip() == "").any():
            problems.append(f"column {col!r}: empty on some row (every correction says why and "
                            "from which source)")
    if problems:
        raise DataFormatError(f"{file}: " + "; ".join(problems))
    df["lat"], df["lon"] = lat.astype("float64"), lon.astype("float64")
    return df.set_index("finess")


def apply_corrections(raw: pd.DataFrame, corrections: pd.DataFrame) -> pd.DataFrame:
    """Replace ``lat``/``lon`` of the corrected FINESS sites of a raw SAE frame (copy).

    ``coord_source`` becomes ``correction:<date>``; ``coord_corrigee`` is True on those rows.
    """
    out = raw.copy()
    hit = out["finess_et"].isin(corrections.index)
    fin = out.loc[hit, "finess_et"]
    out.loc[hit, "lat"] = corrections.loc[fin, "lat"].to_numpy()
    out.loc[hit, "lon"] = corrections.loc[fin, "lon"].to_numpy()
    out.loc[hit, "coord_source"] = ("correction:" + corrections.loc[fin, "date"]).to_numpy()
    out["coord_corrigee"] = hit.to_numpy()
    return out


def normalise_place(text: str) -> str:
    """Upper case, no accents, hyphens/apostrophes as spaces, ``ST``/``STE`` spelled out."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().upper()
    t = re.sub(r"[-'’/.,()]", " ", t)
    t = re.sub(r"\bSTE\b", "SAINTE", t)
    t = re.sub(r"\bST\b", "SAINT", t)
    return re.sub(r"\s+", " ", t).strip()


_MARKER = re.compile(r"\b(ANTENNE|ANT|SITE)\b")
_FILLER = {"SMUR", "DE", "D", "DU", "DES", "LA", "LE", "L", "CH", "CHU", "CHI", "SAISON",
           "SAISONNIERE", "HOPITAL", "HOSPITALIER", "CENTRE", "AU", "A", "EN", "AERODROME"}
_PARENT = re.compile(r"^(?:CH|CHU|CHR|CHRU|CHI|GH|GHT|HOPITAL|SIEGE|CL|CLINIQUE)\b")


def named_place(name: str) -> tuple[str, str]:
    """The place a site name points to after ``ANTENNE`` / ``ANT.`` / ``SITE`` (normalised)
    and the marker (``"ANTENNE"`` or ``"SITE"``); ``("", "")`` when there is none.

    ``"CH PERPIGNAN ANTENNE SMUR CH PUIGCERDA"`` → ``("PUIGCERDA", "ANTENNE")``;
    ``"CH DAX - ANT. SAISON. SMUR - HOSSEGOR"`` → ``("HOSSEGOR", "ANTENNE")``; a segment after
    `` - `` that names a hospital (``"ANTENNE DE SMUR - CH CHALONS"``) is the parent
    establishment, not a place.
    """
    segments = [normalise_place(x) for x in re.split(r"\s+-\s*|\s*-\s+", str(name))]
    for i, seg in enumerate(segments):
        marks = list(_MARKER.finditer(seg))
        if not marks:
            continue
        m = marks[-1]
        kind = "SITE" if m.group(1) == "SITE" else "ANTENNE"
        words = seg[m.end():].split()
        rest = " ".join(words)
        while words and words[0] in _FILLER:
            words.pop(0)
        if not words and i + 1 < len(segments) and not _PARENT.match(segments[i + 1]):
            words = segments[i + 1].split()
        elif _PARENT.match(rest) and not rest.startswith(("CH ", "CHU ")):
            return "", ""  # an establishment ("ANTENNE CL L'ALLIANCE"), not a place
        words = [w for w in words if w != "SMUR"]
        return " ".join(words[:4]), kind
    return "", ""


def _place_matches(place: str, commune: str) -> bool:
    if not place:
        return True
    if commune.startswith(place) or place.startswith(commune):
        return True
    cw = set(commune.split())
    return any(len(w) >= 4 and (w in cw or any(c.startswith(w) for c in cw))
               for w in place.split())


class _CommuneNames:
    """Lookup of French communes whose name contains a place's words."""

    def __init__(self, communes: gpd.GeoDataFrame) -> None:
        self.names = communes["nom"].astype(str).map(normalise_place).to_numpy()
        self.geoms = communes.geometry.to_numpy()
        self.deps = communes["dep"].astype(str).to_numpy()
        index: dict[str, list[int]] = {}
        for i, n in enumerate(self.names):
            for w in set(n.split()):
                if len(w) >= 4:
                    index.setdefault(w, []).append(i)
        self.index = index

    def nearest_km(self, place: str, point: object, dep: str) -> tuple[float, float]:
        """Distances (km) from ``point`` to the nearest commune named like ``place`` (its
        words in order, or a prefix of a name) anywhere, and in département ``dep``; NaN when
        no commune is named so."""
        words = [w for w in place.split() if len(w) >= 4]
        if not words:
            return float("nan"), float("nan")
        cands = self.index.get(max(words, key=len), [])
        pat = re.compile(r"\b" + re.escape(place))
        hits = np.array([i for i in cands if pat.search(self.names[i])], dtype=int)
        if not len(hits):
            return float("nan"), float("nan")
        d = shapely.distance(self.geoms[hits], point) / 1000.0
        same = self.deps[hits] == dep
        return float(np.min(d)), float(np.min(d[same])) if same.any() else float("nan")


def check_sites(facilities: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                max_km: float = MAX_KM,
                corrections: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sites whose published position looks wrong.

    Parameters
    ----------
    facilities
        :func:`zoning.sources.read_facilities` (index ``finess``; ``nom``, ``code_commune``,
        ``commune``, points in EPSG:2154).
    communes
        Commune polygons (index ``code_insee``, ``nom``, ``codes_cog2024``, EPSG:2154):
        :func:`zoning.sources.read_communes`.
    max_km
        A point farther than this from its commune's polygon is flagged.
    corrections
        The corrections table (default: the packaged one): corrected sites are reported with
        their correction instead of as errors.

    Returns
    -------
    DataFrame
        Index ``finess``; ``nom, commune, probleme`` (French), ``distance_km`` (point to the
        commune polygon, NaN when the commune code is unknown), ``corrige`` (bool),
        ``correction`` (French: where the site was moved, else ``""``). Sorted: uncorrected
        first, by distance.
    """
    if corrections is None:
        corrections = read_facility_corrections()
    fac = facilities.to_crs(2154)
    com = communes.to_crs(2154)
    # SAE commune codes may predate COG 2025: map old codes through codes_cog2024
    old = split_codes(com["codes_cog2024"])
    to_current = pd.Series(old.index.to_numpy(), index=old.to_numpy())
    to_current = to_current[~to_current.index.duplicated()]
    code = fac["code_commune"].astype(str)
    cur = code.where(in_codes(code, com.index), code.map(to_current))
    geoms = com.geometry.reindex(cur.to_numpy()).to_numpy()
    known = pd.notna(cur).to_numpy() & np.array([g is not None for g in geoms])
    dist = np.full(len(fac), np.nan)
    if known.any():
        dist[known] = gpd.GeoSeries(fac.geometry.to_numpy()[known], crs=2154).distance(
            gpd.GeoSeries(geoms[known], crs=2154)).to_numpy() / 1000.0
    named = [named_place(n) for n in fac["nom"].astype(str)]
    com_names = fac["commune"].astype(str).map(normalise_place).to_numpy()
    lookup = _CommuneNames(com)
    pts = fac.geometry.to_numpy()
    problems: list[str] = []
    flagged = np.zeros(len(fac), dtype=bool)
    for i, (place, kind) in enumerate(named):
        parts = []
        if place and not _place_matches(place, com_names[i]):
            km, km_dep = lookup.nearest_km(place, pts[i], str(fac["dep"].iloc[i]))
            if np.isfinite(km_dep) and km > max_km:
                parts.append(f"le nom désigne « {place.title()} », commune du département à "
                             f"{km_dep:.0f} km du point géocodé à "
                             f"{str(fac['commune'].iloc[i]).title()}")
            elif not np.isfinite(km) and kind == "ANTENNE":
                parts.append(f"le nom désigne « {place.title()} », qui n'est pas une commune "
                             "française (commune géocodée : "
                             f"{str(fac['commune'].iloc[i]).title()})")
        if np.isfinite(dist[i]) and dist[i] > max_km:
            parts.append(f"point à {fr_number(dist[i], 1)} km de sa commune")
        flagged[i] = bool(parts)
        problems.append(" ; ".join(parts))
    out = pd.DataFrame({
        "nom": fac["nom"].to_numpy(), "commune": fac["commune"].to_numpy(),
        "probleme": problems, "distance_km": dist,
    }, index=fac.index)
    out = out[flagged].copy()
    out["corrige"] = out.index.isin(corrections.index)
    lieu = corrections["lieu"].astype(str)
    pays = corrections["pays"].astype(str)
    source = corrections["source"].astype(str)
    out["correction"] = [
        f"déplacé à {lieu[f]} ({pays[f]}) : {source[f]}" if f in corrections.index else ""
        for f in out.index]
    return out.sort_values(["corrige", "distance_km"], ascending=[True, False])
