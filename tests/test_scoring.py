"""Unit tests of zoning.scoring on tiny frames built in code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from zoning.config import Config, load_config
from zoning.criteria import CriterionResult
from zoning.errors import AmbiguousNameError, ScoringError, TerritoryError
from zoning.scoring import (
    compare,
    composite,
    effective_weights,
    explain,
    find_epci,
    fragility_count,
    normalise,
    orient,
    rank_values,
    robustness_labels,
    score,
    select_mask,
)

SIRENS = [f"2000000{i:02d}" for i in range(10)]


def _cfg(**run: object) -> Config:
    cfg = load_config()
    upd: dict[str, object] = {}
    if run:
        upd["run"] = cfg.run.model_copy(update=run)
    upd["sensitivity"] = cfg.sensitivity.model_copy(update={"draws": 200})
    return cfg.model_copy(update=upd)


def _crit(cid: str, values: list[float], available: bool = True) -> CriterionResult:
    v = pd.Series(values, index=SIRENS[: len(values)], dtype="float64")
    return CriterionResult(id=cid, values=v, coverage=pd.Series(1.0, index=v.index),
                           available=available, source="test", vintage="test")


def _criteria(ald_available: bool = False) -> dict[str, CriterionResult]:
    rng = np.random.default_rng(0)
    return {
        "apl": _crit("apl", list(rng.uniform(1, 6, 10))),
        "age_mg": _crit("age_mg", list(rng.uniform(0.1, 0.8, 10))),
        "ald": _crit("ald", list(rng.uniform(15, 25, 10)) if ald_available else [np.nan] * 10,
                     available=ald_available),
        "urgences": _crit("urgences", list(rng.uniform(0, 60, 10))),
        "niveau_vie": _crit("niveau_vie", list(rng.uniform(18000, 26000, 10))),
    }


POP = pd.Series([1000 * (i + 1) for i in range(10)], index=SIRENS, dtype="float64")


def test_orientation_and_percentile() -> None:
    raw = pd.Series([1.0, 3.0, 2.0, np.nan], index=list("abcd"))
    better = normalise(orient(raw, "higher_is_better"), "percentile")
    worse = normalise(orient(raw, "higher_is_worse"), "percentile")
    assert better.loc["a"] == 1.0 and better.loc["b"] == 0.0 and better.loc["c"] == 0.5
    assert worse.loc["b"] == 1.0 and worse.loc["a"] == 0.0
    assert np.isnan(better.loc["d"]) and np.isnan(worse.loc["d"])


def test_minmax_and_zscore() -> None:
    x = pd.Series([0.0, 5.0, 10.0, 20.0])
    mm = normalise(x, "minmax")
    assert mm.tolist() == pytest.approx([0.0, 0.25, 0.5, 1.0])
    z = normalise(x, "zscore")
    expected = norm.cdf((x - x.mean()) / x.std(ddof=0))
    assert z.to_numpy() == pytest.approx(expected)
    assert z.is_monotonic_increasing and 0 < z.min() < z.max() < 1
    const = normalise(pd.Series([3.0, 3.0, np.nan]), "zscore")
    assert const.iloc[0] == 0.5 and np.isnan(const.iloc[2])
    with pytest.raises(ScoringError):
        normalise(x, "rank")



def test_minmax_and_zscore_are_scikit_learns() -> None:
    """min-max and z-score without importing scikit-learn, with its arithmetic: the same
    floats as ``MinMaxScaler`` / ``StandardScaler`` on criterion-like columns of 1,232 EPCI
    (skewed, tied, negated, with a large offset, near constant)."""
    from scipy.special import ndtr
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from zoning.scoring import _minmax, _zscore

    rng = np.random.default_rng(15)
    n = 1232
    cases = {
        "apl": rng.lognormal(1.0, 0.4, n),
        "share of older GP supply (%, ties)": np.round(rng.beta(2, 3, n) * 100, 1),
        "income, negated": -rng.normal(21_500, 2_200, n),
        "share beyond 30 min": np.where(rng.random(n) < 0.6, 0.0, rng.gamma(1.5, 12.0, n)),
        "large offset": 1e9 + rng.normal(0, 1e-3, n),
        "near constant (z-score scale 1)": np.array([1e9, 1e9 + 1e-7] * 5),
        "tiny range (min-max scale 1)": np.array([1.0, 1.0 + 2.0**-52, 1.0]),
        "two values": np.array([0.3, 0.1]),
    }
    for name, x in cases.items():
        col = x.reshape(-1, 1)
        mm = MinMaxScaler().fit_transform(col).ravel()
        z = StandardScaler().fit_transform(col).ravel()
        np.testing.assert_array_equal(_minmax(x), mm, err_msg=name)
        np.testing.assert_array_equal(_zscore(x), z, err_msg=name)
        s = pd.Series(np.append(x, np.nan))  # NaN kept, left out of the fit
        np.testing.assert_array_equal(normalise(s, "minmax").to_numpy()[:-1],
                                      np.clip(mm, 0.0, 1.0), err_msg=name)
        np.testing.assert_array_equal(normalise(s, "zscore").to_numpy()[:-1], ndtr(z),
                                      err_msg=name)


def test_weights_renormalise_and_strict() -> None:
    conf = {"apl": 0.2, "age_mg": 0.2, "ald": 0.2, "urgences": 0.2, "niveau_vie": 0.2}
    avail = {k: k != "ald" for k in conf}
    w = effective_weights(conf, avail)
    assert w.missing == ["ald"]
    assert set(w.used) == {"apl", "age_mg", "urgences", "niveau_vie"}
    assert sum(w.used.values()) == pytest.approx(1.0)
    assert w.used["apl"] == pytest.approx(0.25)
    with pytest.raises(ScoringError, match="ald"):
        effective_weights(conf, avail, strict=True)


def test_composite_renormalises_per_epci() -> None:
    s = pd.DataFrame({"a": [1.0, 0.0, np.nan], "b": [0.0, 1.0, 0.5]}, index=["x", "y", "z"])
    c = composite(s, {"a": 0.75, "b": 0.25})
    assert c.loc["x"] == pytest.approx(0.75)
    assert c.loc["y"] == pytest.approx(0.25)
    assert c.loc["z"] == pytest.approx(0.5)  # only b: weight renormalised to 1


def test_rank_ties_deterministic() -> None:
    idx = ["300000003", "300000001", "300000002", "300000004"]
    pop = pd.Series([10.0, 10.0, 50.0, 5.0], index=idx)
    comp = np.array([0.5, 0.5, 0.5, 0.9])
    r = rank_values(comp, pop)
    # 0.9 first; then ties: population desc (300000002), then SIREN asc
    assert dict(zip(idx, r.tolist(), strict=True)) == {
        "300000004": 1, "300000002": 2, "300000001": 3, "300000003": 4}
    # row order does not matter
    perm = [2, 0, 3, 1]
    r2 = rank_values(comp[perm], pop.iloc[perm])
    assert dict(zip(pop.index[perm], r2.tolist(), strict=True)) == dict(
        zip(idx, r.tolist(), strict=True))
    # NaN ranks last; 2-D (draws) equals column-wise 1-D
    comp2 = np.column_stack([comp, [np.nan, 0.1, 0.2, 0.3]])
    r3 = rank_values(comp2, pop)
    assert (r3[:, 0] == r).all() and r3[0, 1] == 4 and r3[3, 1] == 1


def test_selection_top_and_population_share() -> None:
    cfg = _cfg()
    ranks = np.array([3, 1, 2, 4])
    pop = pd.Series([100.0, 200.0, 300.0, 400.0], index=list("abcd"))
    assert select_mask(ranks, pop, cfg, top=2).tolist() == [False, True, True, False]
    with pytest.raises(ScoringError, match="between 1 and 4"):
        select_mask(ranks, pop, cfg, top=5)
    share = _cfg(selection="population_share", population_share=0.5)
    # rank order b(200), c(300): cumulated 500 <= 0.5 * 1000; a would exceed
    assert select_mask(ranks, pop, share).tolist() == [False, True, True, False]
    tiny = _cfg(selection="population_share", population_share=0.01)
    assert select_mask(ranks, pop, tiny).tolist() == [False, True, False, False]


def test_fragility_count() -> None:
    o = pd.DataFrame({"a": [5.0, 4.0, 3.0, 2.0, 1.0], "b": [1.0, 2.0, 3.0, 4.0, np.nan]})
    n = fragility_count(o, 0.2)  # worst ceil(0.2*5)=1 of a, ceil(0.2*4)=1 of b
    assert n.tolist() == [1, 0, 0, 1, 0]


def test_score_table_properties() -> None:
    cfg = _cfg()
    t = score(_criteria(), cfg, POP, top=3)
    assert sorted(t["rank"]) == list(range(1, 11))
    assert t["selected"].sum() == 3 and t.loc[t["selected"], "rank"].max() == 3
    assert t["composite"].is_monotonic_decreasing
    assert t.attrs["missing"] == ["ald"] and "ald" not in t.attrs["weights"]
    assert t["ald_score"].isna().all() and (t["n_criteres"] == 4).all()
    # composite equals the weighted mean of the four available percentile scores
    ids = ["apl", "age_mg", "urgences", "niveau_vie"]
    assert t["composite"].to_numpy() == pytest.approx(
        t[[f"{i}_score" for i in ids]].mean(axis=1).to_numpy())
    # probability consistent with labels
    assert ((t["robustesse"] == "hors zone") == (~t["selected"] & (t["probability"] == 0))).all()
    assert (t.loc[t["robustesse"] == "robuste", "probability"] >= 0.9).all()
    assert (t["rank_p05"] <= t["rank_p95"]).all()
    assert t["probability"].sum() == pytest.approx(3.0)  # 3 selected per draw


def test_score_strict_raises() -> None:
    with pytest.raises(ScoringError, match="--strict"):
        score(_criteria(), _cfg(), POP, strict=True)
    t = score(_criteria(ald_available=True), _cfg(), POP, strict=True, draws=0, top=2)
    assert t.attrs["missing"] == [] and (t["robustesse"] == "non évaluée").all()


def test_sensitivity_reproducible_and_seed_dependent() -> None:
    cfg = _cfg()
    a = score(_criteria(), cfg, POP, top=4, seed=7)
    b = score(_criteria(), cfg, POP, top=4, seed=7)
    pd.testing.assert_frame_equal(a, b)
    # same number of draws, another seed: other draws (the main ranking does not move)
    c = score(_criteria(), cfg, POP, top=4, seed=8)
    pd.testing.assert_series_equal(a["rank"], c.loc[a.index, "rank"])
    assert not np.array_equal(a["probability"].to_numpy(), c["probability"].to_numpy())
    assert a["probability"].sum() == pytest.approx(4.0) == c["probability"].sum()


def test_cumul_method_orders_by_fragility_count() -> None:
    cfg = _cfg(method="cumul", cumul_quantile=0.3)
    t = score(_criteria(), cfg, POP, top=3, draws=20)
    assert t["n_fragilites"].is_monotonic_decreasing
    same = t.groupby("n_fragilites")["composite"].apply(lambda s: s.is_monotonic_decreasing)
    assert same.all()


def test_explain_contributions_sum_to_composite() -> None:
    cfg = _cfg()
    crits = _criteria()
    t = score(crits, cfg, POP, top=3, draws=20)
    s = t.index[0]
    e = explain(t, cfg, s, crits)
    assert e["contribution"].sum() == pytest.approx(t.loc[s, "composite"])
    assert e.attrs["rank"] == 1
    assert np.isnan(e.loc["ald", "contribution"])
    assert ((e["percentile"].dropna() >= 0) & (e["percentile"].dropna() <= 100)).all()


def test_robustness_labels() -> None:
    sel = pd.Series([True, True, False, False])
    p = pd.Series([0.95, 0.5, 0.3, 0.0])
    assert robustness_labels(sel, p, 0.9).tolist() == ["robuste", "limite", "limite", "hors zone"]


def test_find_epci_and_compare() -> None:
    names = pd.Series(["CC du Pays de Foix", "CA du Pays Foixéen", "Toulouse Métropole"],
                      index=["200000001", "200000002", "200000003"])
    assert find_epci("200000003", names) == "200000003"
    assert find_epci("toulouse metropole", names) == "200000003"
    with pytest.raises(AmbiguousNameError) as exc:
        find_epci("pays", names)
    assert len(exc.value.candidates) == 2
    with pytest.raises(TerritoryError):
        find_epci("999999999", names)
    t = pd.DataFrame({"rank": [1, 2, 3], "selected": [True, True, False]}, index=names.index)
    c = compare(t, ["200000002", "200000003"])
    assert c.both == ["200000002"] and c.only_model == ["200000001"]
    assert c.only_reference == ["200000003"] and c.ranks.tolist() == [2, 3]
    with pytest.raises(TerritoryError, match="999"):
        compare(t, ["999999999"])
