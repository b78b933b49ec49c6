"""Learn criterion weights from a reference list of EPCI (``zoning calibrate``).

Scoring layer: takes the criteria, the configuration, the populations and a resolved list of
reference SIREN; reads no file and draws nothing.

Model
-----
Each EPCI ``i`` has the normalised, oriented criterion scores ``s_ik`` of :func:`zoning.scoring.
score` (0..1, 1 = most vulnerable, NaN = no value). For non-negative weights ``w`` summing to 1
its composite is the one ``score`` computes, ``c_i(w) = Σ_k w_k s_ik / Σ_k w_k`` over the
criteria the EPCI has. The probability that the EPCI is in the reference list is modelled as

    ``P(i in list) = σ(b + a · c_i(w))``, ``a >= 0``,

a logistic regression on the composite whose coefficients ``β = a · w`` are constrained to be
non-negative (scikit-learn's ``LogisticRegression`` has no such constraint, so the estimator
:class:`SimplexLogit` is fitted with scipy's bounded L-BFGS-B and plugs into scikit-learn's
model-selection tools). The weights are ``w = β / Σβ``. A weak penalty ``λ a² / 2`` on the
sharpness only keeps the fit finite when the list is exactly a top-N of some weighting
(perfectly separable data); it favours no criterion over another.

Agreement is measured with the same ranking as ``score`` (composite, then population, then
SIREN): overlap of the top ``N`` (``N`` = size of the reference list) with the list, and the
ROC AUC of the composite (scikit-learn ``roc_auc_score``), in sample and cross-validated
(``StratifiedKFold``, or ``LeaveOneOut``: out-of-fold probabilities pooled). Bootstrap
intervals resample the EPCI with replacement, stratified on membership of the list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog, minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import LeaveOneOut, StratifiedKFold, cross_val_predict
from sklearn.utils import resample
from threadpoolctl import threadpool_limits

from zoning.errors import ScoringError
from zoning.fmt import fr_number, fr_percent
from zoning.labels import base_label, criterion_label, criterion_unit
from zoning.scoring import composite, criterion_scores, rank_values

if TYPE_CHECKING:
    from zoning.config import Config
    from zoning.criteria import CriterionResult

DEFAULT_PENALTY = 1e-4
"""``λ`` of the sharpness penalty ``λ a² / 2`` (see the module docstring)."""


# --------------------------------------------------------------------------- estimator


def _composite_rows(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Composite per row over the criteria it has; also the weighted sums ``N`` and ``D``."""
    have = ~np.isnan(x)
    s = np.where(have, x, 0.0)
    num = s @ w
    den = have.astype("float64") @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return comp, num, den


class SimplexLogit(ClassifierMixin, BaseEstimator):
    """Logistic regression on the composite score, weights on the simplex.

    ``P(y = 1 | x) = σ(b + a · c(x; w))`` with ``c`` the composite over the criteria present
    in ``x`` (NaN = missing), ``w >= 0``, ``Σ w = 1``, ``a >= 0``.

    Parameters
    ----------
    penalty
        ``λ`` of the penalty ``λ a² / 2`` on the sharpness ``a``.
    init
        Starting point ``(β_1..β_k, b)`` of the optimiser (e.g. the full-sample fit, to speed
        up bootstrap refits); default equal weights and the prior log-odds.

    Attributes
    ----------
    weights_
        Fitted weights (sum 1).
    scale_
        Fitted ``a``.
    intercept_
        Fitted ``b``.
    classes_
        ``[0, 1]``.
    """

    def __init__(self, penalty: float = DEFAULT_PENALTY, init: Any = None) -> None:
        self.penalty = penalty
        self.init = init

    def fit(self, X: Any, y: Any) -> SimplexLogit:
        """Fit on scores ``X`` (n, k; NaN = missing) and labels ``y`` (1 = in the list)."""
        x = np.asarray(X, dtype="float64")
        t = np.asarray(y, dtype="float64").ravel()
        keep = ~np.isnan(x).all(axis=1)
        x, t = x[keep], t[keep]
        n, k = x.shape
        self.classes_ = np.array([0, 1])
        if n == 0 or t.min() == t.max():
            raise ScoringError("calibration needs EPCI both in and out of the reference list")
        have = ~np.isnan(x)
        s = np.where(have, x, 0.0)
        h = have.astype("float64")
        complete = bool(have.all())
        lam = float(self.penalty)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            beta, b = theta[:k], theta[k]
            big = beta.sum()
            if complete:
                lin = s @ beta
                d_lin = s
            else:
                num = s @ beta
                den = h @ beta
                den_safe = np.where(den > 1e-12, den, 1e-12)
                ratio = big / den_safe
                lin = num * ratio
                # d(num * big / den)/d beta_k = s_k big/den + num/den - num big h_k / den^2
                d_lin = (s * ratio[:, None] + (num / den_safe)[:, None]
                         - (num * big / den_safe**2)[:, None] * h)
            eta = b + lin
            # negative log-likelihood: log(1 + e^eta) - t eta
            nll = float(np.sum(-log_expit(-eta) - t * eta)) + 0.5 * lam * big**2
            r = expit(eta) - t
            g = np.empty(k + 1)
            g[:k] = r @ d_lin + lam * big
            g[k] = r.sum()
            return nll, g

        prior = float(t.mean())
        theta0 = (np.concatenate([np.full(k, 1.0 / k), [math.log(prior / (1 - prior)) - 0.5]])
                  if self.init is None else np.asarray(self.init, dtype="float64"))
        bounds = [(0.0, None)] * k + [(None, None)]
        opt = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})
        beta = np.clip(opt.x[:k], 0.0, None)
        big = float(beta.sum())
        self.weights_ = beta / big if big > 0 else np.full(k, 1.0 / k)
        self.scale_ = big
        self.intercept_ = float(opt.x[k])
        self.converged_ = bool(opt.success)
        self.theta_ = np.concatenate([beta, [self.intercept_]])
        self.n_iter_ = int(opt.nit)
        return self

    def composite(self, X: Any) -> np.ndarray:
        """Composite score with the fitted weights (NaN for a row without any value)."""
        return _composite_rows(np.asarray(X, dtype="float64"), self.weights_)[0]

    def decision_function(self, X: Any) -> np.ndarray:
        """Linear predictor ``b + a · c``; a row without any value gets ``-inf``."""
        c = self.composite(X)
        return np.where(np.isnan(c), -np.inf, self.intercept_ + self.scale_ * c)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``[P(out), P(in)]`` per row."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """1 where ``P(in) >= 0.5``."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype("int64")


# --------------------------------------------------------------------------- identified set


def compatible_ranges(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> pd.DataFrame | None:
    """Range of each weight over the weightings that reproduce the list exactly, or None.

    A weighting ``w`` (``w >= 0``, ``Σ w = 1``) reproduces the list when a threshold ``t``
    has every EPCI of the list at or above it and every other at or below it:
    ``s_i · w >= t >= s_j · w``. That set is a polytope; each weight's smallest and largest
    value over it is one linear programme (scipy ``linprog``, HiGHS). EPCI lacking a criterion
    are left out (their composite is not linear in ``w``), so the set is computed over the
    others and may be slightly larger than the exact one.

    Parameters
    ----------
    x
        Scores, shape ``(n, k)``, NaN = missing.
    y
        1 = in the list.
    names
        The ``k`` criterion ids.

    Returns
    -------
    pandas.DataFrame or None
        Index ``names``: ``low``, ``high``; None when no weighting reproduces the list
        (its EPCI with every criterion cannot all be put above the others).
    """
    x = np.asarray(x, dtype="float64")
    yy = np.asarray(y).astype(bool)
    ok = ~np.isnan(x).any(axis=1)
    x, yy = x[ok], yy[ok]
    k = x.shape[1]
    if yy.all() or not yy.any():
        return None
    a_ub = np.vstack([np.column_stack([-x[yy], np.ones(int(yy.sum()))]),
                      np.column_stack([x[~yy], -np.ones(int((~yy).sum()))])])
    b_ub = np.zeros(len(a_ub))
    a_eq = np.r_[np.ones(k), 0.0][None, :]
    bounds = [(0.0, 1.0)] * k + [(None, None)]
    low, high = np.empty(k), np.empty(k)
    for j in range(k):
        c = np.zeros(k + 1)
        c[j] = 1.0
        lo = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0], bounds=bounds,
                     method="highs")
        if lo.status == 2:  # infeasible: no weighting reproduces the list
            return None
        hi = linprog(-c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0], bounds=bounds,
                     method="highs")
        if not (lo.success and hi.success):
            return None
        low[j], high[j] = float(lo.fun), float(-hi.fun)
    return pd.DataFrame({"low": np.clip(low, 0, 1), "high": np.clip(high, 0, 1)},
                        index=list(names))


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Agreement:
    """How well a weighting reproduces the reference list.

    Attributes
    ----------
    n
        Size ``N`` of the reference list (EPCI of the territory).
    top_overlap
        Number of reference EPCI among the ``N`` first of the ranking.
    auc
        ROC AUC of the ranking score against membership of the list (NaN when not computable).
    """

    n: int
    top_overlap: int
    auc: float

    @property
    def share(self) -> float:
        """``top_overlap / n``."""
        return self.top_overlap / self.n if self.n else math.nan


@dataclass(frozen=True)
class Calibration:
    """Weights implied by a reference list, their uncertainty and the EPCI they explain worst.

    Attributes
    ----------
    criteria
        Ids of the criteria fitted (those with data), config order.
    missing
        Ids of configured criteria without data: not estimated (weight 0 in the output file).
    weights
        Fitted weight per fitted criterion (sum 1).
    intervals
        Index = fitted criterion ids; ``low``, ``high`` (bootstrap percentiles, ``level``),
        ``median`` of the bootstrap weights.
    configured
        Configured weights renormalised over the fitted criteria (what ``score`` uses).
    in_sample, cross_validated, baseline
        :class:`Agreement` of the fitted weights in sample, of the out-of-fold probabilities,
        and of the configured weights (no fitting).
    epci
        Index ``epci_siren`` (every EPCI scored): ``in_reference``, ``probability`` (fitted,
        in sample), ``probability_cv`` (out of fold), ``composite`` (fitted weights),
        ``rank`` (fitted weights, ranked as ``score`` ranks), ``in_top`` (among the ``N``
        first), ``rank_configured``, ``n_criteres``, then each fitted criterion raw value
        ``<id>`` and score ``<id>_score``.
    scale, intercept
        Fitted ``a`` and ``b`` of ``σ(b + a · composite)``.
    reference
        Reference SIREN (resolved, file order).
    excluded
        EPCI without any criterion value: not used in the fit, ranked last (as in ``score``).
    bootstrap, cv, seed, level, penalty
        Settings: bootstrap resamples, cross-validation (``"5 plis"`` / ``"leave-one-out"``),
        seed, interval level, sharpness penalty.
    n_bootstrap_ok
        Bootstrap refits that converged (the intervals use them all).
    compatible
        When some weighting reproduces the list exactly: index = fitted criterion ids,
        ``low``, ``high``, the range of each weight over all such weightings
        (:func:`compatible_ranges`); None when none does.
    n_compatible_rows
        EPCI (with every criterion) over which ``compatible`` was computed.
    """

    criteria: list[str]
    missing: list[str]
    weights: pd.Series
    intervals: pd.DataFrame
    configured: pd.Series
    in_sample: Agreement
    cross_validated: Agreement
    baseline: Agreement
    epci: pd.DataFrame
    scale: float
    intercept: float
    reference: list[str]
    excluded: list[str] = field(default_factory=list)
    bootstrap: int = 0
    cv: str = ""
    seed: int = 0
    level: float = 0.95
    penalty: float = DEFAULT_PENALTY
    n_bootstrap_ok: int = 0
    compatible: pd.DataFrame | None = None
    n_compatible_rows: int = 0

    def worst_in(self, n: int | None = None) -> pd.DataFrame:
        """EPCI of the list with the lowest fitted probability (worst explained first)."""
        t = self.epci[self.epci["in_reference"]].sort_values(["probability", "rank"],
                                                             ascending=[True, False])
        return t if n is None else t.head(n)

    def worst_out(self, n: int | None = None) -> pd.DataFrame:
        """EPCI out of the list with the highest fitted probability (worst explained first)."""
        t = self.epci[~self.epci["in_reference"]].sort_values(["probability", "rank"],
                                                              ascending=[False, True])
        return t if n is None else t.head(n)

    def weights_for_config(self, config: Config) -> dict[str, float]:
        """Weight per configured criterion: fitted ones, 0 for the missing ones; rounded to 4
        decimals, summing exactly to 1 (the largest absorbs the rounding)."""
        out: dict[str, float] = {c.id: round(float(self.weights.get(c.id, 0.0)), 4)
                                 for c in config.criteria}
        top = max(out, key=lambda k: out[k])
        out[top] = round(out[top] + (1.0 - sum(out.values())), 4)
        return out


def _agreement(score_: np.ndarray, y: np.ndarray, population: pd.Series) -> Agreement:
    n = int(y.sum())
    ranks = rank_values(score_, population)
    overlap = int(((ranks <= n) & (y == 1)).sum())
    ok = np.isfinite(score_)
    auc = (float(roc_auc_score(y[ok], score_[ok])) if ok.any() and 0 < y[ok].sum() < ok.sum()
           else math.nan)
    return Agreement(n=n, top_overlap=overlap, auc=auc)


def calibrate(
    criteria: Mapping[str, CriterionResult],
    config: Config,
    populations: pd.Series,
    reference: Sequence[str],
    *,
    bootstrap: int = 200,
    cv: int | str = 5,
    seed: int | None = None,
    level: float = 0.95,
    penalty: float = DEFAULT_PENALTY,
) -> Calibration:
    """Fit non-negative weights summing to 1 that best reproduce a reference list of EPCI.

    Parameters
    ----------
    criteria
        Criterion id -> :class:`~zoning.criteria.CriterionResult` (as for :func:`zoning.
        scoring.score`).
    config
        Configuration (directions, normalisations; the configured weights are the baseline).
    populations
        Population per EPCI, index ``epci_siren``: the EPCI scored (and ranking tie-breaks).
    reference
        SIREN of the reference list, each in ``populations.index``.
    bootstrap
        Number of bootstrap resamples for the intervals (0: none, intervals NaN).
    cv
        Number of stratified folds (>= 2), or ``"loo"`` for leave-one-out.
    seed
        Seed of the folds and of the bootstrap (default ``run.seed``).
    level
        Level of the bootstrap intervals (percentile method).
    penalty
        Sharpness penalty ``λ`` (see :class:`SimplexLogit`).

    Returns
    -------
    Calibration

    Raises
    ------
    ScoringError
        Reference SIREN outside the territory, a list that is empty or holds every EPCI,
        fewer than two criteria with data, or more folds than EPCI in (or out of) the list.
    """
    index = pd.Index(populations.index.astype(str), name="epci_siren")
    pop = pd.Series(populations.to_numpy(dtype="float64"), index=index)
    ref = list(dict.fromkeys(str(s) for s in reference))
    unknown = [s for s in ref if s not in index]
    if unknown:
        raise ScoringError(
            f"reference SIREN not in the scored territory: {', '.join(unknown)} "
            "(fix the reference file or choose the matching --region)"
        )
    raw, scores, available = criterion_scores(criteria, config, index)
    ids: list[str] = [c.id for c in config.criteria if available[c.id]]
    missing: list[str] = [c.id for c in config.criteria if not available[c.id]]
    if len(ids) < 2:
        raise ScoringError(
            f"calibration needs at least two criteria with data, found {len(ids)} "
            f"({', '.join(ids) or 'none'}): supply the missing data files"
        )
    x_all = scores[ids].to_numpy(dtype="float64")
    y_all = index.isin(ref).astype("int64")
    fit_rows = ~np.isnan(x_all).all(axis=1)
    excluded = [str(s) for s in index[~fit_rows]]
    x, y = x_all[fit_rows], y_all[fit_rows]
    n_in = int(y.sum())
    if n_in == 0 or n_in == len(y):
        raise ScoringError(
            f"the reference list holds {n_in} of the {len(y)} EPCI with data: calibration "
            "needs EPCI both in and out of the list"
        )
    rng_seed = config.run.seed if seed is None else int(seed)

    # cross-validation splitter (out-of-fold probabilities are pooled)
    if isinstance(cv, str):
        if cv.lower() != "loo":
            raise ScoringError(
                f"cross-validation {cv!r}: give a number of folds (>= 2) or 'loo'")
        splitter: Any = LeaveOneOut()
        cv_name = "leave-one-out"
    else:
        k = int(cv)
        smallest = min(n_in, len(y) - n_in)
        if k < 2 or k > smallest:
            raise ScoringError(
                f"cross-validation with {k} folds: choose between 2 and {smallest} (the number "
                "of EPCI in the smaller of 'in the list' / 'out of it'), or 'loo'"
            )
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=rng_seed)
        cv_name = f"{k} plis stratifiés"

    # hundreds of small fits: one BLAS thread (on a small matrix a multi-threaded BLAS only
    # adds contention, 10x slower on a busy 2-core machine)
    with threadpool_limits(limits=1, user_api="blas"):
        model = SimplexLogit(penalty=penalty).fit(x, y)
        weights = pd.Series(model.weights_, index=ids, name="poids")

        p_oof = cross_val_predict(SimplexLogit(penalty=penalty, init=model.theta_), x, y,
                                  cv=splitter, method="predict_proba")[:, 1]

        # bootstrap: EPCI resampled with replacement, stratified on membership
        boot = np.empty((max(bootstrap, 0), len(ids)))
        n_ok = 0
        rng = np.random.default_rng(rng_seed)
        rows = np.arange(len(y))
        for b in range(max(bootstrap, 0)):
            take = resample(rows, replace=True, stratify=y,
                            random_state=int(rng.integers(0, 2**31 - 1)))
            mb = SimplexLogit(penalty=penalty, init=model.theta_).fit(x[take], y[take])
            boot[b] = mb.weights_
            n_ok += int(mb.converged_)
    alpha = (1.0 - level) / 2.0
    if bootstrap > 0:
        lo, med, hi = np.quantile(boot, [alpha, 0.5, 1.0 - alpha], axis=0)
    else:
        lo = med = hi = np.full(len(ids), np.nan)
    intervals = pd.DataFrame({"low": lo, "median": med, "high": hi}, index=ids)

    # agreement, ranked as score ranks
    comp = model.composite(x_all)
    prob = np.where(fit_rows, expit(model.intercept_ + model.scale_ * np.nan_to_num(comp)),
                    np.nan)
    prob_cv = np.full(len(index), np.nan)
    prob_cv[fit_rows] = p_oof
    in_sample = _agreement(comp, y_all, pop)
    cross = _agreement(prob_cv, y_all, pop)
    w_cfg = {k: config.criterion(k).weight for k in ids}
    total = sum(w_cfg.values())
    w_base = {k: (v / total if total > 0 else 1.0 / len(ids)) for k, v in w_cfg.items()}
    configured = pd.Series(w_base, name="poids_configures")
    comp_cfg = composite(scores[ids], w_base).to_numpy()
    baseline = _agreement(comp_cfg, y_all, pop)

    ranks = rank_values(comp, pop)
    table = pd.DataFrame({
        "in_reference": y_all.astype(bool),
        "probability": prob,
        "probability_cv": prob_cv,
        "composite": comp,
        "rank": ranks,
        "in_top": ranks <= n_in,
        "rank_configured": rank_values(comp_cfg, pop),
        "n_criteres": (~np.isnan(x_all)).sum(axis=1),
    }, index=index)
    for cid in ids:
        table[cid] = raw[cid]
        table[f"{cid}_score"] = scores[cid]
    table = table.sort_values("rank")
    compatible = compatible_ranges(x, y, ids)
    return Calibration(
        criteria=ids, missing=missing, weights=weights, intervals=intervals,
        configured=configured, in_sample=in_sample, cross_validated=cross, baseline=baseline,
        epci=table, scale=float(model.scale_), intercept=float(model.intercept_),
        reference=ref, excluded=excluded, bootstrap=int(max(bootstrap, 0)), cv=cv_name,
        seed=rng_seed, level=level, penalty=penalty, n_bootstrap_ok=n_ok,
        compatible=compatible, n_compatible_rows=int((~np.isnan(x).any(axis=1)).sum()),
    )


# --------------------------------------------------------------------------- French report


MISSING = "donnée indisponible"


def _label(config: Config, cid: str) -> str:
    return base_label(config.criterion(cid).label)


def _agreement_text(a: Agreement) -> str:
    auc = "non calculable" if math.isnan(a.auc) else fr_number(a.auc, 2)
    return (f"{a.top_overlap} des {a.n} EPCI de la liste parmi les {a.n} premiers "
            f"({fr_percent(a.share, 0)}) ; ROC AUC {auc}")


def _epci_text(cal: Calibration, names: pd.Series, siren: str) -> str:
    p = float(cal.epci["probability"].to_numpy()[cal.epci.index.get_loc(siren)])
    rank = int(cal.epci["rank"].to_numpy()[cal.epci.index.get_loc(siren)])
    return (f"{names.get(siren, siren)} ({siren}) : probabilité ajustée "
            f"{fr_percent(p, 0)}, rang {rank}")


def summary_lines(cal: Calibration, config: Config, names: pd.Series, n_worst: int = 5,
                  source: str = "") -> list[str]:
    """The calibration report as French lines (terminal, map notes, XLSX method sheet).

    Parameters
    ----------
    cal
        :func:`calibrate` result.
    config
        The configuration calibrated (criterion labels).
    names
        EPCI names, index SIREN.
    n_worst
        EPCI listed in each direction ("in the list, low probability" / "out, high").
    source
        Name of the reference file.

    Returns
    -------
    list of str
    """
    src = f" ({source})" if source else ""
    pct = fr_number(100 * cal.level, 0)
    lines = [
        f"Liste de référence{src} : {len(cal.reference)} EPCI sur {len(cal.epci)}. Poids "
        f"ajustés sur les {len(cal.criteria)} critères disponibles par une régression "
        "logistique à coefficients positifs sur le score composite (poids positifs de somme 1).",
    ]
    for cid in cal.missing:
        lines.append(f"Critère « {_label(config, cid)} » : {MISSING} ; son poids n'est pas "
                     "estimé (0 dans le fichier de critères écrit).")
    if cal.bootstrap:
        boot = f"intervalle bootstrap à {pct} %, {cal.bootstrap} rééchantillonnages"
    else:
        boot = "sans intervalle (bootstrap désactivé)"
    parts = []
    for cid in cal.criteria:
        txt = f"{_label(config, cid)} {fr_number(cal.weights[cid], 2)}"
        if cal.bootstrap:
            lo, hi = cal.intervals.loc[cid, ["low", "high"]]
            txt += f" [{fr_number(lo, 2)} – {fr_number(hi, 2)}]"
        parts.append(txt)
    lines.append(f"Poids implicites ({boot}) : " + " ; ".join(parts) + ".")
    if cal.compatible is None:
        lines.append("Aucune moyenne pondérée de ces critères ne reproduit exactement la liste "
                     "(aucun jeu de poids ne place tous ses EPCI devant tous les autres) : les "
                     "poids ci-dessus sont ceux qui s'en approchent le plus.")
    else:
        rng_txt = " ; ".join(
            f"{_label(config, str(cid))} {fr_number(r['low'], 2)} – {fr_number(r['high'], 2)}"
            for cid, r in cal.compatible.iterrows())
        lines.append("La liste est exactement reproductible : toutes les pondérations suivantes "
                     f"la donnent (plage de chaque poids, calculée sur les {cal.n_compatible_rows} "
                     f"EPCI ayant tous les critères) : {rng_txt}. Les données ne départagent pas "
                     "ces pondérations.")
    lines.append(f"Accord dans l'échantillon (poids ajustés) : {_agreement_text(cal.in_sample)}.")
    lines.append(f"Accord en validation croisée ({cal.cv}, probabilités hors échantillon) : "
                 f"{_agreement_text(cal.cross_validated)}.")
    lines.append("Pour comparaison, poids configurés ("
                 + ", ".join(f"{_label(config, str(k))} {fr_number(v, 2)}"
                             for k, v in cal.configured.items())
                 + f") : {_agreement_text(cal.baseline)}.")
    low = cal.worst_in(n_worst)
    low = low[low["probability"] < 0.5]
    if len(low):
        lines.append("Dans la liste mais peu expliqués par les données (probabilité ajustée "
                     "faible) : " + " ; ".join(_epci_text(cal, names, str(s))
                                               for s in low.index) + ".")
    high = cal.worst_out(n_worst)
    high = high[high["probability"] >= 0.5]
    if len(high):
        lines.append("Hors de la liste alors que les données les désignent (probabilité "
                     "ajustée élevée) : " + " ; ".join(_epci_text(cal, names, str(s))
                                                      for s in high.index) + ".")
    if not len(low) and not len(high):
        lines.append("Aucun EPCI de la liste n'a une probabilité ajustée inférieure à 50 % et "
                     "aucun EPCI hors liste une probabilité d'au moins 50 %.")
    partial = int((cal.epci["n_criteres"] < len(cal.criteria)).sum()) - len(cal.excluded)
    if partial > 0:
        lines.append(f"{partial} EPCI n'ont pas de valeur pour tous les critères : leur "
                     "composite est calculé sur les critères qu'ils ont (poids renormalisés), "
                     "comme dans le classement ; aucune valeur n'est complétée.")
    if cal.excluded:
        lines.append(f"{len(cal.excluded)} EPCI sans aucune valeur : exclus de l'ajustement, "
                     "classés derniers.")
    lines.append("Lecture : ces poids sont ceux d'une moyenne pondérée des critères qui "
                 "explique le mieux la liste ; une liste arrêtée après concertation locale "
                 "n'est pas une formule, et les EPCI mal expliqués sont les cas d'ajustement "
                 "local à discuter, pas des erreurs.")
    return lines


WEIGHT_LABELS: dict[str, str] = {
    "critere_id": "Critère (identifiant)",
    "critere": "Critère",
    "poids": "Poids ajusté",
    "ic_bas": "Intervalle bootstrap, borne basse",
    "ic_haut": "Intervalle bootstrap, borne haute",
    "mediane_bootstrap": "Médiane bootstrap",
    "poids_configure": "Poids configuré (renormalisé)",
    "plage_exacte_bas": "Plage des poids reproduisant exactement la liste, borne basse",
    "plage_exacte_haut": "Plage des poids reproduisant exactement la liste, borne haute",
    "estime": "Estimé",
}

AGREEMENT_LABELS: dict[str, str] = {
    "mesure": "Mesure",
    "poids": "Poids",
    "evaluation": "Évaluation",
    "top_n_commun": "EPCI de la liste parmi les N premiers",
    "n": "N (taille de la liste)",
    "part_commune": "Part de la liste retrouvée",
    "roc_auc": "ROC AUC",
}


def weights_frame(cal: Calibration, config: Config) -> pd.DataFrame:
    """One row per configured criterion: fitted weight, bootstrap interval, configured weight.

    Criteria without data have an empty fitted weight and ``estime`` False.
    """
    rows = []
    for c in config.criteria:
        fitted = c.id in cal.weights.index
        iv = (cal.intervals.loc[c.id].to_dict() if fitted
              else {"low": np.nan, "high": np.nan, "median": np.nan})
        exact: dict[str, float] = {}
        if fitted and cal.compatible is not None:
            lo_hi = cal.compatible.loc[c.id, ["low", "high"]].to_numpy(dtype="float64")
            exact = {"low": float(lo_hi[0]), "high": float(lo_hi[1])}
        rows.append({
            "critere": criterion_label(config, c.id),
            "poids": float(cal.weights[c.id]) if fitted else np.nan,
            "ic_bas": float(iv["low"]),
            "ic_haut": float(iv["high"]),
            "mediane_bootstrap": float(iv["median"]),
            "poids_configure": float(cal.configured.get(c.id, np.nan)),
            "plage_exacte_bas": exact.get("low", np.nan),
            "plage_exacte_haut": exact.get("high", np.nan),
            "estime": fitted,
        })
    return pd.DataFrame(rows, index=pd.Index([c.id for c in config.criteria],
                                             name="critere_id"))


def agreement_frame(cal: Calibration) -> pd.DataFrame:
    """Agreement with the list: fitted weights in sample and cross-validated, configured."""
    rows = [("poids ajustés", "dans l'échantillon", cal.in_sample),
            ("poids ajustés", f"validation croisée ({cal.cv})", cal.cross_validated),
            ("poids configurés", "sans ajustement", cal.baseline)]
    return pd.DataFrame(
        [{"poids": w, "evaluation": e, "top_n_commun": a.top_overlap, "n": a.n,
          "part_commune": a.share, "roc_auc": a.auc} for w, e, a in rows],
        index=pd.Index(["ajuste", "validation_croisee", "configure"], name="mesure"),
    )


def epci_frame(cal: Calibration, names: pd.Series) -> pd.DataFrame:
    """Per EPCI, worst explained first: membership, fitted and out-of-fold probabilities,
    ranks, the case to discuss, each criterion's raw value and score."""
    t = cal.epci.copy()
    t.insert(0, "epci_nom", names.reindex(t.index).astype("string"))
    y = t["in_reference"].to_numpy(dtype=bool)
    p = t["probability"].to_numpy(dtype="float64")
    t["ecart"] = np.where(y, 1.0 - p, p)
    t["cas"] = np.select(
        [y & (p < 0.5), ~y & (p >= 0.5)],
        ["dans la liste, probabilité ajustée faible", "hors liste, probabilité ajustée élevée"],
        default="",
    )
    t = t.sort_values(["ecart", "rank"], ascending=[False, True], na_position="last")
    return t


def epci_labels(cal: Calibration, config: Config) -> dict[str, str]:
    """French headers of :func:`epci_frame`."""
    labels = {
        "epci_siren": "SIREN de l'EPCI",
        "epci_nom": "Nom de l'EPCI",
        "in_reference": "Dans la liste de référence",
        "probability": "Probabilité ajustée d'être dans la liste",
        "probability_cv": f"Probabilité hors échantillon (validation croisée, {cal.cv})",
        "composite": "Score composite avec les poids ajustés",
        "rank": "Rang avec les poids ajustés",
        "in_top": f"Parmi les {cal.in_sample.n} premiers (poids ajustés)",
        "rank_configured": "Rang avec les poids configurés",
        "n_criteres": "Nombre de critères renseignés",
        "ecart": "Écart à la liste (1 - probabilité si dans la liste, probabilité sinon)",
        "cas": "Cas à discuter",
    }
    for cid in cal.criteria:
        label, unit = criterion_label(config, cid), criterion_unit(config, cid)
        labels[cid] = f"{label} ({unit})" if unit else label
        labels[f"{cid}_score"] = f"Score normalisé : {label} (0 à 1, 1 = plus vulnérable)"
    return labels
