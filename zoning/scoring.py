"""Orientation, normalisation, composite score, ranking, selection, sensitivity, explanations.

Pure functions over per-EPCI frames: this module reads no file and draws nothing.

Conventions
-----------
- Every normalised score is in ``[0, 1]`` with **1 = most vulnerable**: a criterion whose
  direction is ``higher_is_better`` (APL, income) is negated before normalising.
- Normalisations (computed over the EPCI that have a value; NaN stays NaN):

  ``percentile``
      average rank among the EPCI with a value, mapped to ``(rank - 1) / (n - 1)``: the least
      vulnerable EPCI gets 0, the most vulnerable 1, ties share their mean rank.
  ``minmax``
      ``(x - min) / (max - min)``, computed as scikit-learn's ``MinMaxScaler`` does.
  ``zscore``
      ``(x - mean) / std`` (population standard deviation), computed as scikit-learn's
      ``StandardScaler`` does, then mapped to ``]0, 1[``
      through the standard normal CDF ``Φ(z)``: monotone, no clipping, a z-score of 0 gives 0.5.

  A criterion with a single distinct value gives 0.5 to every EPCI whatever the method
  (it does not discriminate).
- Missing values: a criterion entirely missing (``available`` False, e.g. ALD offline) is
  dropped and the weights of the others are renormalised to sum to 1 (``strict=True`` raises
  :class:`~zoning.errors.ScoringError` instead). An EPCI lacking the value of a criterion that
  other EPCI have gets its composite over the criteria it has, with the weights renormalised
  over them (its ``n_criteres`` column says how many it has). An EPCI with no value at all has
  a NaN composite and ranks last.
- Composite: ``Σ w_k s_k / Σ w_k`` over the criteria available for the EPCI.
- ``cumul`` method ("cumul des fragilités"): an EPCI has a fragility on a criterion when its
  vulnerability rank on that criterion (``min`` method on ties) is within the worst
  ``ceil(cumul_quantile × n)`` of the ``n`` EPCI having a value; EPCI are ordered by the number
  of fragilities, the composite breaking ties.
- Ranking: 1 = most vulnerable; ties broken by composite (desc), then population (desc), then
  SIREN (asc), so the order never depends on the input row order.
- Selection: ``top`` takes the ``N`` first ranks; ``population_share`` takes the worst EPCI in
  rank order while their cumulated population stays within ``share × total population`` (at
  least one EPCI).
- Sensitivity: ``draws`` Monte-Carlo draws; in each, the weights of the available criteria are
  drawn from ``Dirichlet(concentration × w)`` (mean = configured weights) and one normalisation
  method is drawn uniformly among ``sensitivity.normalisations`` and applied to every criterion.
  Each draw ranks and selects as the main run does. Per EPCI: ``probability`` = share of draws
  in which it is selected, ``rank_p05`` / ``rank_p95`` = 5th / 95th percentile of its rank
  (observed ranks, ``inverted_cdf``). Labels (``robustesse``):

  ``robuste``
      selected by the main run and ``probability >= robust_threshold``;
  ``limite``
      selected with ``probability < robust_threshold``, or not selected with ``probability > 0``;
  ``hors zone``
      not selected and never selected in any draw (``probability == 0``).

  With ``draws = 0`` the probability is NaN and the label ``non évaluée``. With the ``cumul``
  method the fragility counts do not depend on weights or normalisation: the draws only move
  EPCI among those with the same count (through the composite tie-breaker).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

from zoning.errors import AmbiguousNameError, ScoringError, TerritoryError
from zoning.labels import criterion_label, criterion_unit

if TYPE_CHECKING:
    from zoning.config import Config
    from zoning.criteria import CriterionResult

Method = Literal["percentile", "minmax", "zscore"]
NORMALISATIONS: tuple[str, ...] = ("percentile", "minmax", "zscore")

LABEL_ROBUST = "robuste"
LABEL_LIMIT = "limite"
LABEL_OUT = "hors zone"
LABEL_NOT_EVALUATED = "non évaluée"


# --------------------------------------------------------------------------- normalisation


def orient(values: pd.Series, direction: str) -> pd.Series:
    """Return values oriented so that a higher value is more vulnerable.

    Parameters
    ----------
    values
        Raw criterion values.
    direction
        ``higher_is_worse`` (kept) or ``higher_is_better`` (negated).

    Returns
    -------
    pandas.Series
        Same index, float64.
    """
    v = values.astype("float64")
    if direction == "higher_is_worse":
        return v
    if direction == "higher_is_better":
        return -v
    raise ScoringError(
        f"unknown direction {direction!r}: use 'higher_is_worse' or 'higher_is_better'"
    )


def normalise(oriented: pd.Series, method: str) -> pd.Series:
    """Normalise oriented values to ``[0, 1]`` (1 = most vulnerable), NaN kept.

    Parameters
    ----------
    oriented
        Values where higher means more vulnerable (see :func:`orient`).
    method
        ``percentile``, ``minmax`` or ``zscore`` (see the module docstring).

    Returns
    -------
    pandas.Series
        Same index, float64 in ``[0, 1]``.
    """
    out = pd.Series(np.nan, index=oriented.index, dtype="float64", name=oriented.name)
    mask = oriented.notna().to_numpy()
    x = oriented.to_numpy(dtype="float64")[mask]
    if x.size == 0:
        return out
    if np.unique(x).size == 1:
        out.iloc[np.flatnonzero(mask)] = 0.5
        return out
    if method == "percentile":
        r = pd.Series(x).rank(method="average").to_numpy()
        s = (r - 1.0) / (x.size - 1.0)
    elif method == "minmax":
        s = _minmax(x)
    elif method == "zscore":
        s = ndtr(_zscore(x))
    else:
        raise ScoringError(
            f"unknown normalisation {method!r}: use one of {', '.join(NORMALISATIONS)}"
        )
    out.iloc[np.flatnonzero(mask)] = np.clip(s, 0.0, 1.0)
    return out



# scikit-learn's MinMaxScaler / StandardScaler arithmetic, operation for operation (same floats,
# tests/test_scoring.py compares with them) without importing scikit-learn (~0.9 s, scipy.stats)


def _minmax(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``MinMaxScaler().fit_transform``: ``x * scale + min`` with ``scale = 1 / (max - min)``,
    ``min = 0 - x_min * scale``."""
    data_min, data_max = np.nanmin(x), np.nanmax(x)
    data_range = data_max - data_min
    if data_range < 10 * np.finfo(np.float64).eps:  # near constant: scale 1
        data_range = np.float64(1.0)
    scale = 1 / data_range
    return x * scale + (0 - data_min * scale)


def _zscore(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``StandardScaler().fit_transform``: ``(x - mean) / std``, population standard deviation
    by the corrected two-pass algorithm (sums over the column like scikit-learn's)."""
    col = x.reshape(-1, 1)
    n = float(col.shape[0])
    mean = np.sum(col, axis=0) / n
    temp = col - mean
    correction = np.sum(temp, axis=0)
    var = (np.sum(temp**2, axis=0) - correction**2 / n) / n
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.where(constant, 1.0, np.sqrt(var))
    return ((col - mean) / scale).ravel()


def vulnerability_percentile(oriented: pd.Series) -> pd.Series:
    """Share (0..100) of the EPCI with a value that are *less* vulnerable than each EPCI.

    Used by explanations: 95 means "more vulnerable than 95 % of the EPCI" on this criterion.
    """
    n = int(oriented.notna().sum())
    if n <= 1:
        return pd.Series(np.where(oriented.notna(), 50.0, np.nan), index=oriented.index)
    r = oriented.rank(method="average")
    return (r - 1.0) / (n - 1.0) * 100.0


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class Weights:
    """Weights after dropping unavailable criteria.

    Attributes
    ----------
    used
        Criterion id -> weight used, for the available criteria only (sums to 1; a criterion
        configured with weight 0 stays at 0).
    configured
        Criterion id -> configured weight.
    missing
        Ids of criteria dropped because their data is unavailable.
    """

    used: dict[str, float]
    configured: dict[str, float]
    missing: list[str]


def effective_weights(
    configured: Mapping[str, float], available: Mapping[str, bool], strict: bool = False
) -> Weights:
    """Drop unavailable criteria and renormalise the remaining weights to sum to 1.

    Parameters
    ----------
    configured
        Configured weight per criterion id (sum 1, validated by the config).
    available
        Whether each criterion has data.
    strict
        Raise instead of renormalising when a weighted criterion is unavailable.

    Returns
    -------
    Weights

    Raises
    ------
    ScoringError
        In strict mode when a criterion with a positive weight has no data, or when no
        weighted criterion is left.
    """
    missing = [k for k, w in configured.items() if not available.get(k, False)]
    weighted_missing = [k for k in missing if configured[k] > 0]
    if strict and weighted_missing:
        raise ScoringError(
            "--strict: no data for criterion "
            + ", ".join(repr(k) for k in weighted_missing)
            + " (supply its data file, e.g. an ALD CSV, or set its weight to 0 in the "
            "configuration, or run without --strict to spread its weight over the others)"
        )
    kept = {k: float(w) for k, w in configured.items() if k not in missing}
    total = sum(kept.values())
    if total <= 0:
        raise ScoringError(
            "no criterion with a positive weight has data: nothing to score "
            "(check the data directory and the weights in the configuration)"
        )
    return Weights(
        used={k: w / total for k, w in kept.items()},
        configured={k: float(w) for k, w in configured.items()},
        missing=missing,
    )


# --------------------------------------------------------------------------- composite


def composite(scores: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Weighted mean of the scores, renormalising weights over each EPCI's available criteria.

    Parameters
    ----------
    scores
        One column per criterion id (0..1, NaN = missing for that EPCI).
    weights
        Weight per criterion id (columns absent from ``weights`` are ignored).

    Returns
    -------
    pandas.Series
        Composite per EPCI (NaN when the EPCI has no value for any weighted criterion).
    """
    cols = [c for c in weights if c in scores.columns]
    w = np.array([weights[c] for c in cols], dtype="float64")
    s = scores[cols].to_numpy(dtype="float64")
    have = ~np.isnan(s)
    num = np.where(have, s, 0.0) @ w
    den = have.astype("float64") @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return pd.Series(comp, index=scores.index, name="composite")


def fragility_count(oriented: pd.DataFrame, quantile: float) -> pd.Series:
    """Number of criteria on which each EPCI is in the worst ``quantile`` (cumul method).

    Parameters
    ----------
    oriented
        One column per criterion, higher = more vulnerable, NaN = missing.
    quantile
        Share of the EPCI (with a value) counted as fragile on each criterion.

    Returns
    -------
    pandas.Series
        Integer count per EPCI.
    """
    if oriented.shape[1] == 0:
        return pd.Series(0, index=oriented.index, dtype="int64", name="n_fragilites")
    ranks = oriented.rank(method="min", ascending=False)
    n = oriented.notna().sum(axis=0)
    cut = np.ceil(quantile * n.to_numpy(dtype="float64"))
    fragile = ranks.to_numpy() <= cut[None, :]
    return pd.Series(fragile.sum(axis=1).astype("int64"), index=oriented.index,
                     name="n_fragilites")


# --------------------------------------------------------------------------- ranking


def _tiebreak_order(population: pd.Series) -> np.ndarray:
    """Positions sorted by population desc then SIREN asc (the final tie-breakers)."""
    pop = population.to_numpy(dtype="float64")
    pop = np.where(np.isnan(pop), -np.inf, pop)
    siren = population.index.to_numpy().astype(str)
    return np.lexsort((siren, -pop))


def rank_values(
    primary: np.ndarray, population: pd.Series, secondary: np.ndarray | None = None
) -> np.ndarray:
    """Rank 1..N (1 = highest ``primary``) with deterministic tie-breaking, vectorised.

    Parameters
    ----------
    primary
        Shape ``(N,)`` or ``(N, D)``: one column per draw; higher = more vulnerable. NaN last.
    population
        Population per EPCI (index = SIREN), same row order as ``primary``.
    secondary
        Optional second key (same shape), higher first, applied before population/SIREN.

    Returns
    -------
    numpy.ndarray
        Integer ranks, same shape as ``primary``.
    """
    p = np.asarray(primary, dtype="float64")
    one = p.ndim == 1
    if one:
        p = p[:, None]
    sec = None if secondary is None else np.asarray(secondary, dtype="float64").reshape(p.shape)
    order0 = _tiebreak_order(population)  # base order: pop desc, siren asc
    n, d = p.shape
    pp = np.where(np.isnan(p), -np.inf, p)[order0]
    if sec is not None:
        ss = np.where(np.isnan(sec), -np.inf, sec)[order0]
        # stable sorts: secondary first, then primary
        o1 = np.argsort(-ss, axis=0, kind="stable")
        pp1 = np.take_along_axis(pp, o1, axis=0)
        o2 = np.argsort(-pp1, axis=0, kind="stable")
        perm = np.take_along_axis(o1, o2, axis=0)
    else:
        perm = np.argsort(-pp, axis=0, kind="stable")
    rows = order0[perm]  # row index of the EPCI at each rank position
    ranks = np.empty((n, d), dtype="int64")
    np.put_along_axis(ranks, rows, np.arange(1, n + 1, dtype="int64")[:, None].repeat(d, 1),
                      axis=0)
    return ranks[:, 0] if one else ranks


def select_mask(
    ranks: np.ndarray, population: pd.Series, config: Config, top: int | None = None
) -> np.ndarray:
    """Boolean selection from ranks (vectorised over draws when ``ranks`` is 2-D).

    Parameters
    ----------
    ranks
        Ranks 1..N, shape ``(N,)`` or ``(N, D)``.
    population
        Population per EPCI, same row order.
    config
        Run configuration (``run.selection``, ``run.priority_zones``, ``run.population_share``).
    top
        Overrides the number of zones (and forces ``top`` selection).

    Returns
    -------
    numpy.ndarray
        Boolean mask, same shape as ``ranks``.

    Raises
    ------
    ScoringError
        When ``top`` (or ``priority_zones``) exceeds the number of EPCI.
    """
    r = np.asarray(ranks)
    n = r.shape[0]
    if top is not None or config.run.selection == "top":
        k = top if top is not None else config.run.priority_zones
        if k < 1 or k > n:
            raise ScoringError(
                f"--top {k}: the territory has {n} EPCI; choose N between 1 and {n} "
                "(or change run.priority_zones in the configuration)"
            )
        return r <= k
    pop = population.to_numpy(dtype="float64")
    pop = np.where(np.isnan(pop), 0.0, pop)
    target = config.run.population_share * pop.sum()
    rr = r if r.ndim == 2 else r[:, None]
    by_rank = np.empty_like(rr)  # row of the EPCI at each rank
    np.put_along_axis(by_rank, rr - 1, np.arange(n)[:, None].repeat(rr.shape[1], 1), axis=0)
    cum = np.cumsum(pop[by_rank], axis=0)
    within = cum <= target + 1e-9
    within[0, :] = True
    mask = np.take_along_axis(within, rr - 1, axis=0)
    return mask if r.ndim == 2 else mask[:, 0]


# --------------------------------------------------------------------------- main entry


def _criterion_frames(
    criteria: Mapping[str, CriterionResult], config: Config, index: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, bool]]:
    raw = pd.DataFrame(index=index)
    oriented = pd.DataFrame(index=index)
    available: dict[str, bool] = {}
    for c in config.criteria:
        res = criteria.get(c.id)
        if res is None:
            vals = pd.Series(np.nan, index=index, dtype="float64")
            ok = False
        else:
            vals = res.values.reindex(index).astype("float64")
            ok = bool(res.available) and bool(vals.notna().any())
        raw[c.id] = vals
        oriented[c.id] = orient(vals, c.direction)
        available[c.id] = ok
    return raw, oriented, available


def _normalised(oriented: pd.DataFrame, config: Config) -> pd.DataFrame:
    scores = pd.DataFrame(index=oriented.index)
    for c in config.criteria:
        scores[c.id] = normalise(oriented[c.id], c.normalisation)
    return scores


def criterion_scores(
    criteria: Mapping[str, CriterionResult], config: Config, index: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, bool]]:
    """Raw values and normalised scores of every configured criterion, as :func:`score` has them.

    Parameters
    ----------
    criteria
        Criterion id -> :class:`~zoning.criteria.CriterionResult`.
    config
        Configuration (directions and normalisations).
    index
        EPCI SIREN to score.

    Returns
    -------
    tuple
        ``raw`` and ``scores`` (one column per configured criterion, index ``index``; scores
        0..1, 1 = most vulnerable, NaN = missing) and ``available`` (criterion id -> has data).
    """
    raw, oriented, available = _criterion_frames(criteria, config, index)
    return raw, _normalised(oriented, config), available


def score(
    criteria: Mapping[str, CriterionResult],
    config: Config,
    populations: pd.Series,
    *,
    strict: bool = False,
    top: int | None = None,
    draws: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Score, rank and select the EPCI, with the Monte-Carlo sensitivity analysis.

    Parameters
    ----------
    criteria
        Criterion id -> :class:`~zoning.criteria.CriterionResult` (values indexed by SIREN).
    config
        Validated configuration.
    populations
        Population per EPCI, index ``epci_siren``: defines the EPCI scored (and tie-breaks).
    strict
        Raise :class:`ScoringError` when a weighted criterion has no data.
    top
        Number of priority zones (overrides ``run.priority_zones`` and ``run.selection``).
    draws, seed
        Override ``sensitivity.draws`` and ``run.seed``.

    Returns
    -------
    pandas.DataFrame
        The score table, index ``epci_siren``, sorted by rank: for each criterion ``<id>`` (raw)
        and ``<id>_score`` (0..1, 1 = most vulnerable); ``n_criteres``, ``composite``,
        ``n_fragilites``, ``rank``, ``selected``, ``probability``, ``rank_p05``, ``rank_p95``,
        ``robustesse``. ``attrs`` holds ``weights`` (used), ``weights_configured``,
        ``missing``, ``method``, ``draws``, ``seed``, ``n_selected``.
    """
    index = pd.Index(populations.index.astype(str), name="epci_siren")
    if index.has_duplicates:
        dup = sorted(set(index[index.duplicated()]))[:5]
        raise ScoringError(f"duplicate EPCI SIREN in the populations: {dup}")
    if len(index) == 0:
        raise ScoringError("no EPCI to score (empty territory)")
    pop = pd.Series(populations.to_numpy(dtype="float64"), index=index)
    raw, oriented, available = _criterion_frames(criteria, config, index)
    w = effective_weights(config.weights, available, strict=strict)

    scores = _normalised(oriented, config)
    used_ids = [k for k in w.used if w.used[k] > 0]
    comp = composite(scores, w.used)
    nfrag = fragility_count(oriented[used_ids], config.run.cumul_quantile)
    if config.run.method == "cumul":
        ranks = rank_values(nfrag.to_numpy(dtype="float64"), pop, comp.to_numpy())
    else:
        ranks = rank_values(comp.to_numpy(), pop)
    selected = select_mask(ranks, pop, config, top)

    table = pd.DataFrame(index=index)
    for c in config.criteria:
        table[c.id] = raw[c.id]
        table[f"{c.id}_score"] = scores[c.id]
    table["n_criteres"] = scores[used_ids].notna().sum(axis=1).astype("int64")
    table["composite"] = comp
    table["n_fragilites"] = nfrag
    table["rank"] = ranks
    table["selected"] = selected

    n_draws = config.sensitivity.draws if draws is None else int(draws)
    rng_seed = config.run.seed if seed is None else int(seed)
    sens = sensitivity(
        oriented[used_ids], {k: w.used[k] for k in used_ids}, pop, config,
        draws=n_draws, seed=rng_seed, top=top,
    )
    table = table.join(sens)
    table["robustesse"] = robustness_labels(
        table["selected"], table["probability"], config.sensitivity.robust_threshold
    )
    table = table.sort_values("rank")
    table.attrs.update(
        weights=dict(w.used),
        weights_configured=dict(w.configured),
        missing=list(w.missing),
        method=config.run.method,
        draws=n_draws,
        seed=rng_seed,
        n_selected=int(selected.sum()),
    )
    return table


# --------------------------------------------------------------------------- sensitivity


def _score_matrix(oriented: pd.DataFrame, method: str) -> np.ndarray:
    return np.column_stack(
        [normalise(oriented[c], method).to_numpy() for c in oriented.columns]
    ) if oriented.shape[1] else np.empty((len(oriented), 0))


def sensitivity(
    oriented: pd.DataFrame,
    weights: Mapping[str, float],
    population: pd.Series,
    config: Config,
    *,
    draws: int,
    seed: int,
    top: int | None = None,
    chunk: int = 250,
) -> pd.DataFrame:
    """Monte-Carlo perturbation of the weights (Dirichlet) and of the normalisation method.

    Parameters
    ----------
    oriented
        Oriented raw values (higher = more vulnerable) of the criteria used, one column each.
    weights
        Weight per column of ``oriented`` (sum 1).
    population
        Population per EPCI, same row order.
    config
        Configuration (``sensitivity.*``, ``run.method``, selection rule).
    draws
        Number of draws (0: no analysis, NaN results).
    seed
        Seed of the numpy ``Generator`` (same seed, same inputs -> same output).
    top
        Number of zones (as in the main run).
    chunk
        Draws processed at once (memory bound: ``N × chunk`` floats per array).

    Returns
    -------
    pandas.DataFrame
        Index as ``oriented``: ``probability``, ``rank_p05``, ``rank_p95``.
    """
    n = len(oriented)
    if draws <= 0:
        return pd.DataFrame(
            {"probability": np.nan, "rank_p05": np.nan, "rank_p95": np.nan}, index=oriented.index
        )
    cols = list(oriented.columns)
    w0 = np.array([weights[c] for c in cols], dtype="float64")
    rng = np.random.default_rng(seed)
    alpha = config.sensitivity.concentration * w0
    methods = list(config.sensitivity.normalisations)
    weights_draw = rng.dirichlet(alpha, size=draws) if len(cols) > 1 else np.ones((draws, 1))
    method_draw = rng.integers(0, len(methods), size=draws)

    mats = {m: _score_matrix(oriented, m) for m in set(methods)}
    have = {m: ~np.isnan(s) for m, s in mats.items()}
    filled = {m: np.where(have[m], s, 0.0) for m, s in mats.items()}
    nfrag = (
        fragility_count(oriented, config.run.cumul_quantile).to_numpy(dtype="float64")
        if config.run.method == "cumul" else None
    )
    all_ranks = np.empty((n, draws), dtype="int64")
    n_sel = np.zeros(n, dtype="int64")
    for start in range(0, draws, chunk):
        stop = min(draws, start + chunk)
        wd = weights_draw[start:stop]
        md = method_draw[start:stop]
        comp = np.empty((n, stop - start))
        for mi, m in enumerate(methods):
            cols_d = np.flatnonzero(md == mi)
            if cols_d.size == 0:
                continue
            num = filled[m] @ wd[cols_d].T
            den = have[m].astype("float64") @ wd[cols_d].T
            with np.errstate(invalid="ignore", divide="ignore"):
                comp[:, cols_d] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        if nfrag is not None:
            ranks = rank_values(np.repeat(nfrag[:, None], stop - start, 1), population, comp)
        else:
            ranks = rank_values(comp, population)
        all_ranks[:, start:stop] = ranks
        n_sel += select_mask(ranks, population, config, top).sum(axis=1)
    p05 = np.quantile(all_ranks, 0.05, axis=1, method="inverted_cdf")
    p95 = np.quantile(all_ranks, 0.95, axis=1, method="inverted_cdf")
    return pd.DataFrame(
        {
            "probability": n_sel / draws,
            "rank_p05": p05.astype("int64"),
            "rank_p95": p95.astype("int64"),
        },
        index=oriented.index,
    )


def robustness_labels(
    selected: pd.Series, probability: pd.Series, threshold: float
) -> pd.Series:
    """Label each EPCI ``robuste`` / ``limite`` / ``hors zone`` (see the module docstring).

    Parameters
    ----------
    selected
        Selected by the main run.
    probability
        Selection probability over the draws (NaN: no sensitivity analysis).
    threshold
        ``sensitivity.robust_threshold``.

    Returns
    -------
    pandas.Series
        Same index, ``robustesse`` labels (``non évaluée`` where the probability is NaN).
    """
    sel = selected.to_numpy(dtype=bool)
    p = probability.to_numpy(dtype="float64")
    lab = np.where(
        np.isnan(p),
        LABEL_NOT_EVALUATED,
        np.where(
            sel & (p >= threshold),
            LABEL_ROBUST,
            np.where(sel | (p > 0), LABEL_LIMIT, LABEL_OUT),
        ),
    )
    return pd.Series(lab, index=selected.index, name="robustesse")


# --------------------------------------------------------------------------- lookup, explain


def find_epci(query: str, names: pd.Series) -> str:
    """Resolve a SIREN or an (accent/case-insensitive) name or name fragment to one SIREN.

    Names are compared folded (no accents, case, apostrophes or dashes) with the official
    legal forms shortened as in the EPCI file: "Communauté de communes du Pays de X" matches
    "CC du Pays de X" ("Communauté d'agglomération" -> CA, "Communauté urbaine" -> CU,
    "St" -> "Saint"). Tried in turn: the exact folded name, a name containing the query,
    then a name holding every significant word of the query (articles ignored).

    Parameters
    ----------
    query
        9-digit SIREN, exact name, or a fragment of a name.
    names
        EPCI names indexed by SIREN.

    Returns
    -------
    str
        The SIREN.

    Raises
    ------
    TerritoryError
        Unknown SIREN or no name matching (the closest names are suggested).
    AmbiguousNameError
        Several EPCI match; ``candidates`` lists ``"SIREN name"`` strings.
    """
    q = query.strip()
    idx = names.index.astype(str)
    if q.isdigit():
        if q in set(idx):
            return q
        raise TerritoryError(
            f"EPCI SIREN {q!r} is not in this territory (give one of the {len(idx)} SIREN of "
            "the scored region, or use --region)"
        )
    norm = _fold(names.astype(str))
    fq = _fold(pd.Series([q])).iloc[0]
    exact = idx[(norm == fq).to_numpy()]
    if len(exact) == 1:
        return str(exact[0])
    hits = idx[norm.str.contains(fq, regex=False).to_numpy()] if not len(exact) else exact
    if len(hits) == 0:
        words = _significant_words(fq)
        if words:
            has_all = np.ones(len(norm), dtype=bool)
            for w in words:  # a handful of words, each test vectorised over the names
                has_all &= norm.str.contains(rf"\b{re.escape(w)}\b", regex=True).to_numpy()
            hits = idx[has_all]
    if len(hits) == 1:
        return str(hits[0])
    if len(hits) == 0:
        close = difflib.get_close_matches(fq, norm.tolist(), n=3, cutoff=0.6)
        pos = {v: i for i, v in enumerate(norm.tolist())}
        hint = ("; closest names: " + "; ".join(
            f"{idx[pos[c]]} {names.iloc[pos[c]]}" for c in close)) if close else ""
        raise TerritoryError(
            f"no EPCI name matches {query!r} in this territory{hint} (give a SIREN or another "
            "name)"
        )
    cands = [f"{s} {names.loc[s]}" for s in sorted(hits)]
    shown = "; ".join(cands[:12]) + (f"; … and {len(cands) - 12} more" if len(cands) > 12
                                     else "")
    raise AmbiguousNameError(
        f"{query!r} matches {len(cands)} EPCI: {shown} (give the SIREN or a longer name)",
        cands,
    )


_LEGAL_FORMS = (
    (r"^communaute de communes\b", "cc"),
    (r"^communaute d agglomeration\b", "ca"),
    (r"^communaute urbaine\b", "cu"),
    (r"^c c\b", "cc"),
    (r"^c a\b", "ca"),
    (r"\bst\b", "saint"),
    (r"\bste\b", "sainte"),
)
_ARTICLES = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "et", "en", "a", "au",
                       "aux", "sur", "cc", "ca", "cu"})


def _significant_words(folded: str) -> list[str]:
    return [w for w in folded.split() if w not in _ARTICLES]


def _fold(s: pd.Series) -> pd.Series:
    """Lower-case, strip accents, normalise apostrophes, dashes and dots, squeeze spaces,
    shorten the legal form ("communaute de communes" -> "cc")."""
    out = (
        s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
        .str.lower().str.replace(r"[’'`\-.]", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True).str.strip()
    )
    for pattern, repl in _LEGAL_FORMS:
        out = out.str.replace(pattern, repl, regex=True)
    return out


def explain(
    table: pd.DataFrame,
    config: Config,
    siren: str,
    criteria: Mapping[str, CriterionResult] | None = None,
) -> pd.DataFrame:
    """Per-criterion explanation of one EPCI's position.

    Parameters
    ----------
    table
        Score table from :func:`score`.
    config
        The configuration used.
    siren
        EPCI SIREN (index of ``table``).
    criteria
        Criterion results (for availability and coverage); optional.

    Returns
    -------
    pandas.DataFrame
        One row per criterion, index = criterion id, columns ``critere`` (label), ``valeur``
        (raw), ``unite``, ``percentile`` (0..100, share of EPCI less vulnerable), ``score``,
        ``poids`` (weight used for this EPCI, renormalised over its available criteria),
        ``contribution`` (poids × score; the contributions sum to the composite),
        ``disponible``, ``couverture``. ``attrs``: ``rank``, ``n``, ``composite``,
        ``probability``, ``rank_p05``, ``rank_p95``, ``robustesse``, ``selected``.
    """
    if siren not in table.index:
        raise TerritoryError(f"EPCI SIREN {siren!r} is not in the score table")
    used: dict[str, float] = table.attrs.get("weights", config.weights)
    row: dict[Any, Any] = table.loc[siren].to_dict()
    have = {c.id: bool(pd.notna(row[f"{c.id}_score"])) and used.get(c.id, 0) > 0
            for c in config.criteria}
    wsum = sum(used.get(k, 0.0) for k, h in have.items() if h)
    recs = []
    for c in config.criteria:
        oriented = orient(table[c.id], c.direction)
        pct = vulnerability_percentile(oriented).loc[siren]
        wk = used.get(c.id, 0.0) / wsum if have[c.id] and wsum > 0 else 0.0
        sc = row[f"{c.id}_score"]
        res = criteria.get(c.id) if criteria else None
        cov = float(res.coverage.get(siren, np.nan)) if res is not None else np.nan
        recs.append({
            "critere": criterion_label(config, c.id, res),
            "valeur": row[c.id],
            "unite": criterion_unit(config, c.id),
            "percentile": pct,
            "score": sc,
            "poids": wk,
            "contribution": wk * sc if have[c.id] else np.nan,
            "disponible": c.id in used,
            "couverture": cov,
        })
    out = pd.DataFrame(recs, index=pd.Index([c.id for c in config.criteria], name="critere_id"))
    out.attrs.update(
        rank=int(row["rank"]), n=len(table), composite=float(row["composite"]),
        probability=float(row["probability"]), rank_p05=row["rank_p05"],
        rank_p95=row["rank_p95"], robustesse=str(row["robustesse"]),
        selected=bool(row["selected"]),
    )
    return out


# --------------------------------------------------------------------------- reference compare


@dataclass(frozen=True)
class Comparison:
    """Overlap between the selection and a reference list of EPCI.

    Attributes
    ----------
    reference
        Reference SIREN (in file order, resolved).
    both
        SIREN selected by both.
    only_model
        Selected by the model only.
    only_reference
        In the reference list only.
    ranks
        Reference SIREN -> rank in the model (index = SIREN).
    """

    reference: list[str]
    both: list[str]
    only_model: list[str]
    only_reference: list[str]
    ranks: pd.Series

    @property
    def jaccard(self) -> float:
        """|A ∩ B| / |A ∪ B|."""
        u = len(self.both) + len(self.only_model) + len(self.only_reference)
        return len(self.both) / u if u else math.nan


def compare(table: pd.DataFrame, reference: Sequence[str]) -> Comparison:
    """Compare the selected EPCI with a reference list of SIREN (already resolved).

    Parameters
    ----------
    table
        Score table from :func:`score`.
    reference
        Reference SIREN, each in ``table.index``.

    Returns
    -------
    Comparison
    """
    ref = list(dict.fromkeys(str(s) for s in reference))
    unknown = [s for s in ref if s not in table.index]
    if unknown:
        raise TerritoryError(
            f"reference SIREN not in the scored territory: {', '.join(unknown)} "
            "(fix the reference file or choose the matching --region)"
        )
    sel = table.index[table["selected"].to_numpy(dtype=bool)]
    sel_set, ref_set = set(sel), set(ref)
    return Comparison(
        reference=ref,
        both=[s for s in sel if s in ref_set],
        only_model=[s for s in sel if s not in ref_set],
        only_reference=[s for s in ref if s not in sel_set],
        ranks=table.loc[ref, "rank"].astype("int64"),
    )
