"""The README's validation figures (criterion 2 variants, Filosofi approximation), recomputed
from the shared data with :mod:`zoning.validation` (as ``validation/validate_criteria.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from zoning.config import load_config
from zoning.territory import load_territory
from zoning.validation import compare_ranks, validate

ROOT = Path(__file__).resolve().parent.parent


def _readme() -> str:
    return re.sub(r"\s+", " ", (ROOT / "README.md").read_text(encoding="utf-8"))


def test_compare_ranks_on_a_tiny_frame() -> None:
    a = pd.Series([1.0, 2.0, 3.0, 4.0, None], index=list("abcde"))
    b = pd.Series([4.0, 2.0, 3.0, 1.0, 5.0], index=list("abcde"))
    c = compare_ranks(a, b, pd.Series({"a": "A", "d": "D"}))
    assert c.n == 4 and c.max_shift == 3 and c.max_shift_epci == "A"
    assert (c.rank_a, c.rank_b) == (1, 4)
    assert c.spearman == pytest.approx(1 - 6 * 18 / (4 * 15))  # d = 3, 0, 0, 3


@pytest.mark.integration
def test_readme_states_the_validation_figures(data_dir: Path) -> None:
    v = validate(load_territory(data_dir, "76"), load_config(), data_dir)
    readme = _readme()
    a, f = v.age, v.filosofi
    assert (f"Spearman {a.spearman:.3f} over {a.n} EPCI, largest rank shift {a.max_shift} "
            f"({a.max_shift_epci}: rank {a.rank_a} by APL, {a.rank_b} by head counts), "
            f"{v.age_few_gps} EPCI with fewer than {v.age_min_gps} GPs") in readme
    assert (f"Spearman {f.spearman:.3f} over {f.n} EPCI, median rank shift "
            f"{f.median_shift:.0f}, largest rank shift {f.max_shift} ({f.max_shift_epci}: "
            f"rank {f.rank_a} by the approximation, {f.rank_b} by the official median") in readme
    assert v.filosofi_vintage == "2019"
