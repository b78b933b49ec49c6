"""Labels, formatting, classes and palettes shared by every export (French, user-facing)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zoning.errors import ExportError
from zoning.fmt import fr_number
from zoning.results import CriterionMeta, RunResult
from zoning.sources import emergency_services

MISSING = "donnée indisponible"
"""What every output shows for a missing value."""

EPCI_REQUIRED = (
    "epci_nom", "epci_type", "dep", "population", "composite", "rank", "selected",
    "probability", "rank_p05", "rank_p95", "robustesse", "geometry",
)
COMMUNE_REQUIRED = ("nom", "epci_siren", "population", "geometry")
FACILITY_REQUIRED = ("nom", "type_libelle", "su", "smur", "geometry")

# ColorBrewer sequential palettes (colour-blind safe), light -> dark.
YLORRD5 = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
YLGNBU5 = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
MISSING_COLOR = "#bdbdbd"

TRAVEL_BREAKS = (10.0, 20.0, 30.0, 45.0)
"""Travel-time classes (minutes): < 10, 10-20, 20-30, 30-45, >= 45."""

EPCI_LABELS: dict[str, str] = {
    "epci_siren": "SIREN de l'EPCI",
    "epci_nom": "Nom de l'EPCI",
    "epci_type": "Type d'EPCI",
    "dep": "Département",
    "population": "Population",
    "n_communes": "Nombre de communes",
    "composite": "Score composite (0 à 1, 1 = plus vulnérable)",
    "rank": "Rang (1 = plus vulnérable)",
    "selected": "Zone prioritaire",
    "in_reference": "Dans la liste de référence",
    "probability": "Probabilité de sélection",
    "rank_p05": "Rang, 5e centile (sensibilité)",
    "rank_p95": "Rang, 95e centile (sensibilité)",
    "robustesse": "Robustesse de la sélection",
    "n_criteres": "Nombre de critères renseignés",
    "criteres_indisponibles": "Critères indisponibles (donnée manquante)",
    "n_fragilites": "Nombre de fragilités (critères parmi les plus défavorables)",
    "population_region": "Population dans la région",
    "reg": "Région",
    "deps": "Départements",
    "regs": "Régions",
    "reg_majoritaire_pop": "Région de la majorité de la population",
    "part_loin_reseau": "Part de la population loin du réseau routier (> 2 km d'un nœud)",
    "part_modele_urbain": "Part de la population au temps d'accès modélisé (modèle urbain)",
    "part_hors_couverture": "Part de la population hors couverture du réseau routier",
    "motif_indisponible": "Critère 4 (urgences) : motif de donnée indisponible",
}

COMMUNE_LABELS: dict[str, str] = {
    "code_insee": "Code INSEE",
    "nom": "Commune",
    "dep": "Département",
    "epci_siren": "SIREN de l'EPCI",
    "epci_nom": "Nom de l'EPCI",
    "epci_prioritaire": "EPCI en zone prioritaire",
    "population": "Population",
    "t_urgence_min": "Temps au SU ou SMUR le plus proche (min)",
    "t_su_min": "Temps au SU le plus proche (min)",
    "t_smur_min": "Temps au SMUR le plus proche (min)",
    "finess_su": "FINESS du SU le plus proche",
    "nom_su": "SU le plus proche",
    "finess_smur": "FINESS du SMUR le plus proche",
    "nom_smur": "SMUR le plus proche",
    "finess_urgence": "FINESS du site d'urgence le plus proche",
    "nom_urgence": "Site d'urgence le plus proche",
    "access_km": "Distance d'accès au réseau routier (km)",
    "far_from_network": "Au-delà de la distance maximale au réseau routier",
    "loin_reseau": "Loin du réseau routier (> 2 km d'un nœud)",
    "modele_acces": "Modèle du temps d'accès",
    "hors_couverture": "Hors couverture du réseau routier (pas de temps)",
    "apl_mg": "APL médecins généralistes de la commune (consultations/an/hab. standardisé)",
    "med_niveau_vie": "Niveau de vie médian de la commune (€/an par UC)",
    "in_region": "Commune de la région",
    "dep_nom": "Nom du département",
    "repere": "Repère sur la carte (préfecture, ville principale d'arrondissement)",
    "part_ald": "Part des bénéficiaires d'ALD du bassin de vie de la commune (CartoSanté 2024, %)",
    "bv2022": "Bassin de vie 2022 (code INSEE)",
    "bv_nom": "Bassin de vie 2022",
}

FACILITY_LABELS: dict[str, str] = {
    "finess": "FINESS",
    "nom": "Établissement",
    "categorie": "Catégorie (carte)",
    "type_libelle": "Type",
    "code_commune": "Code commune",
    "commune": "Commune",
    "dep": "Département",
    "su": "Service d'urgences (SU)",
    "su_pediatrique": "SU pédiatrique",
    "su_pediatrique_seul": "SU pédiatrique seul",
    "smur": "SMUR",
    "smur_antenne": "Antenne SMUR",
    "smur_saisonnier": "SMUR saisonnier",
    "passages_su": "Passages aux urgences (an)",
    "samu": "SAMU",
    "su_saisonnier": "SU saisonnier",
    "smur_pediatrique": "SMUR pédiatrique",
    "smur_pediatrique_seul": "SMUR pédiatrique seul",
    "coord_source": "Source des coordonnées",
    "ajoute": "Site ajouté (scénario)",
    "access_km": "Distance d'accès au réseau routier (km)",
    "access_s": "Temps d'accès au réseau routier (s)",
    "node": "Nœud du graphe routier",
    "reg": "Région",
}

SITE_CATEGORIES = (
    "SU et SMUR", "SU", "SU pédiatrique", "SMUR", "Antenne SMUR", "SMUR pédiatrique seul",
    "Autre (SAMU)",
)


def criterion_column_label(c: CriterionMeta) -> str:
    """French column header of a criterion raw value, with its unit."""
    return f"{c.label} ({c.unit})" if c.unit else c.label


def short_label(label: str) -> str:
    """A criterion label without a trailing acronym in brackets, for narrow places (tooltips).

    Only an acronym is dropped (``"Accès aux médecins généralistes (APL)"`` ->
    ``"Accès aux médecins généralistes"``): a bracket that says what is measured
    (``"Présence de jeunes médecins (part de l'offre des médecins de plus de 60 ans)"``)
    is kept, since without it the value would read the wrong way round.
    """
    m = re.fullmatch(r"(.*\S)\s*\(([^()]*)\)", label.strip())
    if m and re.fullmatch(r"[A-Z0-9À-Ý/ .-]{2,12}", m.group(2)):
        return m.group(1)
    return label


def display_scale(c: CriterionMeta) -> tuple[float, str]:
    """Factor and unit for showing a criterion to people (web map).

    A share in 0..1 whose unit reads ``part de ...`` (e.g. the GP supply from older doctors,
    ``part de l'APL``) is shown in percent (``88,1 % de l'APL``) rather than ``0,881``; other
    criteria are shown as they are.
    """
    if c.unit.startswith("part "):
        return 100.0, "% " + c.unit[len("part "):]
    return 1.0, c.unit


def criterion_score_label(c: CriterionMeta) -> str:
    """French column header of a criterion normalised score."""
    return f"Score normalisé : {c.label} (0 à 1, 1 = plus vulnérable)"


def epci_column_labels(result: RunResult) -> dict[str, str]:
    """French labels of every EPCI output column, criteria included."""
    labels = dict(EPCI_LABELS)
    for c in result.criteria:
        labels[c.id] = criterion_column_label(c)
        labels[f"{c.id}_score"] = criterion_score_label(c)
    return labels


def epci_output_columns(result: RunResult) -> list[str]:
    """EPCI columns in output order (identity, ranking, then each criterion raw and score)."""
    first = ["epci_nom", "epci_type", "dep", "population", "rank", "selected", "in_reference",
             "composite",
             "probability", "rank_p05", "rank_p95", "robustesse"]
    crit = [col for c in result.criteria for col in (c.id, f"{c.id}_score")]
    coverage = ["part_loin_reseau", "part_modele_urbain", "part_hors_couverture",
                "motif_indisponible"]
    return [col for col in first + crit + coverage if col in result.epci.columns]


def check_result(result: RunResult) -> None:
    """Check the columns the exports rely on; raise one ExportError listing every problem.

    Raises
    ------
    ExportError
        When a frame lacks a column, has no CRS or is not in EPSG:2154.
    """
    problems: list[str] = []
    frames = (("epci", result.epci, EPCI_REQUIRED), ("communes", result.communes,
              COMMUNE_REQUIRED), ("facilities", result.facilities, FACILITY_REQUIRED))
    for name, frame, required_cols in frames:
        required: tuple[str, ...] = required_cols
        if name == "facilities" and len(frame) == 0:
            required = ("geometry",)  # no travel times computed: no sites to show
        missing = [c for c in required if c not in frame.columns]
        if missing:
            problems.append(f"RunResult.{name}: missing column(s) {', '.join(missing)}")
        if frame.crs is None or frame.crs.to_epsg() != 2154:
            problems.append(f"RunResult.{name}: CRS is {frame.crs}, expected EPSG:2154 "
                            "(reproject with .to_crs(2154) before exporting)")
    for c in result.criteria:
        for col in (c.id, f"{c.id}_score"):
            if col not in result.epci.columns:
                problems.append(f"RunResult.epci: missing criterion column {col!r} "
                                "(add it, all NaN when the criterion is unavailable)")
    if problems:
        raise ExportError("cannot export the run: " + "; ".join(problems))


def slug(result: RunResult) -> str:
    """File-name stem of a run's outputs: ``zoning_<region>``."""
    return "zoning_" + re.sub(r"[^0-9A-Za-z_-]", "_", str(result.region))


# --------------------------------------------------------------------------- formatting

def value_decimals(values: pd.Series | np.ndarray) -> int:
    """Number of decimals that shows a criterion's values sensibly (by magnitude)."""
    arr = np.asarray(values, dtype="float64")
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return 0
    m = float(np.nanmedian(np.abs(arr)))
    if m >= 1000:
        return 0
    if m >= 10:
        return 1
    if m >= 1:
        return 2
    return 3


def display_decimals(values: pd.Series | np.ndarray, unit: str) -> int:
    """Decimals shown for a criterion (map, QGIS legend): by magnitude, at most one for a
    percentage."""
    dec = value_decimals(values)
    return min(dec, 1) if unit.lstrip().startswith("%") else dec


# --------------------------------------------------------------------------- classes


@dataclass(frozen=True)
class Classes:
    """A classification: ``bounds`` (k + 1 values) and the class of each value (-1 = missing)."""

    bounds: tuple[float, ...]
    codes: np.ndarray

    @property
    def k(self) -> int:
        return len(self.bounds) - 1


def quantile_classes(values: pd.Series | np.ndarray, k: int = 5, decimals: int = 2) -> Classes:
    """Quantile classes (at most ``k``; fewer when values tie), bounds rounded for display.

    Parameters
    ----------
    values
        Values to classify (NaN = missing, class -1).
    k
        Maximum number of classes.
    decimals
        Rounding of inner bounds (outer bounds are floor/ceil'd so that every value is in).
    """
    arr = np.asarray(values, dtype="float64")
    ok = np.isfinite(arr)
    codes = np.full(arr.shape, -1, dtype="int64")
    if not ok.any():
        return Classes((), codes)
    scale = 10.0 ** decimals
    lo = math.floor(float(arr[ok].min()) * scale) / scale
    hi = math.ceil(float(arr[ok].max()) * scale) / scale
    inner = np.round(np.quantile(arr[ok], np.linspace(0, 1, k + 1)[1:-1]), decimals)
    bounds = np.unique(np.concatenate([[lo], inner, [hi]]))
    if bounds.size == 1:
        bounds = np.array([lo, lo + 1.0 / scale])
    codes[ok] = np.clip(np.searchsorted(bounds, arr[ok], side="right") - 1, 0, bounds.size - 2)
    return Classes(tuple(float(b) for b in bounds), codes)


def fixed_classes(values: pd.Series | np.ndarray, breaks: Sequence[float]) -> Classes:
    """Classes with fixed inner ``breaks`` (first class open below, last open above)."""
    arr = np.asarray(values, dtype="float64")
    ok = np.isfinite(arr)
    codes = np.full(arr.shape, -1, dtype="int64")
    codes[ok] = np.searchsorted(np.asarray(breaks, dtype="float64"), arr[ok], side="right")
    return Classes((-math.inf, *map(float, breaks), math.inf), codes)


def class_labels(classes: Classes, decimals: int, unit: str = "") -> list[str]:
    """French legend labels of each class (``"0,12 – 0,31"``, ``"< 10 min"``, ``"≥ 45 min"``)."""
    out: list[str] = []
    suffix = f" {unit}" if unit else ""
    b = classes.bounds
    for i in range(classes.k):
        lo, hi = b[i], b[i + 1]
        if math.isinf(lo):
            out.append(f"< {fr_number(hi, decimals, missing=MISSING)}{suffix}")
        elif math.isinf(hi):
            out.append(f"≥ {fr_number(lo, decimals, missing=MISSING)}{suffix}")
        else:
            out.append(f"{fr_number(lo, decimals, missing=MISSING)} – "
                       f"{fr_number(hi, decimals, missing=MISSING)}{suffix}")
    return out


def palette(k: int, base: Sequence[str] = YLORRD5) -> list[str]:
    """``k`` colours (k <= 5) spread over a 5-class sequential palette, light to dark."""
    if k <= 0:
        return []
    if k >= len(base):
        return list(base[: len(base)])
    idx = np.round(np.linspace(0, len(base) - 1, k)).astype(int)
    return [base[i] for i in idx]


# --------------------------------------------------------------------------- facilities


def site_categories(facilities: pd.DataFrame) -> pd.Series:
    """One display category per site (``SU et SMUR``, ``SU``, ``SMUR``...), vectorised.

    SU and SMUR as decided by :func:`zoning.sources.emergency_services`: ``SMUR`` means a
    general SMUR; a paediatric-only SMUR is ``SMUR pédiatrique seul`` (or ``SU`` /
    ``SU pédiatrique`` when the site has one).
    """
    k = {c: v.to_numpy(dtype=bool) for c, v in emergency_services(facilities).items()}
    su, gen, ped = k["su"], k["smur"], k["su_pediatrique_seul"]
    smur_ped = k["smur_pediatrique_seul"]
    cat = np.select(
        [su & gen, su, ped, k["smur_antenne"], gen, smur_ped],
        ["SU et SMUR", "SU", "SU pédiatrique", "Antenne SMUR", "SMUR", "SMUR pédiatrique seul"],
        default="Autre (SAMU)",
    )
    return pd.Series(cat, index=facilities.index, name="categorie")


# --------------------------------------------------------------------------- run metadata


def sources_lines(result: RunResult) -> list[str]:
    """French lines "criterion : source (millésime)" plus the other data vintages of the run."""
    lines = []
    for c in result.criteria:
        status = "" if c.available else f" — {MISSING}"
        vintage = f" (millésime {c.vintage})" if c.vintage else ""
        lines.append(f"{c.label} : {c.source}{vintage}{status}")
    vintages = result.params.get("vintages") or {}
    ids = {c.id for c in result.criteria}
    if isinstance(vintages, dict):
        for name, v in vintages.items():
            if name not in ids and str(v).strip():  # criteria vintages are listed above
                lines.append(f"{str(name)[:1].upper()}{str(name)[1:]} : {v}")
    return lines


def missing_criteria_notes(result: RunResult) -> list[str]:
    """Notes every output must show: the run's notes plus one line per unavailable criterion."""
    notes = [str(n) for n in result.notes]
    for c in result.criteria:
        if not c.available:
            line = f"Critère « {c.label} » : {MISSING}"
            line += f" ({c.note})." if c.note else " ; il n'entre pas dans le score composite."
            if not any(c.label in n for n in notes):
                notes.append(line)
    return notes


def ranking_sentence(result: RunResult) -> str:
    """French sentence saying how the EPCI were ordered (``composite`` or ``cumul`` method)."""
    if result.params.get("method") == "cumul":
        q = (result.params.get("config") or {}).get("run", {}).get("cumul_quantile")
        share = (f" (les {fr_number(100 * float(q), 0)}\u00a0% les plus défavorables)"
                 if q else "")
        return ("Les EPCI sont classés par nombre de fragilités (critères où l'EPCI est parmi "
                f"les plus défavorables{share}), le score composite départageant les ex aequo "
                "(rang 1 = plus vulnérable) ; les premiers sont retenus comme zones prioritaires.")
    return ("Les EPCI sont classés par score composite décroissant (rang 1 = plus vulnérable) ; "
            "les premiers sont retenus comme zones prioritaires.")


def computed_at(result: RunResult) -> str:
    """Date and time of computation as stored in ``params`` (ISO string), or ``""``."""
    return str(result.params.get("computed_at", ""))


def version(result: RunResult) -> str:
    """The zoning version recorded in the run parameters (else the installed one)."""
    from zoning import __version__

    return str(result.params.get("version", __version__))


def params_json(result: RunResult) -> str:
    """The run parameters as JSON text (non-JSON values stringified)."""
    return json.dumps(result.params, ensure_ascii=False, indent=2, default=str, sort_keys=True)
