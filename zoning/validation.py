"""How far the criteria's approximations and variants lie from each other (figures for the
README, printed by ``validation/validate_criteria.py`` and recomputed by the tests).

- criterion 2: the APL-based share (DREES 2023, default) against the head-count share
  (CartoSanté, GPs aged 60 or over at 31/12/2019);
- criterion 5: the 2021 approximation (median of commune medians weighted by persons)
  against INSEE's official EPCI medians (Filosofi 2019, ``FILO2019_DISP_EPCI``).

Both compare rankings of the EPCI (Spearman rank correlation, largest rank shift), which is
what the scoring uses (percentile normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from zoning.config import Config
    from zoning.territory import Territory


@dataclass(frozen=True)
class RankComparison:
    """Two values of one criterion for the same EPCI, compared by rank.

    Attributes
    ----------
    n
        EPCI with both values.
    spearman
        Spearman rank correlation.
    max_shift
        Largest absolute rank difference (ranks 1..n among the ``n`` EPCI).
    max_shift_epci
        Name of the EPCI with that shift.
    rank_a, rank_b
        Its ranks under each variant.
    median_shift
        Median absolute rank difference.
    """

    n: int
    spearman: float
    max_shift: int
    max_shift_epci: str
    rank_a: int
    rank_b: int
    median_shift: float


def compare_ranks(a: pd.Series, b: pd.Series, names: pd.Series) -> RankComparison:
    """Compare two series (index ``epci_siren``) by the ranks of the EPCI having both."""
    both = pd.concat({"a": a, "b": b}, axis=1).dropna()
    ra = both["a"].rank(method="average")
    rb = both["b"].rank(method="average")
    shift = (ra - rb).abs()
    i = int(np.argmax(shift.to_numpy()))
    worst = str(shift.index[i])
    return RankComparison(
        n=len(both), spearman=float(ra.corr(rb)), max_shift=int(round(shift.iloc[i])),
        max_shift_epci=str(names.get(worst, worst)), rank_a=int(round(ra.iloc[i])),
        rank_b=int(round(rb.iloc[i])), median_shift=float(shift.median()),
    )


@dataclass(frozen=True)
class Validation:
    """Figures of :func:`validate` (see the module docstring)."""

    age: RankComparison
    age_few_gps: int
    age_min_gps: int
    filosofi: RankComparison
    filosofi_vintage: str
    filosofi_median_abs_diff_eur: float


def validate(territory: Territory, config: Config, data_dir: Path) -> Validation:
    """Compute both comparisons on the territory's EPCI.

    Parameters
    ----------
    territory
        The territory (e.g. Occitanie, 161 EPCI).
    config
        The configuration (``apl`` vintage and age limit, ``age.min_gps``).
    data_dir
        The data directory (APL, CartoSanté GP counts, Filosofi commune and EPCI files).
    """
    from zoning import criteria, sources

    names = territory.epci["epci_nom"].astype(str)
    apl = sources.read_apl(data_dir, config.apl.millesime)
    a = criteria.age_criterion(apl, territory, config.apl.age_limit, config.apl.millesime)
    h = criteria.age_headcount_criterion(sources.read_mg_2019(data_dir), territory,
                                         config.age.min_gps)
    approx = criteria.niveau_vie_criterion(sources.read_filosofi(data_dir), territory)
    official = sources.read_filosofi_epci(data_dir)
    off = official["med_niveau_vie"].reindex(territory.epci.index)
    diff = (approx.values - off).abs().dropna()
    return Validation(
        age=compare_ranks(a.values, h.values, names),
        age_few_gps=len(h.values.attrs.get("few", [])), age_min_gps=config.age.min_gps,
        filosofi=compare_ranks(approx.values, off, names),
        filosofi_vintage=str(official.attrs.get("vintage", "")),
        filosofi_median_abs_diff_eur=float(diff.median()),
    )
