"""French label and unit of each criterion, derived from the configuration (one place).

The labels of ``config/criteria.toml`` name the criteria; what the value *is* depends on
other settings, so for three criteria the part in brackets and the unit are derived here
and every output (terminal, CSV, XLSX, map, GeoPackage, ``explain``) uses them:

- ``age_mg``: ``age.indicator`` (share of the APL supply from GPs older than
  ``apl.age_limit``, or share of GPs aged 60 or over in 2019 head counts);
- ``ald``: what the value rests on (the CartoSanté bassin-de-vie value brought to the EPCI,
  or the user's ``--ald`` file), given by the criterion result (``what``), replaces the label;
- ``urgences``: ``travel.indicator`` (share of the population beyond ``travel.threshold_min``
  in %, or the population-weighted mean time in minutes) and ``travel.facilities``.

Every share is a percentage (0–100) in every output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoning.config import Config

_FACILITIES = {"su": "d'un SU", "smur": "d'un SMUR", "su_or_smur": "d'un SU ou SMUR"}
_NEAREST = {"su": "au SU", "smur": "au SMUR", "su_or_smur": "au SU ou SMUR"}


def base_label(label: str) -> str:
    """A configured label without its part in brackets (``"Éloignement des urgences"``)."""
    return label.split(" (")[0].strip()


def criterion_detail(config: Config, cid: str, result: Any = None) -> str | None:
    """What the value of ``cid`` is, in French (the part in brackets), or None (use the
    configured label as it is)."""
    if cid == "age_mg":
        if config.age.indicator == "effectifs_2019":
            return ("part des médecins généralistes libéraux de 60 ans et plus, effectifs au "
                    "31/12/2019")
        return f"part de l'offre APL des médecins de plus de {config.apl.age_limit} ans"
    if cid == "urgences":
        thr = f"{config.travel.threshold_min:g}"
        site = _FACILITIES[config.travel.facilities]
        if config.travel.indicator == "mean_time":
            return (f"temps de trajet moyen jusqu'{_NEAREST[config.travel.facilities]} le plus "
                    "proche, pondéré par la population")
        return f"population à plus de {thr} min {site}"
    return None


def criterion_label(config: Config, cid: str, result: Any = None) -> str:
    """French label of criterion ``cid`` as every output shows it.

    Parameters
    ----------
    config
        The configuration of the run.
    cid
        Criterion id.
    result
        The :class:`zoning.criteria.CriterionResult` (tells what the ALD value rests on).
    """
    label = config.criterion(cid).label
    what = str(getattr(result, "what", "") or "") if result is not None else ""
    if what:  # ALD: the value says what it rests on, e.g. the bassin de vie's value
        return what[:1].upper() + what[1:]
    detail = criterion_detail(config, cid, result)
    return f"{base_label(label)} ({detail})" if detail else label


def criterion_unit(config: Config, cid: str) -> str:
    """Unit of criterion ``cid`` (percent for every share, minutes for a time)."""
    if cid == "age_mg":
        return ("% des médecins" if config.age.indicator == "effectifs_2019"
                else "% de l'offre APL")
    if cid == "urgences":
        return "min" if config.travel.indicator == "mean_time" else "% de la population"
    if cid == "ald":
        return "% de la population"
    return config.criterion(cid).unit


_DECIMALS: dict[str, int] = {"apl": 2, "age_mg": 1, "ald": 1, "urgences": 1, "niveau_vie": 0}


def short_label(config: Config, cid: str) -> str:
    """Short French column header of criterion ``cid`` in terminal tables (``score``,
    ``calibrate``), following the configured indicator like :func:`criterion_label`:
    ``"Offre MG > 60 ans (%)"`` or, with ``age.indicator = "effectifs_2019"``,
    ``"MG ≥ 60 ans 2019 (%)"``; ``"> 30 min (%)"`` or, with ``travel.indicator =
    "mean_time"``, ``"Tps urgences (min)"``. :func:`base_label` of it names the criterion in
    one-line summaries."""
    if cid == "apl":
        return "APL"
    if cid == "age_mg":
        return ("MG ≥ 60 ans 2019 (%)" if config.age.indicator == "effectifs_2019"
                else f"Offre MG > {config.apl.age_limit} ans (%)")
    if cid == "ald":
        return "ALD (%)"
    if cid == "urgences":
        return ("Tps urgences (min)" if config.travel.indicator == "mean_time"
                else f"> {config.travel.threshold_min:g} min (%)")
    if cid == "niveau_vie":
        return "Niveau de vie (€)"
    return cid


def decimals(cid: str) -> int:
    """Decimals of criterion ``cid``'s raw value in terminal tables and explanations."""
    return _DECIMALS.get(cid, 2)
